"""Search quality on the labelled set (tests/search/labelled.py), for each embedder."""

from __future__ import annotations

import pytest

from spaces import indexing, search
from tests.search.conftest import add_labelled_thoughts, needs_minilm
from tests.search.labelled import QUERIES, recall_and_mrr

pytestmark = pytest.mark.django_db


def _ranked(space):
    return {
        query: [hit.thought.key for hit in search.search_thoughts(space=space, query=query)]
        for query, _ in QUERIES
    }


@pytest.mark.parametrize(
    ("embedder", "min_recall", "min_mrr"),
    [
        ("hash", 0.6, 0.6),
        pytest.param("minilm", 0.95, 0.9, marks=needs_minilm),
    ],
)
def test_labelled_queries_find_their_thought_in_the_top_three(
    settings, space, owner, embedder, min_recall, min_mrr
):
    settings.THOUGHTSPACE_EMBEDDER = embedder
    add_labelled_thoughts(space, owner)
    indexing.embed_thoughts(space=space)

    recall, mrr = recall_and_mrr(_ranked(space))

    assert recall >= min_recall, f"recall@3 {recall:.2f} with {embedder}"
    assert mrr >= min_mrr, f"MRR {mrr:.2f} with {embedder}"


def test_word_overlap_queries_rank_their_thought_first_with_the_default_embedder(labelled_space):
    ranked = _ranked(labelled_space)
    for query, expected in QUERIES[:12]:  # the queries that share words with their answer
        assert ranked[query][:1] == sorted(expected), query


@needs_minilm
def test_minilm_finds_thoughts_described_in_other_words(settings, space, owner):
    settings.THOUGHTSPACE_EMBEDDER = "minilm"
    add_labelled_thoughts(space, owner)
    indexing.embed_thoughts(space=space)

    hits = search.search_thoughts(space=space, query="insects eating my flowers")

    assert hits[0].thought.key == "aphids"
    assert not hits[0].text_match


def test_exact_text_lifts_a_thought_above_closer_meanings(labelled_space):
    hits = search.search_thoughts(space=labelled_space, query="Alfama")

    assert hits[0].thought.key == "lisbon"
    assert hits[0].text_match


def test_a_thought_matched_by_its_key_comes_first(labelled_space):
    hits = search.search_thoughts(space=labelled_space, query="okrs")

    assert hits[0].thought.key == "okrs"


def test_native_and_python_cosine_rank_alike(labelled_space, monkeypatch):
    from django.db import connection

    assert connection.features.supports_vector_distance  # libSQL has vector_distance_cos
    native = _ranked(labelled_space)
    monkeypatch.setattr(connection.features, "supports_vector_distance", False)

    assert _ranked(labelled_space) == native


def test_related_thoughts_leave_out_the_thought_itself(labelled_space):
    thought = labelled_space.thoughts.get(key="tomatoes")

    related = search.related_thoughts(thought=thought)

    assert related
    assert "tomatoes" not in [hit.thought.key for hit in related]
    assert all(a.score >= b.score for a, b in zip(related, related[1:], strict=False))
    assert all(hit.reasons for hit in related)


def test_an_empty_query_finds_nothing(labelled_space):
    assert search.search_thoughts(space=labelled_space, query="   ") == []
