"""Test settings: the real settings plus a models-only app and a stock sqlite3 database
that the backend conformance suite compares syncops.backend against."""

import os
import tempfile

os.environ.setdefault("DJANGO_DEBUG", "1")

from thoughtspace.settings import *  # noqa: E402,F403
from thoughtspace.settings import DATABASES, INSTALLED_APPS  # noqa: E402

_TMP = tempfile.mkdtemp(prefix="thoughtspace-tests-")

INSTALLED_APPS = [*INSTALLED_APPS, "tests.backend"]
DATABASES = {
    "default": {
        **DATABASES["default"],
        "NAME": f"{_TMP}/thoughtspace.db",
        "TEST": {"NAME": f"{_TMP}/test.db"},
    },
    # A file, not SQLite's shared-cache memory database: the sync worker's thread reads the
    # journal while a test's teardown flushes it, and a shared-cache table lock fails at once
    # ("database table is locked") where a file lock waits out the timeout.
    "syncops": {
        **DATABASES["syncops"],
        "NAME": f"{_TMP}/syncops.sqlite3",
        "TEST": {"NAME": f"{_TMP}/test-syncops.sqlite3"},
    },
    "stock": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": f"{_TMP}/stock.db",
        "TEST": {"NAME": f"{_TMP}/test-stock.db"},
        "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL"},
    },
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMBEDDING_WORKER = False  # tests embed through spaces.indexing, or turn the worker on
