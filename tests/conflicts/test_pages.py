"""Conflicts in the pages: the space's banner, the conflicts page side by side, the thought's
banner, and restoring with a form."""

from __future__ import annotations

from django.test import Client

from spaces.models import Thought


def logged_in(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def test_the_space_page_shows_a_banner_and_count(viewer, space, concurrent_edit):
    page = logged_in(viewer).get(f"/spaces/{space.id}/").content.decode()
    assert "banner--conflict" in page and "review it" in page
    assert f'href="/spaces/{space.id}/conflicts/"' in page


def test_no_banner_without_open_conflicts(viewer, space):
    assert "banner--conflict" not in logged_in(viewer).get(f"/spaces/{space.id}/").content.decode()


def test_the_conflicts_page_puts_both_versions_side_by_side_escaped(viewer, space, concurrent_edit):
    page = logged_in(viewer).get(f"/spaces/{space.id}/conflicts/").content.decode()
    assert "Lost title" in page and "Kept title" in page
    assert "lost &lt;b&gt;body&lt;/b&gt;" in page and "<b>body</b>" not in page
    assert "Restore the lost version" not in page  # viewers see, but cannot resolve


def test_the_thought_page_shows_its_conflict(editor, space, concurrent_edit):
    page = logged_in(editor).get(f"/spaces/{space.id}/thoughts/idea/").content.decode()
    assert "changed on another replica at the same time" in page and "Lost title" in page


def test_restoring_from_the_page_needs_the_csrf_token(editor, space, concurrent_edit):
    client = logged_in(editor)
    path = f"/spaces/{space.id}/conflicts/{concurrent_edit.id}/restore/"
    assert client.post(path).status_code == 403  # no CSRF token
    page = client.get(f"/spaces/{space.id}/conflicts/")
    token = page.cookies["csrftoken"].value
    response = client.post(path, {"csrfmiddlewaretoken": token, "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == f"/spaces/{space.id}/conflicts/"
    assert Thought.objects.get(key="idea").title == "Lost title"


def test_strangers_get_404(stranger, space, concurrent_edit):
    assert logged_in(stranger).get(f"/spaces/{space.id}/conflicts/").status_code == 404


def test_the_live_fragment_carries_the_banner(viewer, space, concurrent_edit):
    fragment = logged_in(viewer).get(f"/spaces/{space.id}/live/").content.decode()
    assert 'id="conflict-banner" hx-swap-oob="true"' in fragment and "review it" in fragment


def test_the_admin_lists_conflicts_and_restores_them(owner, space, concurrent_edit):
    owner.is_staff = owner.is_superuser = True
    owner.save()
    client = Client()
    client.force_login(owner)
    listing = client.get("/admin/spaces/conflict/").content.decode()
    assert "Changed on two replicas at once" in listing and "idea" in listing
    response = client.post(
        "/admin/spaces/conflict/",
        {"action": "restore", "_selected_action": [concurrent_edit.id]},
    )
    assert response.status_code == 302
    assert Thought.objects.get(key="idea").title == "Lost title"
