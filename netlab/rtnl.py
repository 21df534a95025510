"""How netlab talks to the kernel: a netlink socket opened *inside* the namespace it talks to.

``ip -n netns1 link`` does two things: it enters netns1 (``setns``), then opens a netlink socket
(``socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)``) and sends requests such as RTM_NEWLINK. A
socket belongs to the namespace its creator was in when it was made, for its whole life, so
netlab does the same in its worker thread (``netlab.enter.call``): enter the namespace, open a
pyroute2 ``IPRoute`` socket there, send the requests, close it::

    rtnl("netns1", lambda ipr: ipr.link("set", index=2, state="up"))   # ip -n netns1 link set ... up

Three pyroute2 pitfalls this avoids:

* ``IPRoute(netns="x")`` silently *creates* a missing namespace x, and takes a name with ``/``
  as a path relative to the current directory;
* the synchronous ``IPRoute`` runs its own asyncio loop, and fails with "This event loop is
  already running" in a Jupyter cell; in netlab's worker thread no loop is running;
* an open socket *holds* its namespace: ``ip netns delete`` would leave it alive (and its veth
  ends with it). So sockets are short-lived; a ``Rtnl`` session that keeps one open (a Lab's
  bulk build) must be closed before its namespace is deleted.

Kernel errors come back as ``NetlinkError(errno, message)``, the message being the kernel's own
sentence when it gave one (the *extended ack*, which ``ext_ack=True`` asks for); ``error()`` turns
them into a ``NetlabError`` that names the object, the namespace and what to do next, quoting the
kernel in the learner's language (``errors.reason``, ``errors.kernel_words``).

For hundreds of requests in a row (``Lab.star``) there is a second way, at the end of this
module: the requests written with ``struct`` (``veth_request``, ``address_request`` ...) and
sent many to one ``sendmsg`` (``send_batch``): what ``ip -batch`` does, without its process.
"""

from __future__ import annotations

import errno
import ipaddress
import itertools
import os
import socket
import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple, TypeVar

from netlab.enter import call, netns_file
from netlab.errors import (
    DeviceError,
    DeviceExistsError,
    DeviceNotFoundError,
    NetlabError,
    kernel_words,
    permission_error,
    reason,
)
from netlab.plumbing.i18n import _
from netlab.plumbing.netlink_socket import (
    NETLINK_ROUTE,
    NLM_F_REQUEST,
    NLMSG_ERROR,
    NLMSG_HDR,
    NetlinkSocket,
    kernel_error,
    replies,
)
from netlab.plumbing.threads import run_in_worker
from netlab.targets import NEW, Target, in_words

__all__ = [
    "Request",
    "Rtnl",
    "address_request",
    "default_route_request",
    "delete_link_request",
    "error",
    "find",
    "get_link_request",
    "ifindex",
    "kernel_call",
    "open_netns",
    "open_socket",
    "rtnl",
    "send_batch",
    "set_link_request",
    "veth_request",
]

T = TypeVar("T")


def _open():
    from pyroute2 import IPRoute  # heavy: imported on first use, so `import netlab` stays quick

    return IPRoute(groups=0, ext_ack=True)  # groups=0: no event subscriptions, replies only


def rtnl(target: Target, fn: Callable[[Any], T]) -> T:
    """Open a netlink socket inside ``target``, run ``fn(ipr)`` with it, close it."""

    def inside() -> T:
        ipr = _open()
        try:
            return fn(ipr)
        finally:
            ipr.close()

    return call(target, inside)


class Rtnl:
    """A netlink socket kept open inside one namespace, for many requests in a row.

    Every request still runs in the worker thread (pyroute2's loop must not meet Jupyter's);
    ``close()`` it before the namespace is deleted, or the socket keeps the namespace alive.
    """

    def __init__(self, target: Target):
        self.target = target
        self._ipr = call(target, _open)

    def __call__(self, fn: Callable[..., T], *args: Any) -> T:
        if self._ipr is None:
            raise RuntimeError(_("this netlink session is closed"))
        return run_in_worker(fn, self._ipr, *args)

    @property
    def ipr(self) -> Any:
        """The pyroute2 socket itself, for code already running in the worker thread."""
        if self._ipr is None:
            raise RuntimeError(_("this netlink session is closed"))
        return self._ipr

    def close(self) -> None:
        if self._ipr is not None:
            ipr, self._ipr = self._ipr, None
            run_in_worker(ipr.close)

    def __enter__(self) -> Rtnl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def open_netns(target: Target) -> Iterator[int]:
    """An open file descriptor of ``target``'s namespace, as IFLA_NET_NS_FD wants it."""
    if target is NEW:
        raise TypeError(_("a device cannot be sent to NEW: create the namespace first with netns.add()"))
    file = netns_file(target)
    fd = os.open(file if file is not None else "/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        yield fd
    finally:
        os.close(fd)


def find(ipr: Any, name: str) -> Any | None:
    """The RTM_NEWLINK message of device ``name``, or None (an RTM_GETLINK request by name)."""
    from pyroute2.netlink.exceptions import NetlinkError

    try:
        return ipr.link("get", ifname=name)[0]
    except NetlinkError as exc:
        if exc.code == errno.ENODEV:
            return None
        raise


def ifindex(ipr: Any, name: str, target: Target) -> int:
    """The index of device ``name``, or a DeviceNotFoundError that says where we looked."""
    link = find(ipr, name)
    if link is None:
        raise DeviceNotFoundError(
            _("there is no device {name!r} in {where}").format(name=name, where=in_words(target)),
            hint=_("list the devices there with links.list({target}) or `{command}`").format(
                target="" if target is None else repr(target), command=" ".join(_ip_br(target))
            ),
            subject=name,
            errno=errno.ENODEV,
        )
    return link["index"]


def _ip_br(target: Target) -> list[str]:
    from netlab.plumbing.commands import ip

    return ip(target, "-br", "link")


_NOT_FOUND = {errno.ENODEV, errno.EADDRNOTAVAIL, errno.ESRCH, errno.ENOENT}


def error(exc: Exception, *, action: str, subject: object, hint: str = "") -> NetlabError:
    """Turn the kernel's answer to ``action`` into a NetlabError naming ``subject``."""
    code = getattr(exc, "code", None) or getattr(exc, "errno", None) or 0
    said = exc.args[1] if len(exc.args) > 1 else str(exc)
    # The system's words for the errno, or the kernel's own sentence (its extended ack): each in the learner's language.
    said = kernel_words(reason(OSError(code, said)))
    message = _("cannot {action}: the kernel says {said!r} ({code})").format(
        action=action, said=said, code=errno.errorcode.get(code, code)
    )
    if code in (errno.EPERM, errno.EACCES):
        return permission_error(action, OSError(code, said))
    if code == errno.EEXIST:
        return DeviceExistsError(
            message, hint=hint or _("pick another name or remove the old one first"), subject=subject, errno=code
        )
    if code in _NOT_FOUND:
        return DeviceNotFoundError(
            message, hint=hint or _("check the name and the namespace"), subject=subject, errno=code
        )
    return DeviceError(message, hint=hint, subject=subject, errno=code)


def kernel_call(action: str, subject: object, fn: Callable[[], T], *, hints: dict[int, str] | None = None) -> T:
    """Run one netlink request; a NetlinkError becomes a NetlabError (hint chosen by errno)."""
    from pyroute2.netlink.exceptions import NetlinkError

    try:
        return fn()
    except NetlinkError as exc:
        raise error(exc, action=action, subject=subject, hint=(hints or {}).get(exc.code, "")) from None


# -- many requests at once: ``ip -batch`` without the process ------------------------------------
#
# ``ip -batch FILE`` reads one command per line and sends one netlink request for each, over
# one socket. netlab can do better still: the kernel reads *every* message in one ``sendmsg``
# buffer, one after the other, so a whole namespace's worth of requests (or a whole star's)
# is one system call. Each request is a 16-byte ``nlmsghdr``, a fixed struct and attributes,
# written here with ``struct`` (pyroute2 builds the same bytes, but through a general encoder
# that costs 0.1-0.5 ms per message: more than the kernel's own work). Only the last request
# of a buffer asks for an acknowledgement (NLM_F_ACK): a failing request is answered with an
# error anyway, and the kernel handles them in order, so when the last one's ack arrives every
# earlier answer is already there.

RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK, RTM_NEWADDR, RTM_NEWROUTE = 16, 17, 18, 20, 24
NLM_F_ACK, NLM_F_EXCL, NLM_F_CREATE = 0x4, 0x200, 0x400
IFLA_ADDRESS, IFLA_IFNAME, IFLA_MASTER, IFLA_LINKINFO, IFLA_IFALIAS, IFLA_NET_NS_FD = 1, 3, 10, 18, 20, 28
IFLA_INFO_KIND, IFLA_INFO_DATA, VETH_INFO_PEER = 1, 2, 1
IFA_ADDRESS, IFA_LOCAL, IFA_F_NODAD = 1, 2, 0x02
RTA_GATEWAY, RT_TABLE_MAIN, RTPROT_BOOT, RTN_UNICAST = 5, 254, 3, 1
IFF_UP = 0x1
_IFINFO = struct.Struct("=BxHiII")  # ifinfomsg: family, type, index, flags, change
_IFADDR = struct.Struct("=BBBBI")  # ifaddrmsg: family, prefixlen, flags, scope, index
_RTMSG = struct.Struct("=BBBBBBBBI")  # rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags
_seq = itertools.count(1)


class Request(NamedTuple):
    """One rtnetlink request, not sent yet: its type, flags and body (without the header)."""

    type: int
    flags: int
    body: bytes
    action: str  # for an error message: "create veth pair 'v-ns1'/'eth0'"
    subject: str


def _attr(kind: int, value: bytes) -> bytes:
    """One attribute: length (header included, padding not), type, value, padding to 4 bytes."""
    size = 4 + len(value)
    return struct.pack("=HH", size, kind) + value + b"\0" * (-size & 3)


def _name(name: str) -> bytes:
    return name.encode() + b"\0"


def _mac(mac: str) -> bytes:
    return bytes.fromhex(mac.replace(":", ""))


def _family(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> int:
    return socket.AF_INET if ip.version == 4 else socket.AF_INET6


def veth_request(
    name: str, peer: str, *, peer_netns_fd: int, mac: str, peer_mac: str, master: int | None = None, up: bool = False
) -> Request:
    """``ip link add NAME [master M] [up] address MAC type veth peer name PEER address MAC netns FD``."""
    peer_body = _IFINFO.pack(0, 0, 0, 0, 0) + _attr(IFLA_IFNAME, _name(peer)) + _attr(IFLA_ADDRESS, _mac(peer_mac))
    peer_body += _attr(IFLA_NET_NS_FD, struct.pack("=I", peer_netns_fd))
    info = _attr(IFLA_INFO_KIND, b"veth\0") + _attr(IFLA_INFO_DATA, _attr(VETH_INFO_PEER, peer_body))
    body = _IFINFO.pack(0, 0, 0, IFF_UP if up else 0, IFF_UP if up else 0)
    body += _attr(IFLA_IFNAME, _name(name)) + _attr(IFLA_ADDRESS, _mac(mac))
    if master is not None:
        body += _attr(IFLA_MASTER, struct.pack("=I", master))
    body += _attr(IFLA_LINKINFO, info)
    flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL
    return Request(RTM_NEWLINK, flags, body, _("create veth pair {name!r}/{peer!r}").format(name=name, peer=peer), name)


def set_link_request(
    *, name: str | None = None, index: int = 0, up: bool | None = None, alias: str | None = None
) -> Request:
    """``ip link set {NAME | index I} [up] [alias ALIAS]``: a device is found by index, or else by name."""
    body = _IFINFO.pack(0, 0, index, IFF_UP if up else 0, 0 if up is None else IFF_UP)
    if not index and name is not None:
        body += _attr(IFLA_IFNAME, _name(name))
    if alias is not None:
        body += _attr(IFLA_IFALIAS, alias.encode())
    what = name if name is not None else _("index {index}").format(index=index)
    return Request(RTM_NEWLINK, NLM_F_REQUEST, body, _("set {what!r}").format(what=what), what)


def delete_link_request(index: int) -> Request:
    """``ip link delete dev INDEX`` (a veth takes its peer with it)."""
    return Request(
        RTM_DELLINK,
        NLM_F_REQUEST,
        _IFINFO.pack(0, 0, index, 0, 0),
        _("delete index {index}").format(index=index),
        str(index),
    )


def get_link_request(name: str) -> Request:
    """``ip link show NAME``: the answer carries its index."""
    body = _IFINFO.pack(0, 0, 0, 0, 0) + _attr(IFLA_IFNAME, _name(name))
    return Request(RTM_GETLINK, NLM_F_REQUEST, body, _("find {name!r}").format(name=name), name)


def address_request(index: int, iface: ipaddress.IPv4Interface | ipaddress.IPv6Interface) -> Request:
    """``ip addr add ADDRESS/PREFIX dev INDEX`` (IPv6 with ``nodad``: usable at once)."""
    raw = iface.ip.packed
    v6 = iface.version == 6
    body = _IFADDR.pack(_family(iface.ip), iface.network.prefixlen, IFA_F_NODAD if v6 else 0, 0, index)
    body += _attr(IFA_ADDRESS, raw) if v6 else _attr(IFA_LOCAL, raw) + _attr(IFA_ADDRESS, raw)
    flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL
    return Request(
        RTM_NEWADDR, flags, body, _("add {address} to index {index}").format(address=iface, index=index), str(iface)
    )


def default_route_request(gateway: ipaddress.IPv4Address | ipaddress.IPv6Address) -> Request:
    """``ip route add default via GATEWAY``."""
    body = _RTMSG.pack(_family(gateway), 0, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, 0, RTN_UNICAST, 0)
    body += _attr(RTA_GATEWAY, gateway.packed)
    flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL
    return Request(
        RTM_NEWROUTE, flags, body, _("add default route via {gateway}").format(gateway=gateway), str(gateway)
    )


def open_socket() -> socket.socket:
    """A bare rtnetlink socket in the calling thread's namespace, for ``send_batch``."""
    return NetlinkSocket(NETLINK_ROUTE).sock


_BUFFER = 32 << 10  # bytes per sendmsg: well under the socket's send buffer (~200 KB)


def send_batch(sock: socket.socket, requests: list[Request]) -> list[int | OSError | None]:
    """Send ``requests`` in as few system calls as fit; one answer each, in order.

    An answer is None (done), the device index (for ``get_link_request``), or an ``OSError``
    carrying the kernel's errno and message (``error()`` turns it into a NetlabError). The
    kernel carries on after a failed request: each one succeeds or fails on its own.
    """
    answers: list[int | OSError | None] = [None] * len(requests)
    start = 0
    while start < len(requests):
        buffer, seqs, size = [], {}, 0
        end = start
        while end < len(requests) and (size < _BUFFER or end == start):
            req = requests[end]
            last = end + 1 == len(requests) or size + len(req.body) + 16 >= _BUFFER
            seq = next(_seq)
            seqs[seq] = end
            flags = req.flags | (NLM_F_ACK if last else 0)
            buffer.append(NLMSG_HDR.pack(16 + len(req.body), req.type, flags, seq, 0) + req.body)
            size += 16 + len(req.body)
            end += 1
        sock.sendto(b"".join(buffer), (0, 0))
        _collect(sock, seqs, answers, wait_for=max(seqs))
        start = end
    return answers


def _collect(sock: socket.socket, seqs: dict[int, int], answers: list[int | OSError | None], wait_for: int) -> None:
    for kind, flags, sequence, data, start, end in replies(sock, min(seqs), wait_for):
        where = seqs.get(sequence)  # another thread's batch may have numbers in between
        if where is None:
            continue
        if kind == NLMSG_ERROR:
            answers[where] = kernel_error(data, start, end, flags) or answers[where]
            if sequence == wait_for:
                return
        elif kind == RTM_NEWLINK:
            answers[where] = _IFINFO.unpack_from(data, start)[2]
