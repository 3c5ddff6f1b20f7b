"""Every store has a size on show and a bound: ``manage.py storage``, the same figures in
``sync_status --json`` and the status API, and the retention of quarantined copies."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from spaces import services
from spaces.models import HistoryEntry
from syncops import runtime, storage
from syncops.quarantine import quarantine_root
from syncops.replica import replica_for

pytestmark = pytest.mark.django_db(databases=["default", "syncops"])


@pytest.fixture(autouse=True)
def fresh_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Count history rows on every report (the status API reuses a count for a minute)."""
    monkeypatch.setattr(storage, "GROUPED_COUNTS_TTL", 0)


@pytest.fixture
def quarantine() -> Iterator[Path]:
    """The quarantine folder beside the test database, emptied afterwards."""
    root = quarantine_root(replica_for(connection.settings_dict).path)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def quarantined(root: Path, *, days_old: float, unmerged: bool = False) -> Path:
    """A folder as ``recovery.quarantine()`` makes it, ``days_old`` days ago."""
    stamp = (datetime.now(UTC) - timedelta(days=days_old)).strftime("%Y%m%dT%H%M%S.%fZ")
    folder = root / stamp
    folder.mkdir(parents=True)
    (folder / "ts.db").write_bytes(b"\0" * 4096)
    (folder / "REASON.txt").write_text("remote reset\n")
    if unmerged:
        (folder / "UNMERGED").write_text("")
    return folder


def storage_json(*args: str) -> dict:
    out = StringIO()
    call_command("storage", "--json", *args, stdout=out)
    return json.loads(out.getvalue())


def test_storage_reports_files_quarantine_and_history_per_space(space, owner, quarantine):
    services.thought_create(space=space, actor=owner, key="a", title="A")
    old = quarantined(quarantine, days_old=3)
    report = storage_json()
    database = replica_for(connection.settings_dict).path
    assert report["replica_files"][database] > 0 and report["replica_bytes"] > 0
    assert report["quarantine"] == [
        {**report["quarantine"][0], "path": str(old), "bytes": 4096 + 13, "merged": True}
    ]
    assert 2.9 < report["quarantine"][0]["age_days"] < 3.1
    rows = {group["space_id"]: group["rows"] for group in report["history_rows_by_space_id"]}
    assert rows == {space.id: HistoryEntry.objects.filter(space=space).count()}


def test_storage_prints_a_readable_report(space, quarantine):
    quarantined(quarantine, days_old=1, unmerged=True)
    out = StringIO()
    call_command("storage", stdout=out)
    text = out.getvalue()
    assert "Replica files (local mode)" in text and "UNMERGED" in text
    assert "History rows per space" in text


def test_prune_deletes_merged_copies_past_their_retention_only(quarantine, settings):
    settings.THOUGHTSPACE_QUARANTINE_DAYS = 30
    expired = quarantined(quarantine, days_old=31)
    unmerged = quarantined(quarantine, days_old=90, unmerged=True)
    recent = quarantined(quarantine, days_old=29)
    out = StringIO()
    call_command("storage", "--prune", stdout=out)
    assert "Deleted 1 quarantined copy" in out.getvalue()
    assert not expired.exists() and unmerged.exists() and recent.exists()


def test_status_api_and_sync_status_include_the_storage_report(owner, api_as, quarantine):
    quarantined(quarantine, days_old=2)
    body = api_as(owner).get("/api/sync/status").json()
    assert body["storage"]["quarantine"][0]["merged"] is True
    assert "wal_bytes" in body["storage"] and "sync_events" in body["storage"]
    out = StringIO()
    call_command("sync_status", "--json", stdout=out)
    assert json.loads(out.getvalue())["storage"]["quarantine_bytes"] > 0


def test_the_owner_answers_storage_and_prune_on_its_control_channel(quarantine, settings):
    """What a server owning an offline replica answers ``manage.py storage`` (same code)."""
    settings.THOUGHTSPACE_QUARANTINE_DAYS = 1
    replica = replica_for(connection.settings_dict)
    expired = quarantined(quarantine, days_old=2)
    status = runtime.answer(replica, "status")
    assert status["ok"] and status["state"]["storage"]["quarantine"][0]["path"] == str(expired)
    pruned = runtime.answer(replica, "prune")
    assert pruned == {**pruned, "ok": True, "deleted": [str(expired)]} and not expired.exists()
