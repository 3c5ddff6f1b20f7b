"""``/metrics``: Prometheus's text format, for trusted scrapers only, with the figures an
operator alerts on."""

import json
import re
from pathlib import Path

import pytest
import yaml
from django.db import connection
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from spaces import services


def scrape(client: Client, **headers: str):
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/plain")
    return {
        sample.name + str(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples[name + str(sorted(labels.items()))]


def test_requests_are_counted_by_route_not_by_path(space, owner, api_as):
    client = api_as(owner)
    for key in ("a", "b"):
        client.post(f"/api/spaces/{space.pk}/thoughts", {"key": key, "title": key})
    samples = scrape(Client())
    route = "api/spaces/<space_id>/thoughts"
    counted = [name for name in samples if "_count" in name and route in name]
    assert counted, [name for name in samples if "http_request" in name][:20]
    assert any("'201'" in name and samples[name] >= 2 for name in counted)
    assert not any(space.pk in name for name in samples)  # never a space's id as a label


def test_sync_figures_and_open_conflicts_are_there(space, owner):
    services.thought_create(space=space, actor=owner, key="k", title="K")
    samples = scrape(Client())
    names = {re.sub(r"\[.*", "", name) for name in samples}
    for wanted in (
        "thoughtspace_sync_pending_changes",
        "thoughtspace_sync_healthy",
        "thoughtspace_sync_last_push_timestamp_seconds",
        "thoughtspace_sync_pushes_total",
        "thoughtspace_sync_recoveries_total",
        "thoughtspace_conflicts_open",
        "thoughtspace_websocket_connections",
    ):
        assert wanted in names, sorted(names)
    assert value(samples, "thoughtspace_conflicts_open") == 0
    mode = connection.replica.mode  # every sync figure says which mode it is from
    assert value(samples, "thoughtspace_sync_pending_changes", mode=mode) >= 0
    assert value(samples, "thoughtspace_websocket_connections") == 0


@pytest.mark.parametrize("address", ["10.1.2.3", "2001:db8::1"])
def test_others_find_nothing_there(db, address):
    assert Client(REMOTE_ADDR=address).get("/metrics").status_code == 404


def test_a_token_opens_it_from_anywhere_and_nothing_else_does(db, settings):
    settings.THOUGHTSPACE_METRICS_TOKEN = "s3cret-scrape-token"
    far = Client(REMOTE_ADDR="10.1.2.3")
    assert far.get("/metrics").status_code == 404
    assert far.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404
    assert Client().get("/metrics").status_code == 404  # the token is then the only way in
    scrape(far, Authorization="Bearer s3cret-scrape-token")


def test_every_metric_the_alerts_and_the_dashboard_use_is_exported(db):
    response = Client().get("/metrics")
    families = {family.name for family in text_string_to_metric_families(response.content.decode())}
    deploy = Path(__file__).resolve().parents[2] / "deploy"
    rules = yaml.safe_load((deploy / "prometheus" / "alerts.yml").read_text())
    dashboard = json.loads((deploy / "grafana" / "thoughtspace.json").read_text())
    exprs = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    exprs += [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    assert len(exprs) > 15
    used = {name for expr in exprs for name in re.findall(r"\bthoughtspace_[a-z_]+", expr)}
    for name in used:
        family = re.sub(r"_(bucket|count|sum|total)$", "", name)
        assert family in families, f"{name} is in deploy/ but not in /metrics"
