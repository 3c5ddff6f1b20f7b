"""The API answers a database that refused a request with 503, ``Retry-After`` and a JSON
``detail`` that says what to do; an engine's own error text is logged, never shown."""

from __future__ import annotations

import json

from django.db import OperationalError
from django.test import RequestFactory

from spaces.api import unavailable
from syncops.backend import database as Database


def refused(cause: Exception) -> OperationalError:
    error = OperationalError(*cause.args)
    error.__cause__ = cause
    return error


def test_a_refusal_answers_503_with_its_message_and_retry_after():
    cause = Database.Unavailable("The local replica is being rebuilt.", retry_after=2)
    response = unavailable(RequestFactory().get("/api/spaces"), refused(cause))
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert json.loads(response.content) == {"detail": "The local replica is being rebuilt."}


def test_a_driver_error_answers_503_without_its_text():
    cause = Database.OperationalError("Parse error: no such table: spaces_apitoken")
    response = unavailable(RequestFactory().get("/api/spaces"), refused(cause))
    assert response.status_code == 503 and int(response["Retry-After"]) > 0
    detail = json.loads(response.content)["detail"]
    assert "no such table" not in detail and "retry" in detail
