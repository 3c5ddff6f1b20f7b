"""The token page: create a token (its raw value shown once), list by prefix, revoke."""

import pytest
from django.urls import reverse

from spaces import services
from spaces.models import ApiToken

pytestmark = pytest.mark.django_db


def test_it_shows_an_empty_state(owner_client):
    assert b"No tokens yet." in owner_client.get(reverse("token-list")).content


def test_creating_shows_the_raw_token_once(owner_client, owner):
    response = owner_client.post(reverse("token-create"), {"name": "agent", "mode": "direct"})
    token = ApiToken.objects.get(user=owner)
    raw = response.context["new_token"]
    assert raw.startswith(token.prefix)
    assert services.token_authenticate(raw=raw) == token
    assert f'value="{raw}"' in response.content.decode()
    assert "no-store" in response["Cache-Control"]

    later = owner_client.get(reverse("token-list")).content.decode()
    assert raw not in later
    assert f"{token.prefix}…" in later


def test_revoke_asks_for_confirmation_first(owner_client, owner):
    token, _raw = services.token_create(user=owner, name="agent")
    response = owner_client.get(reverse("token-revoke", args=[token.pk]))
    assert b"Yes, delete" in response.content
    token.refresh_from_db()
    assert token.is_active


def test_a_plain_post_revokes_the_token(owner_client, owner):
    token, raw = services.token_create(user=owner, name="agent")
    response = owner_client.post(reverse("token-revoke", args=[token.pk]))
    assert response.status_code == 302
    token.refresh_from_db()
    assert not token.is_active
    assert services.token_authenticate(raw=raw) is None


def test_an_htmx_post_revokes_and_answers_with_the_table(owner_client, owner, htmx):
    token, _raw = services.token_create(user=owner, name="agent")
    response = owner_client.post(reverse("token-revoke", args=[token.pk]), headers=htmx)
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="token-table"')
    assert "revoked" in html


def test_another_users_token_is_404(stranger_client, owner):
    token, _raw = services.token_create(user=owner, name="agent")
    assert stranger_client.post(reverse("token-revoke", args=[token.pk])).status_code == 404
    token.refresh_from_db()
    assert token.is_active


def test_the_page_lists_only_your_tokens(stranger_client, owner):
    services.token_create(user=owner, name="olivias-agent")
    assert b"olivias-agent" not in stranger_client.get(reverse("token-list")).content


def test_a_token_without_a_name_is_refused_with_a_reason(owner_client, owner):
    response = owner_client.post(reverse("token-create"), {"name": " ", "mode": "direct"})
    assert "Name the token after what will use it." in response.content.decode()
    assert not ApiToken.objects.filter(user=owner).exists()


def test_revoking_the_new_token_takes_its_secret_off_the_page(owner_client, owner, htmx):
    created = owner_client.post(reverse("token-create"), {"name": "agent", "mode": "direct"})
    token = ApiToken.objects.get(user=owner)
    assert f'id="new-token-{token.pk}"' in created.content.decode()
    response = owner_client.post(reverse("token-revoke", args=[token.pk]), headers=htmx)
    assert (
        f'<div id="new-token-{token.pk}" hx-swap-oob="delete"></div>' in response.content.decode()
    )
