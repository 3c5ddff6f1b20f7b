"""The sync state is visible: API, page badge, admin log, sync_status (local mode here)."""

import json
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import reverse

from syncops.models import SyncEvent
from syncops.state import redact_url


def test_status_api_reports_the_mode(owner, api_as):
    body = api_as(owner).get("/api/sync/status").json()
    assert body["mode"] == "local" and body["healthy"] is True and body["pending_changes"] == 0


def test_status_api_needs_authentication(db, api_as):
    assert api_as(None).get("/api/sync/status").status_code == 401


def test_every_page_shows_the_sync_badge(client, owner):
    client.force_login(owner)
    page = client.get(reverse("space-list")).content.decode()
    assert 'id="sync-badge"' in page and "local" in page


def test_sync_status_prints_a_table_and_json(db):
    out = StringIO()
    call_command("sync_status", stdout=out)
    assert "Mode" in out.getvalue() and "local" in out.getvalue()
    out = StringIO()
    call_command("sync_status", "--json", stdout=out)
    assert json.loads(out.getvalue())["mode"] == "local"


def test_sync_in_local_mode_says_there_is_nothing_to_sync(db):
    out = StringIO()
    call_command("sync", stdout=out)
    assert "Nothing to sync" in out.getvalue()


@pytest.mark.django_db(databases=["default", "syncops"])
def test_admin_lists_sync_events_read_only(client):
    client.force_login(User.objects.create_superuser("root", password="pw-root-123"))
    SyncEvent.objects.create(kind="push", ok=False, message="Push failed: connection refused")
    page = client.get(reverse("admin:syncops_syncevent_changelist"))
    assert page.status_code == 200 and b"connection refused" in page.content
    assert client.get(reverse("admin:syncops_syncevent_add")).status_code == 403


@pytest.mark.parametrize(
    "url",
    [
        "https://user:secret@db.example.com:8080/x?authToken=abc",
        "https://db.example.com:8080/x;authToken=abc",
        "https://db.example.com:8080/x#authToken=abc",
        "https://u:p@ss@db.example.com:8080/x;a=b?c=d#e",
    ],
)
def test_remote_urls_are_shown_without_credentials(url):
    assert redact_url(url) == "https://db.example.com:8080/x"
    assert redact_url("libsql://db.example.com") == "libsql://db.example.com"


def test_a_working_pull_does_not_hide_failing_pushes():
    import time

    from syncops.state import SyncState

    state = SyncState(mode="offline")
    state.record("push", time.perf_counter(), RuntimeError("no such table: spaces_thought"))
    state.record("pull", time.perf_counter())
    assert state.as_dict()["healthy"] is False
    assert state.as_dict()["status"] == "error"
    state.record("push", time.perf_counter())
    assert state.as_dict()["healthy"] is True and state.as_dict()["status"] == "ok"
