"""Create and delete named namespaces five ways, in one run, against a C floor; print medians and ratios.

    ./scripts/bench   (or, inside `netlab sandbox`:  python bench/bench_netns.py [N] [ROUNDS])

  C floor        a small C program, compiled here with gcc: for each name, create the file
                 (O_CREAT|O_EXCL), unshare(CLONE_NEWNET), bind-mount /proc/self/ns/net onto it;
                 no switching back (each unshare replaces the last), nothing else
  add_many       ``netns.add_many(names)``: the same steps, all in one trip to netlab's worker
  add            ``netns.add(name)`` one at a time: one worker trip (thread wake-up, GIL) each
  ip netns       ``ip netns add NAME``, one process each
  pyroute2       ``pyroute2.netns.create`` (forks a helper process each time)

Deletion is ``umount2(MNT_DETACH)`` + ``unlink`` every way (C: in the same program). Every round
runs every way (in a rotating order, so none always follows the kernel's cleanup of another's
namespaces), and the figures are medians over rounds of the per-namespace mean.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from netlab import netns
from netlab.sandbox import in_sandbox

C_FLOOR = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    const char *dir = argv[1];
    int n = atoi(argv[2]);
    char file[4096];
    double start = now();
    for (int i = 0; i < n; i++) {
        snprintf(file, sizeof file, "%s/c-%d", dir, i);
        int fd = open(file, O_RDONLY | O_CREAT | O_EXCL, 0);
        if (fd < 0) { perror(file); return 1; }
        close(fd);
        if (unshare(CLONE_NEWNET) < 0) { perror("unshare"); return 1; }
        if (mount("/proc/self/ns/net", file, "none", MS_BIND, NULL) < 0) { perror("mount"); return 1; }
    }
    double added = now() - start;
    start = now();
    for (int i = 0; i < n; i++) {
        snprintf(file, sizeof file, "%s/c-%d", dir, i);
        if (umount2(file, MNT_DETACH) < 0) { perror("umount2"); return 1; }
        if (unlink(file) < 0) { perror("unlink"); return 1; }
    }
    printf("%f %f\n", added, now() - start);
    return 0;
}
"""


def compile_floor(scratch: Path) -> Path:
    source, binary = scratch / "floor.c", scratch / "floor"
    source.write_text(C_FLOOR)
    subprocess.run(["gcc", "-O2", "-o", str(binary), str(source)], check=True)
    return binary


def per_name(fn: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1e6 / n


def one_by_one(fn: Callable[[str], object], names: list[str]) -> Callable[[], None]:
    def run() -> None:
        for name in names:
            fn(name)

    return run


def main(n: int = 200, rounds: int = 5) -> None:
    if not in_sandbox():
        sys.exit("run the benchmark inside `netlab sandbox` (it creates and deletes namespaces)")
    from pyroute2 import netns as pyroute2_netns

    netns.make_run_dir()
    load = Path("/proc/loadavg").read_text().split()[:3]
    with tempfile.TemporaryDirectory() as scratch:
        floor = compile_floor(Path(scratch))

        def c_floor() -> tuple[float, float]:
            out = subprocess.run([str(floor), str(netns.run_dir()), str(n)], capture_output=True, text=True)
            if out.returncode:
                sys.exit(f"the C floor failed: {out.stderr.strip()}")
            added, deleted = map(float, out.stdout.split())
            return added * 1e6 / n, deleted * 1e6 / n

        def way(add: Callable[[list[str]], Callable[[], object]], delete: Callable[[str], object], tag: str):
            def run() -> tuple[float, float]:
                names = [f"b{tag}-{i}" for i in range(n)]
                return per_name(add(names), n), per_name(one_by_one(delete, names), n)

            return run

        ways: dict[str, Callable[[], tuple[float, float]]] = {
            "C floor": c_floor,
            "add_many": way(lambda names: lambda: netns.add_many(names), netns.delete, "m"),
            "add": way(lambda names: one_by_one(netns.add, names), netns.delete, "a"),
            "ip netns": way(
                lambda names: one_by_one(lambda x: subprocess.run(["ip", "netns", "add", x], check=True), names),
                lambda x: subprocess.run(["ip", "netns", "delete", x], check=True),
                "i",
            ),
            "pyroute2": way(lambda names: one_by_one(pyroute2_netns.create, names), pyroute2_netns.remove, "p"),
        }
        samples: dict[str, list[tuple[float, float]]] = {label: [] for label in ways}
        order = list(ways)
        for r in range(rounds):
            for label in order[r % len(order) :] + order[: r % len(order)]:
                samples[label].append(ways[label]())
                assert netns.list() == []
    results = {label: (statistics.median(s[0] for s in runs), statistics.median(s[1] for s in runs))
               for label, runs in samples.items()}  # fmt: skip
    floor_add, floor_delete = results["C floor"]
    after = Path("/proc/loadavg").read_text().split()[:3]
    print(f"{n} namespaces per round, {rounds} rounds, median us per namespace (load {load} -> {after})")
    print(f"{'':10} {'add':>8} {'delete':>8} {'add / C floor':>14} {'delete / C floor':>17}")
    for label, (add, delete) in results.items():
        print(f"{label:10} {add:8.0f} {delete:8.0f} {add / floor_add:13.2f}x {delete / floor_delete:16.2f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200, int(sys.argv[2]) if len(sys.argv) > 2 else 5)
