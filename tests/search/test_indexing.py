"""Embeddings follow their thoughts: stored on creation, redone when the text changes, gone
with the thought; the background worker does it after commit, off the request path."""

from __future__ import annotations

import pytest
from django.db import OperationalError

from spaces import indexing, services
from spaces.embeddings import HashEmbedder, from_blob
from spaces.indexing import worker
from spaces.models import ThoughtEmbedding

pytestmark = pytest.mark.django_db


def test_a_new_thought_is_embedded(add_thought):
    thought = add_thought("seeds", "Buy seeds", "Tomatoes and basil")

    stored = ThoughtEmbedding.objects.get(thought=thought)
    assert stored.embedder == HashEmbedder.key
    assert stored.space_id == thought.space_id
    assert len(from_blob(stored.vector)) == HashEmbedder.dimensions


def test_an_edit_of_the_text_embeds_it_again(add_thought, owner):
    thought = add_thought("seeds", "Buy seeds", "Tomatoes and basil")
    before = ThoughtEmbedding.objects.get(thought=thought)

    services.thought_update(thought=thought, actor=owner, changes={"body": "Carrots and leeks"})
    assert indexing.stale_thought_ids(thought_ids=[thought.pk]) == [thought.pk]
    indexing.embed_thoughts(thought_ids=[thought.pk])

    after = ThoughtEmbedding.objects.get(thought=thought)
    assert after.digest != before.digest
    assert bytes(after.vector) != bytes(before.vector)


def test_an_edit_that_keeps_the_text_is_not_embedded_again(add_thought, owner):
    thought = add_thought("seeds", "Buy seeds")

    services.thought_update(thought=thought, actor=owner, changes={"position": 5, "kind": "todo"})

    assert indexing.stale_thought_ids(thought_ids=[thought.pk]) == []
    assert indexing.embed_thoughts(thought_ids=[thought.pk]) == 0


def test_deleting_a_thought_deletes_its_embedding(add_thought, owner):
    thought = add_thought("seeds", "Buy seeds")

    services.thought_delete(thought=thought, actor=owner)

    assert not ThoughtEmbedding.objects.filter(thought_id=thought.pk).exists()


def test_a_thought_deleted_before_its_turn_is_skipped(space, owner):
    thought = services.thought_create(space=space, actor=owner, key="gone", title="Soon gone")
    services.thought_delete(thought=thought, actor=owner)

    assert indexing.embed_thoughts(thought_ids=[thought.pk]) == 0
    assert not ThoughtEmbedding.objects.exists()


def test_embedding_runs_in_batches_and_reports_progress(space, owner):
    for i in range(5):
        services.thought_create(space=space, actor=owner, key=f"t{i}", title=f"Thought {i}")
    calls = []

    stored = indexing.embed_thoughts(space=space, batch_size=2, progress=lambda *a: calls.append(a))

    assert stored == 5
    assert calls == [(2, 5), (4, 5), (5, 5)]


@pytest.mark.django_db(transaction=True)
def test_the_worker_embeds_after_commit_and_again_after_an_edit(settings, space, owner):
    settings.EMBEDDING_WORKER = True
    thought = services.thought_create(space=space, actor=owner, key="seeds", title="Buy seeds")
    assert worker.wait_idle(timeout=10)
    first = ThoughtEmbedding.objects.get(thought=thought)

    services.thought_update(thought=thought, actor=owner, changes={"title": "Buy tomato seeds"})
    assert worker.wait_idle(timeout=10)

    assert ThoughtEmbedding.objects.get(thought=thought).digest != first.digest


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_queues_nothing(settings, space, owner):
    from django.db import transaction

    settings.EMBEDDING_WORKER = True
    with pytest.raises(RuntimeError), transaction.atomic():
        services.thought_create(space=space, actor=owner, key="never", title="Rolled back")
        raise RuntimeError

    assert worker.wait_idle(timeout=1)
    assert not ThoughtEmbedding.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_worker_retries_a_batch_that_failed(settings, space, owner, monkeypatch):
    settings.EMBEDDING_WORKER = True
    monkeypatch.setattr(indexing, "RETRY_DELAY", 0.01)
    real = indexing.embed_thoughts
    calls = []

    def fail_once(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            raise OperationalError("database is locked")
        return real(**kwargs)

    monkeypatch.setattr(indexing, "embed_thoughts", fail_once)
    thought = services.thought_create(space=space, actor=owner, key="seeds", title="Buy seeds")

    assert worker.wait_idle(timeout=10)
    assert len(calls) == 2
    assert ThoughtEmbedding.objects.filter(thought=thought).exists()
