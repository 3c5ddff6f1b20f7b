"""The benchmark command runs end to end in its quick mode and writes its report. Its numbers
and targets are not checked here: timings belong to scripts/bench.sh, not to the tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quick_benchmark_writes_the_report_with_its_tables(tmp_path: Path) -> None:
    report = tmp_path / "BENCHMARKS.md"
    result = subprocess.run(
        [sys.executable, "-m", "scripts.bench", "--quick", "--out", str(report)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    text = report.read_text()
    assert "| target | measured | limit | result |" in text
    for heading in (
        "## 1. API thought write",
        "## 2. What one thought delete costs",
        "## 4. Convergence",
        "## 7. Recovery after a remote reset",
    ):
        assert heading in text
    assert "Measurements that failed" not in text, text
    assert (tmp_path / "benchmarks" / "writes.png").stat().st_size > 0
    assert "target" in result.stdout and "report:" in result.stdout
