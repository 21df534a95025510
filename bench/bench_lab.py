"""A classroom-sized lab: a star of N namespaces on a bridge, built, read, drawn and torn down, four ways.

    ./scripts/bench   (or, inside `netlab sandbox`:  python bench/bench_lab.py [SIZES] [ROUNDS])
    e.g.  python bench/bench_lab.py 100,500 3        the build race
          python bench/bench_lab.py 10,100,1000 3    the cost curve

Each namespace gets a veth pair (one end on the bridge br0 in the root namespace, eth0 inside),
an address in 10.0.0.0/16, lo and eth0 up, and a default route via the bridge's 10.0.0.1.

  netlab         Lab.star(N) (journaled before it builds), snapshot(), draw() (compact tiles),
                 then Lab.close() (delete namespaces, wait until every veth is freed)
  ip -batch      the expert's tool: one `ip -batch` file for the root side (every `netns add`,
                 every pair born with eth0 inside and v-NS on br0 and up) and one
                 `ip -n NS -batch` per namespace for its inside (`ip -batch` has no per-line netns)
  expert script  the same commands, one `ip` process each, `ip -n NS` for the inside
  article script the article's way: create the pair, `ip link set eth0 netns NS`, then
                 `ip netns exec NS ip ...`
  (the two scripts run every round for N <= 100, one round above: 10-30 ms per namespace)

Teardown for the scripts is one `ip -batch` of `netns delete` lines and `link delete br0`; every
teardown is timed until the last veth end in the root namespace is gone (the kernel frees them
in the background). A sample of namespaces is pinged (real `ping`) after each build. Rounds
take turns (netlab, ip -batch, expert, article; netlab, ...) so that every way sees the same
machine, with a pause of SETTLE seconds after each (the kernel frees deleted namespaces in
the background, and that work must not be billed to the next way). The figures are medians;
"cpu" is CPU time (user + system, the kernel's work for us included, children for the
scripts), which moves less than the wall clock on a shared machine. pyroute2, networkx and
matplotlib are imported, and one drawing made, before timing (one-off costs, not measured).
"""

from __future__ import annotations

import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from netlab import Lab, netns, ping
from netlab.sandbox import in_sandbox

ARTICLE_SCRIPT = """set -e
ip link add br0 type bridge
ip addr add 10.0.0.1/16 dev br0
ip link set br0 up
i=1
while [ $i -le $N ]; do
    ip netns add ns$i
    ip link add v-ns$i type veth peer name eth0
    ip link set eth0 netns ns$i
    ip link set v-ns$i master br0
    ip link set v-ns$i up
    ip netns exec ns$i ip addr add 10.0.$((($i + 1) / 256)).$((($i + 1) % 256))/16 dev eth0
    ip netns exec ns$i ip link set eth0 up
    ip netns exec ns$i ip link set lo up
    ip netns exec ns$i ip route add default via 10.0.0.1
    i=$((i + 1))
done
"""
EXPERT_SCRIPT = """set -e
ip link add br0 type bridge
ip addr add 10.0.0.1/16 dev br0
ip link set br0 up
i=1
while [ $i -le $N ]; do
    ip netns add ns$i
    ip link add v-ns$i master br0 up type veth peer name eth0 netns ns$i
    ip -n ns$i addr add 10.0.$((($i + 1) / 256)).$((($i + 1) % 256))/16 dev eth0
    ip -n ns$i link set eth0 up
    ip -n ns$i link set lo up
    ip -n ns$i route add default via 10.0.0.1
    i=$((i + 1))
done
"""
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
SETTLE = 1.0  # seconds between ways: the kernel frees deleted namespaces in the background (cleanup_net)


def address(i: int) -> str:
    """The address of ns{i}, as the scripts and Lab.star(subnet='10.0.0.0/16') both give it."""
    return f"10.0.{(i + 1) // 256}.{(i + 1) % 256}"


def batch_files(n: int) -> tuple[str, list[str]]:
    """The ``ip -batch`` input for the root side, and one for the inside of each namespace."""
    root = ["link add br0 type bridge", "addr add 10.0.0.1/16 dev br0", "link set br0 up"]
    root += [f"netns add ns{i}" for i in range(1, n + 1)]
    root += [f"link add v-ns{i} master br0 up type veth peer name eth0 netns ns{i}" for i in range(1, n + 1)]
    inside = [
        f"addr add {address(i)}/16 dev eth0\nlink set eth0 up\nlink set lo up\nroute add default via 10.0.0.1\n"
        for i in range(1, n + 1)
    ]
    return "\n".join(root) + "\n", inside


def teardown_file(n: int) -> str:
    return "".join(f"netns delete ns{i}\n" for i in range(1, n + 1)) + "link delete br0\n"


def root_veths() -> int:
    out = subprocess.run(["ip", "-j", "link"], capture_output=True, text=True, check=True).stdout
    return sum(1 for link in json.loads(out) if link["ifname"].startswith("v-"))


def wait_for_no_veths() -> None:
    while root_veths():
        time.sleep(0.002)


def check_sample(n: int) -> int:
    """Ping the gateway and a neighbour from a sample of namespaces; return how many answered."""
    sample = random.sample(range(1, n + 1), min(5, n))
    ok = 0
    for i in sample:
        ok += ping(f"ns{i}", "10.0.0.1").ok
        ok += ping(f"ns{i}", address((i % n) + 1)).ok
    return ok if ok == 2 * len(sample) else -ok


def cpu(children: bool) -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(fn: Callable[[], Any], *, children: bool = False) -> tuple[float, float, Any]:
    """Wall-clock and CPU seconds of ``fn()``, and its result."""
    c0, t0 = cpu(children), time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, cpu(children) - c0, result


def with_netlab(n: int, scratch: Path) -> dict[str, Any]:
    from netlab.view.draw import draw
    from netlab.view.snapshot import snapshot

    lab = Lab("bench", progress=False)
    build, build_cpu, _ = timed(lambda: lab.star(n, subnet="10.0.0.0/16"))
    reached = check_sample(n)
    snap, _, topology = timed(snapshot)
    drawn, _, _ = timed(lambda: draw(topology, path=scratch / "star.png"))
    torn, torn_cpu, _ = timed(lab.close)
    assert root_veths() == 0 and netns.list() == []
    return {"build": build, "build_cpu": build_cpu, "teardown": torn, "teardown_cpu": torn_cpu,
            "pings": reached, "snapshot": snap, "draw": drawn}  # fmt: skip


def ip_teardown(n: int) -> tuple[float, float, Any]:
    def work() -> None:
        subprocess.run(["ip", "-batch", "-"], input=teardown_file(n), text=True, env=ENV, check=True)
        wait_for_no_veths()

    return timed(work, children=True)


def with_ip_batch(n: int, scratch: Path) -> dict[str, Any]:
    root, inside = batch_files(n)

    def build() -> None:
        subprocess.run(["ip", "-batch", "-"], input=root, text=True, env=ENV, check=True)
        for i, text in enumerate(inside, start=1):
            subprocess.run(["ip", "-n", f"ns{i}", "-batch", "-"], input=text, text=True, env=ENV, check=True)

    built, built_cpu, _ = timed(build, children=True)
    reached = check_sample(n)
    torn, torn_cpu, _ = ip_teardown(n)
    assert netns.list() == []
    return {"build": built, "build_cpu": built_cpu, "teardown": torn, "teardown_cpu": torn_cpu, "pings": reached}


def with_script(script: str) -> Callable[[int, Path], dict[str, Any]]:
    def way(n: int, scratch: Path) -> dict[str, Any]:
        built, built_cpu, _ = timed(
            lambda: subprocess.run(["sh", "-c", script], env={**ENV, "N": str(n)}, check=True), children=True
        )
        reached = check_sample(n)
        torn, torn_cpu, _ = ip_teardown(n)
        assert netns.list() == []
        return {"build": built, "build_cpu": built_cpu, "teardown": torn, "teardown_cpu": torn_cpu, "pings": reached}

    return way


WAYS: dict[str, Callable[[int, Path], dict[str, Any]]] = {
    "netlab": with_netlab,
    "ip -batch": with_ip_batch,
    "expert script": with_script(EXPERT_SCRIPT),
    "article script": with_script(ARTICLE_SCRIPT),
}


def measure(n: int, rounds: int, scratch: Path) -> dict[str, dict[str, float]]:
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name in WAYS}
    for r in range(rounds):
        for name, way in WAYS.items():
            if name in ("article script", "expert script") and n > 100 and r > 0:
                continue  # 10-30 ms per namespace: one round is enough to see it
            samples[name].append(way(n, scratch))
            time.sleep(SETTLE)
    table = {}
    for name, runs in samples.items():
        row = {key: statistics.median(run[key] for run in runs) for key in runs[0] if key != "pings"}
        row["pings"] = min(run["pings"] for run in runs)
        row["rounds"] = len(runs)
        table[name] = row
    return table


def uptime() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()


def main(sizes: list[int], rounds: int) -> None:
    if not in_sandbox():
        sys.exit("run the benchmark inside `netlab sandbox` (it builds and deletes namespaces)")
    import matplotlib  # noqa: F401 - the one-off imports, outside the timings
    import networkx  # noqa: F401
    import pyroute2  # noqa: F401

    from netlab.view.draw import draw
    from netlab.view.snapshot import snapshot

    print(f"load average before: {uptime()}   ({os.cpu_count()} cpus)")
    tables = {}
    with tempfile.TemporaryDirectory() as scratch:
        draw(snapshot(), path=Path(scratch) / "warm-up.png", layout="compact")  # fonts, caches: once
        for n in sizes:
            tables[n] = table = measure(n, rounds, Path(scratch))
            ours = table["netlab"]
            print(f"\nstar of {n} namespaces on a bridge, median of {rounds} rounds, seconds")
            print(f"{'':15} {'build':>7} {'cpu':>6} {'teardown':>8} {'cpu':>6} {'pings':>5} "
                  f"{'build / netlab':>14} {'teardown / netlab':>17}")  # fmt: skip
            for name, row in table.items():
                note = "" if row["rounds"] == rounds else f"  ({row['rounds']} round)"
                print(
                    f"{name:15} {row['build']:7.3f} {row['build_cpu']:6.2f} {row['teardown']:8.3f} "
                    f"{row['teardown_cpu']:6.2f} {row['pings']:>5} {row['build'] / ours['build']:13.2f}x "
                    f"{row['teardown'] / ours['teardown']:16.2f}x{note}"
                )
            print(f"netlab also: snapshot {ours['snapshot'] * 1000:.0f} ms, draw (compact) {ours['draw']:.2f} s")
    print(f"\nthe cost curve, median seconds (load average after: {uptime()})")
    print(f"{'N':>6} {'build':>7} {'ip -batch':>9} {'article':>8} {'snapshot':>8} {'draw':>6} {'teardown':>8} "
          f"{'ip -batch':>9} {'build/ns':>9}")  # fmt: skip
    for n, table in tables.items():
        ours, batch, article = table["netlab"], table["ip -batch"], table["article script"]
        print(
            f"{n:>6} {ours['build']:7.3f} {batch['build']:9.3f} {article['build']:8.3f} {ours['snapshot']:8.3f} "
            f"{ours['draw']:6.2f} {ours['teardown']:8.3f} {batch['teardown']:9.3f} "
            f"{ours['build'] / n * 1e6:7.0f}us"
        )


if __name__ == "__main__":
    main(
        [int(n) for n in (sys.argv[1] if len(sys.argv) > 1 else "100,500").split(",")],
        int(sys.argv[2]) if len(sys.argv) > 2 else 3,
    )
