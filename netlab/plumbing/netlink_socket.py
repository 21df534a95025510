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

This module is the socket and the message format, nothing more: ``netlink.py`` reads the
tables (links, addresses, routes) with it, ``nat.py`` the nftables rules.

A netlink socket talks to the network namespace it was *created* in, for its whole life, from
any thread: open it after ``setns``, and it keeps answering for that namespace.
"""

from __future__ import annotations

import os
import socket
import struct
from collections.abc import Iterator

__all__ = [
    "NetlinkSocket",
    "attribute_list",
    "attributes",
    "be32",
    "ip_text",
    "open_netfilter_socket",
    "open_route_socket",
    "s32",
    "text",
    "u32",
]

NETLINK_ROUTE = 0
NETLINK_NETFILTER = 12
SOL_NETLINK = 270
NETLINK_GET_STRICT_CHK = 12  # let the kernel filter dumps (by route table) instead of us

# nlmsghdr (linux/netlink.h): length, type, flags, sequence number, port id.
NLMSG_HDR = struct.Struct("=IHHII")
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_DUMP_INTR, NLM_F_DUMP = 0x1, 0x2, 0x10, 0x300
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
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, protocol)
        self.sequence = 0

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> NetlinkSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, msgtype: int, flags: int, body: bytes) -> int:
        self.sequence += 1
        self.sock.send(NLMSG_HDR.pack(NLMSG_HDR.size + len(body), msgtype, flags, self.sequence, 0) + body)
        return self.sequence

    def _messages(self, sequence: int) -> Iterator[tuple[int, int, bytes, int, int]]:
        """Yield (type, flags, buffer, start, end of the body) until the answer to ``sequence`` ends."""
        while True:
            data = self.sock.recv(1 << 16)
            offset = 0
            while offset + NLMSG_HDR.size <= len(data):
                length, msgtype, flags, seq, _ = NLMSG_HDR.unpack_from(data, offset)
                if length < NLMSG_HDR.size:
                    return
                body = offset + NLMSG_HDR.size
                if seq == sequence:
                    if msgtype == NLMSG_DONE:
                        return
                    if msgtype == NLMSG_ERROR:
                        code = -s32(data[body : body + 4])
                        if code:
                            raise OSError(code, os.strerror(code))
                        return  # an acknowledgement
                    yield msgtype, flags, data, body, offset + length
                offset += (length + 3) & ~3

    def dump(self, msgtype: int, body: bytes) -> list[tuple[int, bytes, int, int]]:
        """Send a DUMP request; return every answer as (type, buffer, start, end of its body).

        If the table changed while the kernel was answering (``NLM_F_DUMP_INTR``), ask again.
        """
        answers: list[tuple[int, bytes, int, int]] = []
        for _attempt in range(5):
            sequence = self._send(msgtype, NLM_F_REQUEST | NLM_F_DUMP, body)
            answers, interrupted = self._collect(sequence)
            if not interrupted:
                break
        return answers

    def _collect(self, sequence: int) -> tuple[list[tuple[int, bytes, int, int]], bool]:
        """``_messages`` as one list, and whether the dump was interrupted (a loop, for speed)."""
        answers: list[tuple[int, bytes, int, int]] = []
        interrupted = 0
        unpack, size = NLMSG_HDR.unpack_from, NLMSG_HDR.size
        while True:
            data = self.sock.recv(1 << 16)
            offset, available = 0, len(data)
            while offset + size <= available:
                length, msgtype, flags, seq, _ = unpack(data, offset)
                if length < size:
                    return answers, bool(interrupted)
                if seq == sequence:
                    if msgtype == NLMSG_DONE:
                        return answers, bool(interrupted)
                    if msgtype == NLMSG_ERROR:
                        code = -s32(data[offset + size : offset + size + 4])
                        if code:
                            raise OSError(code, os.strerror(code))
                        return answers, bool(interrupted)
                    interrupted |= flags & NLM_F_DUMP_INTR
                    answers.append((msgtype, data, offset + size, offset + length))
                offset += (length + 3) & ~3


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
