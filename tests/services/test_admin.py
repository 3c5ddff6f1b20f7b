"""Every model has an admin list, change form and search; history is read-only."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from spaces import services
from spaces.models import HistoryEntry, Thought


@pytest.fixture
def admin_client(client, space, owner):
    client.force_login(User.objects.create_superuser("root", password="pw-root-123"))
    services.thought_create(space=space, actor=owner, key="a", title="Alpha")
    services.thought_create(space=space, actor=owner, key="b", title="Beta")
    services.link_create(space=space, actor=owner, source="a", target="b")
    services.token_create(user=owner)
    return client


@pytest.mark.parametrize(
    "model", ["space", "thought", "link", "historyentry", "apitoken", "membership"]
)
def test_list_and_search_pages_render(admin_client, model):
    url = reverse(f"admin:spaces_{model}_changelist")
    assert admin_client.get(url).status_code == 200
    assert admin_client.get(url, {"q": "a"}).status_code == 200


def test_history_is_read_only(admin_client):
    entry = HistoryEntry.objects.first()
    assert admin_client.get(reverse("admin:spaces_historyentry_add")).status_code == 403
    response = admin_client.post(
        reverse("admin:spaces_historyentry_delete", args=[entry.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    assert HistoryEntry.objects.filter(pk=entry.pk).exists()


def test_admin_edits_go_through_services_and_are_recorded(admin_client):
    thought = Thought.objects.get(key="a")
    url = reverse("admin:spaces_thought_change", args=[thought.pk])
    form = {
        "space": thought.space_id,
        "key": "a",
        "title": "Alpha 2",
        "body": "",
        "kind": "note",
        "metadata": "{}",
        "parent": "",
        "position": 0,
    }
    assert admin_client.post(url, form).status_code == 302
    thought.refresh_from_db()
    assert thought.title == "Alpha 2" and thought.version == 2
    assert HistoryEntry.objects.filter(action="node.updated", actor_name="root").exists()


def test_admin_delete_goes_through_the_service(admin_client):
    thought = Thought.objects.get(key="a")
    url = reverse("admin:spaces_thought_delete", args=[thought.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    assert HistoryEntry.objects.filter(action="node.deleted", thought_key="a").exists()
