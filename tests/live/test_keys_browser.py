"""The keyboard and the toast in Chromium: shortcuts to add, search, move, edit and save, a
help dialog that lists them, and a delete that asks nothing and offers Undo instead."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.live.browsers import open_space
from tests.live.servers import api


def test_a_thought_is_added_edited_and_saved_from_the_keyboard(server, browser):
    base_url, demo = server
    page = open_space(browser, base_url, demo)

    page.keyboard.press("?")
    dialog = page.locator("#shortcuts")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("New thought")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    page.keyboard.press("n")
    expect(page.locator("#thought-create input[name=title]")).to_be_focused()
    page.keyboard.type("Typed without a mouse")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#thought-typed-without-a-mouse")).to_be_visible()

    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("j")
    first = page.locator("article.thought .thought__title a").first
    expect(first).to_be_focused()
    key = first.evaluate("a => a.closest('article').dataset.thoughtKey")
    page.keyboard.press("e")
    title = page.locator(f"#thought-{key} input[name=title]")
    expect(title).to_be_visible()
    title.fill("Renamed from the keyboard")
    title.press("Control+Enter")
    expect(page.locator(f"#thought-{key} .thought__title")).to_have_text(
        "Renamed from the keyboard"
    )

    page.keyboard.press("/")
    expect(page.locator("#search-q")).to_be_focused()
    page.keyboard.type("n")  # typing in a field: letters are text, not shortcuts
    expect(page.locator("#search-q")).to_have_value("n")


def test_a_delete_asks_nothing_and_undo_brings_it_back(server, browser):
    base_url, demo = server
    body = {"key": "undo-me", "title": "Undo me"}  # top level: listed however full the space
    api(base_url, demo.token, "POST", f"/api/spaces/{demo.space_id}/thoughts", body)
    link = {"source": "undo-me", "target": "sync", "label": "about"}
    api(base_url, demo.token, "POST", f"/api/spaces/{demo.space_id}/links", link)
    page = open_space(browser, base_url, demo)
    page.on("dialog", lambda d: (_ for _ in ()).throw(AssertionError("a confirm box opened")))

    page.locator("#thought-undo-me").get_by_role("link", name="Delete").click()

    expect(page.locator("#thought-undo-me")).to_have_count(0)
    toast = page.locator("#toast")
    expect(toast).to_contain_text("Deleted “Undo me”.")
    toast.get_by_role("button", name="Undo").click()
    expect(page.locator("#thought-undo-me")).to_be_visible()
    expect(toast).to_contain_text("“Undo me” is back.")
    back = api(base_url, demo.token, "GET", f"/api/spaces/{demo.space_id}/thoughts/undo-me")
    assert back["title"] == "Undo me"
    links = api(base_url, demo.token, "GET", f"/api/spaces/{demo.space_id}/links")["items"]
    assert {(x["source"], x["target"], x["label"]) for x in links} >= {("undo-me", "sync", "about")}
    toast.get_by_role("button", name="Dismiss").click()
    expect(toast).to_be_empty()
