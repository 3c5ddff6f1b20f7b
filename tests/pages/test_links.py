"""Adding and deleting links between two thoughts."""

import pytest
from django.urls import reverse

from spaces import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def link(space, thought, other_thought):
    return services.link_create(
        space=space, actor=space.owner, source="seeds", target="soil", label="after"
    )


def test_a_plain_post_adds_a_link(owner_client, space, thought, other_thought):
    data = {"source": "seeds", "target": "soil", "label": "after"}
    response = owner_client.post(reverse("link-create", args=[space.pk]), data)
    assert response.status_code == 302
    link = space.links.get()
    assert (link.source, link.target, link.label) == (thought, other_thought, "after")


def test_an_htmx_post_adds_a_link_and_shows_it_on_both_thoughts(
    owner_client, space, thought, other_thought, htmx
):
    data = {"source": "seeds", "target": "soil", "label": ""}
    response = owner_client.post(reverse("link-create", args=[space.pk]), data, headers=htmx)
    html = response.content.decode()
    assert response["HX-Retarget"] == "#thoughts"
    soil, seeds = (reverse("thought-detail", args=[space.pk, k]) for k in ("soil", "seeds"))
    assert f'→ <a href="{soil}">Test the soil</a>' in html
    assert f'← <a href="{seeds}">Buy seeds</a>' in html
    assert space.links.count() == 1


def test_a_link_to_itself_is_an_error_beside_the_target(
    owner_client, space, thought, other_thought
):
    data = {"source": "seeds", "target": "seeds"}
    response = owner_client.post(reverse("link-create", args=[space.pk]), data)
    assert response.status_code == 200
    assert response.context["link_form"].errors["target"] == [
        "A link needs two different thoughts."
    ]
    assert space.links.count() == 0


def test_a_duplicate_link_is_an_error(owner_client, space, link, htmx):
    data = {"source": "seeds", "target": "soil", "label": "after"}
    response = owner_client.post(reverse("link-create", args=[space.pk]), data, headers=htmx)
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="link-create">')
    assert "already linked" in html
    assert space.links.count() == 1


def test_the_links_section_lists_links_with_delete_controls(owner_client, space, link):
    html = owner_client.get(reverse("space-detail", args=[space.pk])).content.decode()
    url = reverse("link-delete", args=[space.pk, link.pk])
    assert f'href="{url}"' in html
    assert f'hx-post="{url}"' in html


def test_get_on_delete_asks_for_confirmation(owner_client, space, link):
    response = owner_client.get(reverse("link-delete", args=[space.pk, link.pk]))
    assert b"Yes, delete" in response.content
    assert space.links.count() == 1


def test_a_plain_post_deletes_the_link(owner_client, space, link):
    response = owner_client.post(reverse("link-delete", args=[space.pk, link.pk]))
    assert response.status_code == 302
    assert space.links.count() == 0


def test_an_htmx_post_deletes_the_link(owner_client, space, link, htmx):
    response = owner_client.post(reverse("link-delete", args=[space.pk, link.pk]), headers=htmx)
    assert response.status_code == 200
    assert space.links.count() == 0
    assert "No links yet." in response.content.decode()


def test_deleting_a_missing_link_is_404(owner_client, space):
    assert owner_client.post(reverse("link-delete", args=[space.pk, "nope"])).status_code == 404
