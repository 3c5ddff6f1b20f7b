"""A page whose database work was refused answers 503 with ``Retry-After`` and the reason;
an engine's own error text is logged, never shown."""

from __future__ import annotations

from typing import Any

from django.db import OperationalError
from django.http import HttpResponse
from django.test import RequestFactory

from spaces.middleware import DatabaseUnavailableMiddleware
from syncops.backend import database as Database


def refused(cause: Exception) -> OperationalError:
    """What Django raises for a driver-level error: its own class, chained to the cause."""
    error = OperationalError(*cause.args)
    error.__cause__ = cause
    return error


def answer(exc: Exception, user: Any) -> HttpResponse:
    request = RequestFactory().post("/spaces/new")
    request.user = user
    middleware = DatabaseUnavailableMiddleware(lambda request: HttpResponse())
    response = middleware.process_exception(request, exc)
    assert response is not None
    return response


def test_a_refused_write_answers_503_with_the_reason_and_a_delay(owner):
    cause = Database.Unavailable("The local replica is being rebuilt.", retry_after=2)
    response = answer(refused(cause), owner)
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert "The local replica is being rebuilt." in response.content.decode()


def test_a_driver_error_is_not_shown(owner):
    response = answer(refused(Database.OperationalError("Parse error: no such table: x")), owner)
    assert response.status_code == 503 and int(response["Retry-After"]) > 0
    assert "no such table" not in response.content.decode()


def test_other_errors_are_left_to_django(owner):
    request = RequestFactory().get("/")
    middleware = DatabaseUnavailableMiddleware(lambda request: HttpResponse())
    assert middleware.process_exception(request, ValueError("x")) is None
