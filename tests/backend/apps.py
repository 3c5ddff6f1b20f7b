from django.apps import AppConfig


class BackendTestsConfig(AppConfig):
    name = "tests.backend"
    label = "backend"
