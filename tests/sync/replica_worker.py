"""A ThoughtSpace process driven over stdin/stdout, one JSON line per command, for the
property-based sync tests: it writes through the services and syncs like a server does (the
background worker runs; ``sync`` pushes and pulls now).

Run as ``manage.py shell --no-imports -c "from tests.sync.replica_worker import main; main()"``.
"""

from __future__ import annotations

import json
import sys
import threading
import traceback
from typing import Any


def main() -> None:
    from django.contrib.auth.models import User
    from django.db import close_old_connections, connections

    from spaces import services
    from spaces.errors import ServiceError
    from spaces.events import change_committed
    from spaces.models import Conflict, HistoryEntry, Space, Thought
    from syncops.replica import replica_for
    from syncops.runtime import ensure_started, run_sync

    replica = replica_for(connections["default"].settings_dict)
    ensure_started(replica)
    user = User.objects.get(username="demo")
    main_thread = threading.get_ident()
    made: list[str] = []  # history ids of the changes this thread committed (not the worker's)

    def committed(sender: Any = None, *, event: dict[str, Any], **kwargs: Any) -> None:
        if threading.get_ident() == main_thread and event.get("history_id"):
            made.append(event["history_id"])

    change_committed.connect(committed, weak=False)

    def thought(space: Space, key: str) -> Thought:
        return Thought.objects.get(space=space, key=key)

    def state(space_id: str) -> dict[str, Any]:
        space = Space.objects.filter(pk=space_id).first()
        if space is None:
            return {"missing": True}
        return {
            "thoughts": sorted(
                [t.id, t.key, t.title, t.version] for t in Thought.objects.filter(space=space)
            ),
            "links": sorted(
                [link.id, link.source.key, link.target.key, link.label]
                for link in space.links.select_related("source", "target")
            ),
            "conflicts": sorted(
                [c.id, c.kind, c.status] for c in Conflict.objects.filter(space=space)
            ),
            "history": [
                {
                    "id": e.id,
                    "action": e.action,
                    "before": e.before,
                    "after": e.after,
                    "base_version": e.base_version,
                }
                for e in HistoryEntry.objects.filter(space=space)
            ],
        }

    def run(command: dict[str, Any]) -> dict[str, Any]:
        op = command["op"]
        if op == "sync":
            return run_sync(replica)
        if op == "state":
            return {"ok": True, "state": state(command["space"])}
        if op == "create_space":
            return {"ok": True, "id": services.space_create(owner=user, title="property").pk}
        space = Space.objects.get(pk=command["space"])
        if op == "create":
            services.thought_create(
                space=space, actor=user, key=command["key"], title=command["title"]
            )
        elif op == "update":
            services.thought_update(
                thought=thought(space, command["key"]),
                actor=user,
                changes={"title": command["title"]},
            )
        elif op == "delete":
            services.thought_delete(thought=thought(space, command["key"]), actor=user)
        elif op == "link":
            services.link_create(
                space=space, actor=user, source=command["key"], target=command["target"]
            )
        elif op == "unlink":
            link = space.links.filter(
                source__key=command["key"], target__key=command["target"]
            ).first()
            if link is None:
                return {"ok": False, "error": "no such link"}
            services.link_delete(space=space, actor=user, link_id=link.pk)
        else:
            return {"ok": False, "error": f"unknown op {op!r}"}
        return {"ok": True, "history_id": made[-1]}

    for line in sys.stdin:
        try:
            reply = run(json.loads(line))
        except (ServiceError, Space.DoesNotExist, Thought.DoesNotExist) as exc:
            reply = {"ok": False, "error": str(exc)}
        except Exception as exc:
            reply = {"ok": False, "error": repr(exc), "trace": traceback.format_exc()}
        finally:
            close_old_connections()
        sys.stdout.write(json.dumps(reply, default=str) + "\n")
        sys.stdout.flush()
