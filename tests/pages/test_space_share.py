"""Sharing a space: give a user a role, change it, or take it away."""

import pytest
from django.urls import reverse

from spaces.models import Membership

pytestmark = pytest.mark.django_db


def test_the_share_page_lists_the_people_with_access(owner_client, space):
    html = owner_client.get(reverse("space-share", args=[space.pk])).content.decode()
    assert "edgar" in html
    assert "vera" in html


def test_it_gives_a_user_a_role(owner_client, space, stranger):
    url = reverse("space-share", args=[space.pk])
    response = owner_client.post(url, {"username": "stan", "role": "editor"})
    assert response.status_code == 302
    assert Membership.objects.get(space=space, user=stranger).role == "editor"


def test_the_shared_user_then_sees_the_space(owner_client, stranger_client, space, stranger):
    owner_client.post(
        reverse("space-share", args=[space.pk]), {"username": "stan", "role": "viewer"}
    )
    assert stranger_client.get(reverse("space-detail", args=[space.pk])).status_code == 200


def test_an_empty_role_removes_access(owner_client, space, viewer):
    url = reverse("space-share", args=[space.pk])
    owner_client.post(url, {"username": "vera", "role": ""})
    assert not Membership.objects.filter(space=space, user=viewer).exists()


def test_an_unknown_user_is_an_error_beside_the_username(owner_client, space):
    url = reverse("space-share", args=[space.pk])
    response = owner_client.post(url, {"username": "nobody", "role": "viewer"})
    assert response.status_code == 200
    form = response.context["form"]
    assert "There is no user named 'nobody'." in form.errors["username"]


def test_an_editor_cannot_share(editor_client, space):
    url = reverse("space-share", args=[space.pk])
    assert editor_client.get(url).status_code == 403
    assert editor_client.post(url, {"username": "stan", "role": "editor"}).status_code == 403
