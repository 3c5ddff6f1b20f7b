"""Who sees what: strangers get 404, viewers read without edit controls and get 403 on writes."""

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_a_strangers_space_is_not_listed(stranger_client, space):
    assert b"Garden plans" not in stranger_client.get(reverse("space-list")).content


@pytest.mark.parametrize(
    "name", ["space-detail", "space-edit", "space-delete", "space-share", "space-history"]
)
def test_another_users_space_is_404(stranger_client, space, name):
    assert stranger_client.get(reverse(name, args=[space.pk])).status_code == 404


def test_posting_to_another_users_space_is_404(stranger_client, space, thought):
    url = reverse("thought-delete", args=[space.pk, "seeds"])
    assert stranger_client.post(url).status_code == 404
    assert space.thoughts.filter(key="seeds").exists()


def test_a_viewer_sees_the_space_read_only(viewer_client, space, thought, other_thought):
    response = viewer_client.get(reverse("space-detail", args=[space.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Buy seeds" in html
    assert "read-only" in html
    for name in ("thought-create", "link-create", "space-edit", "space-share", "space-delete"):
        assert reverse(name, args=[space.pk]) not in html
    assert "/edit/" not in html
    assert "/delete/" not in html
    forms = re.findall(r"<form[^>]*>", html.split("</header>", 1)[1])
    assert forms and all('method="get"' in form for form in forms)  # only the search box


def test_an_editor_sees_edit_controls_but_not_owner_controls(editor_client, space, thought):
    html = editor_client.get(reverse("space-detail", args=[space.pk])).content.decode()
    assert reverse("thought-edit", args=[space.pk, "seeds"]) in html
    assert reverse("space-delete", args=[space.pk]) not in html
    assert reverse("space-share", args=[space.pk]) not in html


@pytest.mark.parametrize(
    ("name", "extra_args", "data"),
    [
        ("space-edit", [], {"title": "Mine now"}),
        ("space-delete", [], {}),
        ("space-share", [], {"username": "vera", "role": "editor"}),
        ("thought-create", [], {"key": "x", "title": "x", "position": "0"}),
        ("thought-edit", ["seeds"], {"title": "x", "position": "0", "version": "1"}),
        ("thought-delete", ["seeds"], {}),
        ("link-create", [], {"source": "seeds", "target": "soil"}),
    ],
)
def test_a_viewers_mutations_are_403(
    viewer_client, space, thought, other_thought, name, extra_args, data
):
    response = viewer_client.post(reverse(name, args=[space.pk, *extra_args]), data)
    assert response.status_code == 403
    space.refresh_from_db()
    assert space.title == "Garden plans"
    assert sorted(space.thoughts.values_list("key", flat=True)) == ["seeds", "soil"]
    assert space.memberships.get(user__username="vera").role == "viewer"
    assert not space.links.exists()


def test_a_viewer_cannot_delete_a_link(viewer_client, space, thought, other_thought):
    from spaces import services

    link = services.link_create(space=space, actor=space.owner, source="seeds", target="soil")
    assert viewer_client.post(reverse("link-delete", args=[space.pk, link.pk])).status_code == 403
    assert space.links.filter(pk=link.pk).exists()
