"""A space bigger than one screen, in Chromium: a fold opens and loads its thoughts, stays open
when a change made elsewhere arrives live, the parent picker finds thoughts as one types, and
the graph draws the same picture on every load, where a new thought moves no other."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.live.browsers import open_space
from tests.live.servers import api

FOLDED = 13  # children added under "history": more than the first screen lists


def _thoughts_url(demo) -> str:
    return f"/api/spaces/{demo.space_id}/thoughts"


def test_a_fold_opens_and_stays_open_through_a_live_change(server, browser):
    base_url, demo = server
    for i in range(FOLDED):
        body = {"key": f"fold-{i:02d}", "title": f"Folded {i}", "parent": "history"}
        api(base_url, demo.token, "POST", _thoughts_url(demo), body)
    thoughts = api(base_url, demo.token, "GET", _thoughts_url(demo) + "?limit=1000")["items"]
    inside = sum(1 for t in thoughts if t["parent"] == "history")
    page = open_space(browser, base_url, demo)
    fold = page.locator('details.subtree[data-key="history"]')
    expect(fold.locator("summary")).to_have_text(f"{inside} thoughts inside")
    expect(page.locator("#thought-fold-03")).to_have_count(0)

    fold.locator("summary").click()

    expect(page.locator("#thought-fold-03 .thought__title")).to_have_text("Folded 3")
    api(base_url, demo.token, "PATCH", _thoughts_url(demo) + "/fold-03", {"title": "Renamed"})
    expect(page.locator("#thought-fold-03 .thought__title")).to_have_text("Renamed", timeout=2000)
    expect(fold).to_have_attribute("open", "")


def test_the_parent_picker_finds_a_thought_by_its_title(server, browser):
    base_url, demo = server
    body = {"key": "pick-me", "title": "A quokka to pick"}
    api(base_url, demo.token, "POST", _thoughts_url(demo), body)
    page = open_space(browser, base_url, demo)
    form = page.locator("#thought-create")
    picker = form.locator("input[name=parent]")
    options = form.locator("datalist option")

    picker.fill("quokka")

    expect(options).to_have_count(1)
    expect(options.first).to_have_attribute("value", "pick-me")
    expect(options.first).to_have_text("A quokka to pick")
    picker.fill("pick-me")
    form.locator("input[name=title]").fill("Picked as a child")
    form.get_by_role("button", name="Add thought").click()
    expect(form.locator("input[name=title]")).to_have_value("")
    made = api(base_url, demo.token, "GET", _thoughts_url(demo) + "/picked-as-a-child")
    assert made["parent"] == "pick-me"


POSITIONS = "() => thoughtspaceGraph.nodes().map(n => [n.id(), n.position().x, n.position().y])"


def _positions(page) -> dict[str, tuple[float, float]]:
    return {key: (x, y) for key, x, y in page.evaluate(POSITIONS)}


def test_the_graph_is_the_same_on_every_load_and_a_new_thought_moves_no_other(server, browser):
    base_url, demo = server
    page = open_space(browser, base_url, demo)
    graph = page.locator("#graph")
    expect(graph).not_to_have_attribute("data-nodes", "0")
    first = _positions(page)
    page.reload()
    expect(graph).to_have_attribute("data-nodes", str(len(first)))
    assert _positions(page) == first

    body = {"key": "graph-new", "title": "New in the graph", "parent": "sync"}
    api(base_url, demo.token, "POST", _thoughts_url(demo), body)

    expect(graph).to_have_attribute("data-nodes", str(len(first) + 1), timeout=2000)
    after = _positions(page)
    assert {key: spot for key, spot in after.items() if key != "graph-new"} == first
    assert after["graph-new"] not in first.values()


def test_a_double_click_centres_the_graph_on_a_thought(server, browser):
    base_url, demo = server
    page = open_space(browser, base_url, demo)
    graph = page.locator("#graph")
    expect(graph).not_to_have_attribute("data-nodes", "0")
    graph.scroll_into_view_if_needed()
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    x, y = page.evaluate(
        "() => { const p = thoughtspaceGraph.getElementById('replica').renderedPosition();"
        " return [p.x, p.y]; }"
    )
    box = graph.bounding_box()
    assert box is not None

    page.mouse.dblclick(box["x"] + x, box["y"] + y)

    expect(graph).to_have_attribute("data-focus", "replica")
    expect(page.locator("#graph-top")).to_be_visible()
    page.locator("#graph-top").click()
    expect(graph).to_have_attribute("data-focus", "")
