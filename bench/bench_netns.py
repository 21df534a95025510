"""Create and delete N named namespaces three ways, in one run, and print medians and ratios.

    ./scripts/bench   (or, inside `netlab sandbox`:  python bench/bench_netns.py [N])

netlab (worker thread: unshare + bind mount), `ip netns add/delete` subprocesses, and
pyroute2's netns.create/remove (which forks a helper process).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from netlab import netns
from netlab.sandbox import in_sandbox


def timed(fn, names) -> list[float]:
    samples = []
    for name in names:
        start = time.perf_counter()
        fn(name)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def main(n: int = 200) -> None:
    if not in_sandbox():
        sys.exit("run the benchmark inside `netlab sandbox` (it creates and deletes namespaces)")
    from pyroute2 import netns as pyroute2_netns

    ways = {
        "netlab": (netns.add, netns.delete),
        "ip netns": (
            lambda n: subprocess.run(["ip", "netns", "add", n], check=True),
            lambda n: subprocess.run(["ip", "netns", "delete", n], check=True),
        ),
        "pyroute2": (pyroute2_netns.create, pyroute2_netns.remove),
    }
    results = {}
    for label, (add, delete) in ways.items():
        names = [f"bench-{label[:2]}-{i}" for i in range(n)]
        added = timed(add, names)
        deleted = timed(delete, names)
        results[label] = (statistics.median(added), statistics.median(deleted))
    ours_add, ours_del = results["netlab"]
    print(f"{n} namespaces, median ms per operation")
    print(f"{'':10} {'add':>8} {'delete':>8} {'add: x slower than netlab':>28}")
    for label, (add, delete) in results.items():
        print(f"{label:10} {add:8.3f} {delete:8.3f} {add / ours_add:28.1f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
