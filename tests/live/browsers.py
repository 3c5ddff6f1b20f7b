"""Chromium for the browser tests: Debian's binary driven by Playwright (never a downloaded
browser), and a helper that signs in and opens the demo space."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.live.servers import DemoData

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def open_space(browser: Browser, base_url: str, demo: DemoData) -> Page:
    """A new signed-in page on the demo space, once its live updates are connected."""
    page = browser.new_context().new_page()
    page.goto(f"{base_url}/login/?next=/spaces/{demo.space_id}/")
    page.fill("input[name=username]", demo.username)
    page.fill("input[name=password]", demo.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"**/spaces/{demo.space_id}/")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    return page
