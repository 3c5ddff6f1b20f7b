#!/usr/bin/env bash
# Runs the benchmark suite (docs/BENCHMARKS.md): every storage mode against the peers, the
# report with its plots, and the targets; exits 1 when a target is missed. --quick: small.
set -euo pipefail
cd "$(dirname "$0")/.."
# Redis for the live-update measurements, iproute2 for network namespaces (delay injection).
scripts/setup.sh redis-server iproute2
exec .venv/bin/python -m scripts.bench "$@"
