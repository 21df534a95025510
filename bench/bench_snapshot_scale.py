"""How a snapshot's cost grows with the lab: 10, 100 and 1000 namespaces, against the kernel's floor.

    netlab sandbox -- python bench/bench_snapshot_scale.py [SIZES] [ROUNDS]     e.g.  10,100,1000 5

For each size N, a star is built with ``Lab.star(N)`` (br0 in the root namespace, a veth per
namespace with eth0 inside, an address, lo and eth0 up, a default route), then read back:

  snapshot     ``netlab.snapshot()``: finds the namespaces (``/proc``, mountinfo, the run
               directory), enters each, asks ``ip netconf``/link/addr/route/nft over netlink,
               joins the veth ends (``RTM_GETNSID``) and builds the model objects
  raw floor    what no reader of the three tables can avoid: in one thread, per namespace,
               open its file, ``setns``, open a netlink socket, dump links, addresses and
               routes with netlab's own reader (``netlab.netlink``), and nothing else
  ip -j        the script way, N <= 100 only: per namespace ``ip -j -d addr``, ``ip -j route``
               and ``ip -j netns list-id``, parsed and joined in Python

and, once per size, the networkx graph (``topo.graph``) and ``topo.as_dict()``. Every figure
is a median of ROUNDS runs after one warm-up; snapshot and floor take turns, round by round,
so that both see the same machine, and the ratios compare figures of the same run.
Next to the wall-clock time, "cpu" is the process's CPU time (all threads, user + system,
the kernel's work for us included): on a shared machine it moves less than the wall clock.

Measuring starts when the kernel has calmed down after the build. A new star keeps the
kernel busy for seconds: every new interface does IPv6 duplicate address detection, sends
router solicitations and multicast listener reports, and the bridge floods each of them to
all its ports (a thousand spokes: a thousand copies of each). That work runs in softirqs on
whichever CPU is at hand, so a snapshot taken meanwhile pays for it too (at N=1000 it
doubled the snapshot's time). ``settle()`` waits until system and softirq time, for the
whole machine, drop below a quarter of it (at most 30 s); the load average is printed
with the results, since other programs share the machine.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from netlab import Lab, netlink, netns
from netlab.plumbing import syscalls
from netlab.plumbing.threads import run_in_worker
from netlab.sandbox import in_sandbox
from netlab.view.snapshot import Topology, snapshot


def kernel_share(interval: float = 0.5) -> float:
    """The share of all CPU time the kernel spent in system calls and softirqs over ``interval``."""

    def ticks() -> tuple[int, int]:
        with open("/proc/stat") as stat:
            fields = [int(x) for x in stat.readline().split()[1:8]]  # user nice system idle iowait irq softirq
        return fields[2] + fields[5] + fields[6], sum(fields)

    kernel, total = ticks()
    time.sleep(interval)
    kernel_after, total_after = ticks()
    return (kernel_after - kernel) / max(total_after - total, 1)


def settle(*, limit: float = 30.0, threshold: float = 0.25) -> float:
    """Wait until the kernel is done with the build (see the module docstring); the seconds waited."""
    start = time.monotonic()
    while time.monotonic() - start < limit and kernel_share() >= threshold:
        pass
    return time.monotonic() - start


def raw_floor(files: list[str]) -> int:
    """Dump links, addresses and routes of every namespace file; return how many messages came back."""

    def work() -> int:
        messages = 0
        for file in files:
            fd = os.open(file, os.O_RDONLY | os.O_CLOEXEC)
            try:
                syscalls.setns(fd, syscalls.CLONE_NEWNET)
            finally:
                os.close(fd)
            with netlink.open_route_socket() as sock:
                messages += len(netlink.links(sock)) + len(netlink.addresses(sock)) + len(netlink.routes(sock))
        return messages

    return run_in_worker(work)


def ip_json(*argv: str) -> list[dict[str, Any]]:
    out = subprocess.run(["ip", *argv], capture_output=True, text=True, check=True).stdout
    return json.loads(out or "[]")


def with_ip(names: list[str]) -> dict[str, dict[str, str | None]]:
    """The subprocess way: {namespace: {interface: "peer@namespace" or None}}."""
    spaces: list[str | None] = [None, *names]
    links, ids = {}, {}
    for name in spaces:
        prefix = ["-n", name] if name else []
        links[name] = ip_json(*prefix, "-j", "-d", "addr", "show")
        ip_json(*prefix, "-j", "route", "show")
        ids[name] = {entry["nsid"]: entry.get("name") for entry in ip_json(*prefix, "-j", "netns", "list-id")}
    view: dict[str, dict[str, str | None]] = {}
    for name in spaces:
        ends: dict[str, str | None] = {}
        for link in links[name]:
            peer = None
            if "link_netnsid" in link and "link_index" in link:
                where = ids[name].get(link["link_netnsid"])
                far = (other["ifname"] for other in links.get(where, []) if other["ifindex"] == link["link_index"])
                peer = f"{next(far, None)}@{where or 'root'}"
            ends[link["ifname"]] = peer
        view[name or "root"] = ends
    return view


def timed(fn: Callable[[], Any], rounds: int) -> tuple[float, Any]:
    """Median milliseconds of ``rounds`` runs after a warm-up, and the last result."""
    wall, _cpu, result = timed_cpu(fn, rounds)
    return wall, result


def timed_cpu(fn: Callable[[], Any], rounds: int) -> tuple[float, float, Any]:
    """Median wall-clock and CPU milliseconds of ``rounds`` runs after a warm-up, and the last result."""
    [(wall, cpu, result)] = taking_turns([fn], rounds)
    return wall, cpu, result


def taking_turns(fns: list[Callable[[], Any]], rounds: int) -> list[tuple[float, float, Any]]:
    """``timed_cpu`` for several functions, run in turn in each round (load on the machine hits all alike)."""
    results = [fn() for fn in fns]
    walls: list[list[float]] = [[] for _ in fns]
    cpus: list[list[float]] = [[] for _ in fns]
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            start, cpu = time.perf_counter(), time.process_time()
            results[i] = fn()
            walls[i].append((time.perf_counter() - start) * 1000)
            cpus[i].append((time.process_time() - cpu) * 1000)
    return [(statistics.median(w), statistics.median(c), r) for w, c, r in zip(walls, cpus, results, strict=True)]


def measure(count: int, rounds: int) -> dict[str, Any]:
    start = time.perf_counter()
    lab = Lab(f"scale{count}", progress=False)
    try:
        names = lab.star(count, subnet="10.0.0.0/16", prefix="s")
        built = time.perf_counter() - start
        settled = settle()
        files = ["/proc/thread-self/ns/net"] + [str(netns.path(name)) for name in names]
        (ours, ours_cpu, topology), (floor, floor_cpu, _) = taking_turns([snapshot, lambda: raw_floor(files)], rounds)
        theirs = None
        if count <= 100:
            theirs, view = timed(lambda: with_ip(names), max(rounds // 2, 1))
            for name in names:  # both ways see the same wiring
                peer = topology.namespace(name).interface("eth0").peer
                assert view[name]["eth0"] == f"{peer.name}@root", (name, view[name]["eth0"], peer)
        graph, _ = timed(lambda: Topology(topology.namespaces).graph, rounds)
        plain, _ = timed(topology.as_dict, rounds)
    finally:
        lab.close()
    interfaces = sum(len(ns.interfaces) for ns in topology.namespaces)
    assert len(topology.namespaces) == count + 1 and len(topology.veth_pairs()) == count
    return {
        "n": count,
        "interfaces": interfaces,
        "built": built,
        "settled": settled,
        "snapshot": ours,
        "snapshot_cpu": ours_cpu,
        "floor": floor,
        "floor_cpu": floor_cpu,
        "ip": theirs,
        "graph": graph,
        "as_dict": plain,
    }


def main(sizes: list[int], rounds: int) -> None:
    if not in_sandbox():
        sys.exit("run the benchmark inside `netlab sandbox` (it creates and deletes namespaces)")
    import networkx  # noqa: F401 - import costs are not what we measure
    import pyroute2  # noqa: F401

    rows = [measure(count, rounds) for count in sizes]
    print(f"snapshot of a star of N namespaces, median of {rounds} runs (ip -j: {max(rounds // 2, 1)}), in ms")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    print(
        f"{'N':>5} {'ifaces':>6} {'build s':>7} {'calm s':>6} {'snapshot':>8} {'cpu':>6} {'per ns':>7} "
        f"{'floor':>7} {'cpu':>6} "
        f"{'snap/floor':>10} {'cpu':>5} {'ip -j':>7} {'ip/snap':>7} {'graph':>6} {'as_dict':>7}"
    )
    for row in rows:
        ip_text = f"{row['ip']:7.1f} {row['ip'] / row['snapshot']:6.1f}x" if row["ip"] else f"{'-':>7} {'-':>7}"
        print(
            f"{row['n']:>5} {row['interfaces']:>6} {row['built']:>7.1f} {row['settled']:>6.1f} {row['snapshot']:8.1f} "
            f"{row['snapshot_cpu']:6.1f} {row['snapshot'] * 1000 / (row['n'] + 1):5.0f}us {row['floor']:7.1f} "
            f"{row['floor_cpu']:6.1f} {row['snapshot'] / row['floor']:9.2f}x "
            f"{row['snapshot_cpu'] / row['floor_cpu']:4.2f}x {ip_text} {row['graph']:6.1f} {row['as_dict']:7.1f}"
        )
    if len(rows) > 1:
        first, last = rows[0], rows[-1]
        growth = (last["snapshot"] / first["snapshot"]) / ((last["n"] + 1) / (first["n"] + 1))
        print(f"snapshot cost per namespace, N={last['n']} vs N={first['n']}: {growth:.2f}x (1.0 = linear)")


if __name__ == "__main__":
    main(
        [int(n) for n in (sys.argv[1] if len(sys.argv) > 1 else "10,100,1000").split(",")],
        int(sys.argv[2]) if len(sys.argv) > 2 else 5,
    )
