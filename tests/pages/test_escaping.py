"""User strings are always escaped: a script in a title or body is shown, never run."""

import pytest
from django.urls import reverse

from spaces import services

pytestmark = pytest.mark.django_db

PAYLOAD = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.fixture
def hostile_space(owner, editor):
    space = services.space_create(owner=owner, title=PAYLOAD, description=PAYLOAD)
    services.space_share(space=space, actor=owner, username=editor.username, role="editor")
    services.thought_create(
        space=space,
        actor=owner,
        key="a",
        title=PAYLOAD,
        body=PAYLOAD,
        kind=PAYLOAD,
        metadata={"note": PAYLOAD},
    )
    services.thought_create(space=space, actor=owner, key="b", title="plain")
    services.link_create(space=space, actor=owner, source="a", target="b", label=PAYLOAD)
    return space


def assert_escaped(response):
    html = response.content.decode()
    assert response.status_code == 200
    assert PAYLOAD not in html
    assert ESCAPED in html


@pytest.mark.parametrize(
    "name", ["space-detail", "space-edit", "space-history", "space-share", "thought-create"]
)
def test_space_pages_escape_user_strings(owner_client, hostile_space, name):
    assert_escaped(owner_client.get(reverse(name, args=[hostile_space.pk])))


def test_the_spaces_list_escapes_titles(owner_client, hostile_space):
    assert_escaped(owner_client.get(reverse("space-list")))


def test_the_edit_form_escapes_values(owner_client, hostile_space):
    assert_escaped(owner_client.get(reverse("thought-edit", args=[hostile_space.pk, "a"])))


def test_the_delete_confirmation_escapes_the_title(owner_client, hostile_space):
    assert_escaped(owner_client.get(reverse("thought-delete", args=[hostile_space.pk, "a"])))


def test_htmx_partials_escape_user_strings(editor_client, hostile_space, htmx):
    url = reverse("thought-edit", args=[hostile_space.pk, "b"])
    data = {"title": PAYLOAD, "body": PAYLOAD, "position": "0", "metadata": "{}", "version": "1"}
    assert_escaped(editor_client.post(url, data, headers=htmx))


def test_the_token_page_escapes_names(owner_client, owner):
    services.token_create(user=owner, name=PAYLOAD)
    assert_escaped(owner_client.get(reverse("token-list")))
