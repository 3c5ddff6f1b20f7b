"""How the benchmark injects round-trip time between an instance and its remote.

The kernel way is a network namespace holding the remote, joined by a veth pair with a
``netem`` delay on each end. Where the kernel has no ``netem`` qdisc (CONFIG_NET_SCH_NETEM
unset, as on this project's machines) or namespaces cannot be made, the remote stays on
loopback behind ``scripts.bench.netdelay``, a relay holding every chunk for half the round
trip in each direction (plus one round trip per new connection, for the handshake).
"""

from __future__ import annotations

import os
import shutil
import subprocess


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=20)


def netem_problem() -> str | None:
    """Why netem delay cannot be used here, or None when it can."""
    if shutil.which("ip") is None or shutil.which("tc") is None:
        return "iproute2 (ip, tc) is not installed"
    if os.geteuid() != 0:
        return "network namespaces need root"
    name = f"tsbench-probe-{os.getpid()}"
    made = _run("ip", "netns", "add", name)
    if made.returncode != 0:
        return f"`ip netns add` failed: {made.stderr.strip()}"
    try:
        _run("ip", "netns", "exec", name, "ip", "link", "set", "lo", "up")
        qdisc = _run(
            "ip",
            "netns",
            "exec",
            name,
            "tc",
            "qdisc",
            "add",
            "dev",
            "lo",
            "root",
            "netem",
            "delay",
            "1ms",
        )
        if qdisc.returncode != 0:
            return f"`tc qdisc add ... netem` failed: {qdisc.stderr.strip()}"
        return None
    finally:
        _run("ip", "netns", "delete", name)


def delay_method() -> tuple[str, str]:
    """(short label, paragraph for the report) saying how delay was injected and why."""
    problem = netem_problem()
    relay = (
        "The remote (tursodb for offline mode, sqld for replica and remote mode) sits behind "
        "`scripts/bench/netdelay.py`, a TCP relay that holds every chunk for half the round "
        "trip in each direction and makes each new connection wait one round trip (the "
        "handshake). Each mode has its own instance; the relays switch between the RTTs "
        "every round, so each mode's 0 ms column is measured through the same relay."
    )
    if problem is None:
        return (
            "userspace relay",
            "netem is available on this machine, but the namespace variant is not wired in "
            "yet: " + relay,
        )
    return (
        "userspace relay: no netem here",
        f"**Kernel delay injection is not possible on this machine: {problem.rstrip('.')}.** "
        "(The kernel lacks the netem qdisc, CONFIG_NET_SCH_NETEM; namespaces and veth pairs "
        "work.) So: " + relay,
    )
