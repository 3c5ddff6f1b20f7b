"""Creating a space from its form."""

import pytest
from django.urls import reverse

from spaces.models import Space

pytestmark = pytest.mark.django_db


def test_it_creates_the_space_and_opens_it(owner_client, owner):
    data = {"title": "Reading list", "description": "Books for 2025"}
    response = owner_client.post(reverse("space-create"), data)
    space = Space.objects.get(title="Reading list")
    assert space.owner == owner
    assert space.description == "Books for 2025"
    assert response.status_code == 302
    assert response["Location"] == reverse("space-detail", args=[space.pk])


def test_the_new_space_is_listed(owner_client):
    owner_client.post(reverse("space-create"), {"title": "Reading list"})
    assert b"Reading list" in owner_client.get(reverse("space-list")).content


def test_it_records_history(owner_client):
    owner_client.post(reverse("space-create"), {"title": "Reading list"})
    assert Space.objects.get().history.filter(action="space.created").exists()
