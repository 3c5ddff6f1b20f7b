"""The stock-Django peer: the same app on Django's own sqlite3 backend in WAL mode, for
comparison only (never a product setting). Same transaction mode as the product."""

from scripts.bench.settings import *  # noqa: F403
from scripts.bench.settings import DATABASES, DB_PATH

DATABASES = {
    **DATABASES,
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": DB_PATH,
        "OPTIONS": {
            "init_command": "PRAGMA journal_mode=WAL",
            "transaction_mode": "IMMEDIATE",
            "timeout": 5,
        },
    },
}
SILENCED_SYSTEM_CHECKS = ["syncops.W002"]
