"""Undo instead of a confirm box: a delete on the space page answers with a toast whose Undo
brings the thought back, with the links and children it had, through the services (so with
history and live events); a link's delete likewise. What changed since is left alone."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from spaces import services, timeline
from spaces.errors import InvalidInput, NotFound
from spaces.models import HistoryEntry

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
Action = HistoryEntry.Action


@pytest.fixture
def family(space, owner):
    """garden > bed > (seeds, soil); seeds → water; water → bed (bed's one link)."""
    make = services.thought_create
    make(space=space, actor=owner, key="garden", title="Garden")
    make(space=space, actor=owner, key="bed", title="Bed", parent="garden")
    make(space=space, actor=owner, key="seeds", title="Seeds", parent="bed")
    make(space=space, actor=owner, key="soil", title="Soil", parent="bed")
    make(space=space, actor=owner, key="water", title="Water")
    services.link_create(space=space, actor=owner, source="seeds", target="water", label="needs")
    services.link_create(space=space, actor=owner, source="water", target="bed", label="for")
    return space


def _shape(space) -> tuple[dict[str, str | None], set[tuple[str, str, str]]]:
    parents = {t.key: t.parent.key if t.parent else None for t in space.thoughts.all()}
    links = set(space.links.values_list("source__key", "target__key", "label"))
    return parents, links


def test_undo_brings_back_the_thought_its_children_and_links(family, owner):
    before = _shape(family)
    bed = family.thoughts.get(key="bed")
    entry = services.thought_delete(thought=bed, actor=owner)
    assert family.thoughts.get(key="seeds").parent.key == "garden"  # moved up

    thought = timeline.undo_delete(family, entry.pk, actor=owner)

    assert thought.key == "bed" and thought.pk == bed.pk  # its id too, as it was free
    assert _shape(family) == before
    later = family.history.filter(created_at__gte=entry.created_at).exclude(pk=entry.pk)
    actions = list(later.values_list("action", flat=True))
    assert sorted(actions) == sorted(
        [Action.NODE_CREATED, Action.NODE_UPDATED, Action.NODE_UPDATED, Action.LINK_CREATED]
    )  # bed itself, seeds and soil moved back, water → bed


def test_undo_leaves_what_changed_since_as_it_is(family, owner):
    entry = services.thought_delete(thought=family.thoughts.get(key="bed"), actor=owner)
    soil = family.thoughts.get(key="soil")
    services.thought_update(thought=soil, actor=owner, changes={"parent": "water"})
    services.thought_delete(thought=family.thoughts.get(key="water"), actor=owner)

    timeline.undo_delete(family, entry.pk, actor=owner)

    parents, links = _shape(family)
    assert parents["seeds"] == "bed"
    assert parents["soil"] is None  # moved elsewhere after the delete: not taken back
    assert links == set()  # bed's link came from water, which is gone


def test_undo_of_a_link_delete(family, owner):
    link = family.links.get(source__key="seeds")
    entry = services.link_delete(space=family, actor=owner, link_id=link.pk)
    assert timeline.undo_delete(family, entry.pk, actor=owner) is None
    assert family.links.filter(source__key="seeds", target__key="water", label="needs").exists()
    timeline.undo_delete(family, entry.pk, actor=owner)  # twice: nothing more
    assert family.links.filter(source__key="seeds").count() == 1


def test_what_cannot_be_undone_says_why(family, owner):
    entry = services.thought_delete(thought=family.thoughts.get(key="water"), actor=owner)
    services.thought_create(space=family, actor=owner, key="water", title="New water")
    with pytest.raises(InvalidInput, match="exists again"):
        timeline.undo_delete(family, entry.pk, actor=owner)
    created = family.history.filter(action=Action.NODE_CREATED).first()
    with pytest.raises(InvalidInput, match="Only the delete"):
        timeline.undo_delete(family, created.pk, actor=owner)
    with pytest.raises(NotFound):
        timeline.undo_delete(family, "01NOSUCHENTRY0000000000000", actor=owner)


def test_a_page_delete_answers_with_a_toast_whose_undo_works(owner_client, family):
    url = reverse("thought-delete", args=[family.pk, "bed"])
    html = owner_client.post(url, headers=HTMX).content.decode()
    assert (
        '<div id="toast" class="toast" role="status" aria-live="polite" hx-swap-oob="true">' in html
    )
    assert "Deleted “Bed”." in html
    undo = re.search(r'hx-post="([^"]+/undo/)"', html).group(1)

    html = owner_client.post(undo, headers=HTMX).content.decode()

    assert "“Bed” is back." in html
    assert 'id="thought-bed"' in html
    assert family.thoughts.get(key="seeds").parent.key == "bed"


def test_the_delete_buttons_ask_no_confirm_box(owner_client, family):
    html = owner_client.get(reverse("space-detail", args=[family.pk])).content.decode()
    assert "hx-confirm" not in html


def test_a_viewer_cannot_undo(client, viewer, owner, family):
    entry = services.thought_delete(thought=family.thoughts.get(key="bed"), actor=owner)
    client.force_login(viewer)
    response = client.post(reverse("delete-undo", args=[family.pk, entry.pk]), headers=HTMX)
    assert response.status_code == 403
    assert not family.thoughts.filter(key="bed").exists()


def test_undo_takes_back_no_link_an_earlier_delete_took(space, owner):
    """k → y; y deleted (its links go, without entries of their own); a new y; k deleted."""
    for key in ("k", "y"):
        services.thought_create(space=space, actor=owner, key=key, title=key)
    services.link_create(space=space, actor=owner, source="k", target="y")
    services.thought_delete(thought=space.thoughts.get(key="y"), actor=owner)
    services.thought_create(space=space, actor=owner, key="y", title="another y")
    entry = services.thought_delete(thought=space.thoughts.get(key="k"), actor=owner)

    timeline.undo_delete(space, entry.pk, actor=owner)

    assert not space.links.exists()


def test_undo_moves_back_the_children_it_had_then_and_no_others(space, owner):
    make = services.thought_create
    make(space=space, actor=owner, key="p", title="P")
    make(space=space, actor=owner, key="k", title="K", parent="p")
    make(space=space, actor=owner, key="x", title="X", parent="k")
    services.thought_delete(thought=space.thoughts.get(key="k"), actor=owner)  # x under p
    make(space=space, actor=owner, key="k", title="K again", parent="p")
    make(space=space, actor=owner, key="b", title="B", parent="k")
    make(space=space, actor=owner, key="c", title="C", parent="b")
    services.thought_delete(thought=space.thoughts.get(key="b"), actor=owner)  # c under k
    entry = services.thought_delete(thought=space.thoughts.get(key="k"), actor=owner)

    timeline.undo_delete(space, entry.pk, actor=owner)

    parents = {t.key: t.parent.key if t.parent else None for t in space.thoughts.all()}
    assert parents == {"p": None, "k": "p", "x": "p", "c": "k"}
