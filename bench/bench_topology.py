"""Reading a 100-namespace lab back from the kernel, three ways, in one run; then drawing it.

    ./scripts/bench   (or, inside `netlab sandbox`:  python bench/bench_topology.py [N] [ROUNDS])

The lab: a star of N namespaces on br0 in the root namespace (veth per namespace, address,
lo and eth0 up, default route), built with one `ip -batch` plus one `ip -n NS -batch` per
namespace, so setting up is quick.

  netlab snapshot   one netlink socket opened inside each namespace (netlab's worker thread,
                    setns), link/address/route/nftables dumps read with a small parser, veth
                    ends joined with RTM_GETNSID, the networkx graph built
  ip -j             what a script would do: per namespace `ip -j -d addr show`, `ip -j route
                    show` and `ip -j netns list-id` (to learn which namespace a veth's
                    link-netnsid means), parsed and joined in Python. It reads less than the
                    snapshot (no nftables, no ip_forward, named namespaces only)
  pyroute2          per namespace, in the worker thread: IPRoute() + get_links/get_addr/get_routes
                    (no peer joining): the cost of a general netlink library's full decode

Then the drawing: the 100-namespace snapshot to PNG (compact layout) and the article's
2-namespace scene (detailed layout, also in projector mode). Figures are medians of ROUNDS runs
after one warm-up.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from netlab import netns
from netlab.plumbing import syscalls
from netlab.plumbing.threads import run_in_worker
from netlab.sandbox import in_sandbox
from netlab.view.draw import draw, settings
from netlab.view.snapshot import snapshot


def build_star(count: int) -> list[str]:
    names = [f"s{i}" for i in range(1, count + 1)]
    script = ["link add br0 type bridge", "link set br0 up", "addr add 10.0.0.1/16 dev br0"]
    script += [f"netns add {name}" for name in names]
    for i, name in enumerate(names, start=1):
        script += [f"link add h{i} type veth peer name eth0 netns {name}", f"link set h{i} master br0 up"]
    subprocess.run(["ip", "-batch", "-"], input="\n".join(script) + "\n", text=True, check=True)
    for i, name in enumerate(names, start=1):
        inside = (
            f"link set lo up\nlink set eth0 up\naddr add 10.0.{i // 250}.{i % 250 + 2}/16 dev eth0\n"
            "route add default via 10.0.0.1\n"
        )
        subprocess.run(["ip", "-n", name, "-batch", "-"], input=inside, text=True, check=True)
    return names


def tear_down(names: list[str]) -> None:
    subprocess.run(
        ["ip", "-batch", "-"],
        input="".join(f"netns delete {n}\n" for n in names) + "link delete br0\n",
        text=True,
        check=True,
    )


def ip_json(*argv: str) -> list[dict]:
    out = subprocess.run(["ip", *argv], capture_output=True, text=True, check=True).stdout
    return json.loads(out or "[]")


def discover_with_ip() -> dict[str, dict[str, str | None]]:
    """The subprocess way: {namespace: {interface: "peer@namespace" or None}}."""
    spaces = [None] + [entry["name"] for entry in ip_json("-j", "netns", "list")]
    links, ids, routes = {}, {}, {}
    for name in spaces:
        prefix = ["-n", name] if name else []
        links[name] = ip_json(*prefix, "-j", "-d", "addr", "show")
        routes[name] = ip_json(*prefix, "-j", "route", "show")
        ids[name] = {entry["nsid"]: entry.get("name") for entry in ip_json(*prefix, "-j", "netns", "list-id")}
    view: dict[str, dict[str, str | None]] = {}
    for name in spaces:
        by_index = {}
        for link in links[name]:
            peer = None
            if "link_netnsid" in link and "link_index" in link:
                where = ids[name].get(link["link_netnsid"])
                target = next(
                    (other["ifname"] for other in links.get(where, []) if other["ifindex"] == link["link_index"]), None
                )
                peer = f"{target}@{where or 'root'}"
            by_index[link["ifname"]] = peer
        view[name or "root"] = by_index
    return view


def read_with_pyroute2(files: list[str]) -> int:
    from pyroute2 import IPRoute

    def work() -> int:
        messages = 0
        for file in files:
            fd = os.open(file, os.O_RDONLY | os.O_CLOEXEC)
            try:
                syscalls.setns(fd, syscalls.CLONE_NEWNET)
            finally:
                os.close(fd)
            with IPRoute() as ipr:
                messages += len(ipr.get_links()) + len(ipr.get_addr()) + len(ipr.get_routes())
        return messages

    return run_in_worker(work)


def timed(fn, rounds: int) -> tuple[float, object]:
    result = fn()  # warm-up
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), result


def main(count: int = 100, rounds: int = 7) -> None:
    if not in_sandbox():
        sys.exit("run the benchmark inside `netlab sandbox` (it creates and deletes namespaces)")
    import pyroute2  # noqa: F401 - import cost is not what we measure

    start = time.perf_counter()
    names = build_star(count)
    built = (time.perf_counter() - start) * 1000
    try:
        ours, topology = timed(snapshot, rounds)
        theirs, view = timed(discover_with_ip, max(rounds // 2, 1))
        files = ["/proc/thread-self/ns/net"] + [str(netns.path(n)) for n in names]
        pyroute2_ms, _ = timed(lambda: read_with_pyroute2(files), max(rounds // 2, 1))
        # Both ways must see the same wiring.
        for name in names:
            assert view[name]["eth0"] == f"{topology.namespace(name).interface('eth0').peer.name}@root"
        with tempfile.TemporaryDirectory() as scratch:
            draw_big, _ = timed(lambda: draw(topology, path=Path(scratch) / "star.png"), 3)
        interfaces = sum(len(ns.interfaces) for ns in topology.namespaces)
    finally:
        tear_down(names)

    subprocess.run(
        "ip netns add netns1 && ip link add veth0 type veth peer name veth1 netns netns1 && "
        "ip -n netns1 addr add 10.1.1.1/24 dev veth1 && ip -n netns1 link set veth1 up && "
        "ip addr add 10.1.1.2/24 dev veth0 && ip link set veth0 up",
        shell=True,
        check=True,
    )
    try:
        small = snapshot()
        with tempfile.TemporaryDirectory() as scratch:
            draw_small, _ = timed(lambda: draw(small, path=Path(scratch) / "article.png"), 5)
            settings.projector = True
            try:
                draw_projector, _ = timed(lambda: draw(small, path=Path(scratch) / "article-projector.png"), 5)
            finally:
                settings.projector = False
    finally:
        subprocess.run(["ip", "netns", "delete", "netns1"], check=True)

    print(
        f"{count} namespaces on a bridge ({len(topology.namespaces)} with root, {interfaces} interfaces), "
        f"built with ip -batch in {built:.0f} ms"
    )
    print(f"reading it back, median of {rounds} (ip -j and pyroute2: {max(rounds // 2, 1)}) runs:")
    print(f"  {'netlab snapshot':<34} {ours:8.1f} ms")
    print(f"  {'ip -j, 3 commands per namespace':<34} {theirs:8.1f} ms   {theirs / ours:5.1f}x slower than netlab")
    slower = pyroute2_ms / ours
    print(f"  {'pyroute2 IPRoute per namespace':<34} {pyroute2_ms:8.1f} ms   {slower:5.1f}x slower than netlab")
    print("drawing to PNG, median of 3-5 runs:")
    print(f"  {count} namespaces (compact layout)      {draw_big:8.0f} ms")
    print(f"  the article's scene (detailed layout) {draw_small:8.0f} ms")
    print(f"  the same in projector mode            {draw_projector:8.0f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100, int(sys.argv[2]) if len(sys.argv) > 2 else 7)
