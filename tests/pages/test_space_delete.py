"""Deleting a space: a confirmation page first, then a POST."""

import pytest
from django.urls import reverse

from spaces.models import Space, Thought

pytestmark = pytest.mark.django_db


def test_get_asks_for_confirmation_and_deletes_nothing(owner_client, space):
    response = owner_client.get(reverse("space-delete", args=[space.pk]))
    assert response.status_code == 200
    assert b"cannot be undone" in response.content
    assert Space.objects.filter(pk=space.pk).exists()


def test_post_deletes_the_space_and_its_thoughts(owner_client, space, thought):
    response = owner_client.post(reverse("space-delete", args=[space.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("space-list")
    assert not Space.objects.filter(pk=space.pk).exists()
    assert not Thought.objects.filter(pk=thought.pk).exists()


def test_an_editor_cannot_delete_the_space(editor_client, space):
    response = editor_client.post(reverse("space-delete", args=[space.pk]))
    assert response.status_code == 403
    assert Space.objects.filter(pk=space.pk).exists()
