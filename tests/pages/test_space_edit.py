"""Editing a space's title and description."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_form_starts_with_the_current_values(owner_client, space):
    html = owner_client.get(reverse("space-edit", args=[space.pk])).content.decode()
    assert 'value="Garden plans"' in html
    assert "Spring</textarea>" in html


def test_it_saves_the_changes(owner_client, space):
    data = {"title": "Vegetable garden", "description": "Spring and summer"}
    response = owner_client.post(reverse("space-edit", args=[space.pk]), data)
    assert response.status_code == 302
    space.refresh_from_db()
    assert (space.title, space.description) == ("Vegetable garden", "Spring and summer")


def test_an_editor_may_edit_the_space(editor_client, space):
    response = editor_client.post(reverse("space-edit", args=[space.pk]), {"title": "Renamed"})
    assert response.status_code == 302
    space.refresh_from_db()
    assert space.title == "Renamed"
