"""Deleting a thought: at once with htmx (the toast offers Undo: test_undo.py), a confirmation
page without JavaScript."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_delete_control_posts_with_htmx_and_links_to_a_confirm_page(
    owner_client, space, thought
):
    html = owner_client.get(reverse("space-detail", args=[space.pk])).content.decode()
    url = reverse("thought-delete", args=[space.pk, "seeds"])
    assert f'href="{url}"' in html
    assert f'hx-post="{url}"' in html


def test_get_shows_a_confirmation_page_and_deletes_nothing(owner_client, space, thought):
    response = owner_client.get(reverse("thought-delete", args=[space.pk, "seeds"]))
    assert response.status_code == 200
    assert b"Yes, delete" in response.content
    assert space.thoughts.filter(key="seeds").exists()


def test_a_plain_post_deletes_and_redirects(owner_client, space, thought):
    response = owner_client.post(reverse("thought-delete", args=[space.pk, "seeds"]))
    assert response.status_code == 302
    assert response["Location"] == reverse("space-detail", args=[space.pk])
    assert not space.thoughts.filter(key="seeds").exists()


def test_an_htmx_post_deletes_and_answers_with_the_tree(
    owner_client, space, thought, other_thought, htmx
):
    response = owner_client.post(reverse("thought-delete", args=[space.pk, "seeds"]), headers=htmx)
    html = response.content.decode()
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#thoughts"
    assert 'id="thought-soil"' in html
    assert 'id="thought-seeds"' not in html
    assert not space.thoughts.filter(key="seeds").exists()


def test_deleting_a_missing_thought_is_404(owner_client, space):
    assert owner_client.post(reverse("thought-delete", args=[space.pk, "nope"])).status_code == 404
