"""Exercise checks: look at what the kernel holds, and say what is missing.

A check never looks at what you typed, only at the result, so any way of solving an exercise
counts: ``ip`` commands, netlab, or a mix. Each check walks through what a solution must have,
in order, and stops at the first thing that is missing with a hint built from what it found::

    >>> print(checks.lo_up("netns2"))
    ✘ not yet: lo is up in netns2
      ✔ namespace netns2 exists
      ✘ lo in netns2 is DOWN
      hint: bring it up: ip netns exec netns2 ip link set lo up

A result is truthy when the exercise is done, so ``assert checks.lo_up("netns2")`` works too.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

from netlab import inodes, links, netns, reach, sysctl
from netlab.commands import in_netns
from netlab.enter import run
from netlab.model import Interface
from netlab.targets import Target, in_words

__all__ = [
    "CheckResult",
    "bridge_isolated_from_internet",
    "deleted_namespace_holder",
    "lo_up",
    "nat_to_internet",
    "port_published",
    "router_between",
    "veth_pair",
]


@dataclass
class CheckResult:
    """The verdict of one exercise check: what was checked, what passed, and the hint."""

    exercise: str
    steps: list[tuple[str, bool]] = field(default_factory=list)
    hint: str = ""

    @property
    def done(self) -> bool:
        return bool(self.steps) and all(ok for _, ok in self.steps)

    def __bool__(self) -> bool:
        return self.done

    def __str__(self) -> str:
        head = f"✔ done: {self.exercise}" if self.done else f"✘ not yet: {self.exercise}"
        lines = [head] + [f"  {'✔' if ok else '✘'} {text}" for text, ok in self.steps]
        if self.hint and not self.done:
            lines.append(f"  hint: {self.hint}")
        return "\n".join(lines)

    def _repr_pretty_(self, printer, cycle) -> None:  # IPython shows the text, not the dataclass
        printer.text(str(self))


class _Walk:
    """Records steps until the first failure, which supplies the hint."""

    def __init__(self, exercise: str) -> None:
        self.result = CheckResult(exercise)

    def need(self, ok: bool, passed: str, failed: str, hint: str) -> bool:
        self.result.steps.append((passed if ok else failed, ok))
        if not ok:
            self.result.hint = hint
        return ok


def _where(ns: Target) -> str:
    """``the root namespace`` (the lab's, where checks run) or ``namespace 'netns1'``."""
    return "the root namespace" if ns is None else in_words(ns)


def _exec(ns: Target, command: str) -> str:
    """The command as a learner would type it to run inside ``ns`` (``ip netns exec NS ...``)."""
    return shlex.join(in_netns(ns, shlex.split(command)))


def _links(ns: Target) -> dict[str, Interface]:
    return {link.name: link for link in links.list(ns)}


def _namespace(walk: _Walk, name: str) -> bool:
    if name in netns.stale():
        return walk.need(
            False,
            "",
            f"{netns.path(name)} is a stale file, not a namespace",
            f"remove it and create the namespace again: ip netns delete {name}; ip netns add {name}",
        )
    return walk.need(
        name in netns.list(),
        f"namespace {name} exists",
        f"namespace {name} does not exist",
        f"create it: ip netns add {name}",
    )


def _placed(walk: _Walk, ns: Target, dev: str, *, search: Sequence[Target] = ()) -> bool:
    """The device exists in ``ns`` (and if it is elsewhere, say where and how to move it)."""
    if dev in _links(ns):
        return walk.need(True, f"{dev} is in {_where(ns)}", "", "")
    elsewhere = next((other for other in search if other != ns and dev in _links(other)), "missing")
    if elsewhere != "missing":
        # `ip link set ... netns` takes a name, or the pid of a process in the target: this one, for the root.
        to = ns if ns is not None else os.getpid()
        return walk.need(
            False,
            "",
            f"{dev} exists in {_where(elsewhere)} but should be in {_where(ns)}",
            "move it: " + _exec(elsewhere, f"ip link set {dev} netns {to}"),
        )
    return walk.need(
        False,
        "",
        f"there is no device {dev} in {_where(ns)}",
        f"create it, e.g. ip link add {dev} type veth peer name PEER",
    )


def _configured(walk: _Walk, ns: Target, dev: str, *, address: str | None = None) -> bool:
    """The device (already placed) has ``address`` and is up."""
    link = _links(ns)[dev]
    if address is not None:
        have = [str(a) for a in link.addresses]
        if not walk.need(
            address in have,
            f"{dev} has {address}",
            f"{dev} in {_where(ns)} has {', '.join(have) or 'no address'}, not {address}",
            "add it: " + _exec(ns, f"ip addr add {address} dev {dev}"),
        ):
            return False
    return walk.need(
        link.up, f"{dev} is UP", f"{dev} in {_where(ns)} is DOWN", "bring it up: " + _exec(ns, f"ip link set {dev} up")
    )


def _pings(walk: _Walk, source: Target, address: str, *, expect: bool = True, why: str = "") -> bool:
    # Several pings, 0.2 s apart: a link that just came up may need a moment (the kernel's linkwatch).
    result = reach.ping(source, address, count=5, timeout=1.0, interval=0.2)
    if expect:
        return walk.need(
            result.ok,
            f"{_where(source)} reaches {address}",
            f"{_where(source)} cannot reach {address} ({result.error or 'no reply'})",
            why or f"look at the routes: {_exec(source, 'ip route')}",
        )
    return walk.need(
        not result.ok, f"{_where(source)} cannot reach {address}", f"{_where(source)} can still reach {address}", why
    )


def lo_up(ns: str) -> CheckResult:
    """Notebook 01: ``lo`` is up in ``ns``, so the namespace can talk to itself."""
    walk = _Walk(f"lo is up in {ns}")
    if not _namespace(walk, ns):
        return walk.result
    link = _links(ns)["lo"]
    if walk.need(
        link.up, f"lo in {ns} is UP", f"lo in {ns} is DOWN", f"bring it up: ip netns exec {ns} ip link set lo up"
    ):
        _pings(walk, ns, "127.0.0.1")
    return walk.result


def veth_pair(ns: str, *, outside: str, inside: str, outside_address: str, inside_address: str) -> CheckResult:
    """Notebook 02: a veth pair between the root namespace (``outside``) and ``ns`` (``inside``), pinging."""
    walk = _Walk(f"{outside} <-> {inside} in {ns}, {outside_address} <-> {inside_address}")
    ok = _namespace(walk, ns) and _placed(walk, None, outside, search=[ns]) and _placed(walk, ns, inside, search=[None])
    if ok:
        peer = _links(None)[outside]
        ok = walk.need(
            peer.kind == "veth" and peer.peer is not None and peer.peer.elsewhere,
            f"{outside} is a veth whose peer is in another namespace",
            f"{outside} is a {peer.kind or 'device'} without a peer in another namespace",
            f"create the pair: ip link add {outside} type veth peer name {inside} netns {ns}",
        )
    ok = (
        ok
        and _configured(walk, None, outside, address=outside_address)
        and _configured(walk, ns, inside, address=inside_address)
    )
    if ok:
        _pings(walk, None, inside_address.split("/")[0]) and _pings(walk, ns, outside_address.split("/")[0])
    return walk.result


def bridge_isolated_from_internet(containers: dict[str, str], *, bridge: str, internet: str) -> CheckResult:
    """Challenge: containers on ``bridge`` reach each other but not the ``internet`` address.

    ``containers`` maps namespace name -> its address (without prefix).
    """
    walk = _Walk(f"{', '.join(containers)} on {bridge} reach each other, not {internet}")
    found = _links(None)
    if not walk.need(
        found.get(bridge) is not None and found[bridge].kind == "bridge",
        f"bridge {bridge} exists",
        f"there is no bridge {bridge} in the root namespace",
        f"create it: ip link add {bridge} type bridge; ip link set {bridge} up",
    ):
        return walk.result
    ports = [name for name, link in found.items() if link.master == bridge]
    for name in containers:
        if not _namespace(walk, name):
            return walk.result
    if not walk.need(
        len(ports) >= len(containers),
        f"{len(ports)} ports are plugged into {bridge}",
        f"only {len(ports)} port(s) are plugged into {bridge}",
        f"plug each container's veth end in: ip link set PORT master {bridge} up",
    ):
        return walk.result
    names = list(containers)
    for a, b in zip(names, names[1:] + names[:1], strict=True):
        if not _pings(
            walk,
            a,
            containers[b],
            why=f"check that {a} and {b} have addresses in one subnet and their veths and {bridge} are UP",
        ):
            return walk.result
    for name in names:
        if not _pings(
            walk,
            name,
            internet,
            expect=False,
            why=f"{name} must not reach {internet}: remove its default route "
            f"(ip netns exec {name} ip route del default) or turn forwarding off",
        ):
            return walk.result
    return walk.result


def router_between(left: str, right: str, *, router: str, right_address: str, left_address: str) -> CheckResult:
    """Challenge: ``left`` and ``right`` are in different subnets, joined by a ``router`` namespace."""
    walk = _Walk(f"{left} and {right} talk through {router}")
    for name in (left, right, router):
        if not _namespace(walk, name):
            return walk.result
    if not walk.need(
        sysctl.get("net.ipv4.ip_forward", netns=router) == "1",
        f"{router} forwards packets",
        f"{router} does not forward packets (net.ipv4.ip_forward=0)",
        f"ip netns exec {router} sysctl -w net.ipv4.ip_forward=1",
    ):
        return walk.result
    _pings(
        walk,
        left,
        right_address,
        why=f"{left} needs a route to {right}'s subnet via {router} "
        f"(ip netns exec {left} ip route add default via ROUTER_ADDRESS), and {right} one back",
    ) and _pings(walk, right, left_address, why=f"{right} needs a route back to {left}'s subnet via {router}")
    return walk.result


def nat_to_internet(source: str, *, internet: str, address: str, port: int = 8000) -> CheckResult:
    """Challenge: ``source`` reaches ``address`` in namespace ``internet`` through masquerading NAT."""
    walk = _Walk(f"{source} reaches {address} in {internet} through NAT")
    for name in (source, internet):
        if not _namespace(walk, name):
            return walk.result
    if not walk.need(
        sysctl.get("net.ipv4.ip_forward") == "1",
        "the root namespace forwards packets",
        "the root namespace does not forward packets",
        "sysctl -w net.ipv4.ip_forward=1",
    ):
        return walk.result
    seen = reach.probe(source, address, port, server=internet)
    if walk.need(
        seen.ok,
        f"{source} connects to {address}:{port}",
        f"{source} cannot connect to {address}:{port} ({seen.error})",
        f"check {source}'s default route, and that replies can come back: the internet "
        f"has no route to private addresses, so masquerade them (nft ... masquerade)",
    ):
        saw = seen.seen_from[0] if seen.seen_from else "?"
        sent = seen.local[0] if seen.local else "?"
        walk.need(
            seen.nat,
            f"the server saw {saw}, not {sent}: NAT at work",
            f"the server saw {source}'s own address {saw}: no NAT",
            "masquerade the subnet out of the uplink: nft add table ip nat; nft 'add chain ip nat "
            "postrouting { type nat hook postrouting priority srcnat; }'; nft add rule ip nat postrouting "
            "ip saddr SUBNET oifname UPLINK masquerade",
        )
    return walk.result


# An HTTP GET run with python -c in the client's namespace. No proxy, ever: the request must go
# straight to the lab's address, whatever http_proxy says.
_HTTP_GET = """
import sys, urllib.request as u
try:
    print(u.build_opener(u.ProxyHandler({})).open(sys.argv[1], timeout=2).read().decode(errors="replace"))
except Exception as e:
    print("ERROR", e)
    sys.exit(1)
"""


def port_published(port: int, *, address: str, client: str, expect: str = "") -> CheckResult:
    """Challenge: an HTTP request from ``client`` to ``address:port`` is answered (``expect`` in the body)."""
    walk = _Walk(f"http://{address}:{port}/ answers from {client}")
    if not _namespace(walk, client):
        return walk.result
    result = run(client, [sys.executable, "-c", _HTTP_GET, f"http://{address}:{port}/"], timeout=10)
    answered = walk.need(
        result.returncode == 0,
        f"{client} got an answer from {address}:{port}",
        f"{client} got no answer from {address}:{port}: {result.stdout.strip()[:120]}",
        "is the server running in its namespace, and is the port published "
        "(nft ... dnat to CONTAINER:PORT in the prerouting nat chain)?",
    )
    if answered and expect:
        walk.need(
            expect in result.stdout,
            f"the answer contains {expect!r}",
            f"the answer lacks {expect!r}",
            "is the right server published on that port?",
        )
    return walk.result


def deleted_namespace_holder(answer: int, *, inode: int) -> CheckResult:
    """Challenge: ``answer`` is the pid of a process that keeps namespace ``inode`` alive."""
    walk = _Walk(f"pid {answer} keeps net:[{inode}] alive")
    info = next((ns for ns in inodes.namespaces() if ns.inode == inode), None)
    if (
        not walk.need(
            info is not None,
            f"net:[{inode}] still exists",
            f"net:[{inode}] no longer exists",
            "the namespace is gone: set the challenge up again",
        )
        or info is None
    ):
        return walk.result
    walk.need(
        answer in info.pids,
        f"process {answer} is inside net:[{inode}]",
        f"process {answer} is not inside net:[{inode}]",
        "list every namespace with its processes: lsns -t net, or netlab.namespaces()",
    )
    return walk.result
