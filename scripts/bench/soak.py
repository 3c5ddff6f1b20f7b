"""The soak benchmark: one instance per mode under steady mixed load for a long time, sampled
every minute (requests/s, p50/p95, RSS, WAL and file sizes, pending changes), to show that
disk and memory level off. ``scripts/bench.sh --soak 30m [--modes offline,local]``.

Four clients create, edit, read and delete thoughts at a steady total rate; the targets (for
offline mode, issue 20): WAL <= 64 MiB at every sample; all replica files <= 4x db + 64 MiB;
RSS at the end <= 1.2x RSS after the first minute; p95 of the last five samples <= 1.2x the
first five; no errors.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from pathlib import Path
from typing import Any

from scripts.bench.fleet import Client, Instance, fleet, instance

CLIENTS = 4
# A read is one thought, or the space's thought list (its first page), half and half.
MIX = (("create", 35), ("edit", 30), ("read", 25), ("delete", 10))
START, END = "<!-- soak: written by scripts/bench.sh --soak -->", "<!-- /soak -->"
NOTES_START = "<!-- soak notes: kept when the section is rewritten -->"
NOTES_END = "<!-- /soak notes -->"
MIB = 2**20


def parse_duration(text: str) -> float:
    """Seconds in ``30m``, ``90s``, ``1h`` or a plain number of seconds."""
    found = re.fullmatch(r"\s*([0-9.]+)\s*([smh]?)\s*", text)
    if not found:
        raise ValueError(f"--soak {text!r}: use a duration such as 30m, 90s or 1h")
    return float(found.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[found.group(2)]


class Load:
    """``CLIENTS`` threads paced to ``rate`` requests/s in all; every request is recorded."""

    def __init__(self, inst: Instance, rate: float) -> None:
        self.inst, self.interval = inst, CLIENTS / rate
        self.records: list[tuple[float, float, bool]] = []  # (monotonic end, ms, ok)
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [
            threading.Thread(target=self.client, args=(n,), daemon=True) for n in range(CLIENTS)
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(30)

    def client(self, number: int) -> None:
        http = Client(self.inst.url, self.inst.token)
        space = self.inst.space()
        base = f"/api/spaces/{space}/thoughts"
        mine: list[str] = []
        key = ""
        rng = random.Random(number)
        made = 0
        next_at = time.monotonic()
        while not self.stopping.is_set():
            op = rng.choices([m for m, _ in MIX], [w for _, w in MIX])[0]
            if op != "create" and not mine:
                op = "create"
            if op == "create":
                key = f"soak-{number}-{made}"
                made += 1
                call = ("POST", base, {"key": key, "title": f"Soak {key}", "body": "x" * 200})
            elif op == "edit":
                key = rng.choice(mine)
                call = ("PATCH", f"{base}/{key}", {"body": f"edited {time.time()}" + "y" * 200})
            elif op == "read":
                call = rng.choice(
                    [("GET", f"{base}/{rng.choice(mine)}", None), ("GET", base, None)]
                )
            else:
                key = mine.pop(rng.randrange(len(mine)))
                call = ("DELETE", f"{base}/{key}", None)
            started = time.perf_counter()
            try:
                status, body, _, _ = http.call(*call)
                ok = status < 400
                if not ok:
                    self.error(f"{call[0]} {call[1]}: {status} {str(body)[:200]}")
            except Exception as exc:  # recorded; the load goes on
                ok = False
                self.error(f"{call[0]} {call[1]}: {type(exc).__name__}: {exc}")
            elapsed = (time.perf_counter() - started) * 1000
            if ok and op == "create":
                mine.append(key)
            with self.lock:
                self.records.append((time.monotonic(), elapsed, ok))
            next_at += self.interval
            self.stopping.wait(max(0.0, next_at - time.monotonic()))
        http.close()

    def error(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)

    def window(self, since: float) -> list[tuple[float, float, bool]]:
        with self.lock:
            return [r for r in self.records if r[0] >= since]


def rss_bytes(pid: int, field: str = "VmRSS") -> int:
    """``VmRSS`` (all resident memory) or ``RssFile`` (its file-backed part: mapped files)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    return 0


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] if ordered else 0.0


def sample(inst: Instance, load: Load, since: float, minute: float) -> dict[str, Any]:
    records = load.window(since)
    latencies = [ms for _, ms, _ in records]
    seconds = max(time.monotonic() - since, 1e-6)
    status = Client(inst.url, inst.token).ok("GET", "/api/sync/status")
    storage = status.get("storage", {})
    db = Path(str(inst.db_path()))
    files = {p.name: p.stat().st_size for p in db.parent.glob(db.name + "*") if p.is_file()}
    replica = {n: s for n, s in files.items() if not n.endswith((".log", ".json", ".sock"))}
    replica_bytes = sum(s for n, s in replica.items() if ".syncops." not in n)
    return {
        "minute": round(minute, 2),
        "requests_per_s": round(len(records) / seconds, 1),
        "p50_ms": round(percentile(latencies, 0.5), 2),
        "p95_ms": round(percentile(latencies, 0.95), 2),
        "errors": sum(not ok for _, _, ok in records),
        "rss_mib": round(rss_bytes(inst.processes[0].pid) / MIB, 1),
        "rss_file_mib": round(rss_bytes(inst.processes[0].pid, "RssFile") / MIB, 1),
        "db_mib": round(files.get(db.name, 0) / MIB, 2),
        "wal_mib": round(files.get(db.name + "-wal", 0) / MIB, 2),
        "replica_mib": round(replica_bytes / MIB, 2),
        "pending": status.get("pending_changes", 0),
        "connections": storage.get("open_connections", 0),
        "checkpoints": status.get("checkpoints", 0),
        "history_rows": sum(g["rows"] for g in storage.get("history_rows_by_space_id", [])),
    }


def soak_mode(
    root: Path, mode: str, seconds: float, every: float, rate: float, tracemalloc: bool
) -> dict[str, Any]:
    with fleet(root / mode) as f:
        url = ""
        if mode == "offline":
            url = f.turso("turso").url
        elif mode in ("replica", "remote"):
            url = f.sqld("sqld").url
        inst = instance(root / mode, mode, mode, remote_url=url)
        memory_log = inst.db_path().with_suffix(".memory.txt")
        inst.env["BENCH_MEMORY_LOG"] = str(memory_log)
        if tracemalloc:
            inst.env["BENCH_TRACEMALLOC"] = "1"
        f.start([inst])
        load = Load(inst, rate)
        began = time.monotonic()
        load.start()
        samples = []
        try:
            since = began
            while time.monotonic() - began < seconds - 1e-3:
                time.sleep(max(0.0, min(every, seconds - (time.monotonic() - began))))
                now = time.monotonic()
                samples.append(sample(inst, load, since, (now - began) / 60))
                since = now
                print(json.dumps({"mode": mode, **samples[-1]}), flush=True)
        finally:
            load.stop()
        result: dict[str, Any] = {"samples": samples, "errors": load.errors[:20]}
        result["error_count"] = len(load.errors)
        result["server_warnings"] = server_warnings(inst)
        result["memory"] = memory_log.read_text() if memory_log.exists() else ""
        return result


def server_warnings(inst: Instance, keep: int = 10) -> dict[str, Any]:
    """How many warnings and errors the instance logged, and the first and last few."""
    found: list[str] = []
    for log in sorted(inst.db_path().parent.glob(inst.db_path().stem + ".daphne-*.log")):
        found += [
            line.strip()
            for line in log.read_text(errors="replace").splitlines()
            if re.search(r"(WARNING|ERROR|CRITICAL)\b", line)  # (the drivers' are coloured)
        ]
    return {"count": len(found), "first": found[:keep], "last": found[-keep:]}


def soak_targets(result: dict[str, Any]) -> list[tuple[str, bool, str]]:
    """(target, met, measured) for one mode's samples."""
    samples = result["samples"]
    if not samples:
        return [("samples taken", False, "none")]
    n = max(1, min(5, len(samples) // 2))
    first_p95 = sum(s["p95_ms"] for s in samples[:n]) / n  # mean of the samples' p95s
    last_p95 = sum(s["p95_ms"] for s in samples[-n:]) / n
    worst_wal = max(s["wal_mib"] for s in samples)
    worst_files = max(s["replica_mib"] - 4 * s["db_mib"] for s in samples)
    rss_first, rss_end = samples[0]["rss_mib"], samples[-1]["rss_mib"]
    return [
        ("WAL <= 64 MiB at every sample", worst_wal <= 64, f"max {worst_wal:.1f} MiB"),
        (
            "replica files <= 4x db + 64 MiB",
            worst_files <= 64,
            f"max excess {worst_files:.1f} MiB",
        ),
        (
            "RSS at end <= 1.2x after first sample",
            rss_end <= 1.2 * rss_first,
            f"{rss_first:.0f} -> {rss_end:.0f} MiB",
        ),
        (
            f"p95 of last {n} samples <= 1.2x first {n}",
            last_p95 <= 1.2 * first_p95,
            f"{first_p95:.1f} -> {last_p95:.1f} ms",
        ),
        ("no errors", result["error_count"] == 0, str(result["error_count"])),
    ]


COLUMNS = (
    ("minute", "min"),
    ("requests_per_s", "req/s"),
    ("p50_ms", "p50 ms"),
    ("p95_ms", "p95 ms"),
    ("errors", "errors"),
    ("rss_mib", "RSS MiB"),
    ("rss_file_mib", "of it files MiB"),
    ("db_mib", "db MiB"),
    ("wal_mib", "WAL MiB"),
    ("replica_mib", "files MiB"),
    ("pending", "pending"),
    ("connections", "connections"),
    ("checkpoints", "checkpoints"),
    ("history_rows", "history rows"),
)


def table(samples: list[dict[str, Any]]) -> list[str]:
    lines = ["| " + " | ".join(label for _, label in COLUMNS) + " |"]
    lines.append("|" + "---:|" * len(COLUMNS))
    for s in samples:
        lines.append("| " + " | ".join(str(s.get(key, "")) for key, _ in COLUMNS) + " |")
    return lines


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = (("p95_ms", "p95 latency (ms)"), ("rss_mib", "RSS (MiB)"))
    panels += (("wal_mib", "WAL (MiB)"), ("replica_mib", "replica files (MiB)"))
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.6))
    for ax, (key, label) in zip(axes, panels, strict=True):
        for mode, result in results["modes"].items():
            samples = result["samples"]
            ax.plot([s["minute"] for s in samples], [s[key] for s in samples], "o-", label=mode)
        ax.set_title(label)
        ax.set_xlabel("minutes")
        ax.set_ylim(bottom=0)
    axes[0].legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def markdown(results: dict[str, Any], plot_rel: str) -> str:
    lines = [
        START,
        "## Soak: disk and memory over time",
        "",
        f"`{results['command']}` on {results['date']}: one instance per mode, {CLIENTS} clients "
        f"at {results['rate']:g} requests/s in all (create {MIX[0][1]}%, edit {MIX[1][1]}%, "
        f"read {MIX[2][1]}%, delete {MIX[3][1]}%), a sample every {results['every']:g} s "
        "(figures of the interval since the last sample; files and RSS at the sample).",
        "",
        f"![soak]({plot_rel})",
        "",
        f"{NOTES_START}\n(Findings: written by hand after a run.)\n{NOTES_END}",
        "",
    ]
    for mode, result in results["modes"].items():
        lines += [f"### {mode} mode", "", *table(result["samples"]), ""]
        lines += ["| target | result | measured |", "|---|---|---|"]
        for name, ok, measured in soak_targets(result):
            lines.append(f"| {name} | {'pass' if ok else 'MISS'} | {measured} |")
        lines.append("")
        for error in result["errors"][:5]:
            lines.append(f"- error: `{error}`")
        heap = [line for line in result.get("memory", "").splitlines() if "native heap" in line]
        if heap:
            lines.append(f"- first minute: `{heap[0].lstrip('- ')}`")
            lines.append(f"- last: `{heap[-1].lstrip('- ')}`")
        warnings = result.get("server_warnings")
        if warnings is not None:
            lines.append(f"- the server logged {warnings['count']} warnings and errors")
            for line in warnings["last"][-3:]:
                lines.append(f"  - `{line[:300]}`")
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


def write_section(report: Path, section: str) -> None:
    """Put the soak section into the report, replacing the last one (or at the end)."""
    text = report.read_text() if report.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
    notes = re.compile(re.escape(NOTES_START) + ".*?" + re.escape(NOTES_END), re.S)
    old = pattern.search(text)
    kept = notes.search(old.group(0)) if old else None
    if kept:
        section = notes.sub(lambda _: kept.group(0), section)
    if old:
        text = pattern.sub(lambda _: section, text)
    else:
        marker = "\n## Reproduce"
        text = text.replace(marker, f"\n{section}\n{marker}", 1) if marker in text else text
        if section not in text:
            text = text.rstrip("\n") + f"\n\n{section}\n"
    report.write_text(text)


def kept_section(text: str) -> str | None:
    """The soak section of an existing report (a full run keeps it)."""
    found = re.search(re.escape(START) + ".*?" + re.escape(END), text, re.S)
    return found.group(0) if found else None
