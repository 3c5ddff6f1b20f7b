"""Every page runs under its Content-Security-Policy (no inline script or style, nothing from
another origin) in Chromium: the pages, htmx, the graph, live updates and the admin."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.live.browsers import open_space
from tests.live.servers import api, app_env, manage

MAKE_STAFF = """
from django.contrib.auth.models import User
User.objects.filter(username="demo").update(is_staff=True, is_superuser=True)
"""


def test_pages_htmx_graph_and_admin_break_no_rule_of_the_policy(server, browser, demo_database):
    base_url, demo = server
    db_path, _ = demo_database
    manage(app_env(db_path), "shell", "--no-imports", "-c", MAKE_STAFF)
    page = open_space(browser, base_url, demo)  # the graph, htmx and the live socket run
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(f"{page.url}: {message.text}")
            if "Content Security Policy" in message.text
            else None
        ),
    )
    response = page.reload()
    assert response is not None
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    graph = page.locator("#graph")
    expect(graph).to_have_attribute("data-nodes", re.compile(r"^[1-9][0-9]*$"))  # drawn
    nodes = int(graph.get_attribute("data-nodes") or 0)
    # An htmx form: the inline editor of a thought, then a live change from elsewhere.
    page.locator("#thought-sync").get_by_role("link", name="Edit").click()
    expect(page.locator("#thought-sync textarea[name=body]")).to_be_visible()
    body = {"key": "csp-check", "title": "Added under the policy"}
    api(base_url, demo.token, "POST", f"/api/spaces/{demo.space_id}/thoughts", body)
    try:
        _visit_under_the_policy(page, base_url, demo, nodes)
    finally:  # the other browser tests of the module count the demo space's thoughts
        api(base_url, demo.token, "DELETE", f"/api/spaces/{demo.space_id}/thoughts/csp-check")
    assert violations == []


def _visit_under_the_policy(page, base_url: str, demo, nodes: int) -> None:
    expect(page.locator("#thought-csp-check")).to_have_count(1, timeout=2000)
    expect(page.locator("#graph")).to_have_attribute("data-nodes", str(nodes + 1))
    for path in (
        f"/spaces/{demo.space_id}/thoughts/csp-check/",
        f"/spaces/{demo.space_id}/history/",
        f"/spaces/{demo.space_id}/search/?q=sync",
        "/tokens/",
        "/agents/",
        "/admin/",
        "/admin/spaces/thought/",
        "/admin/spaces/space/",
        "/admin/auth/user/add/",
    ):
        answer = page.goto(f"{base_url}{path}")
        assert answer is not None and answer.status == 200, path
