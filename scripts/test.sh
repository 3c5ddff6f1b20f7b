#!/usr/bin/env bash
# Sets up everything the tests need and runs the whole suite: lint, types, tests (local mode),
# then the API tests again in each syncing mode against a real local remote, Django's own
# test suite against the backend, the search tests with the optional minilm embedder, and
# schemathesis against a live instance.
set -euo pipefail
cd "$(dirname "$0")/.."
# Redis for the multi-instance live-update tests, Chromium for the browser tests.
scripts/setup.sh redis-server chromium nginx-light curl

echo "==> ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "==> mypy"
DJANGO_DEBUG=1 .venv/bin/mypy spaces syncops thoughtspace
echo "==> pytest"
.venv/bin/python -m pytest "$@"
if [[ $# -eq 0 ]]; then
    for mode in offline replica remote; do
        .venv/bin/python scripts/with_remote.py "$mode" -- .venv/bin/python -m pytest -q tests/api tests/search
    done
    # The backend, the services and the conflict rules on the Turso engine (offline mode's
    # driver): its SQL, JSON paths, change log and schema rebuilds differ from libSQL's.
    .venv/bin/python scripts/with_remote.py offline -- .venv/bin/python -m pytest -q tests/backend tests/services tests/conflicts
    # Django's own test suite against syncops.backend (and stock sqlite3, to compare): any
    # failure not listed in syncops/backend/features.py, or a listed one that passes, fails.
    .venv/bin/python scripts/django_suite.py
    # The search tests again with the optional minilm embedder installed (in .venv-model).
    scripts/test_model.sh -q
    # The API fuzzed by schemathesis (every check, stateful links) on a live instance: local
    # mode, then offline mode (a real tursodb remote); any 5xx or undocumented answer fails.
    .venv/bin/python scripts/fuzz_api.py --max-time 60
    .venv/bin/python scripts/with_remote.py offline -- .venv/bin/python scripts/fuzz_api.py --max-time 30
fi
