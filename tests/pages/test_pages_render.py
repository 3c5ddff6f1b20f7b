"""Every page answers 200 for someone allowed to see it, and anonymous visitors go to login."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_home_redirects_to_the_spaces_list(owner_client):
    response = owner_client.get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse("space-list")


def test_login_page_renders(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b'name="username"' in response.content


@pytest.mark.parametrize(
    "name",
    [
        "space-detail",
        "space-edit",
        "space-delete",
        "space-share",
        "space-history",
        "thought-create",
    ],
)
def test_space_pages_render_for_the_owner(owner_client, space, thought, name):
    response = owner_client.get(reverse(name, args=[space.pk]))
    assert response.status_code == 200
    assert b"Garden plans" in response.content


@pytest.mark.parametrize("name", ["thought-edit", "thought-delete"])
def test_thought_pages_render(owner_client, space, thought, name):
    response = owner_client.get(reverse(name, args=[space.pk, thought.key]))
    assert response.status_code == 200
    assert b"seeds" in response.content


def test_link_pages_render(owner_client, space, thought, other_thought):
    from spaces import services

    link = services.link_create(space=space, actor=space.owner, source="seeds", target="soil")
    assert owner_client.get(reverse("link-create", args=[space.pk])).status_code == 200
    assert owner_client.get(reverse("link-delete", args=[space.pk, link.pk])).status_code == 200


@pytest.mark.parametrize("name", ["space-list", "space-create", "token-list"])
def test_user_pages_render(owner_client, name):
    assert owner_client.get(reverse(name)).status_code == 200


def test_spaces_list_shows_an_empty_state(owner_client):
    response = owner_client.get(reverse("space-list"))
    assert b"You have no spaces yet" in response.content


def test_space_page_shows_an_empty_state(owner_client, space):
    response = owner_client.get(reverse("space-detail", args=[space.pk]))
    assert b"No thoughts in this space yet" in response.content


def test_base_layout_has_header_nav_and_logout_form(owner_client):
    html = owner_client.get(reverse("space-list")).content.decode()
    assert "ThoughtSpace" in html
    assert 'href="/tokens/"' in html
    assert f'<form method="post" action="{reverse("logout")}"' in html
    assert "olivia" in html


def test_htmx_is_served_from_static_files_not_a_cdn(owner_client):
    html = owner_client.get(reverse("space-list")).content.decode()
    assert 'src="/static/vendor/htmx/htmx.min.js"' in html
    assert "https://" not in html


@pytest.mark.parametrize("url", ["/spaces/", "/spaces/new/", "/tokens/"])
def test_pages_require_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
