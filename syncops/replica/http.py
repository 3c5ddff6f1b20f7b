"""``remote`` mode: Hrana over HTTP to the primary (syncops.replica.hrana); no local file."""

from __future__ import annotations

import encodings.idna  # noqa: F401 - urllib imports it lazily; not from a worker at exit
from typing import Any

from syncops.replica.base import Replica
from syncops.replica.hrana import HranaClient, HranaConnection


class RemoteReplica(Replica):
    """No local file: every statement goes to the primary over HTTP, inside a transaction
    those nobody reads the answer of with the next one that is read (``HranaConnection``)."""

    mode = "remote"
    keeps_pragmas = False
    # Over a slow link, two writing transactions of one process (a request and the
    # embedding worker) contended on the primary until one timed out: queue them here.
    serializes_writes = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client: HranaClient | None = None

    def connect(self) -> Any:
        if self._client is None:
            self._client = HranaClient(self.url or "", self.token, local_reads=False)
        return HranaConnection(self._client)
