"""The API suite runs in whatever mode THOUGHTSPACE_DB_MODE names (scripts/test.sh runs all)."""

import os

from django.db import connection

# libsql-experimental's classes say "builtins"; replica mode's writes (a test runs in a
# transaction) go through syncops.backend.batch, remote mode's statements through
# syncops.replica.hrana.
DRIVERS = {"local": "builtins", "replica": "syncops", "remote": "syncops", "offline": "turso"}


def test_the_suite_runs_on_the_configured_storage_mode(db):
    mode = os.environ.get("THOUGHTSPACE_DB_MODE", "local")
    connection.ensure_connection()
    assert connection.replica.mode == mode
    assert type(connection.connection).__module__.split(".")[0] == DRIVERS[mode]
