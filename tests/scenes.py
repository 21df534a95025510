"""Network scenes built with plain `ip` commands (not netlab), for the topology, drawing and widget tests.

Each scene is a context manager: it builds with shell commands a learner could type, yields,
and tears everything down, waiting until the kernel has really let go (a namespace is freed,
and the far ends of its veths vanish, in the background after `ip netns delete`).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

from conftest import sh

from netlab import Lab


def shell(*commands: str) -> None:
    """Run shell command lines, failing loudly (with the command) if one fails."""
    for command in commands:
        result = subprocess.run(command, shell=True, capture_output=True, text=True)
        if result.returncode:
            raise AssertionError(f"`{command}` failed ({result.returncode}): {result.stderr.strip()}")


def root_links() -> set[str]:
    out = subprocess.run(["ip", "-j", "link"], capture_output=True, text=True, check=True).stdout
    return {link["ifname"] for link in json.loads(out)}


def named() -> set[str]:
    out = subprocess.run(["ip", "-j", "netns", "list"], capture_output=True, text=True).stdout
    return {entry["name"] for entry in json.loads(out or "[]")}


def wait_until(condition, *, timeout: float = 5.0, what: str = "the kernel to catch up") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def net_inode(pid: int | str) -> int:
    return os.stat(f"/proc/{pid}/ns/net").st_ino


@contextmanager
def cleanup(
    *, namespaces: tuple[str, ...] = (), links: tuple[str, ...] = (), extra: tuple[str, ...] = ()
) -> Iterator[None]:
    """Whatever happens: run ``extra``, delete ``links`` (root side) and ``namespaces``, then wait."""
    before = root_links()
    try:
        yield
    finally:
        for command in extra:
            subprocess.run(command, shell=True, capture_output=True)
        for link in links:
            subprocess.run(["ip", "link", "delete", link], capture_output=True)
        for name in namespaces:
            subprocess.run(["ip", "netns", "delete", name], capture_output=True)
        wait_until(
            lambda: root_links() <= before and not (named() & set(namespaces)),
            what="the scene's links and namespaces to go",
        )


@contextmanager
def article_veth() -> Iterator[None]:
    """The article's middle section, typed as in the article (ifconfig included)."""
    with cleanup(namespaces=("netns1",), links=("veth0",)):
        shell(
            "ip netns add netns1",
            "ip link add veth0 type veth peer name veth1",
            "ip link set veth1 netns netns1",
            "ip netns exec netns1 ifconfig veth1 10.1.1.1/24 up",
            "ifconfig veth0 10.1.1.2/24 up",
        )
        yield


@contextmanager
def bridge_with_three() -> Iterator[None]:
    """br0 in the root namespace (10.0.0.1/24, forwarding, masquerade), ns1..ns3 on it."""
    with cleanup(
        namespaces=("ns1", "ns2", "ns3"),
        links=("v1", "v2", "v3", "br0"),
        extra=("nft delete table ip scene_nat", "sysctl -qw net.ipv4.ip_forward=0"),
    ):
        shell("ip link add br0 type bridge", "ip addr add 10.0.0.1/24 dev br0", "ip link set br0 up")
        for n in (1, 2, 3):
            shell(
                f"ip netns add ns{n}",
                f"ip link add v{n} type veth peer name eth0 netns ns{n}",
                f"ip link set v{n} master br0",
                f"ip link set v{n} up",
                f"ip -n ns{n} addr add 10.0.0.{10 + n}/24 dev eth0",
                f"ip -n ns{n} link set eth0 up",
                f"ip -n ns{n} route add default via 10.0.0.1",
            )
        shell(
            "sysctl -qw net.ipv4.ip_forward=1",
            "nft add table ip scene_nat",
            "nft 'add chain ip scene_nat post { type nat hook postrouting priority 100; }'",
            "nft add rule ip scene_nat post ip saddr 10.0.0.0/24 oifname != br0 masquerade",
        )
        yield


@contextmanager
def chain_through_router() -> Iterator[None]:
    """A - R - C: two subnets, R forwards; R also publishes a port (DNAT) and masquerades."""
    with cleanup(namespaces=("A", "R", "C")):
        shell(
            "ip netns add A",
            "ip netns add R",
            "ip netns add C",
            "ip link add a0 netns A type veth peer name r0 netns R",
            "ip link add c0 netns C type veth peer name r1 netns R",
            "ip -n A addr add 10.1.0.2/24 dev a0",
            "ip -n R addr add 10.1.0.1/24 dev r0",
            "ip -n R addr add 10.2.0.1/24 dev r1",
            "ip -n C addr add 10.2.0.2/24 dev c0",
        )
        for name, link in (("A", "a0"), ("R", "r0"), ("R", "r1"), ("C", "c0")):
            shell(f"ip -n {name} link set {link} up")
        shell(
            "ip -n A link set lo up",
            "ip -n C link set lo up",
            "ip -n A route add default via 10.1.0.1",
            "ip -n C route add default via 10.2.0.1",
            "ip netns exec R sysctl -qw net.ipv4.ip_forward=1",
            "ip netns exec R nft add table ip nat",
            "ip netns exec R nft 'add chain ip nat pre { type nat hook prerouting priority -100; }'",
            "ip netns exec R nft add rule ip nat pre iif r1 tcp dport 8080 dnat to 10.1.0.2:80",
            "ip netns exec R iptables -t nat -A POSTROUTING -o r1 -j MASQUERADE",
        )
        yield


@contextmanager
def unnamed_held_by_process() -> Iterator[subprocess.Popen]:
    """`unshare -n sleep 30`: a namespace with no name, alive only through its process."""
    proc = subprocess.Popen(["unshare", "-n", "sleep", "30"])
    try:
        wait_until(
            lambda: net_inode(proc.pid) != net_inode("self") and _comm(proc.pid) == "sleep",
            what="unshare to enter its new namespace",
        )
        with cleanup(links=("u0",)):
            shell(f"ip link add u0 type veth peer name u1 netns {proc.pid}", "ip link set u0 up")
            yield proc
    finally:
        proc.kill()
        proc.wait()


@contextmanager
def peer_namespace_deleted(holder: str = "ip netns exec") -> Iterator[subprocess.Popen]:
    """x0 in root, x1 in "gone"; a process holds "gone"; then `ip netns delete gone`."""
    with cleanup(namespaces=("gone",), links=("x0",)):
        shell(
            "ip netns add gone",
            "ip link add x0 type veth peer name x1 netns gone",
            "ip link set x0 up",
            "ip -n gone link set x1 up",
            "ip addr add 10.5.0.1/30 dev x0",
            "ip -n gone addr add 10.5.0.2/30 dev x1",
        )
        argv = (
            ["ip", "netns", "exec", "gone", "sleep", "30"]
            if holder == "ip netns exec"
            else ["nsenter", "--net=/run/netns/gone", "sleep", "30"]
        )
        gone = os.stat("/run/netns/gone").st_ino
        proc = subprocess.Popen(argv)
        try:
            wait_until(
                lambda: net_inode(proc.pid) == gone and _comm(proc.pid) == "sleep",
                what="the holder to enter the namespace",
            )
            shell("ip netns delete gone")
            yield proc
        finally:
            proc.kill()
            proc.wait()


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as comm:
            return comm.read().strip()
    except OSError:
        return ""


def star_batch(count: int, *, prefix: str = "s") -> str:
    """An `ip -batch` script: br0 in the root namespace, ``count`` namespaces, a veth from each to br0."""
    build = ["link add br0 type bridge", "link set br0 up", "addr add 10.0.0.1/16 dev br0"]
    build += [f"netns add {prefix}{i}" for i in range(1, count + 1)]
    for i in range(1, count + 1):
        build += [f"link add h{i} type veth peer name eth0 netns {prefix}{i}", f"link set h{i} master br0 up"]
    return "\n".join(build) + "\n"


@contextmanager
def star(count: int) -> Iterator[list[str]]:
    """``count`` namespaces s1..sN, each with eth0 (10.0.x.y/16) wired to br0 in the root namespace."""
    names = [f"s{i}" for i in range(1, count + 1)]
    with cleanup(namespaces=tuple(names), links=("br0",)):
        subprocess.run(["ip", "-batch", "-"], input=star_batch(count), text=True, check=True, capture_output=True)
        for i, name in enumerate(names, start=1):
            config = (
                f"link set lo up\nlink set eth0 up\naddr add 10.0.{i // 250}.{i % 250 + 2}/16 dev eth0\n"
                "route add default via 10.0.0.1\n"
            )
            subprocess.run(["ip", "-n", name, "-batch", "-"], input=config, text=True, check=True, capture_output=True)
        yield names


def wait_up(*links: tuple[str | None, str]) -> None:
    """Until the kernel's link watcher has brought each (namespace, link) to operstate UP.

    Right after `ip link set ... up` a veth's queue may still be the no-op one that drops what
    is sent, so the first ARP reply can be lost (and ARP asks again a second later).
    """

    def up(ns: str | None, link: str) -> bool:
        prefix = ["ip", "-n", ns] if ns else ["ip"]
        return json.loads(sh(*prefix, "-j", "link", "show", link).stdout)[0]["operstate"] == "UP"

    for ns, link in links:
        wait_until(lambda ns=ns, link=link: up(ns, link), what=f"{link} to be up")


@contextmanager
def internet_scene() -> Iterator[Lab]:
    """Notebook 03's scene: c1 10.0.0.2 on br0, masqueraded out of uplink to the internet 203.0.113.1."""
    with Lab("capture_nat") as lab:
        lab.bridge("br0")
        lab.add_address("br0", "10.0.0.1/24")
        lab.up("br0")
        lab.netns("c1")
        lab.connect("c1", address="10.0.0.2/24", gateway="10.0.0.1", bridge="br0")
        lab.netns("internet")
        lab.connect("internet", address="203.0.113.1/24", host_ifname="uplink", host_address="203.0.113.2/24")
        lab.sysctl("net.ipv4.ip_forward", 1)
        lab.masquerade("10.0.0.0/24", out="uplink")
        wait_up(("c1", "eth0"), (None, "v-c1"), (None, "br0"), (None, "uplink"), ("internet", "eth0"))
        yield lab
