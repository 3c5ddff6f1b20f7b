"""Editing a thought in place; the form carries the version so a stale edit is refused."""

import pytest
from django.urls import reverse

from spaces import services

pytestmark = pytest.mark.django_db


def edit_data(thought, **overrides):
    data = {
        "title": "Buy heirloom seeds",
        "body": "Tomatoes",
        "kind": "task",
        "parent": "",
        "position": "0",
        "metadata": "{}",
        "version": str(thought.version),
    }
    return {**data, **overrides}


def test_the_form_starts_with_the_current_values_and_version(owner_client, space, thought):
    html = owner_client.get(reverse("thought-edit", args=[space.pk, "seeds"])).content.decode()
    assert 'value="Buy seeds"' in html
    assert 'name="version" value="1"' in html


def test_htmx_gets_the_form_in_place_of_the_thought(owner_client, space, thought, htmx):
    url = reverse("thought-edit", args=[space.pk, "seeds"])
    html = owner_client.get(url, headers=htmx).content.decode()
    assert html.lstrip().startswith('<article class="thought thought--editing" id="thought-seeds"')
    assert f'hx-post="{url}"' in html
    assert "<html" not in html


def test_a_plain_post_saves_and_redirects(owner_client, space, thought):
    url = reverse("thought-edit", args=[space.pk, "seeds"])
    response = owner_client.post(url, edit_data(thought))
    thought.refresh_from_db()
    assert (thought.title, thought.body, thought.version) == ("Buy heirloom seeds", "Tomatoes", 2)
    assert response.status_code == 302
    assert response["Location"].endswith("#thought-seeds")


def test_an_htmx_post_answers_with_the_updated_tree(owner_client, space, thought, htmx):
    url = reverse("thought-edit", args=[space.pk, "seeds"])
    response = owner_client.post(url, edit_data(thought), headers=htmx)
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#thoughts"
    assert "Buy heirloom seeds" in response.content.decode()
    thought.refresh_from_db()
    assert thought.version == 2


def test_it_can_move_a_thought_under_another(owner_client, space, thought, other_thought):
    url = reverse("thought-edit", args=[space.pk, "seeds"])
    owner_client.post(url, edit_data(thought, parent="soil"))
    thought.refresh_from_db()
    assert thought.parent == other_thought


def test_a_cycle_is_an_error_beside_the_parent(owner_client, space, thought, other_thought):
    services.thought_update(thought=other_thought, actor=space.owner, changes={"parent": "seeds"})
    url = reverse("thought-edit", args=[space.pk, "seeds"])
    response = owner_client.post(url, edit_data(thought, parent="soil"))
    assert "cycle" in response.context["form"].errors["parent"][0]
    thought.refresh_from_db()
    assert thought.parent is None


def test_a_stale_version_is_refused_with_a_clear_error(owner_client, space, thought):
    services.thought_update(
        thought=thought, actor=space.owner, changes={"title": "Changed elsewhere"}
    )
    url = reverse("thought-edit", args=[space.pk, "seeds"])
    response = owner_client.post(url, edit_data(thought, version="1"))
    assert response.status_code == 200
    assert "Someone changed this thought since you opened it" in response.content.decode()
    thought.refresh_from_db()
    assert thought.title == "Changed elsewhere"


def test_a_stale_htmx_edit_keeps_the_form_in_place(owner_client, space, thought, htmx):
    services.thought_update(
        thought=thought, actor=space.owner, changes={"title": "Changed elsewhere"}
    )
    url = reverse("thought-edit", args=[space.pk, "seeds"])
    response = owner_client.post(url, edit_data(thought, version="1"), headers=htmx)
    html = response.content.decode()
    assert "HX-Retarget" not in response
    assert 'id="thought-seeds"' in html
    assert "Someone changed this thought" in html
    assert "Buy heirloom seeds" in html


def test_without_javascript_the_form_is_a_plain_page(owner_client, space, thought):
    html = owner_client.get(reverse("thought-edit", args=[space.pk, "seeds"])).content.decode()
    form = html[html.index('<form method="post" action="/spaces/') :]
    assert "<html" in html
    assert "hx-post" not in form.split("</form>", 1)[0]
