#!/usr/bin/env python
"""Run Django's own test suite against syncops.backend, and against stock sqlite3 to compare.

    .venv/bin/python scripts/django_suite.py              # both, on the apps below
    .venv/bin/python scripts/django_suite.py --only ours  # syncops.backend only
    .venv/bin/python scripts/django_suite.py queries      # other apps

Django's tests come from the source distribution of the version uv.lock pins (its URL and
sha256 are read from the lock; downloaded once into var/django-suite/). The backend lists
what it is expected to fail or skip, each with its reason, in syncops/backend/features.py
(``django_test_expected_failures``, ``django_test_skips``): Django's runner marks them, so
the run fails when anything else fails *or* an expected failure starts passing. Prints the
pass counts of both backends and their ratio; exits non-zero when our run fails.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "var" / "django-suite"
APPS = [
    "basic",
    "lookup",
    "transactions",
    "model_fields",
    "aggregation",
    "ordering",
    "update",
    "delete",
    "db_functions",
    "expressions",
    "queries",
    "backends",
    "migrations",
    "schema",
    "introspection",
    "transaction_hooks",
    "select_for_update",
    "get_or_create",
    "bulk_create",
    "custom_lookups",
    "timezones",
]
SETTINGS = """
DATABASES = {{
    "default": {{"ENGINE": "{engine}", "NAME": "{folder}/default.db"}},
    "other": {{"ENGINE": "{engine}", "NAME": "{folder}/other.db"}},
}}
SECRET_KEY = "django_tests_secret_key"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = False
"""
FAILED = re.compile(r"^(?:FAIL|ERROR|UNEXPECTED SUCCESS): \S+ \(([\w.]+)\)", re.MULTILINE)
SUMMARY = re.compile(r"^Ran (\d+) tests? in [\d.]+s\n\n(OK|FAILED)(?: \((.*)\))?$", re.MULTILINE)


def django_source() -> Path:
    """Django's source tree of the locked version (its tests/ folder included)."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    package = next(p for p in lock["package"] if p["name"] == "django")
    version, sdist = package["version"], package["sdist"]
    tree = CACHE / f"django-{version}"
    if (tree / "tests" / "runtests.py").exists():
        return tree
    CACHE.mkdir(parents=True, exist_ok=True)
    print(f"==> downloading Django {version}'s source ({sdist['size'] // 1024} KiB)", flush=True)
    with urllib.request.urlopen(sdist["url"], timeout=120) as answer:
        data = answer.read()
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    if digest != sdist["hash"]:
        raise SystemExit(f"Django's source does not match uv.lock: {digest} != {sdist['hash']}")
    archive = CACHE / f"django-{version}.tar.gz"
    archive.write_bytes(data)
    with tarfile.open(archive) as tar:
        tar.extractall(CACHE, filter="data")
    archive.unlink()
    return tree


def run(source: Path, engine: str, apps: list[str]) -> tuple[int, dict[str, int], str]:
    """Django's runtests.py on ``apps`` with ``engine``: exit code, counts, output."""
    with tempfile.TemporaryDirectory(prefix="django-suite-") as folder:
        (Path(folder) / "suite_settings.py").write_text(
            SETTINGS.format(engine=engine, folder=folder)
        )
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([folder, str(ROOT)])}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        result = subprocess.run(
            [sys.executable, "runtests.py", "--settings", "suite_settings", "--parallel", "1"]
            + apps,
            cwd=source / "tests",
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
        )
    output = result.stdout + result.stderr
    found = SUMMARY.search(output)
    if not found:
        return result.returncode or 1, {}, output
    counts = {"ran": int(found[1])}
    for part in (found[3] or "").split(", "):
        if "=" in part:
            name, number = part.split("=")
            counts[name] = int(number)
    # A test with failing subtests is one test that did not pass, however many failed.
    failing = set(FAILED.findall(output))
    counts["failed tests"] = len(failing)
    counts["passed"] = (
        counts["ran"]
        - len(failing)
        - sum(
            counts.get(name, 0) for name in ("skipped", "expected failures", "unexpected successes")
        )
    )
    return result.returncode, counts, output


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("apps", nargs="*", default=APPS)
    parser.add_argument("--only", choices=("ours", "stock"))
    args = parser.parse_args()
    source = django_source()
    results = {}
    for name, engine in (("stock", "django.db.backends.sqlite3"), ("ours", "syncops.backend")):
        if args.only in (None, name):
            print(f"==> Django's tests on {engine}: {' '.join(args.apps)}", flush=True)
            results[name] = run(source, engine, args.apps)
            code, counts, output = results[name]
            if code != 0:
                failed = sorted(set(FAILED.findall(output)))
                print("\n".join(failed) if failed else output[-6000:])
            print(f"    {engine}: {counts or 'no summary'}", flush=True)
    if "ours" in results and "stock" in results and results["stock"][1]:
        ours, stock = results["ours"][1].get("passed", 0), results["stock"][1]["passed"]
        print(f"==> syncops.backend passes {ours}, stock sqlite3 {stock}: {ours / stock:.3f}")
    return 1 if any(code != 0 for code, _, _ in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
