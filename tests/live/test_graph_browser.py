"""The graph view of a space in Chromium: it draws the space, follows changes made elsewhere
without a reload, opens a thought on click; the search box answers as you type."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.live.browsers import open_space
from tests.live.servers import ROOT, api

ARTIFACTS = ROOT / "test-artifacts"


def _count(page, what: str) -> int:
    return int(page.locator("#graph").get_attribute(f"data-{what}") or 0)


def test_the_graph_draws_the_space_and_follows_live_changes(server, browser):
    base_url, demo = server
    thoughts_url = f"/api/spaces/{demo.space_id}/thoughts"
    page = open_space(browser, base_url, demo)
    graph = page.locator("#graph")
    thoughts = api(base_url, demo.token, "GET", thoughts_url + "?limit=1000")["items"]
    expect(graph).to_have_attribute("data-nodes", str(len(thoughts)))
    expect(graph.locator("canvas").first).to_be_visible()
    nodes, edges = _count(page, "nodes"), _count(page, "edges")

    body = {"key": "graph-live", "title": "Drawn live", "parent": "history"}
    api(base_url, demo.token, "POST", thoughts_url, body)
    expect(graph).to_have_attribute("data-nodes", str(nodes + 1), timeout=2000)
    expect(graph).to_have_attribute("data-edges", str(edges + 1))  # its parent edge
    link = {"source": "graph-live", "target": "sync", "label": "explains"}
    api(base_url, demo.token, "POST", f"/api/spaces/{demo.space_id}/links", link)
    expect(graph).to_have_attribute("data-edges", str(edges + 2), timeout=2000)
    api(base_url, demo.token, "PATCH", thoughts_url + "/graph-live", {"title": "Renamed live"})
    page.wait_for_function(  # a function, not an expression: the page's CSP forbids eval
        "() => thoughtspaceGraph.getElementById('graph-live').data('title') === 'Renamed live'",
        timeout=2000,
    )
    ARTIFACTS.mkdir(exist_ok=True)
    graph.screenshot(path=ARTIFACTS / "graph-live.png")

    api(base_url, demo.token, "DELETE", thoughts_url + "/graph-live")
    expect(graph).to_have_attribute("data-nodes", str(nodes), timeout=2000)
    expect(graph).to_have_attribute("data-edges", str(edges))


def test_clicking_a_thought_in_the_graph_opens_its_page(server, browser):
    base_url, demo = server
    page = open_space(browser, base_url, demo)
    graph = page.locator("#graph")
    graph.scroll_into_view_if_needed()
    # The graph remeasures its container on the next frame after a scroll.
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    x, y = page.evaluate(
        "() => { const p = thoughtspaceGraph.getElementById('history').renderedPosition();"
        " return [p.x, p.y]; }"
    )
    box = graph.bounding_box()
    assert box is not None

    page.mouse.click(box["x"] + x, box["y"] + y)

    page.wait_for_url(f"**/spaces/{demo.space_id}/thoughts/history/")
    expect(page.locator("#related h2")).to_have_text("Related thoughts")


def test_the_search_box_shows_results_as_you_type(server, browser):
    base_url, demo = server
    body = {"key": "search-live", "title": "Compost the kitchen scraps"}
    api(base_url, demo.token, "POST", f"/api/spaces/{demo.space_id}/thoughts", body)
    page = open_space(browser, base_url, demo)

    page.fill("#search-q", "kitchen scraps")

    first = page.locator("#search-results .search-hit").first
    expect(first).to_have_attribute("data-thought-key", "search-live", timeout=2000)
    api(base_url, demo.token, "DELETE", f"/api/spaces/{demo.space_id}/thoughts/search-live")
