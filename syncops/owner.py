"""One owner per replica file: an ``fcntl.flock`` on ``<db>.owner``, held for its whole life by
the process that owns the files (the server, or ``manage.py resync`` while it rebuilds them).

Offline mode has a control channel to its owner (syncops.control), replica mode has none, and
in both a command that moves the files under a running server breaks it. The kernel drops the
lock when its process exits, however it exits, so a file left by a dead process blocks
nothing. The file itself is never deleted: it only says who took the lock last.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
from pathlib import Path
from typing import IO


class OwnedElsewhere(Exception):
    """Another live process owns the replica's files; the message says which and what to do."""


def owner_path(database_path: str) -> Path:
    return Path(f"{database_path}.owner")


def describe_process(role: str) -> str:
    """How this process is named in the lock file and in other processes' messages."""
    return f"pid {os.getpid()}, {role} ({' '.join(sys.argv)[:200]})"


class OwnerLock:
    """The held lock; ``release()`` (or the process's exit) gives it up."""

    def __init__(self, path: Path, handle: IO[str]) -> None:
        self.path = path
        self._handle: IO[str] | None = handle

    def release(self) -> None:
        if self._handle is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


def _refusal(database_path: str, holder: str) -> OwnedElsewhere:
    return OwnedElsewhere(
        f"{database_path} is owned by another process: {holder or 'unknown'} (lock file "
        f"{owner_path(database_path)}). Stop that process (the server: stop daphne) or wait "
        "for it to finish, then run the command again. A running server recovers by itself "
        "when the remote is reset or replaced; `manage.py sync_status` shows what it did."
    )


def claim(database_path: str, *, role: str) -> OwnerLock:
    """Take the lock for this process (``role``: "the server", "manage.py resync"), or raise
    OwnedElsewhere naming the process that has it."""
    path = owner_path(database_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")  # noqa: SIM115 - held open for the life of the lock
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip()
        handle.close()
        raise _refusal(database_path, holder) from None
    handle.seek(0)
    handle.truncate()
    handle.write(describe_process(role) + "\n")
    handle.flush()
    return OwnerLock(path, handle)


def check_unowned(database_path: str) -> None:
    """Raise OwnedElsewhere when a live process owns the files; creates and changes nothing
    (for ``resync --dry-run``)."""
    path = owner_path(database_path)
    try:
        handle = open(path)  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _refusal(database_path, handle.read().strip()) from None
        fcntl.flock(handle, fcntl.LOCK_UN)
