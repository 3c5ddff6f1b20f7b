#!/usr/bin/env python3
"""Work on a ThoughtSpace space the way an agent should, with only the standard library.

    THOUGHTSPACE_URL=http://127.0.0.1:8000 THOUGHTSPACE_TOKEN=ts_... python scripts/agent_example.py

It starts an agent session, creates a space (or uses --space-id), adds thoughts one at a
time, links them, changes one thought's metadata with PATCH and If-Match, removes one, and
ends the session. With a token in confirm mode every change comes back as a proposal (202)
that a person approves on the space's Proposals page; the script reports them and goes on.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from typing import Any


class Api:
    def __init__(self, base_url: str, token: str) -> None:
        self.base = base_url.rstrip("/") + "/api"
        self.token = token
        self.session = ""  # the agent session, sent back on every call once known
        self.proposals: list[str] = []

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], Any]:
        request = urllib.request.Request(self.base + path, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        request.add_header("Accept", "application/json")
        if self.session:
            request.add_header("X-Agent-Session", self.session)
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, data=data, timeout=30) as response:
                status, raw, got = response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as error:
            status, raw, got = error.code, error.read(), dict(error.headers)
        self.session = got.get("X-Agent-Session", self.session)
        return status, got, json.loads(raw) if raw else None

    def change(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        """A mutation: applied (2xx) or, for a confirm-mode token, proposed (202)."""
        status, _headers, answer = self.call(method, path, body, headers)
        if status == 202:
            self.proposals.append(answer["id"])
            print(f"  proposed (waiting for approval): {answer['summary']} [{answer['id']}]")
            return None
        if status == 409 and method == "POST":
            print(f"  {path}: already there ({answer['detail']})")
            return None
        if status >= 400:
            raise SystemExit(f"{method} {path} failed with {status}: {answer['detail']}")
        print(f"  {method} {path} -> {status}")
        return answer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default=os.environ.get("THOUGHTSPACE_URL", ""))
    parser.add_argument("--token", default=os.environ.get("THOUGHTSPACE_TOKEN", ""))
    parser.add_argument("--space-id", default=os.environ.get("THOUGHTSPACE_SPACE_ID", ""))
    args = parser.parse_args()
    if not args.base_url or not args.token:
        parser.error("give --base-url and --token (or THOUGHTSPACE_URL and THOUGHTSPACE_TOKEN)")
    api = Api(args.base_url, args.token)

    status, _, session = api.call("POST", "/agent-sessions", {"label": "agent-example"})
    if status != 201:
        raise SystemExit(f"Could not start a session ({status}): {session}")
    api.session = session["id"]
    print(f"agent session {api.session}")

    space_id = args.space_id
    if not space_id:
        space = api.change("POST", "/spaces", {"title": "Agent example", "description": "Demo"})
        if space is None:
            print("The new space is a proposal: approve it, then rerun with --space-id.")
            api.call("DELETE", f"/agent-sessions/{api.session}")
            return 0
        space_id = space["id"]
    print(f"space {space_id}")
    thoughts = f"/spaces/{space_id}/thoughts"

    # One POST per thought: never rewrite the whole space.
    api.change("POST", thoughts, {"key": "question", "title": "What should we try first?"})
    api.change("POST", thoughts, {"key": "answer", "title": "The smallest experiment"})
    api.change("POST", thoughts, {"key": "scratch", "title": "A note to remove"})
    if api.proposals:
        # A link needs both thoughts to exist: propose it once they are approved.
        print("  (the thoughts are proposals until approved: skipping the link and the edit)")
    else:
        api.change("POST", f"/spaces/{space_id}/links", {"source": "answer", "target": "question"})

    # A safe edit: read the ETag, PATCH only the metadata, with If-Match.
    status, headers, thought = api.call("GET", f"{thoughts}/answer")
    if status == 200 and not api.proposals:
        etag = headers["ETag"]
        metadata = {**thought["metadata"], "status": "proposed-by-agent"}
        api.change("PATCH", f"{thoughts}/answer", {"metadata": metadata}, **{"If-Match": etag})
        api.change("DELETE", f"{thoughts}/scratch")

    status, _, ended = api.call("DELETE", f"/agent-sessions/{api.session}")
    print(f"session {ended['status'] if status == 200 else status}")
    if api.proposals:
        print(f"{len(api.proposals)} proposal(s) wait for approval on the space's Proposals page.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
