"""Every mutation needs the CSRF token: without it the answer is 403 and nothing changes."""

import pytest
from django.test import Client
from django.urls import reverse

from spaces.models import Space
from tests.pages.conftest import csrf_token_from

pytestmark = pytest.mark.django_db


@pytest.fixture
def csrf_client(owner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    return client


def test_a_post_without_the_token_is_403(csrf_client):
    response = csrf_client.post(reverse("space-create"), {"title": "Sneaky"})
    assert response.status_code == 403
    assert not Space.objects.exists()


def test_a_thought_delete_without_the_token_is_403(csrf_client, space, thought):
    response = csrf_client.post(reverse("thought-delete", args=[space.pk, "seeds"]))
    assert response.status_code == 403
    assert space.thoughts.filter(key="seeds").exists()


def test_a_post_with_the_token_from_the_form_works(csrf_client):
    page = csrf_client.get(reverse("space-create"))
    token = csrf_token_from(page.content.decode())
    data = {"title": "Honest", "csrfmiddlewaretoken": token}
    response = csrf_client.post(reverse("space-create"), data)
    assert response.status_code == 302
    assert Space.objects.filter(title="Honest").exists()


def test_htmx_posts_send_the_token_in_a_header(csrf_client, space, thought):
    page = csrf_client.get(reverse("space-detail", args=[space.pk])).content.decode()
    assert '<body hx-headers=\'{"X-CSRFToken": "' in page
    token = page.split('"X-CSRFToken": "', 1)[1].split('"', 1)[0]
    url = reverse("thought-delete", args=[space.pk, "seeds"])
    response = csrf_client.post(url, headers={"HX-Request": "true", "X-CSRFToken": token})
    assert response.status_code == 200
    assert not space.thoughts.filter(key="seeds").exists()


def test_logout_without_the_token_is_403(csrf_client):
    assert csrf_client.post(reverse("logout")).status_code == 403
