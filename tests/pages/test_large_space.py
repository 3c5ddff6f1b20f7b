"""A space page costs the same at any size: the first screen lists the top levels and folds
the rest (spaces.outline), subtrees arrive when opened, a refresh keeps what the page has open,
pickers search instead of listing every thought, and the graph shows a bounded view whose
positions do not change from one load to the next (spaces.graph)."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from django.urls import reverse

from spaces import outline, services
from spaces.graph import VIEW_LIMIT, graph_view
from spaces.models import Link, Space, Thought

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def seed(space: Space, count: int, *, width: int = 3, links_every: int = 5) -> list[Thought]:
    """``count`` thoughts in a tree ``width`` children wide (keys t00000...), in bulk."""
    rows: list[Thought] = []
    for index in range(count):
        parent = rows[(index - 1) // width] if index else None
        rows.append(
            Thought(
                space=space,
                key=f"t{index:05d}",
                title=f"Thought {index}",
                parent=parent,
                position=(index - 1) % width,
            )
        )
    for start in range(0, count, 500):
        Thought.objects.bulk_create(rows[start : start + 500])
    links = [
        Link(space=space, source=rows[i], target=rows[(i * 7 + 3) % count])
        for i in range(0, count, links_every)
        if (i * 7 + 3) % count != i
    ]
    Link.objects.bulk_create(links)
    return rows


def listed(html: str) -> list[str]:
    return re.findall(r'<article class="thought" id="thought-([^"]+)"', html)


@pytest.fixture
def big(owner) -> Space:
    space = services.space_create(owner=owner, title="Big")
    seed(space, 1200)
    return space


@pytest.fixture
def small(owner) -> Space:
    space = services.space_create(owner=owner, title="Small")
    seed(space, 10)
    return space


def test_a_small_space_is_listed_whole(owner_client, small):
    html = owner_client.get(reverse("space-detail", args=[small.pk])).content.decode()
    assert sorted(listed(html)) == [f"t{i:05d}" for i in range(10)]
    assert "Open “" not in html  # nothing folded


def test_a_big_space_lists_its_top_levels_and_folds_the_rest(owner_client, big):
    html = owner_client.get(reverse("space-detail", args=[big.pk])).content.decode()
    shown = listed(html)
    assert len(shown) <= outline.FIRST_SCREEN
    assert shown[:4] == ["t00000", "t00001", "t00004", "t00005"]  # depth first, page order
    assert "1200 thoughts" in html
    # A folded subtree says how many thoughts it holds and loads them when opened.
    children = reverse("thought-children", args=[big.pk, shown[-1]])
    assert f'hx-get="{children}"' in html
    assert '<details class="subtree" data-key="t00000" open data-loaded>' in html


def test_the_page_costs_the_same_at_120_times_the_size(owner_client, small, big):
    sizes = [
        len(owner_client.get(reverse("space-detail", args=[space.pk])).content)
        for space in (small, big)
    ]
    assert sizes[1] <= 2 * sizes[0], sizes


def test_opening_a_fold_lists_its_children_folded(owner_client, big):
    url = reverse("thought-children", args=[big.pk, "t00004"])
    html = owner_client.get(url, headers=HTMX).content.decode()
    assert listed(html) == ["t00013", "t00014", "t00015"]
    assert html.count('<details class="subtree"') == 3
    assert " open" not in html
    # Without htmx the link leads to the thought's page, which lists them.
    response = owner_client.get(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("thought-detail", args=[big.pk, "t00004"])


def test_a_refresh_keeps_what_the_page_has_open_and_nothing_more(owner_client, big):
    url = reverse("space-live", args=[big.pk])
    html = owner_client.get(url, {"open": "t00000,t00001,t00004"}).content.decode()
    assert listed(html) == ["t00000", "t00001", "t00004", "t00013", "t00014", "t00015"] + [
        "t00005",
        "t00006",
        "t00002",
        "t00003",
    ]
    html = owner_client.get(url, {"open": ""}).content.decode()
    assert listed(html) == ["t00000"]


def test_an_edit_answers_with_the_tree_as_the_page_had_it(owner_client, big):
    url = reverse("thought-create", args=[big.pk])
    data = {"title": "Under t4", "parent": "t00004", "position": "9"}
    data["open"] = "t00000,t00001,t00004"
    html = owner_client.post(url, data, headers=HTMX).content.decode()
    assert listed(html)[2:7] == ["t00004", "t00013", "t00014", "t00015", "under-t4"]


def test_a_page_cannot_ask_for_more_than_the_cap(owner_client, owner, monkeypatch):
    space = services.space_create(owner=owner, title="Flat")
    seed(space, 400, width=400)  # one thought with 399 children
    monkeypatch.setattr(outline, "MAX_SHOWN", 30)
    html = owner_client.get(
        reverse("space-live", args=[space.pk]), {"open": "t00000", "roots": "99999"}
    ).content.decode()
    assert len(listed(html)) == 1  # its 50 children would pass the cap: it stays folded


def test_top_level_thoughts_come_a_page_at_a_time(owner_client, owner):
    space = services.space_create(owner=owner, title="Wide")
    Thought.objects.bulk_create(
        Thought(space=space, key=f"r{i:03d}", title=f"Root {i}") for i in range(120)
    )
    url = reverse("space-detail", args=[space.pk])
    html = owner_client.get(url).content.decode()
    assert len(listed(html)) == outline.PAGE
    assert "70 not shown" in html and 'href="?roots=100"' in html
    assert len(listed(owner_client.get(url, {"roots": "100"}).content.decode())) == 100


def test_the_picker_finds_thoughts_by_title_or_key(owner_client, big):
    url = reverse("thought-options", args=[big.pk])
    html = owner_client.get(url, {"parent": "thought 111"}).content.decode()
    assert sorted(re.findall(r'<option value="([^"]+)">', html)) == ["t00111"] + [
        f"t0{i}" for i in range(1110, 1120)
    ]
    html = owner_client.get(url, {"source": "t0000"}).content.decode()
    assert len(re.findall("<option", html)) == 10
    html = owner_client.get(url, {"target": "nothing like this"}).content.decode()
    assert "<option" not in html


def test_the_picker_offers_recent_thoughts_before_anything_is_typed(owner_client, owner, big):
    services.thought_create(space=big, actor=owner, key="fresh", title="<Fresh> & new")
    html = owner_client.get(reverse("thought-options", args=[big.pk])).content.decode()
    assert html.startswith('<option value="fresh">&lt;Fresh&gt; &amp; new</option>')


def test_the_picker_of_a_space_you_cannot_see_answers_404(client, stranger, big):
    client.force_login(stranger)
    assert client.get(reverse("thought-options", args=[big.pk]), {"q": "t"}).status_code == 404
    url = reverse("thought-children", args=[big.pk, "t00000"])
    assert client.get(url, headers=HTMX).status_code == 404


def test_an_unknown_parent_is_an_error_beside_the_parent(owner_client, big):
    url = reverse("thought-create", args=[big.pk])
    response = owner_client.post(url, {"title": "x", "parent": "nope", "position": "0"})
    assert response.context["form"].errors["parent"] == [
        "parent 'nope' is not a thought of this space."
    ]


def test_recent_thoughts_are_listed_newest_first(owner_client, owner, small):
    for key in ("first", "second"):
        services.thought_create(space=small, actor=owner, key=key, title=key.title())
    html = owner_client.get(reverse("space-detail", args=[small.pk])).content.decode()
    recent = html[html.index('id="recent"') :]
    assert recent.index(">Second</a>") < recent.index(">First</a>")


# --- the graph ---------------------------------------------------------------------------


def positions(view: dict) -> dict[str, tuple[int, int]]:
    return {n["id"]: (n["position"]["x"], n["position"]["y"]) for n in view["nodes"]}


def test_a_graph_view_is_bounded_and_the_same_every_time(big):
    first, second = graph_view(big), graph_view(big)
    assert len(first["nodes"]) == VIEW_LIMIT
    assert first["view"] == {"focus": None, "shown": VIEW_LIMIT, "thoughts": 1200, "limit": 150}
    assert positions(first) == positions(second)
    assert max(Counter(positions(first).values()).values()) == 1  # no two on one spot
    keys = {n["id"] for n in first["nodes"]}
    assert all(e["source"] in keys and e["target"] in keys for e in first["edges"])
    assert [n["id"] for n in first["nodes"]][:4] == ["t00000", "t00001", "t00002", "t00003"]


def test_a_new_thought_moves_no_other_and_takes_a_free_spot(owner, small):
    before = positions(graph_view(small))
    services.thought_create(space=small, actor=owner, key="new", title="New", parent="t00001")
    services.link_create(space=small, actor=owner, source="new", target="t00007")
    after = positions(graph_view(small))
    assert {k: v for k, v in after.items() if k != "new"} == before
    assert after["new"] not in before.values()


def test_a_focused_view_shows_the_neighbourhood(big):
    focus = big.thoughts.get(key="t00100")
    view = graph_view(big, focus)
    keys = [n["id"] for n in view["nodes"]]
    assert keys[0] == "t00100"
    parent = focus.parent.key
    children = list(focus.children.values_list("key", flat=True))
    linked = list(Link.objects.filter(source=focus).values_list("target__key", flat=True))
    assert {parent, *children, *linked} <= set(keys)
    assert parent in {e["source"] for e in view["edges"] if e["target"] == "t00100"}
    assert len(keys) <= VIEW_LIMIT
    node = view["nodes"][0]
    assert node["hidden"] == 0  # everything one step away is drawn


def test_the_graph_endpoint_focuses_and_refuses_unknown_thoughts(owner_client, big):
    url = reverse("space-graph", args=[big.pk])
    assert owner_client.get(url, {"focus": "t00100"}).json()["view"]["focus"] == "t00100"
    assert owner_client.get(url, {"focus": "missing"}).status_code == 404


def test_a_thoughts_page_lists_its_children_a_page_at_a_time(owner_client, owner):
    space = services.space_create(owner=owner, title="Hub")
    seed(space, 251, width=250)  # t00000 holds 250 thoughts
    url = reverse("thought-detail", args=[space.pk, "t00000"])
    first = owner_client.get(url).content.decode()
    assert first.count('<li><a href="/spaces/') == 100
    assert "1–100 of 250" in first and 'href="?page=2"' in first
    last = owner_client.get(url, {"page": "3"}).content.decode()
    assert "201–250 of 250" in last and last.count('<li><a href="/spaces/') == 50
    graph = f'href="{reverse("space-detail", args=[space.pk])}?focus=t00000#graph-heading"'
    assert graph in first
