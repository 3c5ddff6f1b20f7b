"""Search a space by meaning, and the thoughts nearest to a thought (selectors: reads only).

Nearest vectors come from the engine's ``vector_distance_cos`` over the stored float32 blobs
when it has one (libSQL, sqld and Turso do), else from a pure-Python scan of the space's
vectors (see docs/search.md for both costs). A search adds the thoughts whose title or body
contains the query as typed, and boosts them: meaning first, exact words lifted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection

from spaces.embeddings import (
    Vector,
    content_words,
    cosine_similarity,
    from_blob,
    get_embedder,
    to_blob,
)
from spaces.indexing import text_digest, thought_text
from spaces.models import Space, Thought, ThoughtEmbedding

CANDIDATES = 50  # nearest vectors (and text matches) considered before ranking
TITLE_BOOST = 0.3
BODY_BOOST = 0.15
KEY_BOOST = 0.3
QUERY_MAX = 500
SNIPPET_LENGTH = 160


LINKED_BOOST = 0.3  # related thoughts: a link either way
FAMILY_BOOST = 0.2  # parent or child
SIBLING_BOOST = 0.1  # the same parent
WORD_BOOST = 0.05  # per word both thoughts use, up to MAX_WORDS
MAX_WORDS = 4
FAMILY_LIMIT = 20  # linked, children and siblings considered, each


@dataclass
class Hit:
    thought: Thought
    score: float  # what ranks the hits; the page and the API show this one number
    similarity: float  # cosine similarity of meaning (0 for a thought not embedded yet)
    text_match: bool  # the query appears in the title, body or key as typed
    reasons: list[str] = field(default_factory=list)  # why it is here, in words

    @property
    def shown_score(self) -> float:
        """The score as the page and the API show it."""
        return round(self.score, 4)

    @property
    def snippet(self) -> str:
        body = " ".join(self.thought.body.split())
        return body if len(body) <= SNIPPET_LENGTH else body[: SNIPPET_LENGTH - 1] + "…"


def _nearest(
    *, space_id: str, vector: Vector, limit: int, exclude: str | None = None
) -> list[tuple[str, float]]:
    """(thought id, cosine similarity) of the ``limit`` nearest vectors in the space."""
    table = ThoughtEmbedding._meta.db_table
    key = get_embedder().key
    if connection.features.supports_vector_distance:  # type: ignore[attr-defined]
        sql = (
            f"SELECT thought_id, vector_distance_cos(vector, %s) AS distance FROM {table} "
            "WHERE space_id = %s AND embedder = %s AND thought_id != %s "
            "ORDER BY distance IS NULL, distance, thought_id LIMIT %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [to_blob(vector), space_id, key, exclude or "", limit])
            # A zero vector (text without a word) has no direction: NULL distance, no likeness.
            return [
                (pk, 0.0 if distance is None else 1.0 - float(distance))
                for pk, distance in cursor.fetchall()
            ]
    rows = (
        ThoughtEmbedding.objects.filter(space_id=space_id, embedder=key)
        .exclude(thought_id=exclude or "")
        .values_list("thought_id", "vector")
    )
    scored = [(pk, cosine_similarity(vector, from_blob(blob))) for pk, blob in rows]
    scored.sort(key=lambda item: (-item[1], item[0]))
    return scored[:limit]


def search_thoughts(*, space: Space, query: str, limit: int = 20) -> list[Hit]:
    """The space's thoughts ranked by closeness of meaning to ``query``, with those containing
    it word for word lifted; thoughts neither close nor matching are left out."""
    query = " ".join(query.split())[:QUERY_MAX]
    if not query:
        return []
    embedder = get_embedder()
    [vector] = embedder.embed([query])
    similarity = dict(_nearest(space_id=space.pk, vector=vector, limit=CANDIDATES))
    thoughts = space.thoughts.select_related("parent")
    in_title = set(
        thoughts.filter(title__icontains=query).values_list("pk", flat=True)[:CANDIDATES]
    )
    in_body = set(thoughts.filter(body__icontains=query).values_list("pk", flat=True)[:CANDIDATES])
    by_key = set(thoughts.filter(key__iexact=query).values_list("pk", flat=True))
    found = thoughts.in_bulk([*similarity, *in_title, *in_body, *by_key])
    hits = []
    for pk, thought in found.items():
        meaning = similarity.get(pk, 0.0)
        boost = (
            TITLE_BOOST * (pk in in_title)
            + BODY_BOOST * (pk in in_body)
            + KEY_BOOST * (pk in by_key)
        )
        if boost or meaning >= embedder.min_similarity:
            reasons = [
                reason
                for reason, found in (
                    (f"its key is “{query}”", pk in by_key),
                    (f"“{query}” in its title", pk in in_title),
                    (f"“{query}” in its text", pk in in_body),
                    ("close in meaning", meaning >= embedder.min_similarity),
                )
                if found
            ]
            hits.append(Hit(thought, meaning + boost, meaning, bool(boost), reasons))
    hits.sort(key=lambda hit: (-hit.score, hit.thought.key))
    return hits[:limit]


def related_thoughts(*, thought: Thought, limit: int = 8) -> list[Hit]:
    """The thoughts of the same space related to ``thought``, most related first: close in
    meaning, linked to it either way, its parent, children and siblings, and those that use
    the same words. Each hit says why (``reasons``); its score adds a boost per reason to the
    similarity of meaning, so that in a small space, where few vectors come close, the
    thoughts it is tied to still show."""
    embedder = get_embedder()
    vector = _vector(thought)
    similarity = dict(
        _nearest(space_id=thought.space_id, vector=vector, limit=CANDIDATES, exclude=thought.pk)
    )
    ties = _ties(thought)
    thoughts = Thought.objects.select_related("parent")
    found = thoughts.in_bulk([*similarity, *ties])
    found.pop(thought.pk, None)
    missing = [pk for pk in found if pk not in similarity]
    for pk, blob in ThoughtEmbedding.objects.filter(
        thought_id__in=missing, embedder=embedder.key
    ).values_list("thought_id", "vector"):
        similarity[pk] = cosine_similarity(vector, from_blob(blob))
    words = content_words(thought_text(thought.title, thought.body))
    hits = []
    for pk, other in found.items():
        meaning = similarity.get(pk, 0.0)
        reasons = list(ties.get(pk, {}).keys())
        boost = sum(ties.get(pk, {}).values())
        shared = [
            w
            for stem, w in content_words(thought_text(other.title, other.body)).items()
            if stem in words
        ][:MAX_WORDS]
        if shared:
            reasons.append("both mention " + ", ".join(f"“{w}”" for w in shared))
            boost += WORD_BOOST * len(shared)
        if meaning >= embedder.min_similarity:
            reasons.append("close in meaning")
        if reasons:
            hits.append(Hit(other, meaning + boost, meaning, False, reasons))
    hits.sort(key=lambda hit: (-hit.score, hit.thought.key))
    return hits[:limit]


def _vector(thought: Thought) -> Vector:
    embedder = get_embedder()
    text = thought_text(thought.title, thought.body)
    stored = ThoughtEmbedding.objects.filter(thought=thought, embedder=embedder.key).first()
    if stored is not None and stored.digest == text_digest(text, embedder):
        return from_blob(stored.vector)
    [vector] = embedder.embed([text])  # not embedded yet (the worker is behind): not stored
    return vector


def _ties(thought: Thought) -> dict[str, dict[str, float]]:
    """The thoughts ``thought`` is tied to by the space's structure: {id: {reason: boost}}."""
    ties: dict[str, dict[str, float]] = {}

    def tie(pk: str | None, reason: str, boost: float) -> None:
        if pk and pk != thought.pk:
            ties.setdefault(pk, {})[reason] = boost

    space = thought.space
    for target, label in space.links.filter(source=thought).values_list("target_id", "label")[
        :FAMILY_LIMIT
    ]:
        tie(target, f"linked to ({label})" if label else "linked to", LINKED_BOOST)
    for source, label in space.links.filter(target=thought).values_list("source_id", "label")[
        :FAMILY_LIMIT
    ]:
        tie(source, f"links here ({label})" if label else "links here", LINKED_BOOST)
    tie(thought.parent_id, "its parent", FAMILY_BOOST)
    for pk in space.thoughts.filter(parent=thought).values_list("id", flat=True)[:FAMILY_LIMIT]:
        tie(pk, "inside it", FAMILY_BOOST)
    if thought.parent_id:
        siblings = space.thoughts.filter(parent_id=thought.parent_id).values_list("id", flat=True)
        for pk in siblings[:FAMILY_LIMIT]:
            tie(pk, "in the same thought", SIBLING_BOOST)
    return ties
