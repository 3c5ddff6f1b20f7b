from django.apps import AppConfig


class SpacesConfig(AppConfig):
    name = "spaces"
    verbose_name = "Thought spaces"

    def ready(self) -> None:
        from spaces import conflicts, indexing, live
        from spaces.events import change_committed
        from syncops.signals import pulled

        # Live updates: each committed change goes to the open pages of its space.
        change_committed.connect(live.relay_change, dispatch_uid="spaces.live.relay_change")
        # After each pull: decide what became of the journaled local writes.
        pulled.connect(conflicts.on_pulled, dispatch_uid="spaces.conflicts.on_pulled")
        # Embeddings for search: created and edited thoughts, embedded in the background.
        change_committed.connect(
            indexing.queue_embedding, dispatch_uid="spaces.indexing.queue_embedding"
        )
