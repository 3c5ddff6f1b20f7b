"""Two Chromium pages of one space on a live daphne: an edit made in one page, or through the
API, appears in the other without a reload and without applying it twice.

How fast is a benchmark's question (scripts/bench_live.py, docs/BENCHMARKS.md): here a change
may take up to ``LIVE_MS`` to show, so that a busy machine does not fail a test of behaviour."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.live.browsers import open_space
from tests.live.servers import ROOT, api

ARTIFACTS = ROOT / "test-artifacts"
LIVE_MS = 5000


def test_edit_in_one_page_appears_in_the_other(server, browser):
    base_url, demo = server
    editor_page = open_space(browser, base_url, demo)
    watcher_page = open_space(browser, base_url, demo)

    thought = editor_page.locator("#thought-history")
    thought.get_by_role("link", name="Edit").click()
    editor_page.fill("#thought-history input[name=title]", "History, edited live")
    editor_page.locator("#thought-history").get_by_role("button", name="Save").click()
    watched_title = watcher_page.locator("#thought-history .thought__title")
    expect(watched_title).to_have_text("History, edited live", timeout=LIVE_MS)

    expect(editor_page.locator("#thought-history .thought__title")).to_have_text(
        "History, edited live"
    )
    ARTIFACTS.mkdir(exist_ok=True)
    editor_page.screenshot(path=ARTIFACTS / "live-editor-page.png", full_page=True)
    watcher_page.screenshot(path=ARTIFACTS / "live-watcher-page.png", full_page=True)
    # The editing page showed its own change from its own response, not a second time.
    assert "thought--live-changed" not in (thought.get_attribute("class") or "")
    assert "thought--live-changed" in (
        watcher_page.locator("#thought-history").get_attribute("class") or ""
    )


def test_agent_write_through_the_api_appears_in_open_pages(server, browser):
    base_url, demo = server
    page = open_space(browser, base_url, demo)
    body = {"key": "from-agent", "title": "Added by an agent", "parent": "history"}
    api(base_url, demo.token, "POST", f"/api/spaces/{demo.space_id}/thoughts", body)
    expect(page.locator("#thought-from-agent .thought__title")).to_have_text(
        "Added by an agent", timeout=LIVE_MS
    )
    api(base_url, demo.token, "DELETE", f"/api/spaces/{demo.space_id}/thoughts/from-agent")
    expect(page.locator("#thought-from-agent")).to_have_count(0, timeout=LIVE_MS)


def test_open_editor_survives_a_change_elsewhere(server, browser):
    base_url, demo = server
    page = open_space(browser, base_url, demo)
    page.locator("#thought-sync").get_by_role("link", name="Edit").click()
    page.fill("#thought-sync textarea[name=body]", "half-typed text")
    api(
        base_url,
        demo.token,
        "PATCH",
        f"/api/spaces/{demo.space_id}/thoughts/sync",
        {"title": "Changed by someone else"},
    )
    expect(page.locator("#thought-sync .live-notice")).to_be_visible(timeout=LIVE_MS)
    expect(page.locator("#thought-sync textarea[name=body]")).to_have_value("half-typed text")


def test_page_catches_up_after_a_reconnect_without_reloading(server, browser):
    base_url, demo = server
    page = browser.new_context().new_page()
    sockets = []
    blocked = {"now": False}

    def route(ws):  # every socket of the page goes through here, so the test can cut it
        if blocked["now"]:
            ws.close()
            return
        ws.connect_to_server()
        sockets.append(ws)

    page.route_web_socket("**/ws/spaces/**", route)
    page.goto(f"{base_url}/login/?next=/spaces/{demo.space_id}/")
    page.fill("input[name=username]", demo.username)
    page.fill("input[name=password]", demo.password)
    page.click("button[type=submit]")
    status = page.locator("#live-status")
    expect(status).to_have_attribute("data-state", "live")
    page.evaluate("window.notReloaded = true")

    blocked["now"] = True
    sockets[-1].close()
    expect(status).to_have_attribute("data-state", "offline")
    body = {"key": "while-away", "title": "Written while the page was away"}
    api(base_url, demo.token, "POST", f"/api/spaces/{demo.space_id}/thoughts", body)
    page.wait_for_timeout(300)
    expect(page.locator("#thought-while-away")).to_have_count(0)

    blocked["now"] = False
    expect(status).to_have_attribute("data-state", "live", timeout=5000)
    expect(page.locator("#thought-while-away .thought__title")).to_have_text(
        "Written while the page was away", timeout=LIVE_MS
    )
    assert page.evaluate("window.notReloaded") is True
