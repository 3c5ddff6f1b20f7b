"""Adding a thought: a plain form post redirects; an htmx post answers with the new tree."""

import pytest
from django.urls import reverse

from spaces.models import Thought

pytestmark = pytest.mark.django_db


def thought_data(**overrides):
    data = {
        "key": "compost",
        "title": "Start a compost heap",
        "body": "Behind the shed",
        "kind": "task",
        "parent": "",
        "position": "2",
        "metadata": '{"priority": 1}',
    }
    return {**data, **overrides}


def test_a_plain_post_creates_the_thought_and_redirects_to_it(owner_client, space):
    url = reverse("thought-create", args=[space.pk])
    response = owner_client.post(url, thought_data())
    thought = space.thoughts.get(key="compost")
    assert (thought.title, thought.body, thought.kind) == (
        "Start a compost heap",
        "Behind the shed",
        "task",
    )
    assert thought.position == 2
    assert thought.metadata == {"priority": 1}
    assert response.status_code == 302
    assert response["Location"] == reverse("space-detail", args=[space.pk]) + "#thought-compost"


def test_it_can_be_created_under_a_parent(owner_client, space, thought):
    url = reverse("thought-create", args=[space.pk])
    owner_client.post(url, thought_data(parent="seeds"))
    assert space.thoughts.get(key="compost").parent == thought


def test_children_are_nested_under_their_parent_on_the_page(owner_client, space, thought):
    owner_client.post(reverse("thought-create", args=[space.pk]), thought_data(parent="seeds"))
    html = owner_client.get(reverse("space-detail", args=[space.pk])).content.decode()
    parent_at = html.index('id="thought-seeds"')
    nested_list_at = html.index('<ul class="thought-list">', parent_at)
    assert html.index('id="thought-compost"') > nested_list_at


def test_an_htmx_post_answers_with_the_tree_and_fresh_forms(owner_client, space, htmx):
    url = reverse("thought-create", args=[space.pk])
    response = owner_client.post(url, thought_data(), headers=htmx)
    html = response.content.decode()
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#thoughts"
    assert response["HX-Reswap"] == "innerHTML"
    assert 'id="thought-compost" data-thought-key="compost"' in html
    assert '<div id="thought-create" hx-swap-oob="true">' in html
    assert '<section class="card" id="links" hx-swap-oob="true">' in html
    assert "<html" not in html
    assert Thought.objects.filter(space=space, key="compost").exists()


def test_an_editor_may_add_thoughts(editor_client, space):
    editor_client.post(reverse("thought-create", args=[space.pk]), thought_data())
    assert space.thoughts.filter(key="compost").exists()


def test_a_duplicate_key_is_an_error_beside_the_key(owner_client, space, thought):
    url = reverse("thought-create", args=[space.pk])
    response = owner_client.post(url, thought_data(key="seeds"))
    assert response.status_code == 200
    assert "already exists" in response.context["form"].errors["key"][0]
    assert space.thoughts.count() == 1


@pytest.mark.parametrize(
    ("titles", "keys"),
    [
        (["Sync after write", "Sync after write"], ["sync-after-write", "sync-after-write-2"]),
        (["Über Straße!"], ["uber-strae"]),
        (["日本語", "🙂"], ["thought", "thought-2"]),
        (["a" * 200], ["a" * 72]),
    ],
)
def test_a_title_is_enough_the_key_is_made_from_it(owner_client, space, titles, keys):
    url = reverse("thought-create", args=[space.pk])
    before = set(space.thoughts.values_list("key", flat=True))
    for title in titles:
        response = owner_client.post(url, {"title": title, "position": "0"})
        assert response.status_code == 302
    made = space.thoughts.exclude(key__in=before).order_by("created_at", "key")
    assert [thought.key for thought in made] == keys


def test_the_optional_fields_fold_under_more_until_one_has_an_error(owner_client, space):
    url = reverse("thought-create", args=[space.pk])
    page = owner_client.get(reverse("space-detail", args=[space.pk])).content.decode()
    assert '<details class="more">' in page
    response = owner_client.post(url, {"title": "x", "position": "0", "metadata": "[1]"})
    assert '<details class="more" open>' in response.content.decode()


def test_the_page_has_no_menu_of_every_thought(owner_client, space, thought, other_thought):
    """Parent and link ends are pickers that search (spaces.forms.ThoughtPicker)."""
    page = owner_client.get(reverse("space-detail", args=[space.pk])).content.decode()
    assert "<option" not in page
    options = reverse("thought-options", args=[space.pk])
    assert page.count(f'hx-get="{options}"') == 3  # parent, from, to
