"""``manage.py check`` and ``dbshell`` work against a syncops.backend database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_check_passes_for_the_default_database() -> None:
    call_command("check", "--database", "default")


def run_manage(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "thoughtspace.settings",
        "DJANGO_DEBUG": "1",
        "THOUGHTSPACE_DB_PATH": str(tmp_path / "shell.db"),
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_command_in_a_process(tmp_path: Path) -> None:
    result = run_manage(tmp_path, "check", "--database", "default")
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_dbshell_opens_the_database(tmp_path: Path) -> None:
    import libsql_experimental

    database = libsql_experimental.connect(str(tmp_path / "shell.db"))
    database.execute("CREATE TABLE marker (value TEXT)")
    database.execute("INSERT INTO marker VALUES ('written by libsql')")
    database.commit()
    database.close()
    result = run_manage(tmp_path, "dbshell", stdin="select 1; select value from marker;\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "written", "by", "libsql"]
