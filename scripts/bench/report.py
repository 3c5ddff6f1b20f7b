"""Statistics, the targets, and the report: a Markdown file with tables and PNG plots."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def p50(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def p95(values: list[float]) -> float:
    """Nearest-rank 95th percentile."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, -(-95 * len(ordered) // 100) - 1))]


def ms(value: float | None) -> str:
    if value is None or value != value:
        return "–"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 100 else f"{value:.0f}"


def seconds(value: float | None) -> str:
    return "not within the time limit" if value is None else f"{value:.2f} s"


@dataclass
class Target:
    name: str
    measured: str
    limit: str
    ok: bool | None  # None: could not be measured
    note: str = ""


def targets(results: dict[str, Any]) -> list[Target]:
    checks: list[Target] = [
        Target(f"Measurement '{key}'", f"failed: {message[:160]}", "runs", False)
        for key, message in results.get("errors", {}).items()
    ]
    writes = results.get("api_writes")
    if writes:
        off, local = p50(writes["offline"]["client"]), p50(writes["local"]["client"])
        peer = p50(writes["stock sqlite3"]["client"])
        checks.append(
            Target(
                "Offline API write p50 ≤ 1.3× local mode",
                f"{ms(off)} ms vs {ms(local)} ms ({off / local:.2f}×)",
                "≤ 1.30×",
                off <= 1.3 * local,
            )
        )
        checks.append(
            Target(
                "Offline API write p50 ≤ 1.3× the stock-Django peer",
                f"{ms(off)} ms vs {ms(peer)} ms ({off / peer:.2f}×)",
                "≤ 1.30×",
                off <= 1.3 * peer,
            )
        )
    rtt = results.get("rtt")
    if rtt and 50 in rtt["rtts"]:
        for label in ("replica", "remote"):
            if label not in rtt["writes"]:
                continue
            sent = [n for per in rtt.get("requests", {}).get(label, {}).values() for n in per]
            at_50 = p50(rtt["writes"][label]["50"])
            typical = statistics.median(sent) if sent else 0
            checks.append(
                Target(
                    f"{label.capitalize()} API write: ≤ 3 requests to the primary (median), "
                    "p50 ≤ 200 ms at 50 ms RTT",
                    f"{typical:g} requests, {ms(at_50)} ms",
                    "≤ 3, ≤ 200 ms",
                    typical <= 3 and at_50 <= 200,
                )
            )
    delete = results.get("delete_cost")
    if delete:
        samples = [
            s for size in delete["sizes"].values() for s in size["delete a thought with one link"]
        ]
        tx = max(s["transactions"] for s in samples)
        rows = max(s["rows_changed"] for s in samples)
        checks.append(
            Target(
                "Deleting a thought (with one link): one transaction, ≤ 3 rows changed",
                f"{tx} transaction(s), {rows} rows (worst of {len(samples)})",
                "1, ≤ 3",
                tx == 1 and rows <= 3,
            )
        )
    b = results.get("burst")
    if b:
        after = b["on_remote_after_s"]
        checks.append(
            Target(
                f"Burst of {b['writes']} writes: pushes",
                f"{b['pushes']} pushes",
                "≤ 100",
                b["pushes"] <= 100,
            )
        )
        checks.append(
            Target(
                f"Burst of {b['writes']} writes: all on the remote after the burst",
                seconds(after),
                "≤ 1 s",
                after is not None and after <= 1.0,
            )
        )
    for mode, conv in (results.get("convergence") or {}).items():
        if mode == "local":
            continue
        for what in ("readable on B", "event on B"):
            values = conv[what]
            checks.append(
                Target(
                    f"Convergence ({mode}), {what}",
                    f"p50 {ms(p50(values))} ms, p95 {ms(p95(values))} ms",
                    "p50 ≤ 300 ms, p95 ≤ 1 s",
                    p50(values) <= 300 and p95(values) <= 1000,
                )
            )
    rtt = results.get("rtt")
    if rtt and "offline" in rtt["writes"]:
        off = rtt["writes"]["offline"]
        base, slow = p50(off["0"]), p50(off[str(rtt["rtts"][-1])])
        checks.append(
            Target(
                f"Offline API write p50 at {rtt['rtts'][-1]:g} ms RTT ≤ 1.3× without",
                f"{ms(slow)} ms vs {ms(base)} ms ({slow / base:.2f}×)",
                "≤ 1.30×",
                slow <= 1.3 * base,
                rtt["method"],
            )
        )
    reads = results.get("reads")
    if reads:
        small = str(results["sizes"]["small"])
        for key, values in reads.items():
            label, size, kind = key.split("|")
            if size == small and kind == "page" and label != "stock sqlite3":
                value = p50(values["server"])
                checks.append(
                    Target(
                        f"Space page, {size} thoughts, {label} (server p50)",
                        f"{ms(value)} ms",
                        "≤ 150 ms",
                        value <= 150,
                    )
                )
    rec = results.get("recovery")
    if rec:
        value = rec["remote_holds_all_s"]
        checks.append(
            Target(
                f"Recovery of a {rec['expected'] - 1}-thought offline replica after a remote reset",
                seconds(value) + ("" if value is not None else f" ({rec['timeout_s']:g} s limit)"),
                "≤ 5 s",
                value is not None and value <= 5,
            )
        )
    return checks


def _row(*cells: Any) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _latency_table(rows: dict[str, list[float]], unit_note: str = "") -> list[str]:
    lines = [_row("", "n", "p50 ms", "p95 ms", "max ms" + unit_note), "|---|---|---|---|---|"]
    for name, values in rows.items():
        top = ms(max(values)) if values else "–"
        lines.append(_row(name, len(values), ms(p50(values)), ms(p95(values)), top))
    return lines


def plot(results: dict[str, Any], directory: Path) -> list[str]:
    """PNG plots next to the report; returns their file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    names: list[str] = []
    writes = results.get("api_writes")
    if writes:
        fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), width_ratios=[3, 2])
        labels = list(writes)
        left.boxplot([writes[x]["client"] for x in labels], showfliers=False)
        left.set_xticks(range(1, len(labels) + 1), labels, rotation=15)
        left.set_ylabel("ms (client, loopback)")
        left.set_yscale("log")
        left.set_title("API thought write (POST), through daphne")
        floors = results.get("driver_floor", {})
        right.bar(range(len(floors)), [p50(v) for v in floors.values()], color="grey")
        right.set_xticks(range(len(floors)), [k.split(" (")[0] for k in floors], rotation=15)
        right.set_ylabel("ms (p50)")
        right.set_title("Raw INSERT + COMMIT (the floor)")
        fig.tight_layout()
        fig.savefig(directory / "writes.png", dpi=110)
        plt.close(fig)
        names.append("writes.png")
    rtt = results.get("rtt")
    if rtt:
        fig, ax = plt.subplots(figsize=(7, 4))
        for label, by_rtt in rtt["writes"].items():
            xs = [float(r) for r in by_rtt]
            ax.plot(xs, [p50(v) for v in by_rtt.values()], marker="o", label=label)
        ax.set_xlabel("injected round-trip time to the remote (ms)")
        ax.set_ylabel("API write p50 (ms)")
        ax.set_yscale("log")
        ax.legend()
        ax.set_title("Writes with a distant remote")
        fig.tight_layout()
        fig.savefig(directory / "rtt.png", dpi=110)
        plt.close(fig)
        names.append("rtt.png")
    conv = results.get("convergence")
    if conv:
        fig, ax = plt.subplots(figsize=(7, 4))
        for mode, data in conv.items():
            for what, style in (("event on B", "-"), ("readable on B", "--")):
                values = sorted(data[what])
                ys = [(i + 1) / len(values) for i in range(len(values))]
                ax.plot(values, ys, style, label=f"{mode}: {what}")
        ax.set_xscale("log")
        ax.set_xlabel("ms from the start of the write on A")
        ax.set_ylabel("fraction of writes")
        ax.legend(fontsize=8)
        ax.set_title("Convergence between two instances")
        fig.tight_layout()
        fig.savefig(directory / "convergence.png", dpi=110)
        plt.close(fig)
        names.append("convergence.png")
    reads = results.get("reads")
    if reads:
        fig, ax = plt.subplots(figsize=(9, 4))
        keys = list(reads)
        ax.bar(range(len(keys)), [p50(reads[k]["server"]) for k in keys])
        names = [k.replace("stock sqlite3", "stock").replace("|", "\n") for k in keys]
        ax.set_xticks(range(len(keys)), names, fontsize=7)
        ax.set_ylabel("server ms (p50)")
        ax.set_yscale("log")
        ax.axhline(150, color="red", linewidth=0.8, linestyle=":")
        ax.set_title("Reads: space page and thoughts list API")
        fig.tight_layout()
        fig.savefig(directory / "reads.png", dpi=110)
        plt.close(fig)
        names.append("reads.png")
    return names


def markdown(results: dict[str, Any], checks: list[Target], plots: list[str], rel: str) -> str:
    env = results["environment"]
    out = [
        "# Benchmarks",
        "",
        "Written by `scripts/bench.sh` (tables, plots, `benchmarks/results.json`); the findings "
        "below are written by hand and kept when the report is regenerated.",
        "",
        f"- Command: `{env['command']}` ({env['duration_s']:.0f} s"
        + (", **quick mode: small sizes, targets not enforced**" if results["quick"] else "")
        + ")",
        f"- Date: {env['date']}; machine: {env['machine']}",
        f"- Versions: {env['versions']}",
        "- Everything runs on this machine in one process tree: the benchmark starts the "
        "remotes (tursodb, sqld), Redis, and each ThoughtSpace instance as a daphne process "
        "on 127.0.0.1, and stops them. Runs that are compared are interleaved in rounds "
        "(order shuffled each round); p50 is the median, p95 the nearest-rank 95th percentile.",
        f"- Instances: `TURSO_SYNC_INTERVAL` {env['sync_interval']} s (the default), "
        "`DJANGO_DEBUG=0`, Redis channel layer, the product settings plus one outermost "
        "middleware that adds `Server-Timing` (scripts/bench/settings.py).",
        "",
        "## Targets",
        "",
        _row("target", "measured", "limit", "result"),
        "|---|---|---|---|",
    ]
    for check in checks:
        verdict = "–" if check.ok is None else "pass" if check.ok else "**MISS**"
        measured = check.measured + (f" ({check.note})" if check.note else "")
        out.append(_row(check.name, measured, check.limit, verdict))
    if results.get("errors"):
        out += ["", "Measurements that failed (the error as raised):", ""]
        out += [f"- **{key}**: `{message[:600]}`" for key, message in results["errors"].items()]
    out.append("")

    def picture(name: str, caption: str) -> None:
        if name in plots:
            out.extend([f"![{caption}]({rel}/{name})", ""])

    writes = results.get("api_writes")
    if writes:
        out += [
            "## 1. API thought write",
            "",
            "`POST /api/spaces/{id}/thoughts` with a bearer token, one at a time, through "
            "daphne on loopback; the same app on Django's own sqlite3 backend (WAL, "
            "`transaction_mode` IMMEDIATE) is the stock-Django peer. Client time (request "
            "sent to response read); server time is Django's own (`Server-Timing`).",
            "",
            _row("", "n", "client p50", "client p95", "server p50", "server p95"),
            "|---|---|---|---|---|---|",
        ]
        for label, data in writes.items():
            c, s = data["client"], data["server"]
            out.append(_row(label, len(c), ms(p50(c)), ms(p95(c)), ms(p50(s)), ms(p95(s))))
        out += ["", "The floor: one INSERT + COMMIT on each engine's driver, nothing above it:", ""]
        out += _latency_table(results["driver_floor"])
        out.append("")
        picture("writes.png", "API write latency per mode, and the drivers' floor")
    delete = results.get("delete_cost")
    if delete:
        out += [
            "## 2. What one thought delete costs",
            "",
            "Offline mode, against a tursodb remote behind a counting relay. A delete is "
            "`services.thought_delete` (the thought, its links, its children re-parented, one "
            "history entry); a rewrite is what the old app did to delete one thought: delete "
            "every thought and link of the space and insert them again. *Rows changed* adds up "
            "the row counts of the INSERT, UPDATE and DELETE statements; `total_changes()` is "
            "the engine's own counter, which in the Turso engine also counts its change log "
            "(one row per changed row: twice as many). Statements include the reads. Bytes are "
            "on the wire (HTTP included) for the push that follows; medians over the repeats.",
            "",
            _row(
                "space",
                "operation",
                "transactions",
                "statements",
                "rows changed",
                "total_changes()",
                "bytes pushed (up)",
                "bytes back",
                "HTTP requests",
                "push ms",
            ),
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for size, data in delete["sizes"].items():
            for name, samples in data.items():
                med = {k: p50([s[k] for s in samples]) for k in samples[0]}
                out.append(
                    _row(
                        f"{size} thoughts",
                        name,
                        f"{med['transactions']:.0f}",
                        f"{med['statements']:.0f}",
                        f"{med['rows_changed']:.0f}",
                        f"{med['total_changes']:.0f}",
                        f"{med['bytes_up']:,.0f}",
                        f"{med['bytes_down']:,.0f}",
                        f"{med['http_requests']:.0f}",
                        ms(med["push_ms"]),
                    )
                )
        out.append("")
    b = results.get("burst")
    if b:
        out += [
            f"## 3. A burst of {b['writes']:,} writes (offline mode)",
            "",
            f"{b['clients']} clients write as fast as the API answers. Pushes are the "
            "instance's own counter (`/api/sync/status`); *on the remote* is when a separate "
            "Turso replica of the remote, pulling in a loop, holds every write.",
            "",
            _row(
                "burst took",
                "writes/s",
                "write p50",
                "write p95",
                "pushes",
                "all on the remote after the burst",
                "instance reports nothing pending after",
            ),
            "|---|---|---|---|---|---|---|",
            _row(
                f"{b['burst_s']:.2f} s",
                f"{b['writes'] / b['burst_s']:.0f}",
                f"{ms(p50(b['write_ms']))} ms",
                f"{ms(p95(b['write_ms']))} ms",
                b["pushes"],
                seconds(b["on_remote_after_s"]),
                seconds(b["instance_drained_after_s"]),
            ),
            "",
        ]
    conv = results.get("convergence")
    if conv:
        out += [
            "## 4. Convergence between two instances",
            "",
            "Two daphne instances A and B (same mode; local mode: one shared file), Redis "
            "channel layer, a WebSocket client on each. Writes on A one at a time, "
            f"{results['convergence_gap_ms']:g} ms apart; from the start of each write: its "
            "event on a client of B, B's API first answering 200 for it (polled every 10 ms), "
            "the event on A's client, and A's API response.",
            "",
        ]
        for mode, data in conv.items():
            out += [f"**{mode}**", "", *_latency_table(data), ""]
        picture("convergence.png", "Convergence CDF")
    rtt = results.get("rtt")
    if rtt:
        out += [
            "## 5. Writes with a distant remote",
            "",
            rtt["method_long"],
            "",
            _row(
                "mode",
                *[f"p50 at {r:g} ms RTT" for r in rtt["rtts"]],
                *[f"p95 at {r:g} ms" for r in rtt["rtts"]],
                "requests to the remote per write (median)",
                "after the response (median)",
                "n per RTT",
            ),
            "|---|" + "---|" * (2 * len(rtt["rtts"]) + 3),
        ]
        for label, by in rtt["writes"].items():
            counts, later = (
                [n for per_rtt in rtt.get(key, {}).get(label, {}).values() for n in per_rtt]
                for key in ("requests", "background")
            )
            out.append(
                _row(
                    label,
                    *[ms(p50(by[str(r)])) for r in rtt["rtts"]],
                    *[ms(p95(by[str(r)])) for r in rtt["rtts"]],
                    f"{statistics.median(counts):g}" if counts else "—",
                    f"{statistics.median(later):g}" if later else "—",
                    len(by[str(rtt["rtts"][0])]),
                )
            )
        out += [
            "",
            "Requests are counted by the relay: HTTP/1.1 requests, and the streams an HTTP/2 "
            "client opens (libSQL's replication is gRPC over HTTP/2). Each write starts once "
            "the relay is quiet; those sent before its response count as the write's, those "
            "after it until the relay is quiet again (offline mode's push, the new thought's "
            "embedding) as after the response.",
            "",
        ]
        picture("rtt.png", "Write latency against injected RTT")
    reads = results.get("reads")
    if reads:
        out += [
            "## 6. Reads",
            "",
            "The space page (`/spaces/{id}/`, HTML, session cookie: the whole thought tree, "
            "links and forms) and the thoughts list API (`?limit=1000`, the largest page). "
            "Spaces have one link per ten thoughts and a tree ten children wide.",
            "",
            _row("instance", "thoughts", "what", "n", "server p50", "server p95", "client p50"),
            "|---|---|---|---|---|---|---|",
        ]
        for key, data in reads.items():
            label, size, kind = key.split("|")
            s = data["server"]
            out.append(
                _row(label, size, kind, len(s), ms(p50(s)), ms(p95(s)), ms(p50(data["client"])))
            )
        out.append("")
        picture("reads.png", "Read server times")
    rec = results.get("recovery")
    if rec:
        state = rec["state_at_end"]
        out += [
            "## 7. Recovery after a remote reset",
            "",
            f"An offline instance holding {rec['expected'] - 1:,} thoughts, all pushed. The "
            "remote (tursodb) is stopped, its files moved away, and an empty one started at "
            "the same address; then one thought is written through the API (answered "
            f"{rec['write_status']} in {ms(rec['write_ms'])} ms). Black-box from then on: a "
            "fresh Turso replica of the remote counts the thoughts, and "
            "`/api/sync/status` is polled.",
            "",
            _row(
                "remote holds all again",
                "instance healthy, nothing pending",
                "thoughts on the remote at the end",
                "instance state at the end",
            ),
            "|---|---|---|---|",
            _row(
                seconds(rec["remote_holds_all_s"]),
                seconds(rec["healthy_s"]),
                f"{rec['remote_count_at_end']:,} of {rec['expected']:,}",
                f"healthy={state['healthy']}, pending={state['pending_changes']}, "
                f"pushes={state['pushes']}, last_error={(state['last_error'] or '–')[:160]!r}",
            ),
            "",
            "What was seen, each time it changed (seconds after the reset):",
            "",
        ]
        for point in rec["timeline"][:12]:
            error = point.get("last_error") or point.get("watch_error") or "–"
            error = error.replace("sync engine operation failed: database sync engine error: ", "")
            error = error.replace("failed to execute sql: Error { message: ", "")[:120]
            out.append(
                f"- {point['t']:.2f} s: remote holds {point.get('remote_count', '?')}, "
                f"healthy={point.get('healthy')}, pending={point.get('pending')}, "
                f"last error: `{error}`"
            )
        out.append("")
    sus = results.get("sustained")
    if sus:
        out += [
            "## 8. Sustained writes through the service layer",
            "",
            "`spaces.services.thought_create` in a loop in one process (one thread), "
            "background sync on; local and offline rounds alternate.",
            "",
            _row(
                "mode",
                "rounds",
                "writes/s (median)",
                "pushes per 1,000 writes",
                "backlog on the remote after the loop",
            ),
            "|---|---|---|---|---|",
        ]
        for mode, rounds in sus.items():
            rate = p50([r["writes_per_s"] for r in rounds])
            per_k = p50([1000 * r["pushes"] / max(r["writes"], 1) for r in rounds])
            drained = [r["drained_s"] for r in rounds if r["drained_s"] is not None]
            out.append(
                _row(
                    mode,
                    len(rounds),
                    f"{rate:.0f}",
                    f"{per_k:.0f}" if mode != "local" else "–",
                    f"{p50(drained):.2f} s" if drained else "–",
                )
            )
        out.append("")
    out += ["## Reproduce", "", "```sh", env["command"], "```", ""]
    return "\n".join(out)
