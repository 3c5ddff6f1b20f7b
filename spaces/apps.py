from django.apps import AppConfig


class SpacesConfig(AppConfig):
    name = "spaces"
    verbose_name = "Thought spaces"

    def ready(self) -> None:
        from spaces import conflicts, indexing, live
        from spaces.events import change_committed
        from spaces.models import HistoryEntry
        from syncops.signals import pulled
        from syncops.storage import count_rows_by

        # Live updates: each committed change goes to the open pages of its space.
        change_committed.connect(live.relay_change, dispatch_uid="spaces.live.relay_change")
        # After each pull: decide what became of the journaled local writes.
        pulled.connect(conflicts.on_pulled, dispatch_uid="spaces.conflicts.on_pulled")
        # Embeddings for search: created and edited thoughts, embedded in the background.
        change_committed.connect(
            indexing.queue_embedding, dispatch_uid="spaces.indexing.queue_embedding"
        )
        # The storage report (manage.py storage) shows the append-only history per space.
        count_rows_by("history", table=HistoryEntry._meta.db_table, column="space_id")
