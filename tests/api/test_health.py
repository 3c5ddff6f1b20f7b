"""``/healthz`` and ``/readyz``: what a load balancer asks, in whatever mode the suite runs."""

import pytest
from django.db import connection
from django.test import Client


def test_a_live_process_is_healthy_without_login(db):
    response = Client().get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_ready_when_the_database_answers_and_nothing_waits(db):
    response = Client().get("/readyz")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["ready"] and body["problems"] == []
    assert body["checks"]["database"] == "ok" and body["checks"]["recovering"] is False
    assert body["checks"]["mode"] == connection.replica.mode
    assert Client().post("/readyz").status_code == 405


def test_not_ready_while_a_recovery_rebuilds_the_replica(db):
    replica = connection.replica
    if replica.mode == "remote":
        pytest.skip("remote mode keeps no local files: nothing to rebuild")
    replica.start_read_copy("a test's recovery")
    assert replica.read_copy is not None
    try:
        response = Client().get("/readyz")
    finally:
        replica.end_read_copy()
    assert response.status_code == 503
    assert response.json()["checks"]["recovering"] is True
    assert "being rebuilt" in response.json()["problems"][0]
    assert Client().get("/readyz").status_code == 200


def test_not_ready_while_the_backlog_is_over_its_bound(db, settings):
    settings.THOUGHTSPACE_READY_MAX_PENDING = -1  # any backlog, even none, is too much
    response = Client().get("/readyz")
    assert response.status_code == 503
    (problem,) = response.json()["problems"]
    assert "THOUGHTSPACE_READY_MAX_PENDING=-1" in problem
    assert response.json()["ready"] is False
