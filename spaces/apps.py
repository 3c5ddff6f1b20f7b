from django.apps import AppConfig


class SpacesConfig(AppConfig):
    name = "spaces"
    verbose_name = "Thought spaces"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out

        from spaces import fleet, indexing, live, reconcile
        from spaces.events import change_committed
        from spaces.models import HistoryEntry
        from syncops.signals import pushed, pushing
        from syncops.storage import count_rows_by

        # Live updates: each committed change goes to the open pages of its space.
        change_committed.connect(live.relay_change, dispatch_uid="spaces.live.relay_change")
        user_logged_out.connect(live.session_ended, dispatch_uid="spaces.live.session_ended")
        # A fleet's processes pull as soon as one of them pushed (with Redis), and know which
        # have writes on their way.
        pushing.connect(fleet.announce_pushing, dispatch_uid="spaces.fleet.announce_pushing")
        pushed.connect(fleet.announce_push, dispatch_uid="spaces.fleet.announce_push")
        # How each of the domain's tables reconciles a write lost to another replica.
        reconcile.register_policies()
        # Embeddings for search: created and edited thoughts, embedded in the background.
        change_committed.connect(
            indexing.queue_embedding, dispatch_uid="spaces.indexing.queue_embedding"
        )
        # The storage report (manage.py storage) shows the append-only history per space.
        count_rows_by("history", table=HistoryEntry._meta.db_table, column="space_id")
