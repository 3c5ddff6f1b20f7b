"""``manage.py embed --space ID | --all``: backfills missing or stale embeddings with a
progress bar."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from spaces import services
from spaces.embeddings import minilm_installed
from spaces.models import ThoughtEmbedding

pytestmark = pytest.mark.django_db


def embed(*args: str) -> str:
    out = io.StringIO()
    call_command("embed", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def unembedded(space, owner):
    for i in range(3):
        services.thought_create(space=space, actor=owner, key=f"t{i}", title=f"Thought {i}")
    return space


def test_it_embeds_a_space_with_a_progress_bar(unembedded):
    output = embed("--space", unembedded.pk, "--batch-size", "2")

    assert ThoughtEmbedding.objects.filter(space=unembedded).count() == 3
    assert "[####################----------] 2/3 66%" in output
    assert "[##############################] 3/3 100%" in output
    assert "Embedded 3 thoughts" in output


def test_a_second_run_has_nothing_to_do(unembedded):
    embed("--all")

    assert "Every thought was embedded already." in embed("--all")


def test_force_embeds_again(unembedded):
    embed("--all")

    assert "Embedded 3 thoughts" in embed("--all", "--force")


def test_an_unknown_space_is_an_error(db):
    with pytest.raises(CommandError, match="no space with id 'nope'"):
        embed("--space", "nope")


def test_it_needs_a_space_or_all(db):
    with pytest.raises(CommandError, match="one of the arguments --space --all is required"):
        embed()


def start_with_embedder(value: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import thoughtspace.settings"],
        cwd=settings.BASE_DIR,
        env={"DJANGO_DEBUG": "1", "THOUGHTSPACE_EMBEDDER": value, "PATH": "/usr/bin"},
        capture_output=True,
        text=True,
    )


def test_a_bad_embedder_setting_stops_the_start_naming_the_variable():
    result = start_with_embedder("word2vec")

    assert result.returncode != 0
    assert "THOUGHTSPACE_EMBEDDER='word2vec' must be one of: hash, minilm" in result.stderr


@pytest.mark.skipif(minilm_installed(), reason="the minilm group is installed here")
def test_minilm_without_its_packages_stops_the_start_saying_what_to_install():
    result = start_with_embedder("minilm")

    assert result.returncode != 0
    assert "THOUGHTSPACE_EMBEDDER='minilm' needs sentence-transformers" in result.stderr
    assert "scripts/setup_model.sh" in result.stderr
