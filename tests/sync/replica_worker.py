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
    from django.contrib.auth import authenticate
    from django.contrib.auth.models import User
    from django.db import IntegrityError, close_old_connections, connections
    from django.test import RequestFactory

    from spaces import services
    from spaces.errors import ServiceError
    from spaces.events import change_committed
    from spaces.models import Conflict, HistoryEntry, Link, Space, Thought
    from syncops.localdb import prepare_local_database
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
            "title": space.title,
            "members": sorted(
                [m.user.email, m.role] for m in space.memberships.select_related("user")
            ),
            "users": sorted([u.pk, u.username, u.email] for u in User.objects.all()),
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

    def readers(space_id: str) -> list[list[str | None]]:
        """[email, role] of every user who may read the space, by the pages' own check."""
        space = Space.objects.get(pk=space_id)
        return sorted(
            [u.email, role] for u in User.objects.all() if (role := space.role_of(u)) is not None
        )

    def logins(accounts: list[list[str]]) -> dict[str, bool]:
        """For each [email, password]: whether that user exists here and the password works."""
        prepare_local_database()  # where the login throttling keeps its attempts
        found = {}
        for email, secret in accounts:
            user = User.objects.filter(email=email).first()
            login = RequestFactory().post("/login/")  # the login throttling reads the request
            found[email] = bool(
                user and authenticate(login, username=user.username, password=secret)
            )
        return found

    def run(command: dict[str, Any]) -> dict[str, Any]:
        op = command["op"]
        if op == "sync":
            return run_sync(replica)
        if op == "state":
            return {"ok": True, "state": state(command["space"])}
        if op == "readers":
            return {"ok": True, "readers": readers(command["space"])}
        if op == "logins":
            return {"ok": True, "logins": logins(command["accounts"])}
        if op == "create_user":
            if User.objects.filter(username=command["username"]).exists():
                return {"ok": False, "error": "username taken here"}
            try:
                User.objects.create_user(
                    command["username"], email=command["email"], password=command["password"]
                )
            except IntegrityError:  # a pull brought the same name in since the check
                return {"ok": False, "error": "username taken here"}
            return {"ok": True}
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
            doomed = thought(space, command["key"])
            removed = list(Link.objects.filter(source=doomed).values_list("id", flat=True)) + list(
                Link.objects.filter(target=doomed).values_list("id", flat=True)
            )
            services.thought_delete(thought=doomed, actor=user)
            return {"ok": True, "history_id": made[-1], "removed_links": removed}
        elif op == "retitle":
            services.space_update(space=space, actor=user, changes={"title": command["title"]})
        elif op == "share":
            target = User.objects.filter(username=command["username"]).first()
            services.space_share(
                space=space, actor=user, username=command["username"], role=command["role"]
            )
            return {"ok": True, "history_id": made[-1], "email": target and target.email}
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
