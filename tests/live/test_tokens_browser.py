"""The token page in Chromium: a new token's secret is copied with one click, and leaves the
page when that token is revoked."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.live.browsers import open_space


def test_copy_the_new_token_then_revoke_it(server, browser):
    base_url, demo = server
    page = open_space(browser, base_url, demo)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
    page.goto(f"{base_url}/tokens/")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_text("Name the token after what will use it.")).to_be_visible()

    page.fill("input[name=name]", "copy check")
    page.get_by_role("button", name="Create token").click()
    secret = page.locator("#new-token-value").input_value()
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == secret

    page.on("dialog", lambda dialog: dialog.accept())
    row = page.locator("#token-table tr", has_text="copy check")
    row.get_by_role("link", name="Revoke").click()
    expect(row.locator(".badge")).to_have_text("revoked")
    expect(page.locator("#new-token-value")).to_have_count(0)
    assert secret not in page.content()
