"""Feature flags from the engine's own ``sqlite_version()``, not the stdlib sqlite3's."""

from __future__ import annotations

from django.db import DatabaseError
from django.db.backends.sqlite3.features import DatabaseFeatures as SQLiteDatabaseFeatures
from django.utils.functional import cached_property

from . import database as Database


class DatabaseFeatures(SQLiteDatabaseFeatures):
    # The sqlite3 features read the stdlib module's version at import; ours reads the engine's.
    can_alter_table_drop_column = Database.sqlite_version_info >= (3, 35, 5)
    # Parallel test databases would need a file copy of a live WAL database.
    can_clone_databases = False
    # Functions Django registers with create_function() are compiled natively or refused.
    supports_timezones = False
    # Integer ids come from syncops.ids (time and randomness, so that replicas never pick the
    # same one), not from a sequence: a flush cannot restart them at 1.
    supports_sequence_reset = False

    @cached_property
    def renames_replicate(self) -> bool:
        """Whether RENAME TABLE/COLUMN reach the remote (not through Turso's sync engine)."""
        return self.connection.settings_dict.get("OPTIONS", {}).get("mode") != "offline"

    @cached_property
    def can_return_columns_from_insert(self) -> bool:  # type: ignore[override]
        return self.connection.get_database_version() >= (3, 35)

    @cached_property
    def can_return_rows_from_bulk_insert(self) -> bool:  # type: ignore[override]
        return self.can_return_columns_from_insert

    @cached_property
    def django_test_skips(self) -> dict[str, set[str]]:  # type: ignore[override]
        """Stock sqlite3's skips (the same engine's limits), for Django's own test suite."""
        return dict(SQLiteDatabaseFeatures.django_test_skips.func(self))  # type: ignore[attr-defined]

    @cached_property
    def django_test_expected_failures(self) -> set[str]:  # type: ignore[override]
        """What Django's own test suite (scripts/django_suite.py) is expected to fail here:
        stock sqlite3's own, and EXPECTED_FAILURES, whose keys say why."""
        stock = SQLiteDatabaseFeatures.django_test_expected_failures
        return set(stock).union(*EXPECTED_FAILURES.values())

    @cached_property
    def supports_vector_distance(self) -> bool:
        """Whether the engine has libSQL's ``vector_distance_cos`` over float32 blobs (libSQL,
        sqld and Turso do; stock SQLite does not), probed once per connection."""
        try:
            with self.connection.cursor() as cursor:
                cursor.execute("SELECT vector_distance_cos(x'0000803f', x'0000803f')")
                cursor.fetchone()
        except DatabaseError:
            return False
        return True


_SHA = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")
_YEAR = "test_extract_year_{}_lookup"
# Django's own tests that syncops.backend fails, by reason. Django's runner marks each one
# an expected failure, so that a fix shows up as an unexpected success (and fails the run
# until the line comes off).
EXPECTED_FAILURES: dict[str, set[str]] = {
    # NotSupportedError: what SQLite's SQL cannot express (stock runs Python inside SQL).
    "NotSupportedError: no hash function in SQL": {
        f"db_functions.text.test_{name}.{name.upper()}Tests.test_{test}"
        for name in _SHA
        for test in ("basic", "transform")
    },
    "NotSupportedError: regular expression back-references": {
        "lookup.tests.LookupTests.test_regex_backreferencing",
    },
    "NotSupportedError: Mod() of non-integers (fmod is not exact in SQL arithmetic)": {
        "db_functions.math.test_mod.ModTests.test_decimal",
        "db_functions.math.test_mod.ModTests.test_float",
    },
    "NotSupportedError: time - duration (stock answers NULL)": {
        "expressions.tests.FTimeDeltaTests.test_time_subtraction",
    },
    "NotSupportedError: DATABASES TIME_ZONE other than UTC": {
        "timezones.tests.NewDatabaseTests.test_query_convert_timezones",
    },
    # The same results; the test asserts the text of stock's SQL or of its transactions.
    "SQL text: stock's SQL names its Python function django_datetime_extract": {
        f"db_functions.datetime.test_extract_trunc.{cls}.{_YEAR.format(op)}"
        for cls in ("DateFunctionTests", "DateFunctionWithTimeZoneTests")
        for op in ("exact", "greaterthan", "lessthan")
    },
    "SQL text: a transaction is BEGIN IMMEDIATE, and logged as the driver runs it": {
        "backends.base.test_base.DatabaseWrapperLoggingTests.test_commit_debug_log",
        "backends.base.test_base.DatabaseWrapperLoggingTests.test_rollback_debug_log",
        "backends.sqlite.tests.TestTransactionMode.test_default_transaction_mode",
        "backends.sqlite.tests.TestTransactionMode.test_invalid_transaction_mode",
    },
}
