"""A classroom-sized lab: a star of N namespaces on a bridge, built, checked and torn down, three ways.

    ./scripts/bench   (or, inside `netlab sandbox`:  python bench/bench_lab.py [N] [ROUNDS])

Each namespace gets a veth pair (one end on the bridge br0 in the root namespace, eth0 inside),
an address in 10.0.0.0/16, lo and eth0 up, and a default route via the bridge's 10.0.0.1.

  netlab         Lab.star(N), then Lab.close() (delete namespaces, wait until every veth is freed)
  ip script      the article's way, one shell script: create the pair, `ip link set eth0 netns NS`,
                 then `ip netns exec NS ip ...` for the inside
  expert script  the best `ip` can do: the pair is born with eth0 already inside the namespace and
                 v-NS already on the bridge and up (`ip link add v-NS master br0 up type veth peer
                 name eth0 netns NS`), and `ip -n NS` instead of `ip netns exec`

Most of the article script's time goes to moving eth0 (``ip link set eth0 netns NS`` waits for an
RCU grace period, ~10 ms); netlab, like the expert script, never moves it. What is left is one
process per command (~1-2 ms each) against a netlink request (~0.3 ms) in netlab.

Teardown for the scripts is `ip netns delete` of each namespace and `ip link delete br0`; every
teardown is timed until the last veth end in the root namespace is gone (the kernel frees them
in the background). A sample of namespaces is pinged (real `ping`) to check each build works.
pyroute2 is imported before timing (a one-off ~0.1 s per process, paid by the first netlab call).
"""

from __future__ import annotations

import json
import random
import statistics
import subprocess
import sys
import time

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
TEARDOWN_SCRIPT = """i=1
while [ $i -le $N ]; do ip netns delete ns$i; i=$((i + 1)); done
ip link delete br0
"""


def root_veths() -> int:
    return sum(
        1
        for link in json.loads(subprocess.run(["ip", "-j", "link"], capture_output=True, text=True).stdout)
        if link["ifname"].startswith("v-")
    )


def wait_for_no_veths() -> None:
    while root_veths():
        time.sleep(0.002)


def check_sample(n: int) -> int:
    """Ping the gateway and a neighbour from a sample of namespaces; return how many answered."""
    sample = random.sample(range(1, n + 1), min(5, n))
    ok = 0
    for i in sample:
        neighbour = (i % n) + 1
        ok += ping(f"ns{i}", "10.0.0.1").ok
        ok += ping(f"ns{i}", f"10.0.{(neighbour + 1) // 256}.{(neighbour + 1) % 256}").ok
    return ok if ok == 2 * len(sample) else -ok


def with_netlab(n: int) -> tuple[float, float, int]:
    start = time.perf_counter()
    lab = Lab("bench", progress=n >= 50)
    lab.star(n, subnet="10.0.0.0/16")
    built = time.perf_counter() - start
    reached = check_sample(n)
    start = time.perf_counter()
    lab.close()
    torn = time.perf_counter() - start
    assert root_veths() == 0 and netns.list() == []
    return built, torn, reached


def with_script(n: int, script: str) -> tuple[float, float, int]:
    env = {"N": str(n), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    start = time.perf_counter()
    subprocess.run(["sh", "-c", script], env=env, check=True)
    built = time.perf_counter() - start
    reached = check_sample(n)
    start = time.perf_counter()
    subprocess.run(["sh", "-c", TEARDOWN_SCRIPT], env=env, check=True)
    wait_for_no_veths()
    torn = time.perf_counter() - start
    assert netns.list() == []
    return built, torn, reached


def main(n: int = 100, rounds: int = 3) -> None:
    if not in_sandbox():
        sys.exit("run the benchmark inside `netlab sandbox` (it builds and deletes namespaces)")
    import pyroute2  # noqa: F401 - the one-off import, outside the timings

    ways = {
        "netlab": lambda: with_netlab(n),
        "ip script": lambda: with_script(n, ARTICLE_SCRIPT),
        "expert script": lambda: with_script(n, EXPERT_SCRIPT),
    }
    samples: dict[str, list[tuple[float, float, int]]] = {name: [] for name in ways}
    for _ in range(rounds):
        for name, way in ways.items():
            samples[name].append(way())
    print(f"star of {n} namespaces on a bridge, median of {rounds} rounds, seconds")
    print(f"{'':14} {'build':>7} {'teardown':>9} {'pings ok':>9} {'build: x slower than netlab':>29}")
    ours = statistics.median(s[0] for s in samples["netlab"])
    for name, runs in samples.items():
        build = statistics.median(s[0] for s in runs)
        teardown = statistics.median(s[1] for s in runs)
        pings = min(s[2] for s in runs)
        print(f"{name:14} {build:7.3f} {teardown:9.3f} {pings:>9} {build / ours:29.1f}")
    article = statistics.median(s[0] for s in samples["ip script"])
    expert = statistics.median(s[0] for s in samples["expert script"])
    worst_teardown = max(s[1] for s in samples["netlab"])
    print(
        f"netlab builds {article / ours:.1f}x faster than the article's script (target >= 3x) and "
        f"{expert / ours:.1f}x faster than the expert script; slowest netlab teardown {worst_teardown:.3f} s "
        f"(target < 1 s)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100, int(sys.argv[2]) if len(sys.argv) > 2 else 3)
