"""axe-core (pinned in tools/package-lock.json, installed by scripts/setup.sh, never a CDN)
scans every page in Chromium, at desktop and phone widths, for WCAG 2 A and AA rules:
no serious or critical violation anywhere. The phone header stays one compact row."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.live.servers import ROOT

AXE = ROOT / "tools" / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
SERIOUS = ("serious", "critical")


def _pages(demo) -> list[str]:
    space = f"/spaces/{demo.space_id}"
    return [
        "/login/",
        "/spaces/",
        "/spaces/new/",
        "/spaces/import/",
        f"{space}/",
        f"{space}/edit/",
        f"{space}/share/",
        f"{space}/history/",
        f"{space}/at/",
        f"{space}/conflicts/",
        f"{space}/proposals/",
        f"{space}/search/?q=sync",
        f"{space}/thoughts/sync/",
        f"{space}/thoughts/sync/edit/",
        f"{space}/thoughts/new/",
        f"{space}/links/new/",
        "/proposals/",
        "/tokens/",
        "/agents/",
        "/account/",
        "/signup/",
        "/invitations/inv_not-a-link/",
        "/no-such-page/",
    ]


@pytest.fixture(scope="module")
def signed_in(server, browser):
    base_url, demo = server
    # axe is injected as a script: this context lets it past the pages' Content-Security-Policy.
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    page.goto(f"{base_url}/login/")
    page.fill("input[name=username]", demo.username)
    page.fill("input[name=password]", demo.password)
    page.click("button[type=submit]")
    page.wait_for_url("**/spaces/")
    return base_url, demo, context


def _violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        """async () => {
            const result = await axe.run(document, {
                runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
            });
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(" ")),
            }));
        }"""
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {', '.join(v['nodes'])}"
        for v in found
        if v["impact"] in SERIOUS
    ]


def test_the_scan_finds_a_planted_violation(signed_in):
    base_url, _, context = signed_in
    page = context.new_page()
    page.goto(f"{base_url}/spaces/")
    page.evaluate("() => document.body.insertAdjacentHTML('beforeend', '<button></button>')")
    assert any(v.startswith("button-name (critical)") for v in _violations(page))
    page.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "390px"])
def test_no_page_has_a_serious_accessibility_violation(signed_in, viewport):
    base_url, demo, context = signed_in
    page = context.new_page()
    page.set_viewport_size(viewport)
    problems = {}
    for path in _pages(demo):
        page.goto(base_url + path)
        page.wait_for_load_state("networkidle")
        found = _violations(page)
        if found:
            problems[path] = found
    page.close()
    assert not problems, problems


def test_the_phone_header_is_one_row_with_a_menu(signed_in):
    base_url, demo, context = signed_in
    page = context.new_page()
    page.set_viewport_size(PHONE)
    page.goto(f"{base_url}/spaces/{demo.space_id}/")
    header = page.locator(".site-header")
    box = header.bounding_box()
    assert box is not None and box["height"] <= 64, box
    nav = page.locator(".site-nav")
    expect(nav).to_be_hidden()
    page.get_by_role("button", name="Menu").click()
    expect(nav).to_be_visible()
    expect(nav.get_by_role("link", name="API tokens")).to_be_visible()
    # The add form is reachable without scrolling past the list: a link at the top jumps to it.
    page.get_by_role("link", name="Add a thought").click()
    expect(page.locator("#thought-create input[name=title]")).to_be_focused()
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "the page scrolls sideways"
    page.goto(f"{base_url}/tokens/")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "the tokens page scrolls sideways"
    page.close()
