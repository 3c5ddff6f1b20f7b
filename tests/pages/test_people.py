"""People and access: sign-up that an admin opens or closes, invitation links (for someone
with or without an account), and a person's account page (password, sessions, tokens)."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from spaces import accounts, services
from spaces.errors import InvalidInput
from spaces.models import HistoryEntry, Invitation
from tests.pages.conftest import PASSWORD

pytestmark = pytest.mark.django_db

PHRASE = "a-long-pass-phrase-42"
NEW = {"username": "newcomer", "password1": PHRASE, "password2": PHRASE}


def _invite(owner_client, space, role="editor") -> str:
    html = owner_client.post(reverse("invitation-create", args=[space.pk]), {"role": role})
    match = re.search(r'value="(http://testserver/invitations/[^"]+/)"', html.content.decode())
    assert match, "no link on the page"
    return match.group(1).removeprefix("http://testserver")


def test_sign_up_is_closed_by_default_and_says_what_to_do(client):
    response = client.get(reverse("signup"))
    assert response.status_code == 403
    assert b"ask someone" in response.content.lower()
    assert client.post(reverse("signup"), NEW).status_code == 403
    assert not get_user_model().objects.filter(username="newcomer").exists()
    assert b"Make an account" not in client.get(reverse("login")).content


def test_an_admin_opens_sign_up_and_the_newest_setting_decides(client, owner):
    accounts.signup_set(open=True, actor=owner)
    assert b"Make an account" in client.get(reverse("login")).content
    response = client.post(reverse("signup"), NEW)
    assert response.status_code == 302
    assert client.get(reverse("space-list")).status_code == 200  # signed in
    accounts.signup_set(open=False, actor=owner)
    assert Client().get(reverse("signup")).status_code == 403


def test_sign_up_refuses_a_weak_or_taken_name_beside_the_field(client, owner):
    accounts.signup_set(open=True, actor=owner)
    data = dict(NEW, username=owner.username)
    response = client.post(reverse("signup"), data)
    assert "username" in response.context["form"].errors
    response = client.post(reverse("signup"), dict(NEW, password1="123", password2="123"))
    assert "password2" in response.context["form"].errors


def test_an_invitation_makes_an_account_and_joins_even_with_sign_up_closed(owner_client, space):
    link = _invite(owner_client, space)
    visitor = Client()
    page = visitor.get(link).content.decode()
    assert f"Join “{space.title}”" in page and "Make an account and join" in page

    signup = re.search(r'href="(/signup/\?invite=[^"]+)"', page).group(1)
    token = signup.split("invite=")[1]
    response = visitor.post(reverse("signup"), dict(NEW, invite=token))

    assert response["Location"] == reverse("space-detail", args=[space.pk])
    user = get_user_model().objects.get(username="newcomer")
    assert space.role_of(user) == "editor"
    shared = space.history.filter(action=HistoryEntry.Action.SPACE_SHARED).first()
    assert shared.actor == space.owner and shared.after["user"] == "newcomer"
    assert Client().get(link).content.decode().count("This invitation is accepted") == 1


def test_a_signed_in_person_joins_with_one_click_and_only_once(owner_client, space, stranger):
    link = _invite(owner_client, space, role="viewer")
    client = Client()
    client.force_login(stranger)
    assert f"Join as {stranger.username}" in client.get(link).content.decode()
    response = client.post(link)
    assert response["Location"] == reverse("space-detail", args=[space.pk])
    assert space.role_of(stranger) == "viewer"
    other = get_user_model().objects.create_user("late", password="x-long-password-1")
    late = Client()
    late.force_login(other)
    late.post(link)
    assert space.role_of(other) is None


def test_links_are_owner_only_revocable_and_expire(owner_client, space, editor, owner):
    client = Client()
    client.force_login(editor)
    made = client.post(reverse("invitation-create", args=[space.pk]), {"role": "viewer"})
    assert made.status_code == 403
    link = _invite(owner_client, space)
    invitation = Invitation.objects.get()
    owner_client.post(reverse("invitation-revoke", args=[space.pk, invitation.pk]))
    assert "This invitation is revoked" in Client().get(link).content.decode()
    invitation, raw = accounts.invitation_create(space=space, actor=owner, role="viewer", days=0)
    with pytest.raises(InvalidInput, match="expired"):
        accounts.invitation_accept(raw=raw, user=editor)
    assert Client().get("/invitations/inv_made-up/").status_code == 404


def test_only_the_hash_of_a_link_is_kept(owner_client, space):
    link = _invite(owner_client, space)
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert token not in str(list(Invitation.objects.values()))


def test_the_account_page_changes_the_password_and_signs_out_elsewhere(owner, owner_client):
    other = Client()
    other.force_login(owner)
    page = owner_client.get(reverse("account")).content.decode()
    assert "in 1 other session" in page
    owner_client.post(reverse("account"), {"action": "sessions"})
    assert other.get(reverse("space-list")).status_code == 302  # signed out there
    assert "in 0 other sessions" in owner_client.get(reverse("account")).content.decode()

    data = {
        "action": "password",
        "old_password": PASSWORD,
        "new_password1": "another-long-phrase-7",
        "new_password2": "another-long-phrase-7",
    }
    response = owner_client.post(reverse("account"), data)
    assert response.status_code == 302, response.context["password_form"].errors
    assert owner_client.get(reverse("space-list")).status_code == 200  # still signed in here
    owner.refresh_from_db()
    assert owner.check_password("another-long-phrase-7")


def test_the_account_page_lists_the_persons_tokens(owner, owner_client):
    token, _ = services.token_create(user=owner, name="my script", mode="direct")
    page = owner_client.get(reverse("account")).content.decode()
    assert f"<code>{token.prefix}…</code> my script" in page


def test_a_used_link_makes_no_account_when_sign_up_is_closed(owner_client, space, owner):
    link = _invite(owner_client, space)
    token = link.rstrip("/").rsplit("/", 1)[1]
    invitation = Invitation.objects.get()
    first, second = Client(), Client()
    page = first.get(reverse("signup"), {"invite": token})  # both open the form...
    assert page.status_code == 200 and second.get(reverse("signup"), {"invite": token})
    first.post(reverse("signup"), dict(NEW, invite=token))
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None
    # ...the second posts after the first used it: refused before an account is made.
    response = second.post(reverse("signup"), dict(NEW, username="second", invite=token))
    assert response.status_code == 403
    assert not get_user_model().objects.filter(username="second").exists()


def test_a_viewer_given_an_editor_link_becomes_editor_and_a_member_leaves_it_open(
    owner_client, space, viewer, editor
):
    link = _invite(owner_client, space, role="editor")
    client = Client()
    client.force_login(editor)  # has the role already: arrives, the link stays open
    assert "You have access already (editor)" in client.get(link).content.decode()
    client.post(link)
    assert Invitation.objects.get().accepted_at is None
    client.force_login(viewer)
    assert "Become editor as" in client.get(link).content.decode()
    client.post(link)
    assert space.role_of(viewer) == "editor"


def test_a_bad_roots_value_is_the_first_page(owner_client, space):
    for bad in ("²", "9" * 5000, "-3", "abc"):
        assert (
            owner_client.get(reverse("space-detail", args=[space.pk]), {"roots": bad}).status_code
            == 200
        )
