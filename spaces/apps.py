from django.apps import AppConfig


class SpacesConfig(AppConfig):
    name = "spaces"
    verbose_name = "Thought spaces"

    def ready(self) -> None:
        from spaces import live
        from spaces.events import change_committed

        # Live updates: each committed change goes to the open pages of its space.
        change_committed.connect(live.relay_change, dispatch_uid="spaces.live.relay_change")
