"""Real sync servers on 127.0.0.1, started fresh for each test and always stopped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from syncops.devservers import Server, start_sqld, start_turso_sync_server


@pytest.fixture
def sqld_server(tmp_path: Path) -> Iterator[Server]:
    """A libSQL primary (sqld): ``.url`` serves embedded replicas and remote HTTP clients."""
    with start_sqld(tmp_path / "sqld") as server:
        yield server


@pytest.fixture
def turso_server(tmp_path: Path) -> Iterator[Server]:
    """A Turso sync server (``tursodb --sync-server``) for ``turso.sync.connect(remote_url=)``."""
    with start_turso_sync_server(tmp_path / "turso-remote" / "remote.db") as server:
        yield server
