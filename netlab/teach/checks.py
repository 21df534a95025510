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
from netlab.enter import run
from netlab.errors import NetlabError
from netlab.model import Interface
from netlab.plumbing.commands import in_netns
from netlab.plumbing.i18n import _
from netlab.targets import Target, in_words

__all__ = [
    "CheckFailedError",
    "CheckResult",
    "bridge_isolated_from_internet",
    "deleted_namespace_holder",
    "expect",
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
        head = (_("✔ done: {exercise}") if self.done else _("✘ not yet: {exercise}")).format(exercise=self.exercise)
        lines = [head] + [f"  {'✔' if ok else '✘'} {text}" for text, ok in self.steps]
        if self.hint and not self.done:
            lines.append(_("  hint: {hint}").format(hint=self.hint))
        return "\n".join(lines)

    def _repr_pretty_(self, printer, cycle) -> None:  # IPython shows the text, not the dataclass
        printer.text(str(self))


class CheckFailedError(NetlabError, AssertionError):
    """A lesson's "check your work" cell found something other than what the lesson expects."""


def expect(what: str, found: object, expected: object, *, hint: str = "") -> None:
    """A lesson's check, where a bare ``assert`` would say nothing: silent when ``found == expected``.

    Otherwise it stops the cell with one line in the learner's language, saying what was checked,
    what was expected and what was found, and a hint::

        >>> checks.expect(lesson.say("the namespaces"), netns.list(), ["netns2"])
        netlab: ✘ the namespaces: expected ['netns2'], found []
          hint: this check looks at the kernel now: run the lesson's cells above it again, from the top

    ``what`` is already in the learner's language (``lesson.say(...)`` in a notebook).
    """
    if found == expected:
        return
    raise CheckFailedError(
        _("✘ {what}: expected {expected!r}, found {found!r}").format(what=what, expected=expected, found=found),
        hint=hint or _("this check looks at the kernel now: run the lesson's cells above it again, from the top"),
        subject=found,
    )


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
    return _("the root namespace") if ns is None else in_words(ns)


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
            _("{path} is a stale file, not a namespace").format(path=netns.path(name)),
            _("remove it and create the namespace again: ip netns delete {name}; ip netns add {name}").format(
                name=name
            ),
        )
    return walk.need(
        name in netns.list(),
        _("namespace {name} exists").format(name=name),
        _("namespace {name} does not exist").format(name=name),
        _("create it: ip netns add {name}").format(name=name),
    )


def _placed(walk: _Walk, ns: Target, dev: str, *, search: Sequence[Target] = ()) -> bool:
    """The device exists in ``ns`` (and if it is elsewhere, say where and how to move it)."""
    if dev in _links(ns):
        return walk.need(True, _("{dev} is in {where}").format(dev=dev, where=_where(ns)), "", "")
    elsewhere = next((other for other in search if other != ns and dev in _links(other)), "missing")
    if elsewhere != "missing":
        # `ip link set ... netns` takes a name, or the pid of a process in the target: this one, for the root.
        to = ns if ns is not None else os.getpid()
        return walk.need(
            False,
            "",
            _("{dev} exists in {elsewhere} but should be in {where}").format(
                dev=dev, elsewhere=_where(elsewhere), where=_where(ns)
            ),
            _("move it: {command}").format(command=_exec(elsewhere, f"ip link set {dev} netns {to}")),
        )
    return walk.need(
        False,
        "",
        _("there is no device {dev} in {where}").format(dev=dev, where=_where(ns)),
        _("create it, e.g. ip link add {dev} type veth peer name PEER").format(dev=dev),
    )


def _configured(walk: _Walk, ns: Target, dev: str, *, address: str | None = None) -> bool:
    """The device (already placed) has ``address`` and is up."""
    link = _links(ns)[dev]
    if address is not None:
        have = [str(a) for a in link.addresses]
        if not walk.need(
            address in have,
            _("{dev} has {address}").format(dev=dev, address=address),
            _("{dev} in {where} has {have}, not {address}").format(
                dev=dev, where=_where(ns), have=", ".join(have) or _("no address"), address=address
            ),
            _("add it: {command}").format(command=_exec(ns, f"ip addr add {address} dev {dev}")),
        ):
            return False
    return walk.need(
        link.up,
        _("{dev} is UP").format(dev=dev),
        _("{dev} in {where} is DOWN").format(dev=dev, where=_where(ns)),
        _("bring it up: {command}").format(command=_exec(ns, f"ip link set {dev} up")),
    )


def _pings(walk: _Walk, source: Target, address: str, *, expect: bool = True, why: str = "") -> bool:
    # Several pings, 0.2 s apart: a link that just came up may need a moment (the kernel's linkwatch).
    result = reach.ping(source, address, count=5, timeout=1.0, interval=0.2)
    if expect:
        return walk.need(
            result.ok,
            _("{where} reaches {address}").format(where=_where(source), address=address),
            _("{where} cannot reach {address} ({error})").format(
                where=_where(source), address=address, error=result.error or _("no reply")
            ),
            why or _("look at the routes: {command}").format(command=_exec(source, "ip route")),
        )
    return walk.need(
        not result.ok,
        _("{where} cannot reach {address}").format(where=_where(source), address=address),
        _("{where} can still reach {address}").format(where=_where(source), address=address),
        why,
    )


def lo_up(ns: str) -> CheckResult:
    """Notebook 01: ``lo`` is up in ``ns``, so the namespace can talk to itself."""
    walk = _Walk(_("lo is up in {ns}").format(ns=ns))
    if not _namespace(walk, ns):
        return walk.result
    link = _links(ns)["lo"]
    if walk.need(
        link.up,
        _("lo in {ns} is UP").format(ns=ns),
        _("lo in {ns} is DOWN").format(ns=ns),
        _("bring it up: ip netns exec {ns} ip link set lo up").format(ns=ns),
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
            _("{outside} is a veth whose peer is in another namespace").format(outside=outside),
            _("{outside} is a {kind} without a peer in another namespace").format(
                outside=outside, kind=peer.kind or _("device")
            ),
            _("create the pair: ip link add {outside} type veth peer name {inside} netns {ns}").format(
                outside=outside, inside=inside, ns=ns
            ),
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
    walk = _Walk(
        _("{containers} on {bridge} reach each other, not {internet}").format(
            containers=", ".join(containers), bridge=bridge, internet=internet
        )
    )
    found = _links(None)
    if not walk.need(
        found.get(bridge) is not None and found[bridge].kind == "bridge",
        _("bridge {bridge} exists").format(bridge=bridge),
        _("there is no bridge {bridge} in the root namespace").format(bridge=bridge),
        _("create it: ip link add {bridge} type bridge; ip link set {bridge} up").format(bridge=bridge),
    ):
        return walk.result
    ports = [name for name, link in found.items() if link.master == bridge]
    for name in containers:
        if not _namespace(walk, name):
            return walk.result
    if not walk.need(
        len(ports) >= len(containers),
        _("{count} ports are plugged into {bridge}").format(count=len(ports), bridge=bridge),
        _("only {count} port(s) are plugged into {bridge}").format(count=len(ports), bridge=bridge),
        _("plug each container's veth end in: ip link set PORT master {bridge} up").format(bridge=bridge),
    ):
        return walk.result
    names = list(containers)
    for a, b in zip(names, names[1:] + names[:1], strict=True):
        if not _pings(
            walk,
            a,
            containers[b],
            why=_("check that {a} and {b} have addresses in one subnet and their veths and {bridge} are UP").format(
                a=a, b=b, bridge=bridge
            ),
        ):
            return walk.result
    for name in names:
        if not _pings(
            walk,
            name,
            internet,
            expect=False,
            why=_(
                "{name} must not reach {internet}: remove its default route "
                "(ip netns exec {name} ip route del default) or turn forwarding off"
            ).format(name=name, internet=internet),
        ):
            return walk.result
    return walk.result


def router_between(left: str, right: str, *, router: str, right_address: str, left_address: str) -> CheckResult:
    """Challenge: ``left`` and ``right`` are in different subnets, joined by a ``router`` namespace."""
    walk = _Walk(_("{left} and {right} talk through {router}").format(left=left, right=right, router=router))
    for name in (left, right, router):
        if not _namespace(walk, name):
            return walk.result
    if not walk.need(
        sysctl.get("net.ipv4.ip_forward", netns=router) == "1",
        _("{router} forwards packets").format(router=router),
        _("{router} does not forward packets (net.ipv4.ip_forward=0)").format(router=router),
        f"ip netns exec {router} sysctl -w net.ipv4.ip_forward=1",
    ):
        return walk.result
    _pings(
        walk,
        left,
        right_address,
        why=_(
            "{left} needs a route to {right}'s subnet via {router} "
            "(ip netns exec {left} ip route add default via ROUTER_ADDRESS), and {right} one back"
        ).format(left=left, right=right, router=router),
    ) and _pings(
        walk,
        right,
        left_address,
        why=_("{right} needs a route back to {left}'s subnet via {router}").format(
            right=right, left=left, router=router
        ),
    )
    return walk.result


def nat_to_internet(source: str, *, internet: str, address: str, port: int = 8000) -> CheckResult:
    """Challenge: ``source`` reaches ``address`` in namespace ``internet`` through masquerading NAT."""
    walk = _Walk(
        _("{source} reaches {address} in {internet} through NAT").format(
            source=source, address=address, internet=internet
        )
    )
    for name in (source, internet):
        if not _namespace(walk, name):
            return walk.result
    if not walk.need(
        sysctl.get("net.ipv4.ip_forward") == "1",
        _("the root namespace forwards packets"),
        _("the root namespace does not forward packets"),
        "sysctl -w net.ipv4.ip_forward=1",
    ):
        return walk.result
    seen = reach.probe(source, address, port, server=internet)
    if walk.need(
        seen.ok,
        _("{source} connects to {address}:{port}").format(source=source, address=address, port=port),
        _("{source} cannot connect to {address}:{port} ({error})").format(
            source=source, address=address, port=port, error=seen.error
        ),
        _(
            "check {source}'s default route, and that replies can come back: the internet "
            "has no route to private addresses, so masquerade them (nft ... masquerade)"
        ).format(source=source),
    ):
        saw = seen.seen_from[0] if seen.seen_from else "?"
        sent = seen.local[0] if seen.local else "?"
        walk.need(
            seen.nat,
            _("the server saw {saw}, not {sent}: NAT at work").format(saw=saw, sent=sent),
            _("the server saw {source}'s own address {saw}: no NAT").format(source=source, saw=saw),
            _("masquerade the subnet out of the uplink: {command}").format(
                command="nft add table ip nat; nft 'add chain ip nat "
                "postrouting { type nat hook postrouting priority srcnat; }'; nft add rule ip nat postrouting "
                "ip saddr SUBNET oifname UPLINK masquerade"
            ),
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
    walk = _Walk(_("http://{address}:{port}/ answers from {client}").format(address=address, port=port, client=client))
    if not _namespace(walk, client):
        return walk.result
    result = run(client, [sys.executable, "-c", _HTTP_GET, f"http://{address}:{port}/"], timeout=10)
    answered = walk.need(
        result.returncode == 0,
        _("{client} got an answer from {address}:{port}").format(client=client, address=address, port=port),
        _("{client} got no answer from {address}:{port}: {output}").format(
            client=client, address=address, port=port, output=result.stdout.strip()[:120]
        ),
        _(
            "is the server running in its namespace, and is the port published "
            "(nft ... dnat to CONTAINER:PORT in the prerouting nat chain)?"
        ),
    )
    if answered and expect:
        walk.need(
            expect in result.stdout,
            _("the answer contains {expect}").format(expect=repr(expect)),
            _("the answer lacks {expect}").format(expect=repr(expect)),
            _("is the right server published on that port?"),
        )
    return walk.result


def deleted_namespace_holder(answer: int, *, inode: int) -> CheckResult:
    """Challenge: ``answer`` is the pid of a process that keeps namespace ``inode`` alive."""
    walk = _Walk(_("pid {answer} keeps net:[{inode}] alive").format(answer=answer, inode=inode))
    info = next((ns for ns in inodes.namespaces() if ns.inode == inode), None)
    if (
        not walk.need(
            info is not None,
            _("net:[{inode}] still exists").format(inode=inode),
            _("net:[{inode}] no longer exists").format(inode=inode),
            _("the namespace is gone: set the challenge up again"),
        )
        or info is None
    ):
        return walk.result
    walk.need(
        answer in info.pids,
        _("process {answer} is inside net:[{inode}]").format(answer=answer, inode=inode),
        _("process {answer} is not inside net:[{inode}]").format(answer=answer, inode=inode),
        _("list every namespace with its processes: lsns -t net, or netlab.namespaces()"),
    )
    return walk.result
