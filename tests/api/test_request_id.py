"""Every request has an id: in its response, and on every log record made while it runs,
as text or as JSON lines."""

import io
import json
import logging

import pytest
from django.conf import settings
from django.test import Client

from syncops.logs import JsonFormatter, RequestIdFilter


@pytest.fixture
def log_lines():
    """What the logs say while the test runs, formatted as the settings' handler would."""
    streams = {"json": io.StringIO(), "text": io.StringIO()}
    handlers = []
    for kind, stream in streams.items():
        handler = logging.StreamHandler(stream)
        handler.addFilter(RequestIdFilter())
        text = settings.LOGGING["formatters"]["text"]["format"]
        handler.setFormatter(JsonFormatter() if kind == "json" else logging.Formatter(text))
        handlers.append(handler)
        logging.getLogger("django.request").addHandler(handler)
    yield lambda kind: streams[kind].getvalue().splitlines()
    for handler in handlers:
        logging.getLogger("django.request").removeHandler(handler)


def test_a_response_names_its_request(db):
    response = Client().get("/healthz")
    assert len(response["X-Request-ID"]) == 32
    assert Client().get("/healthz")["X-Request-ID"] != response["X-Request-ID"]


def test_an_id_from_the_proxy_is_kept_and_a_strange_one_replaced(db):
    given = Client().get("/healthz", headers={"X-Request-ID": "nginx-4f2a.9"})
    assert given["X-Request-ID"] == "nginx-4f2a.9"
    for strange in ("has space", "x" * 65, 'quote"d', ""):
        answered = Client().get("/healthz", headers={"X-Request-ID": strange})
        assert answered["X-Request-ID"] != strange and len(answered["X-Request-ID"]) == 32


def test_the_log_records_of_a_request_carry_its_id(db, log_lines):
    response = Client().get("/no-such-page/", headers={"X-Request-ID": "req-404"})
    assert response.status_code == 404
    (line,) = log_lines("json")
    record = json.loads(line)
    assert record["request_id"] == "req-404" and record["level"] == "WARNING"
    assert record["logger"] == "django.request" and "/no-such-page/" in record["message"]
    assert record["time"].endswith("+00:00")
    assert log_lines("text") == ["WARNING django.request [req-404]: Not Found: /no-such-page/"]
