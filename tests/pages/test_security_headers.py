"""What every page says to the browser about itself, and the production settings that
`manage.py check --deploy` holds up."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
HTTPS = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECURE_COOKIES": "1",
    "DJANGO_SECURE_SSL_REDIRECT": "1",
    "DJANGO_SECURE_HSTS_SECONDS": "31536000",
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "DJANGO_SECURE_HSTS_PRELOAD": "1",
    "DJANGO_SECURE_PROXY_SSL_HEADER": "1",
}


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/login/", "/admin/login/"])
def test_pages_carry_a_policy_without_inline_code(path):
    response = Client().get(path)
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response["X-Frame-Options"] == "DENY"


def test_the_https_settings_pass_djangos_deployment_checks(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "THOUGHTSPACE_"))}
    env.update(
        HTTPS,
        DJANGO_SETTINGS_MODULE="thoughtspace.settings",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        THOUGHTSPACE_DB_PATH=str(tmp_path / "ts.db"),
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
