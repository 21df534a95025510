"""A netlink socket and the shape of its messages: what ``ip`` sends and reads back.

``ip`` does not read files to learn about interfaces. It opens a *netlink* socket, sends the
kernel one request, and reads back a stream of messages::

    sock = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)
    send: [nlmsghdr: type=RTM_GETLINK flags=REQUEST|DUMP] [ifinfomsg: all zero]
    recv: [RTM_NEWLINK lo] [RTM_NEWLINK veth0] ... [NLMSG_DONE]

Every message is a 16-byte header (``nlmsghdr``: length, type, flags, sequence number, port),
a fixed struct, then *attributes*: (length, type, value) records such as ``IFLA_IFNAME =
"veth0"`` or ``IFLA_MTU = 1500`` (``linux/netlink.h``). A request that asks for a whole table
(``NLM_F_DUMP``) is answered by many messages, in as many reads as the kernel needs, and ends
with ``NLMSG_DONE``; an error comes back as ``NLMSG_ERROR`` with an errno.

This module is the socket, the message format and the one loop that reads answers back
(``replies``), nothing more: ``netlink.py`` reads the tables (links, addresses, routes) with it,
``nat.py`` the nftables rules, ``rtnl.py`` sends its batches of changes.

A netlink socket talks to the network namespace it was *created* in, for its whole life, from
any thread: open it after ``setns``, and it keeps answering for that namespace.
"""

from __future__ import annotations

import os
import socket
import struct
from collections.abc import Iterator

__all__ = [
    "NETLINK_ROUTE",
    "NLMSG_DONE",
    "NLMSG_ERROR",
    "NLMSG_HDR",
    "NLM_F_REQUEST",
    "NetlinkSocket",
    "attribute_list",
    "attributes",
    "be32",
    "ip_text",
    "kernel_error",
    "open_netfilter_socket",
    "open_route_socket",
    "replies",
    "s32",
    "text",
    "u32",
]

NETLINK_ROUTE = 0
NETLINK_NETFILTER = 12
SOL_NETLINK = 270
NETLINK_CAP_ACK = 10  # an error answer need not echo our whole request, only its header
NETLINK_EXT_ACK = 11  # ... but should say why, in words
NETLINK_GET_STRICT_CHK = 12  # let the kernel filter dumps (by route table) instead of us

# nlmsghdr (linux/netlink.h): length, type, flags, sequence number, port id.
NLMSG_HDR = struct.Struct("=IHHII")
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_DUMP_INTR, NLM_F_DUMP = 0x1, 0x2, 0x10, 0x300
NLM_F_CAPPED, NLM_F_ACK_TLVS = 0x100, 0x200  # in an error answer: request cut to its header; attributes follow
NLMSGERR_ATTR_MSG = 1  # the extended ack's attribute with the kernel's own words
RTATTR = struct.Struct("=HH")  # attribute: length (header included), type
NLA_TYPE_MASK = 0x3FFF  # strips NLA_F_NESTED / NLA_F_NET_BYTEORDER


def attributes(data: bytes, offset: int, end: int, wanted: frozenset[int] | None = None) -> dict[int, bytes]:
    """The attributes between ``offset`` and ``end`` as {type: value bytes} (the last one wins).

    ``wanted`` keeps only those types: a link message carries ~50 attributes (statistics,
    queues, ...) and a diagram needs 8 of them.
    """
    found: dict[int, bytes] = {}
    unpack = RTATTR.unpack_from
    while offset + 4 <= end:
        length, kind = unpack(data, offset)
        if length < 4:
            break
        kind &= NLA_TYPE_MASK
        if wanted is None or kind in wanted:
            found[kind] = data[offset + 4 : offset + length]
        offset += (length + 3) & ~3
    return found


def attribute_list(data: bytes) -> Iterator[tuple[int, bytes]]:
    """Every (type, value) in order: for nested lists whose elements share one type."""
    offset = 0
    while offset + 4 <= len(data):
        length, kind = RTATTR.unpack_from(data, offset)
        if length < 4:
            return
        yield kind & NLA_TYPE_MASK, data[offset + 4 : offset + length]
        offset += (length + 3) & ~3


def text(value: bytes) -> str:
    return value.split(b"\0", 1)[0].decode(errors="replace")


def u32(value: bytes) -> int:
    return struct.unpack_from("=I", value)[0]


def s32(value: bytes) -> int:
    return struct.unpack_from("=i", value)[0]


def ip_text(raw: bytes) -> str:
    """4 or 16 bytes in network order -> "10.1.1.1" / "fe80::1" (inet_ntop, faster than ipaddress)."""
    return socket.inet_ntop(socket.AF_INET6 if len(raw) == 16 else socket.AF_INET, raw)


def be32(value: bytes) -> int:
    return struct.unpack_from(">I", value)[0]


class NetlinkSocket:
    """One netlink socket, bound (by creation) to one network namespace.

    Create it with ``open_route_socket()`` while the thread is in the namespace to read.
    """

    def __init__(self, protocol: int) -> None:
        self.sock = _acknowledging(socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, protocol))
        self.sequence = 0

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> NetlinkSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, msgtype: int, flags: int, body: bytes) -> int:
        """Send one request; its sequence number (the kernel copies it into every answer)."""
        self.sequence += 1
        self.sock.send(NLMSG_HDR.pack(NLMSG_HDR.size + len(body), msgtype, flags, self.sequence, 0) + body)
        return self.sequence

    def dump(self, msgtype: int, body: bytes) -> list[tuple[int, bytes, int, int]]:
        """Send a DUMP request; return every answer as (type, buffer, start, end of its body).

        If the table changed while the kernel was answering (``NLM_F_DUMP_INTR``), ask again.
        """
        answers: list[tuple[int, bytes, int, int]] = []
        for _attempt in range(5):
            sequence = self.send(msgtype, NLM_F_REQUEST | NLM_F_DUMP, body)
            answers, interrupted = [], 0
            for kind, flags, _seq, data, start, end in replies(self.sock, sequence, sequence):
                if kind == NLMSG_DONE:
                    break
                if kind == NLMSG_ERROR:
                    if error := kernel_error(data, start, end, flags):
                        raise error
                    break
                interrupted |= flags & NLM_F_DUMP_INTR
                answers.append((kind, data, start, end))
            if not interrupted:
                break
        return answers

    def ask(self, msgtype: int, body: bytes) -> tuple[int, bytes, int, int]:
        """Send one request that is answered by one message; that answer (as ``dump`` gives them)."""
        sequence = self.send(msgtype, NLM_F_REQUEST, body)
        for kind, flags, _seq, data, start, end in replies(self.sock, sequence, sequence):
            if kind == NLMSG_ERROR and (error := kernel_error(data, start, end, flags)):
                raise error
            return kind, data, start, end
        raise EOFError("the netlink socket closed")  # pragma: no cover - replies() never ends by itself


def replies(sock: socket.socket, first: int, last: int) -> Iterator[tuple[int, int, int, bytes, int, int]]:
    """Every message the kernel sends back for the requests numbered ``first`` to ``last``, in order.

    Each is (type, flags, sequence, buffer, start, end of its body). This is the one loop that
    reads netlink answers: a ``recv`` brings as many whole messages as fit, each header says how
    long its message is, and messages for other requests (earlier ones given up on) are skipped.
    It never ends by itself: the caller stops when it has what it asked for (``NLMSG_DONE`` for
    a dump, the acknowledgement of its last request for a batch).
    """
    unpack, size = NLMSG_HDR.unpack_from, NLMSG_HDR.size
    while True:
        data = sock.recv(1 << 16)
        offset, available = 0, len(data)
        while offset + size <= available:
            length, kind, flags, sequence, _port = unpack(data, offset)
            if length < size:
                break  # a malformed message: the rest of this read cannot be trusted
            if first <= sequence <= last:
                yield kind, flags, sequence, data, offset + size, offset + length
            offset += (length + 3) & ~3


def kernel_error(data: bytes, start: int, end: int, flags: int) -> OSError | None:
    """An ``NLMSG_ERROR`` answer as an OSError, in the kernel's words when it gave some; None for an ack.

    Its body is the errno (negative), then our request's header (or all of it, unless the socket
    set ``NETLINK_CAP_ACK``), then, with ``NETLINK_EXT_ACK``, attributes such as a message.
    """
    code = -s32(data[start : start + 4])
    if not code:
        return None
    said = os.strerror(code)
    if flags & NLM_F_ACK_TLVS and start + 4 + NLMSG_HDR.size <= end:
        echoed = NLMSG_HDR.size if flags & NLM_F_CAPPED else NLMSG_HDR.unpack_from(data, start + 4)[0]
        attrs = attributes(data, start + 4 + ((echoed + 3) & ~3), end)
        if NLMSGERR_ATTR_MSG in attrs:
            said = text(attrs[NLMSGERR_ATTR_MSG])
    return OSError(code, said)


def _acknowledging(sock: socket.socket) -> socket.socket:
    """Ask for short error answers that carry the kernel's message (both options are from Linux 4.12)."""
    for option in (NETLINK_CAP_ACK, NETLINK_EXT_ACK):
        try:
            sock.setsockopt(SOL_NETLINK, option, 1)
        except OSError:
            pass  # an older kernel: the errno alone, and the whole request echoed
    return sock


def open_route_socket() -> NetlinkSocket:
    """A NETLINK_ROUTE socket in the calling thread's network namespace (``ip`` uses the same)."""
    sock = NetlinkSocket(NETLINK_ROUTE)
    try:
        sock.sock.setsockopt(SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1)
    except OSError:
        pass  # kernels before 4.20: ``routes`` filters the table itself
    return sock


def open_netfilter_socket() -> NetlinkSocket:
    """A NETLINK_NETFILTER socket in the calling thread's network namespace (``nft`` uses the same)."""
    return NetlinkSocket(NETLINK_NETFILTER)
