from django.apps import AppConfig


class SyncopsConfig(AppConfig):
    name = "syncops"
    verbose_name = "Storage and sync"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the system checks
