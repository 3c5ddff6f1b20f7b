from django.apps import AppConfig


class BackendTestsConfig(AppConfig):
    name = "tests.backend"
    label = "backend"

    def ready(self) -> None:
        from syncops import policies, reconcile

        for model in self.get_models(include_auto_created=True):
            policies.register(model, reconcile.replay_row)
