"""Is it connected? ``ping`` from any namespace, and a TCP/UDP probe that shows who the far side saw.

``ping`` is the article's test: ``ip netns exec netns1 ping 10.1.1.2``. netlab runs the real
``ping`` in the namespace and reads its summary into numbers::

    >>> ping("netns1", "10.1.1.2", count=3)
    ping 10.1.1.2 from netns1: 3/3 received, 0% loss, rtt min/avg/max 0.031/0.045/0.060 ms

A ping says "a packet got there and back", not *how*. ``probe`` opens a real connection: it
starts a tiny listener inside the server's namespace, connects from the source namespace, and
reports the source address the listener saw. Through NAT the two differ, and that is the
lesson: the "internet" namespace sees the router's public address, never 10.x::

    >>> probe("ns1", "203.0.113.1", 80, server="internet")
    tcp 10.0.0.2:40312 -> 203.0.113.1:80: connected; the server saw 203.0.113.2:40312 (NAT rewrote the source)

By hand that is ``ip netns exec internet nc -l 80`` in one shell and
``ip netns exec ns1 nc 203.0.113.1 80`` in another, with ``ss -tn`` to read the peer.

IPv6 adds one wait before the first ping. A link that comes up gets a link-local address
(``fe80::/64``) by itself, and every new IPv6 address is *tentative* at first: duplicate address
detection (DAD) asks the link whether someone else has it, and only after a second or so of
silence does the kernel use it. ``wait_for_dad`` waits for that::

    ip -6 addr show dev veth0 tentative        wait_for_dad("veth0")     (until it prints nothing)

Only literal IP addresses are accepted (no host names, no DNS): a lab talks to itself only.
"""

from __future__ import annotations

import ipaddress
import math
import re
import socket
import time
from dataclasses import dataclass
from typing import Any

from netlab.enter import call, run
from netlab.errors import DeviceError, DeviceExistsError, InvalidAddressError, reason
from netlab.links import address as parse_address
from netlab.names import check_ifname
from netlab.plumbing.commands import emit, in_netns, ip
from netlab.plumbing.i18n import _
from netlab.rtnl import ifindex, rtnl
from netlab.targets import Target, in_words

__all__ = ["PingResult", "ProbeResult", "ping", "probe", "wait_for_dad"]

_SUMMARY = re.compile(r"(\d+) packets transmitted, (\d+) (?:packets )?received")
_RTT = re.compile(r"= ([\d.]+)/([\d.]+)/([\d.]+)(?:/([\d.]+))? ms")


def _name(target: Target) -> str:
    return _("the current namespace") if target is None else (target if isinstance(target, str) else in_words(target))


@dataclass
class PingResult:
    """What ``ping -c COUNT`` reported: packets sent and received, loss, round-trip times (ms)."""

    source: str
    address: str
    sent: int
    received: int
    loss: float  # percent, 0.0 to 100.0
    rtt_min: float | None = None
    rtt_avg: float | None = None
    rtt_max: float | None = None
    error: str | None = None  # ping's own complaint, e.g. "connect: Network is unreachable"
    output: str = ""

    @property
    def ok(self) -> bool:
        """At least one reply came back."""
        return self.received > 0

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        head = _("ping {address} from {source}").format(address=self.address, source=self.source)
        if self.error and not self.sent:
            return _("{head}: failed: {error}").format(head=head, error=self.error)
        text = _("{head}: {received}/{sent} received, {loss:g}% loss").format(
            head=head, received=self.received, sent=self.sent, loss=self.loss
        )
        if self.rtt_avg is not None:
            text += _(", rtt min/avg/max {min:.3f}/{avg:.3f}/{max:.3f} ms").format(
                min=self.rtt_min, avg=self.rtt_avg, max=self.rtt_max
            )
        if not self.ok:
            text += _(" (no reply: {error})").format(error=self.error) if self.error else _(" (no reply)")
        return text


def parse_ping(output: str, *, source: str, address: str) -> PingResult:
    """Read ping's summary lines (iputils and busybox forms)."""
    summary = _SUMMARY.search(output)
    if not summary:
        error = next((line.strip() for line in output.splitlines() if line.strip()), _("no output"))
        return PingResult(source, address, 0, 0, 100.0, error=error, output=output)
    sent, received = int(summary.group(1)), int(summary.group(2))
    result = PingResult(
        source, address, sent, received, 100.0 * (sent - received) / sent if sent else 100.0, output=output
    )
    rtt = _RTT.search(output)
    if rtt:
        result.rtt_min, result.rtt_avg, result.rtt_max = (float(rtt.group(i)) for i in (1, 2, 3))
    errors = [line.strip() for line in output.splitlines() if "unreachable" in line.lower()]
    if errors and not result.ok:
        result.error = errors[0]
    return result


def ping(source: Target, address: str, *, count: int = 1, timeout: float = 1.0, interval: float = 0.2) -> PingResult:
    """``ip netns exec SOURCE ping -c COUNT -W TIMEOUT ADDRESS``, as a structured result.

    ``source`` is a namespace name, Path, pid, or None for the current namespace. It waits
    at most about ``count * interval + timeout`` seconds. A failed ping is a result
    (``ok`` is False), not an exception; a bad address or a missing namespace raises.
    """
    target = parse_address(address)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise InvalidAddressError(
            _("count must be a positive int, not {count!r}").format(count=count), hint=_("e.g. count=3"), subject=count
        )
    argv = ["ping", "-n", "-c", str(count), "-W", f"{max(timeout, 0.001):g}", "-i", f"{interval:g}", str(target)]
    proc = run(source, argv, timeout=count * max(interval, 0.2) + timeout + 5)
    emit(in_netns(source, argv))
    return parse_ping(proc.stdout + proc.stderr, source=_name(source), address=str(target))


@dataclass
class ProbeResult:
    """One TCP connection or UDP datagram, from ``source`` to ``address:port``, seen from both ends."""

    proto: str
    source: str
    address: str
    port: int
    server: str
    ok: bool
    local: tuple[str, int] | None = None  # the source address and port, as the client knows them
    seen_from: tuple[str, int] | None = None  # the source address and port, as the server saw them
    error: str | None = None

    @property
    def nat(self) -> bool:
        """True when the server saw another source address than the client used: NAT at work."""
        return bool(self.ok and self.local and self.seen_from and self.local[0] != self.seen_from[0])

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        local = f"{self.local[0]}:{self.local[1]}" if self.local else self.source
        head = f"{self.proto} {local} -> {self.address}:{self.port}"
        if not self.ok:
            return _("{head}: failed: {error}").format(head=head, error=self.error)
        seen = f"{self.seen_from[0]}:{self.seen_from[1]}" if self.seen_from else "?"
        verb = _("connected") if self.proto == "tcp" else _("delivered")
        why = _(" (NAT rewrote the source)") if self.nat else ""
        return _("{head}: {verb}; the server in {server} saw {seen}{why}").format(
            head=head, verb=verb, server=self.server, seen=seen, why=why
        )


def _listen(proto: str, family: int, bind: str, port: int, server: Target) -> socket.socket:
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    sock = socket.socket(family, kind)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((bind, port))
        if proto == "tcp":
            sock.listen(1)
    except OSError as exc:
        sock.close()
        if exc.errno in (98, 99):  # EADDRINUSE, EADDRNOTAVAIL
            raise DeviceExistsError(
                _("cannot listen on {address}:{port}/{proto} in {where}: {reason}").format(
                    address=bind or "*", port=port, proto=proto, where=in_words(server), reason=reason(exc)
                ),
                hint=_(
                    "pick another port (server_port=), or stop what already listens there "
                    "(`ss -ltnu` in that namespace)"
                ),
                subject=port,
                errno=exc.errno,
            ) from None
        raise
    return sock


def _listen_address(bind: str | None, target: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """Where the listener listens: ``bind``, an address of ``target``'s family, or every address."""
    if not bind:
        return "::" if target.version == 6 else "0.0.0.0"
    address = parse_address(bind)
    if address.version != target.version:
        raise InvalidAddressError(
            _("bind={bind!r} is an IPv{bound} address, but {target} is IPv{version}").format(
                bind=bind, bound=address.version, target=target, version=target.version
            ),
            hint=_("bind to an address of the same family, or leave bind out (every address)"),
            subject=bind,
        )
    return str(address)


def _check_timeout(timeout: object) -> None:
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < math.inf:
        raise InvalidAddressError(
            _("timeout must be a positive number of seconds, not {timeout!r}").format(timeout=timeout),
            hint="timeout=2",
            subject=timeout,
        )


def probe(
    source: Target,
    address: str,
    port: int,
    *,
    server: Target,
    server_port: int | None = None,
    proto: str = "tcp",
    bind: str | None = None,
    timeout: float = 2.0,
) -> ProbeResult:
    """Connect from ``source`` to ``address:port`` and report what the listener in ``server`` saw.

    The listener listens on ``server_port`` (default: ``port``) in namespace ``server``, bound
    to ``bind`` (default: every address). With port publishing (DNAT), ``port`` is the public
    port and ``server_port`` the service's. ``proto`` is ``"tcp"`` or ``"udp"``.
    """
    target = parse_address(address)
    listen_on = _listen_address(bind, target)
    _check_timeout(timeout)
    if proto not in ("tcp", "udp"):
        raise InvalidAddressError(
            _("proto must be 'tcp' or 'udp', not {proto!r}").format(proto=proto), hint="proto='tcp'", subject=proto
        )
    for value in (port, server_port):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 65536):
            raise InvalidAddressError(
                _("{value!r} is not a port number").format(value=value), hint=_("use 1 to 65535"), subject=value
            )
    family = socket.AF_INET6 if target.version == 6 else socket.AF_INET
    listen_port = server_port or port
    listener = call(server, _listen, proto, family, listen_on, listen_port, server)
    result = ProbeResult(proto, _name(source), str(target), port, _name(server), ok=False)
    try:
        kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
        client = call(source, socket.socket, family, kind)  # a socket made inside `source` stays there
        try:
            client.settimeout(timeout)
            listener.settimeout(timeout)
            message = b"netlab probe\n"
            if proto == "tcp":
                client.connect((str(target), port))
                result.local = client.getsockname()[:2]
                conn, peer = listener.accept()
                with conn:
                    client.sendall(message)
                    conn.settimeout(timeout)
                    conn.recv(len(message))
            else:
                client.connect((str(target), port))  # UDP: fixes the route and the source address
                result.local = client.getsockname()[:2]
                client.send(message)
                _data, peer = listener.recvfrom(len(message))
            result.seen_from = (peer[0], peer[1])
            result.ok = True
        except TimeoutError:
            result.error = _("timed out after {timeout:g} s (no route back? a firewall? forwarding off?)").format(
                timeout=timeout
            )
        except OSError as exc:
            result.error = reason(exc)
        finally:
            client.close()
    finally:
        listener.close()
    tool = ["nc"] + (["-u"] if proto == "udp" else [])
    emit(in_netns(server, tool + ["-l", str(listen_port)]), note=_("the listener: run it in another shell first"))
    emit(in_netns(source, tool + ["-w", f"{timeout:g}", str(target), str(port)]))
    return result


# -- IPv6: is the address ready? ----------------------------------------------------------------

IFF_UP, IFF_LOWER_UP = 0x1, 0x10000  # administratively up; the carrier (a veth: its other end is up too)
RT_SCOPE_LINK = 253
IFA_F_DADFAILED = 0x08  # another device on the link answered for the address: never used
IFA_F_TENTATIVE = 0x40  # duplicate address detection still running


def _dad_states(ipr: Any, name: str, target: Target) -> tuple[bool, list[str], list[str]]:
    """(running with a usable link-local address, still tentative, DAD failed), as ``ip -6 addr`` flags them."""
    index = ifindex(ipr, name, target)
    running = all(link["flags"] & IFF_UP and link["flags"] & IFF_LOWER_UP for link in ipr.link("get", index=index))
    local, waiting, failed = False, [], []
    for msg in ipr.addr("dump", family=socket.AF_INET6):
        if msg["index"] != index:
            continue
        flags = msg.get("IFA_FLAGS") or msg["flags"]  # the 32-bit attribute, else the header's 8 bits
        cidr = f"{msg.get('address')}/{msg['prefixlen']}"
        if flags & IFA_F_DADFAILED:
            failed.append(cidr)
        elif flags & IFA_F_TENTATIVE:
            waiting.append(cidr)
        elif msg["scope"] == RT_SCOPE_LINK:
            local = True
    return running and local, waiting, failed


def wait_for_dad(name: str, *, netns: Target = None, timeout: float = 20.0) -> list[str]:
    """Wait until NAME's IPv6 addresses are ready: its link-local one made, and DAD over for all.

    A link that comes up gets a link-local address (``fe80::/64``) by itself, a moment later (the
    kernel waits for the carrier: a veth has one when both ends are up). Every new IPv6 address
    is *tentative* at first: duplicate address detection (DAD) sends a neighbour solicitation
    for it from the unspecified address ``::``, and the kernel uses the address only if nobody
    answers (about a second, after a random delay of up to one more). Meanwhile ``ip -6 addr``
    prints ``tentative`` and the address cannot be used: a ping from it fails. By hand::

        while ip -6 addr show dev NAME tentative | grep -q inet6; do sleep 0.1; done

    Returns the addresses whose DAD *failed* (``dadfailed``: another device on the link already
    has them; the kernel will never use them), so ``[]`` means all is well. A link that is down,
    or a veth whose other end is down, never gets there: that raises ``DeviceError`` after
    ``timeout``. (``links.add_address`` skips DAD, ``nodad``, unless ``dad=True``.) On a machine
    busy making and deleting namespaces, DAD has been seen to take more than 5 s: hence a generous
    default; a ready link still returns in a second or two.
    """
    check_ifname(name)
    _check_timeout(timeout)
    deadline = time.monotonic() + timeout
    while True:
        ready, waiting, failed = rtnl(netns, lambda ipr: _dad_states(ipr, name, netns))
        if ready and not waiting:
            emit(ip(netns, "-6", "addr", "show", "dev", name, "tentative"), note=_("until it prints nothing"))
            return failed
        if time.monotonic() >= deadline:
            where = in_words(netns)
            if waiting:
                problem = _("{addresses} on {name!r} in {where} still tentative after {timeout:g} s").format(
                    addresses=", ".join(waiting), name=name, where=where, timeout=timeout
                )
            else:
                problem = _("{name!r} in {where} has no IPv6 link-local address after {timeout:g} s").format(
                    name=name, where=where, timeout=timeout
                )
            raise DeviceError(
                problem,
                hint=_("DAD runs only on a link that is up: bring up {name!r} and the device at its other end").format(
                    name=name
                ),
                subject=name,
            )
        time.sleep(0.05)  # DAD takes a second or two: look again soon
