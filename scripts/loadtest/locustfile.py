"""Locust scenarios of a fleet's day (scripts/loadtest.py runs them; or ``locust -f`` this file
against any instance with the LOADTEST_* variables set):

- a person (``Browser``): signs in through the login form, opens the space list, the space and
  its thoughts;
- an editor (``Editor``, an API token): creates thoughts, edits and deletes its own, reads lists;
- an agent (``Agent``, a token in confirm mode): proposes new thoughts, which a reviewer (the
  owner's token) approves.

Each simulated user comes from an address of its own (127.0.0.2, ...), as people do: nginx
keeps an address on one process (deploy/nginx/thoughtspace.conf).
"""

from __future__ import annotations

import itertools
import os
import re
import time

from locust import HttpUser, between, task
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

SPACE = os.environ.get("LOADTEST_SPACE", "")
TOKEN = os.environ.get("LOADTEST_TOKEN", "")
CONFIRM_TOKEN = os.environ.get("LOADTEST_CONFIRM_TOKEN", "")
KEYS = [key for key in os.environ.get("LOADTEST_KEYS", "").split(",") if key]  # to browse
USERNAME = os.environ.get("LOADTEST_USERNAME", "demo")
PASSWORD = os.environ.get("LOADTEST_PASSWORD", "demo-password")
SETTLED = 3.0  # seconds before an editor changes a thought it made (it may move process)
_numbers = itertools.count()
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class FromAddress(HTTPAdapter):
    """Connections from one local address (the whole 127.0.0.0/8 is this machine's).

    A request whose kept-alive connection closed before any answer came is sent once more,
    as browsers do (Chromium resends on a reused connection that closes before the answer's
    headers, whatever the method): nginx closes its idle connections when it reloads, and a
    request can cross that close on the way. No timeout is set, so nothing else is resent.
    """

    def __init__(self, address: str) -> None:
        self.address = address
        resend = Retry(1, connect=1, read=1, redirect=0, status=0, other=0, allowed_methods=None)
        super().__init__(max_retries=resend)

    def init_poolmanager(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs["source_address"] = (self.address, 0)
        return super().init_poolmanager(*args, **kwargs)


class Person(HttpUser):
    abstract = True

    def on_start(self) -> None:
        self.number = next(_numbers)
        address = f"127.0.{1 + self.number // 250}.{2 + self.number % 250}"
        self.client.mount("http://", FromAddress(address))


class Browser(Person):
    weight = 3
    wait_time = between(0.5, 2)

    def on_start(self) -> None:
        super().on_start()
        page = self.client.get("/login/", name="/login/").text
        token = CSRF.search(page)
        self.client.post(
            "/login/",
            data={"username": USERNAME, "password": PASSWORD, "csrfmiddlewaretoken": token[1]},
            headers={"Referer": self.host + "/login/"},
            name="/login/ (sign in)",
        )
        self.keys = KEYS or [
            item["key"]
            for item in self.client.get(
                f"/api/spaces/{SPACE}/thoughts?limit=20", name="/api/spaces/[id]/thoughts"
            ).json()["items"]
        ]

    @task(2)
    def space_list(self) -> None:
        self.client.get("/spaces/", name="/spaces/")

    @task(3)
    def space(self) -> None:
        self.client.get(f"/spaces/{SPACE}/", name="/spaces/[id]/")

    @task(3)
    def thought(self) -> None:
        key = self.keys[int(time.monotonic() * 1000) % len(self.keys)]
        self.client.get(f"/spaces/{SPACE}/thoughts/{key}/", name="/spaces/[id]/thoughts/[key]/")


class Editor(Person):
    weight = 2
    wait_time = between(0.2, 1)

    def on_start(self) -> None:
        super().on_start()
        self.client.headers["Authorization"] = f"Bearer {TOKEN}"
        self.made: list[tuple[str, float]] = []
        self.count = 0

    def _settled(self) -> list[str]:
        return [key for key, at in self.made if time.monotonic() - at > SETTLED]

    @task(4)
    def create(self) -> None:
        key = f"load-{self.number}-{self.count}"
        self.count += 1
        with self.client.post(
            f"/api/spaces/{SPACE}/thoughts",
            json={"key": key, "title": f"Load {key}", "body": "Written by the load test."},
            name="/api/spaces/[id]/thoughts (create)",
            catch_response=True,
        ) as response:
            if response.status_code == 201:
                self.made.append((key, time.monotonic()))
                response.success()
            else:
                response.failure(f"{response.status_code}: {response.text[:200]}")

    @task(3)
    def edit(self) -> None:
        settled = self._settled()
        if settled:
            key = settled[self.count % len(settled)]
            self.client.patch(
                f"/api/spaces/{SPACE}/thoughts/{key}",
                json={"title": f"Edited {key} {self.count}"},
                name="/api/spaces/[id]/thoughts/[key] (edit)",
            )

    @task(1)
    def delete(self) -> None:
        settled = self._settled()
        if settled:
            key = settled[0]
            self.made = [(k, at) for k, at in self.made if k != key]
            self.client.delete(
                f"/api/spaces/{SPACE}/thoughts/{key}",
                name="/api/spaces/[id]/thoughts/[key] (delete)",
            )

    @task(2)
    def read(self) -> None:
        self.client.get(f"/api/spaces/{SPACE}/thoughts?limit=50", name="/api/spaces/[id]/thoughts")


class Agent(Person):
    weight = 1
    wait_time = between(1, 3)

    def on_start(self) -> None:
        super().on_start()
        self.count = 0

    @task
    def propose_and_approve(self) -> None:
        key = f"agent-{self.number}-{self.count}"
        self.count += 1
        proposed = self.client.post(
            f"/api/spaces/{SPACE}/thoughts",
            json={"key": key, "title": f"Proposed {key}"},
            headers={"Authorization": f"Bearer {CONFIRM_TOKEN}"},
            name="/api/spaces/[id]/thoughts (propose)",
        )
        if proposed.status_code != 202:
            return  # counted as a failure by Locust already when it is one
        proposal = proposed.json()["id"]
        self.client.post(
            f"/api/proposals/{proposal}/approve",
            headers={"Authorization": f"Bearer {TOKEN}"},
            name="/api/proposals/[id]/approve",
        )
