"""How long the ``netlab`` command takes as a whole process, against ``ip`` and a bare Python.

    python bench/bench_cli.py [RUNS] [ROUNDS]      (read-only: it changes nothing, no sandbox needed)

Each command is started RUNS times in a row per round, rounds take turns (so that every command
sees the same machine), and the figure is the median over all runs of the wall-clock time from
``fork`` to exit, in ms, and the CPU time the process used (user + system: what a busy shared
machine changes least), and the fastest run:

  netlab --help        argparse and the command table: nothing else may be imported
  netlab netns list    the run directory read with two system calls per entry
  ip netns list        the C tool it stands for
  python -c pass       the interpreter and ``site`` (this virtualenv's path hooks included):
                       the floor of any command written in Python
  python -S -c pass    the interpreter alone
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
COMMANDS = {
    "netlab --help": [str(BIN / "netlab"), "--help"],
    "netlab netns list": [str(BIN / "netlab"), "netns", "list"],
    "ip netns list": ["ip", "netns", "list"],
    "python -c pass": [sys.executable, "-c", "pass"],
    "python -S -c pass": [sys.executable, "-S", "-c", "pass"],
}
TARGET_MS = 60


def run_once(argv: list[str]) -> tuple[float, float]:
    """spawn + exec + wait, output thrown away (what a shell does for one command): wall and CPU ms."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        start = time.perf_counter()
        pid = os.posix_spawn(argv[0] if "/" in argv[0] else _which(argv[0]), argv, os.environ,
                             file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1)])  # fmt: skip
        _, status, usage = os.wait4(pid, 0)
        elapsed = (time.perf_counter() - start) * 1000
    finally:
        os.close(devnull)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(argv)} failed")
    return elapsed, (usage.ru_utime + usage.ru_stime) * 1000


def _which(name: str) -> str:
    for directory in os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").split(":") + ["/usr/sbin", "/sbin"]:
        candidate = Path(directory) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    sys.exit(f"{name} not found")


def main(runs: int = 10, rounds: int = 5) -> None:
    load = Path("/proc/loadavg").read_text().split()[:3]
    samples: dict[str, list[tuple[float, float]]] = {label: [] for label in COMMANDS}
    for argv in COMMANDS.values():
        run_once(argv)  # warm the page cache
    for _ in range(rounds):
        for label, argv in COMMANDS.items():
            samples[label] += [run_once(argv) for _ in range(runs)]
    after = Path("/proc/loadavg").read_text().split()[:3]
    wall = {label: statistics.median(w for w, _ in runs) for label, runs in samples.items()}
    cpu = {label: statistics.median(c for _, c in runs) for label, runs in samples.items()}
    fastest = {label: min(w for w, _ in runs) for label, runs in samples.items()}
    floor = wall["python -c pass"]
    print(f"whole process, median of {runs * rounds} runs, ms (load {load} -> {after})")
    print(f"{'':20} {'wall':>7} {'cpu':>6} {'fastest':>8} {'wall / python -c pass':>22}")
    for label in samples:
        print(f"{label:20} {wall[label]:7.1f} {cpu[label]:6.1f} {fastest[label]:8.1f} {wall[label] / floor:21.2f}x")
    worst = max(wall["netlab --help"], wall["netlab netns list"])
    print(
        f"slowest netlab command: {worst:.1f} ms wall (target < {TARGET_MS} ms), {worst - floor:.1f} ms above "
        f"python -c pass; fastest runs {fastest['netlab --help']:.1f} / {fastest['netlab netns list']:.1f} ms"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10, int(sys.argv[2]) if len(sys.argv) > 2 else 5)
