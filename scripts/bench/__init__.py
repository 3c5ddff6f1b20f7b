"""The benchmark suite: ``scripts/bench.sh`` (or ``python -m scripts.bench``); see
docs/BENCHMARKS.md for what it measures and the targets it checks."""
