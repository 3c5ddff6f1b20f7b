"""``remote`` mode: libSQL over HTTP to the primary; no local file."""

from __future__ import annotations

import encodings.idna  # noqa: F401 - urllib imports it lazily; not from a worker at exit
from typing import Any

from syncops.replica.base import Replica


class RemoteReplica(Replica):
    """No local file: every statement goes to the primary over HTTP."""

    mode = "remote"
    keeps_pragmas = False
    # Over a slow link, two writing transactions of one process (a request and the
    # embedding worker) contended on the primary until one timed out: queue them here.
    serializes_writes = True

    def connect(self) -> Any:
        import libsql_experimental as libsql

        return libsql.connect(
            self.url, auth_token=self.token, isolation_level=None, check_same_thread=False
        )
