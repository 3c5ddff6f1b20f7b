"""Bad input shows an error beside its field and changes nothing."""

import pytest
from django.urls import reverse

from spaces.models import HistoryEntry, Space

pytestmark = pytest.mark.django_db


def field_errors(response, field, form="form"):
    return response.context[form].errors.get(field, [])


def assert_error_beside(response, field):
    """The field's error list is inside the field's own block, right under its input."""
    html = response.content.decode()
    label_at = html.index(f'for="id_{field}"')
    block = html[html.rindex('<div class="field', 0, label_at) : html.index("</div>", label_at)]
    assert "field--invalid" in block
    assert f'id="id_{field}_errors"' in block


def test_an_empty_space_title_is_refused(owner_client):
    response = owner_client.post(reverse("space-create"), {"title": "  "})
    assert response.status_code == 200
    assert field_errors(response, "title") == ["This field is required."]
    assert_error_beside(response, "title")
    assert not Space.objects.exists()


def test_an_oversized_space_title_is_refused(owner_client, space):
    response = owner_client.post(reverse("space-edit", args=[space.pk]), {"title": "x" * 201})
    assert "at most 200 characters" in field_errors(response, "title")[0]
    space.refresh_from_db()
    assert space.title == "Garden plans"


@pytest.fixture
def create_url(space):
    return reverse("thought-create", args=[space.pk])


def valid_thought(**overrides):
    return {"key": "k1", "title": "A title", "position": "0", "metadata": "{}", **overrides}


def assert_no_thought_added(space):
    assert not space.thoughts.exists()
    assert not HistoryEntry.objects.filter(space=space, action="node.created").exists()


def test_an_empty_thought_title_is_refused(owner_client, space, create_url):
    response = owner_client.post(create_url, valid_thought(title=""))
    assert field_errors(response, "title") == ["This field is required."]
    assert_error_beside(response, "title")
    assert_no_thought_added(space)


@pytest.mark.parametrize("key", ["has space", "-leading-dash", "ünïcode", "a/b"])
def test_a_bad_key_is_refused(owner_client, space, create_url, key):
    response = owner_client.post(create_url, valid_thought(key=key))
    assert "1-80 characters" in field_errors(response, "key")[0]
    assert_error_beside(response, "key")
    assert_no_thought_added(space)


def test_an_oversized_thought_title_is_refused(owner_client, space, create_url):
    response = owner_client.post(create_url, valid_thought(title="x" * 201))
    assert "at most 200 characters" in field_errors(response, "title")[0]
    assert_no_thought_added(space)


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ("{not json", "Not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('"text"', "must be a JSON object"),
    ],
)
def test_invalid_metadata_is_refused(owner_client, space, create_url, metadata, message):
    response = owner_client.post(create_url, valid_thought(metadata=metadata))
    assert message in field_errors(response, "metadata")[0]
    assert_error_beside(response, "metadata")
    assert_no_thought_added(space)


def test_the_page_keeps_what_was_typed(owner_client, space, create_url):
    response = owner_client.post(create_url, valid_thought(title="", body="Keep me"))
    assert "Keep me</textarea>" in response.content.decode()


def test_htmx_errors_swap_the_form_in_place(owner_client, space, create_url, htmx):
    response = owner_client.post(create_url, valid_thought(key="bad key"), headers=htmx)
    html = response.content.decode()
    assert response.status_code == 200
    assert "HX-Retarget" not in response
    assert html.lstrip().startswith('<div id="thought-create">')
    assert 'id="id_key_errors"' in html
    assert_no_thought_added(space)


def test_invalid_metadata_on_edit_changes_nothing(owner_client, space, thought):
    url = reverse("thought-edit", args=[space.pk, "seeds"])
    data = {"title": "New", "position": "0", "metadata": "[]", "version": "1"}
    response = owner_client.post(url, data)
    assert "must be a JSON object" in field_errors(response, "metadata")[0]
    thought.refresh_from_db()
    assert (thought.title, thought.version) == ("Buy seeds", 1)
