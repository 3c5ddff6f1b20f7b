"""Search a space by meaning, and the thoughts nearest to a thought (selectors: reads only).

Nearest vectors come from the engine's ``vector_distance_cos`` over the stored float32 blobs
when it has one (libSQL, sqld and Turso do), else from a pure-Python scan of the space's
vectors (see docs/search.md for both costs). A search adds the thoughts whose title or body
contains the query as typed, and boosts them: meaning first, exact words lifted.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection

from spaces.embeddings import Vector, cosine_similarity, from_blob, get_embedder, to_blob
from spaces.indexing import text_digest, thought_text
from spaces.models import Space, Thought, ThoughtEmbedding

CANDIDATES = 50  # nearest vectors (and text matches) considered before ranking
TITLE_BOOST = 0.3
BODY_BOOST = 0.15
KEY_BOOST = 0.3
QUERY_MAX = 500
SNIPPET_LENGTH = 160


@dataclass
class Hit:
    thought: Thought
    score: float
    similarity: float  # cosine similarity of meaning (0 for a thought not embedded yet)
    text_match: bool  # the query appears in the title, body or key as typed

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
            hits.append(Hit(thought, meaning + boost, meaning, bool(boost)))
    hits.sort(key=lambda hit: (-hit.score, hit.thought.key))
    return hits[:limit]


def related_thoughts(*, thought: Thought, limit: int = 8) -> list[Hit]:
    """The thoughts of the same space closest in meaning to ``thought``."""
    embedder = get_embedder()
    text = thought_text(thought.title, thought.body)
    stored = ThoughtEmbedding.objects.filter(thought=thought, embedder=embedder.key).first()
    if stored is not None and stored.digest == text_digest(text, embedder):
        vector = from_blob(stored.vector)
    else:  # not embedded yet (the worker is behind): embed it now, without storing
        [vector] = embedder.embed([text])
    nearest = _nearest(space_id=thought.space_id, vector=vector, limit=limit, exclude=thought.pk)
    found = Thought.objects.select_related("parent").in_bulk([pk for pk, _ in nearest])
    return [
        Hit(found[pk], similarity, similarity, False)
        for pk, similarity in nearest
        if pk in found and similarity >= embedder.min_similarity
    ]
