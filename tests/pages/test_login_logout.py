"""Signing in and out with Django's auth views."""

import pytest
from django.urls import reverse

from tests.pages.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_login_with_the_right_password_goes_to_the_spaces_list(client, owner):
    response = client.post(reverse("login"), {"username": "olivia", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("space-list")
    assert client.get(reverse("space-list")).status_code == 200


def test_login_with_a_wrong_password_shows_an_error(client, owner):
    response = client.post(reverse("login"), {"username": "olivia", "password": "nope"})
    assert response.status_code == 200
    assert b"form-errors" in response.content
    assert "_auth_user_id" not in client.session


def test_login_returns_to_the_page_asked_for(client, owner, space):
    url = reverse("space-detail", args=[space.pk])
    data = {"username": "olivia", "password": PASSWORD, "next": url}
    response = client.post(reverse("login"), data)
    assert response["Location"] == url


def test_logout_is_a_post_that_ends_the_session(owner_client):
    response = owner_client.post(reverse("logout"))
    assert response.status_code == 302
    assert owner_client.get(reverse("space-list")).status_code == 302
