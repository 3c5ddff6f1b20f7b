"""The pages for exploring a space: the graph's data on the space page and as JSON, the search
box's results, and a thought's page with its related thoughts."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from spaces import services

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def small_graph(space, owner):
    services.thought_create(space=space, actor=owner, key="garden", title="Garden")
    services.thought_create(space=space, actor=owner, key="seeds", title="Seeds", parent="garden")
    services.thought_create(space=space, actor=owner, key="soil", title="Soil")
    link = services.link_create(space=space, actor=owner, source="seeds", target="soil", label="in")
    return space, link


def test_the_space_page_fetches_its_graph(small_graph, viewer):
    space, _ = small_graph

    response = logged_in(viewer).get(reverse("space-detail", args=[space.pk]))

    assert response.status_code == 200
    graph_url = reverse("space-graph", args=[space.pk])
    assert f'data-graph-url="{graph_url}"'.encode() in response.content
    assert b'id="graph-data"' not in response.content  # fetched, not inlined
    assert b'src="/static/vendor/cytoscape/cytoscape.min.js"' in response.content
    assert b'id="search-q"' in response.content


def test_the_graph_has_the_thoughts_links_and_parents(small_graph, viewer):
    space, _ = small_graph

    graph = logged_in(viewer).get(reverse("space-graph", args=[space.pk])).json()

    assert {node["id"] for node in graph["nodes"]} == {"garden", "seeds", "soil"}
    assert {(e["kind"], e["source"], e["target"], e["label"]) for e in graph["edges"]} == {
        ("parent", "garden", "seeds", ""),
        ("link", "seeds", "soil", "in"),
    }
    seeds = next(node for node in graph["nodes"] if node["id"] == "seeds")
    assert seeds["url"] == reverse("thought-detail", args=[space.pk, "seeds"])


def test_a_title_reaches_the_graph_as_data(space, owner):
    title = "</script><script>alert(1)</script>"
    services.thought_create(space=space, actor=owner, key="evil", title=title)
    client = logged_in(owner)

    graph = client.get(reverse("space-graph", args=[space.pk])).json()
    html = client.get(reverse("space-detail", args=[space.pk])).content.decode()

    assert graph["nodes"][0]["title"] == title
    assert "<script>alert(1)" not in html


def test_the_graph_endpoint_answers_the_same_graph_as_json(small_graph, viewer):
    space, _ = small_graph

    response = logged_in(viewer).get(reverse("space-graph", args=[space.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    assert len(response.json()["nodes"]) == 3
    assert len(response.json()["edges"]) == 2


def test_the_graph_of_a_space_you_cannot_see_answers_404(small_graph, stranger):
    space, _ = small_graph

    assert logged_in(stranger).get(reverse("space-graph", args=[space.pk])).status_code == 404


def test_the_graph_needs_a_login(small_graph, client):
    space, _ = small_graph

    response = client.get(reverse("space-graph", args=[space.pk]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_search_box_gets_a_list_of_results(labelled_space, viewer):
    url = reverse("space-search", args=[labelled_space.pk])

    response = logged_in(viewer).get(url, {"q": "sourdough bread"}, headers={"HX-Request": "true"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert re.findall(r'data-thought-key="([^"]+)"', html)[0] == "sourdough"
    assert reverse("thought-detail", args=[labelled_space.pk, "sourdough"]) in html


def test_search_without_javascript_is_a_page(labelled_space, viewer):
    url = reverse("space-search", args=[labelled_space.pk])

    response = logged_in(viewer).get(url, {"q": "sourdough bread"})

    assert response.status_code == 200
    assert b"<html" in response.content
    assert b'data-thought-key="sourdough"' in response.content
    assert b'value="sourdough bread"' in response.content


def test_a_search_that_finds_nothing_says_so(space, viewer):
    url = reverse("space-search", args=[space.pk])

    response = logged_in(viewer).get(url, {"q": "bread"}, headers={"HX-Request": "true"})

    assert "Nothing in this space comes close to “bread”" in response.content.decode()


def test_search_of_a_space_you_cannot_see_answers_404(labelled_space, stranger):
    url = reverse("space-search", args=[labelled_space.pk])

    assert logged_in(stranger).get(url, {"q": "bread"}).status_code == 404


def test_a_thought_page_shows_the_thought_and_related_thoughts(labelled_space, viewer):
    url = reverse("thought-detail", args=[labelled_space.pk, "compost"])

    response = logged_in(viewer).get(url)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Compost bin by the shed" in html
    related = html[html.index('id="related"') :]
    assert "Related thoughts" in related
    assert 'class="search-hit"' in related
    assert 'data-thought-key="compost"' not in related


def test_a_thought_page_of_a_space_you_cannot_see_answers_404(labelled_space, stranger):
    url = reverse("thought-detail", args=[labelled_space.pk, "compost"])

    assert logged_in(stranger).get(url).status_code == 404


def test_an_unknown_thought_page_answers_404(labelled_space, viewer):
    url = reverse("thought-detail", args=[labelled_space.pk, "nothing-here"])

    assert logged_in(viewer).get(url).status_code == 404
