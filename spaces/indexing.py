"""Keeps each thought's embedding in step with its title and body, off the request path.

``embed_thoughts`` embeds the thoughts whose stored vector is missing or stale (another text
or another embedder) in batches; ``manage.py embed`` and the background worker both call it.
The worker is a daemon thread fed by ``change_committed``: a created or edited thought is
queued after its transaction commits, and the queue is drained in batches, so a write request
never waits for an embedding. A deleted thought's embedding goes with it (a cascade in the
same transaction).
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, close_old_connections, transaction

from spaces.embeddings import Embedder, get_embedder, to_blob
from spaces.models import Space, Thought, ThoughtEmbedding

logger = logging.getLogger(__name__)

BATCH_SIZE = 64
BATCH_WINDOW = 0.2  # seconds the worker waits for more changes before embedding a batch
RETRIES = 2  # a failed batch (e.g. the database busy, or its primary unreachable) is retried
RETRY_DELAY = 1.0  # seconds, times the attempt number
EMBEDDED_EVENTS = ("node.created", "node.updated")
BULK_EVENTS = ("space.imported", "space.restored")
Progress = Callable[[int, int], None]


def thought_text(title: str, body: str) -> str:
    """What is embedded for a thought."""
    return f"{title}\n{body}".strip()


def text_digest(text: str, embedder: Embedder) -> str:
    return hashlib.sha256(f"{embedder.key}\0{text}".encode()).hexdigest()[:32]


def stale_thought_ids(
    *, thought_ids: Iterable[str] | None = None, space: Space | None = None, force: bool = False
) -> list[str]:
    """Thoughts (of the given ids, of ``space``, or all) whose embedding needs (re)doing."""
    embedder = get_embedder()
    thoughts = Thought.objects.all()
    if thought_ids is not None:
        thoughts = thoughts.filter(pk__in=list(thought_ids))
    if space is not None:
        thoughts = thoughts.filter(space=space)
    rows = thoughts.order_by("pk").values_list("pk", "title", "body", "embedding__digest")
    return [
        pk
        for pk, title, body, digest in rows
        if force or digest != text_digest(thought_text(title, body), embedder)
    ]


def embed_thoughts(
    *,
    thought_ids: Iterable[str] | None = None,
    space: Space | None = None,
    force: bool = False,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> int:
    """Embed the stale thoughts among those selected (see ``stale_thought_ids``), one batch
    per transaction; calls ``progress(done, total)`` after each. Returns how many it stored."""
    pending = stale_thought_ids(thought_ids=thought_ids, space=space, force=force)
    stored = 0
    for start in range(0, len(pending), batch_size):
        stored += _embed_batch(pending[start : start + batch_size])
        if progress is not None:
            progress(min(start + batch_size, len(pending)), len(pending))
    return stored


def _embed_batch(ids: list[str]) -> int:
    embedder = get_embedder()
    thoughts = list(
        Thought.objects.filter(pk__in=ids).values_list("pk", "space_id", "title", "body")
    )
    texts = [thought_text(title, body) for _, _, title, body in thoughts]
    vectors = embedder.embed(texts) if texts else []
    rows = [
        ThoughtEmbedding(
            thought_id=pk,
            space_id=space_id,
            embedder=embedder.key,
            digest=text_digest(text, embedder),
            vector=to_blob(vector),
        )
        for (pk, space_id, _, _), text, vector in zip(thoughts, texts, vectors, strict=True)
    ]
    for _attempt in range(2):
        try:
            with transaction.atomic():
                # Only thoughts that still exist: one may have been deleted meanwhile.
                alive = set(
                    Thought.objects.filter(pk__in=[r.thought_id for r in rows]).values_list(
                        "pk", flat=True
                    )
                )
                rows = [r for r in rows if r.thought_id in alive]
                ThoughtEmbedding.objects.filter(
                    thought_id__in=[r.thought_id for r in rows]
                ).delete()
                ThoughtEmbedding.objects.bulk_create(rows)
            return len(rows)
        except IntegrityError:
            continue  # a thought went away between the check and the insert: check again
    logger.warning("Could not store the embeddings of %d thoughts", len(rows))
    return 0


# --- the background worker -----------------------------------------------------------------


class EmbeddingWorker:
    """A daemon thread that embeds queued thoughts in batches, started on first use."""

    def __init__(self) -> None:
        self._queue: queue.Queue[str] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, thought_id: str) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="thoughtspace-embeddings", daemon=True
                )
                self._thread.start()
        self._queue.put(thought_id)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every queued thought is embedded; False if ``timeout`` passed first."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        return True

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            deadline = time.monotonic() + BATCH_WINDOW
            while len(batch) < BATCH_SIZE:
                try:
                    batch.append(self._queue.get(timeout=max(0.0, deadline - time.monotonic())))
                except queue.Empty:
                    break
            try:
                self._embed(set(batch))
            finally:
                for _ in batch:
                    self._queue.task_done()

    def _embed(self, ids: set[str]) -> None:
        for attempt in range(1, RETRIES + 2):
            try:
                close_old_connections()
                embed_thoughts(thought_ids=ids)
                return
            except Exception:
                if attempt > RETRIES:
                    # Search still finds these by their text; `manage.py embed` catches up.
                    logger.exception("Could not embed %d thoughts", len(ids))
                    return
                logger.warning("Embedding %d thoughts failed; retrying", len(ids), exc_info=True)
                time.sleep(RETRY_DELAY * attempt)


worker = EmbeddingWorker()


def queue_embedding(sender: Any = None, *, event: dict[str, Any], **kwargs: Any) -> None:
    """``change_committed`` receiver: queue a created or edited thought for embedding."""
    if not getattr(settings, "EMBEDDING_WORKER", True):
        return
    data = event.get("data") or {}
    if str(event.get("type")) in EMBEDDED_EVENTS and data.get("id"):
        worker.submit(str(data["id"]))
    elif event.get("type") in BULK_EVENTS:  # many thoughts at once: the space's stale ones
        for thought_id in stale_thought_ids(space=Space(pk=event["space_id"])):
            worker.submit(thought_id)


@atexit.register
def _finish_queued() -> None:
    # A command such as seed_demo should leave its thoughts embedded; a server stops promptly.
    worker.wait_idle(timeout=5.0)
