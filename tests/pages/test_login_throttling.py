"""Guessing passwords: after THOUGHTSPACE_LOGIN_FAILURE_LIMIT wrong ones, logging in is paused
(429, a page that says so), even with the right password, for the username and the address."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from tests.pages.conftest import PASSWORD

pytestmark = pytest.mark.django_db(databases=["default", "syncops"])


def log_in(client: Client, username: str, password: str, address: str = "10.0.0.1"):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def test_twelve_wrong_passwords_then_the_right_one_is_refused(owner):
    client = Client()
    answers = [log_in(client, owner.username, f"wrong {n}").status_code for n in range(12)]
    limit = settings.AXES_FAILURE_LIMIT
    assert answers[: limit - 1] == [200] * (limit - 1)  # the form again, with its error
    assert set(answers[limit:]) == {429}
    refused = log_in(client, owner.username, PASSWORD)
    assert refused.status_code == 429
    assert "Too many attempts" in refused.content.decode()
    assert "_auth_user_id" not in client.session
    # Another address is paused too for this username (guessing from many addresses).
    assert log_in(Client(), owner.username, PASSWORD, "10.0.0.2").status_code == 429


def test_a_few_mistakes_then_the_right_password_logs_in_and_forgets_them(owner):
    client = Client()
    for n in range(3):
        assert log_in(client, owner.username, f"wrong {n}").status_code == 200
    assert log_in(client, owner.username, PASSWORD).status_code == 302


def test_the_admin_lists_the_attempts(owner):
    from django.contrib.auth.models import User

    log_in(Client(), owner.username, "wrong")
    admin = Client()
    admin.force_login(User.objects.create_superuser("root", password="pw-root-123"))
    page = admin.get("/admin/axes/accessattempt/")
    assert page.status_code == 200 and owner.username in page.content.decode()
