"""create_token and seed_demo."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from spaces.models import Space, Thought


def test_create_token_prints_a_working_token_as_the_last_word(owner):
    out = StringIO()
    call_command("create_token", "olivia", "--mode", "direct", stdout=out)
    token = out.getvalue().split()[-1]
    assert (
        Client().get("/api/spaces", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    )


def test_create_token_for_an_unknown_user_fails_clearly(db):
    with pytest.raises(CommandError, match="no user named 'ghost'"):
        call_command("create_token", "ghost")


def test_seed_demo_is_idempotent(db):
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())
    assert Space.objects.filter(title="Demo space").count() == 1
    assert Thought.objects.count() == 5
    client = Client()
    login = {"username": "demo", "password": "demo-password"}
    assert client.post("/login/", login).status_code == 302  # logged in, sent on


def test_seed_demo_admin_opens_the_admin_to_the_demo_user(db):
    client = Client()
    login = {"username": "demo", "password": "demo-password"}
    call_command("seed_demo", stdout=StringIO())
    client.post("/login/", login)
    assert client.get("/admin/").status_code == 302  # not staff: sent to the admin's login
    out = StringIO()
    call_command("seed_demo", "--admin", stdout=out)
    assert "demo may use the admin, at /admin/" in out.getvalue()
    assert client.get("/admin/").status_code == 200
    assert "Log in as demo / (unchanged)" in out.getvalue()
