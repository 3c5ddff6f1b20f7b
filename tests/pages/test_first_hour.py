"""A newcomer's first hour: every ``manage.py`` line of the README, docs and pages works as
typed in a fresh shell, settings that are missing say so in one line, and the error pages
and the icon are the project's own."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from django.test import Client, override_settings
from django.urls import path

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTED = sorted(
    {
        command
        for source in [
            ROOT / "README.md",
            *ROOT.glob("docs/*.md"),
            *ROOT.glob("templates/**/*.html"),
        ]
        for command in re.findall(r"manage\.py ([a-z_]+)", source.read_text())
    }
)


def fresh_shell(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``python manage.py ...`` as typed: the system's Python, no project variables."""
    environment = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/")}
    environment["THOUGHTSPACE_DB_PATH"] = env.pop("db", "")
    return subprocess.run(
        ["python3", "manage.py", *args],
        cwd=ROOT,
        env={name: value for name, value in {**environment, **env}.items() if value},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_missing_secret_key_is_one_line_naming_the_variable() -> None:
    result = fresh_shell("check")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert "DJANGO_SECRET_KEY is not set" in result.stderr
    assert "DJANGO_DEBUG=1" in result.stderr


def test_the_documented_commands_are_all_there() -> None:
    assert {"create_token", "createsuperuser", "storage", "sync_status"} <= set(DOCUMENTED)


@pytest.mark.parametrize("command", DOCUMENTED)
def test_each_documented_manage_py_command_runs_in_a_fresh_shell(
    command: str, tmp_path: Path
) -> None:
    result = fresh_shell(command, "--help", DJANGO_DEBUG="1", db=str(tmp_path / "db.sqlite3"))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert f"manage.py {command}" in result.stdout


def broken(request: object) -> None:
    raise RuntimeError("a bug")


urlpatterns = [path("broken/", broken)]


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__)
def test_a_server_error_is_the_projects_own_page() -> None:
    response = Client(raise_request_exception=False).get("/broken/")
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()


@pytest.mark.django_db
def test_not_found_is_the_projects_own_page(owner_client: Client) -> None:
    response = owner_client.get("/no/such/page/")
    assert response.status_code == 404
    assert "There is nothing here" in response.content.decode()


@pytest.mark.django_db
def test_the_icon_is_served_where_browsers_look(client: Client) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("favicon.svg")
    assert "favicon.svg" in client.get("/login/").content.decode()
