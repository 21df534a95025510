"""Reading the kernel's network tables over netlink: what ``ip link``, ``ip addr`` and ``ip route`` do.

``ip`` does not read files to learn about interfaces. It opens a *netlink* socket, sends the
kernel one request, and reads back a stream of messages::

    sock = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)
    send: [nlmsghdr: type=RTM_GETLINK flags=REQUEST|DUMP] [ifinfomsg: all zero]
    recv: [RTM_NEWLINK lo] [RTM_NEWLINK veth0] ... [NLMSG_DONE]

Every message is a 16-byte header, a fixed struct, then *attributes*: (length, type, value)
records such as ``IFLA_IFNAME = "veth0"`` or ``IFLA_MTU = 1500``. This module is a small,
fast reader for the few attributes a diagram needs (the structs are in ``linux/netlink.h``,
``linux/rtnetlink.h``, ``linux/if_link.h``, ``linux/if_addr.h`` and ``linux/net_namespace.h``).
Changing things goes through pyroute2 (``rtnl.py``); reading a whole lab after every notebook
cell is where pyroute2's generality costs too much: it decodes every attribute of every
message, ~45 us each, ~100 ms for a 100-namespace lab, where this reader needs a few.

A netlink socket talks to the network namespace it was *created* in, for its whole life, from
any thread. So ``topology.snapshot`` creates one socket in each namespace (in netlab's worker
thread, switched there with ``setns``) and then reads them all.

Two questions need more than one namespace:

* A veth's peer lives in another namespace. The kernel reports it as ``IFLA_LINK`` (the peer's
  ifindex) plus ``IFLA_LINK_NETNSID``: a small number that means "that namespace" *only as
  seen from this one* (``ip netns list-id``). ``RTM_GETNSID`` with a namespace's fd asks "what
  number do you use for this namespace?" (``ip netns id``); that is how ids become names.
* NAT rules live in nftables, another netlink family (``NETLINK_NETFILTER``); ``nat_rules``
  lists the rules that masquerade or translate addresses (``nft list ruleset``, abridged).
"""

from __future__ import annotations

import errno as _errno
import os
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = [
    "AddressMessage",
    "LinkMessage",
    "NatMessage",
    "NetlinkSocket",
    "RouteMessage",
    "addresses",
    "links",
    "nat_rules",
    "nat_rules_or_none",
    "nsids",
    "open_netfilter_socket",
    "open_route_socket",
    "routes",
]

NETLINK_ROUTE = 0
NETLINK_NETFILTER = 12
SOL_NETLINK = 270
NETLINK_GET_STRICT_CHK = 12  # let the kernel filter dumps (by route table) instead of us

# nlmsghdr (linux/netlink.h): length, type, flags, sequence number, port id.
NLMSG_HDR = struct.Struct("=IHHII")
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_DUMP_INTR, NLM_F_DUMP = 0x1, 0x2, 0x10, 0x300

# rtnetlink message types (linux/rtnetlink.h).
RTM_NEWLINK, RTM_GETLINK = 16, 18
RTM_NEWADDR, RTM_GETADDR = 20, 22
RTM_NEWROUTE, RTM_GETROUTE = 24, 26
RTM_NEWNSID, RTM_GETNSID = 88, 90

# The fixed structs after the header.
IFINFOMSG = struct.Struct("=BxHiII")  # family, type (ARPHRD_*), index, flags (IFF_*), change
IFADDRMSG = struct.Struct("=BBBBI")  # family, prefix length, flags, scope, index
RTMSG = struct.Struct("=BBBBBBBBI")  # family, dst_len, src_len, tos, table, protocol, scope, type, flags
RTGENMSG = struct.Struct("=Bxxx")  # family (padded to 4 bytes)
NFGENMSG = struct.Struct("=BBH")  # nftables: family, version, resource id (big endian)
RTATTR = struct.Struct("=HH")  # attribute: length (header included), type

# Link attributes (linux/if_link.h).
IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_LINK, IFLA_MASTER = 1, 3, 4, 5, 10
IFLA_OPERSTATE, IFLA_LINKINFO, IFLA_LINK_NETNSID = 16, 18, 37
IFLA_INFO_KIND, IFLA_INFO_SLAVE_KIND = 1, 4
IFF_UP, IFF_LOWER_UP = 0x1, 0x10000
ARPHRD_LOOPBACK = 772
LINK_ATTRIBUTES = frozenset(
    {IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_LINK, IFLA_MASTER, IFLA_OPERSTATE, IFLA_LINKINFO, IFLA_LINK_NETNSID}
)
OPERSTATES = ("UNKNOWN", "NOTPRESENT", "DOWN", "LOWERLAYERDOWN", "TESTING", "DORMANT", "UP")

# Address attributes (linux/if_addr.h).
IFA_ADDRESS, IFA_LOCAL = 1, 2
SCOPES = {0: "global", 200: "site", 253: "link", 254: "host", 255: "nowhere"}

# Route attributes and values.
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_PRIORITY, RTA_PREFSRC, RTA_TABLE = 1, 4, 5, 6, 7, 15
RT_TABLE_COMPAT, RT_TABLE_MAIN = 252, 254
RTN_MULTICAST = 5
ROUTE_TYPES = {
    1: "unicast",
    2: "local",
    3: "broadcast",
    4: "anycast",
    5: "multicast",
    6: "blackhole",
    7: "unreachable",
    8: "prohibit",
    9: "throw",
}
ROUTE_PROTOCOLS = {
    0: "unspec",
    1: "redirect",
    2: "kernel",
    3: "boot",
    4: "static",
    16: "dhcp",
    42: "babel",
    186: "bgp",
    187: "isis",
    188: "ospf",
    189: "rip",
    192: "eigrp",
}

# Namespace ids (linux/net_namespace.h).
NETNSA_NSID, NETNSA_FD = 1, 3

# nftables (linux/netfilter/nf_tables.h): rules, their expressions, and the NAT ones.
NFNL_SUBSYS_NFTABLES = 10
NFT_MSG_NEWRULE, NFT_MSG_GETRULE = 6, 7
NFTA_RULE_TABLE, NFTA_RULE_CHAIN, NFTA_RULE_EXPRESSIONS = 1, 2, 4
NFTA_EXPR_NAME, NFTA_EXPR_DATA = 1, 2
NFTA_IMMEDIATE_DREG, NFTA_IMMEDIATE_DATA, NFTA_DATA_VALUE = 1, 2, 1
NFTA_NAT_TYPE, NFTA_NAT_REG_ADDR_MIN, NFTA_NAT_REG_PROTO_MIN = 1, 3, 5
NFTA_MASQ_REG_PROTO_MIN, NFTA_REDIR_REG_PROTO_MIN = 2, 1
NFT_NAT_DNAT = 1
NFTA_TARGET_NAME = 1
NFT_FAMILIES = {1: "inet", 2: "ip", 3: "arp", 5: "netdev", 7: "bridge", 10: "ip6"}
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


def _text(value: bytes) -> str:
    return value.split(b"\0", 1)[0].decode(errors="replace")


def _u32(value: bytes) -> int:
    return struct.unpack_from("=I", value)[0]


def _s32(value: bytes) -> int:
    return struct.unpack_from("=i", value)[0]


def _ip(raw: bytes) -> str:
    """4 or 16 bytes in network order -> "10.1.1.1" / "fe80::1" (inet_ntop, faster than ipaddress)."""
    return socket.inet_ntop(socket.AF_INET6 if len(raw) == 16 else socket.AF_INET, raw)


def _be32(value: bytes) -> int:
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
                        code = -_s32(data[body : body + 4])
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
            answers, interrupted = [], False
            for kind, flags, data, start, end in self._messages(sequence):
                interrupted |= bool(flags & NLM_F_DUMP_INTR)
                answers.append((kind, data, start, end))
            if not interrupted:
                break
        return answers


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


# -- ip link -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkMessage:
    """The parts of one RTM_NEWLINK message that a diagram needs."""

    index: int
    name: str
    kind: str  # IFLA_INFO_KIND: veth, bridge, ...; "loopback" or "device" when the driver has none
    operstate: str  # what `ip -br link` prints: UP, DOWN, LOWERLAYERDOWN, UNKNOWN ...
    up: bool  # IFF_UP: `ip link set X up` was done
    lower_up: bool  # IFF_LOWER_UP: carrier (for a veth: its peer is up too)
    mac: str
    mtu: int
    master: int  # IFLA_MASTER: ifindex of the bridge (or bond, vrf) this is a port of; 0 if none
    link: int  # IFLA_LINK: the peer's (veth) or lower device's ifindex; 0 if none
    link_nsid: int | None  # IFLA_LINK_NETNSID: where that ifindex lives, as an id seen from here; None = here


def links(sock: NetlinkSocket) -> list[LinkMessage]:
    """``ip link show``: every interface of the socket's namespace."""
    found = []
    for kind, data, offset, end in sock.dump(RTM_GETLINK, IFINFOMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0)):
        if kind != RTM_NEWLINK:
            continue
        _family, hwtype, index, flags, _change = IFINFOMSG.unpack_from(data, offset)
        attrs = attributes(data, offset + IFINFOMSG.size, end, LINK_ATTRIBUTES)
        linkinfo = attrs.get(IFLA_LINKINFO, b"")
        info = attributes(linkinfo, 0, len(linkinfo))
        link_kind = (
            _text(info[IFLA_INFO_KIND])
            if IFLA_INFO_KIND in info
            else ("loopback" if hwtype == ARPHRD_LOOPBACK else "device")
        )
        operstate = attrs.get(IFLA_OPERSTATE, b"\0")[0]
        found.append(
            LinkMessage(
                index=index,
                name=_text(attrs.get(IFLA_IFNAME, b"")),
                kind=link_kind,
                operstate=OPERSTATES[operstate] if operstate < len(OPERSTATES) else str(operstate),
                up=bool(flags & IFF_UP),
                lower_up=bool(flags & IFF_LOWER_UP),
                mac=attrs[IFLA_ADDRESS].hex(":") if IFLA_ADDRESS in attrs else "",
                mtu=_u32(attrs[IFLA_MTU]) if IFLA_MTU in attrs else 0,
                master=_u32(attrs[IFLA_MASTER]) if IFLA_MASTER in attrs else 0,
                link=_u32(attrs[IFLA_LINK]) if IFLA_LINK in attrs else 0,
                link_nsid=_s32(attrs[IFLA_LINK_NETNSID]) if IFLA_LINK_NETNSID in attrs else None,
            )
        )
    return found


# -- ip addr -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AddressMessage:
    """One RTM_NEWADDR: an address with its prefix length, on interface ``index``."""

    index: int
    family: int  # 4 or 6
    cidr: str  # "10.1.1.1/24"
    scope: str  # global, link (fe80::/10), host (127.0.0.1) ...


def addresses(sock: NetlinkSocket) -> list[AddressMessage]:
    """``ip addr show``: every IPv4 and IPv6 address of the socket's namespace."""
    found = []
    for kind, data, offset, end in sock.dump(RTM_GETADDR, IFADDRMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0)):
        if kind != RTM_NEWADDR:
            continue
        family, prefix, _flags, scope, index = IFADDRMSG.unpack_from(data, offset)
        attrs = attributes(data, offset + IFADDRMSG.size, end)
        # IFA_LOCAL is the interface's own address; IFA_ADDRESS is the far end's on point-to-point links.
        raw = attrs.get(IFA_LOCAL) or attrs.get(IFA_ADDRESS)
        if raw is None or family not in (socket.AF_INET, socket.AF_INET6):
            continue
        found.append(
            AddressMessage(
                index=index,
                family=4 if family == socket.AF_INET else 6,
                cidr=f"{_ip(raw)}/{prefix}",
                scope=SCOPES.get(scope, str(scope)),
            )
        )
    return found


# -- ip route ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RouteMessage:
    """One route of the main table, the one ``ip route`` shows."""

    family: int  # 4 or 6
    dst: str  # "default" or "10.1.1.0/24"
    via: str | None  # gateway
    oif: int  # ifindex of the outgoing interface (0: none, e.g. blackhole)
    protocol: str  # kernel (made by adding an address), static (ip route add), boot, dhcp ...
    scope: str  # link (directly connected) or global (through a gateway)
    type: str  # unicast, blackhole, unreachable, prohibit ...
    src: str | None  # preferred source address
    metric: int


def routes(sock: NetlinkSocket) -> list[RouteMessage]:
    """``ip route`` and ``ip -6 route`` (table main; IPv6 link-local and multicast routes left out).

    One dump for both families: AF_UNSPEC, with the table in the request so that the kernel
    (strict checking on) sends only table main.
    """
    found = []
    request = RTMSG.pack(socket.AF_UNSPEC, 0, 0, 0, RT_TABLE_MAIN, 0, 0, 0, 0)
    for kind, data, offset, end in sock.dump(RTM_GETROUTE, request):
        if kind != RTM_NEWROUTE:
            continue
        family, dst_len, _src_len, _tos, table, proto, scope, rtype, _flags = RTMSG.unpack_from(data, offset)
        if family not in (socket.AF_INET, socket.AF_INET6) or table not in (RT_TABLE_MAIN, RT_TABLE_COMPAT):
            continue  # RT_TABLE_COMPAT means "the table id is in RTA_TABLE"
        attrs = attributes(data, offset + RTMSG.size, end)
        if RTA_TABLE in attrs and _u32(attrs[RTA_TABLE]) != RT_TABLE_MAIN:
            continue
        dst = f"{_ip(attrs[RTA_DST])}/{dst_len}" if RTA_DST in attrs else "default"
        if family == socket.AF_INET6 and (dst.startswith("fe80:") or rtype == RTN_MULTICAST):
            continue
        found.append(
            RouteMessage(
                family=4 if family == socket.AF_INET else 6,
                dst=dst,
                via=_ip(attrs[RTA_GATEWAY]) if RTA_GATEWAY in attrs else None,
                oif=_u32(attrs[RTA_OIF]) if RTA_OIF in attrs else 0,
                protocol=ROUTE_PROTOCOLS.get(proto, str(proto)),
                scope=SCOPES.get(scope, str(scope)),
                type=ROUTE_TYPES.get(rtype, str(rtype)),
                src=_ip(attrs[RTA_PREFSRC]) if RTA_PREFSRC in attrs else None,
                metric=_u32(attrs[RTA_PRIORITY]) if RTA_PRIORITY in attrs else 0,
            )
        )
    return found


# -- ip netns id ---------------------------------------------------------------------------------

NSID_BATCH = 64  # answers wait in the socket's receive buffer (~200 KiB, ~700 bytes each) until read


def nsids(sock: NetlinkSocket, namespace_fds: list[int]) -> list[int]:
    """``ip netns id`` for each fd: the id the socket's namespace uses for it (-1: none assigned).

    The questions go out in batches, many per ``send``, and the kernel answers them in order.
    Asking never assigns a new id (dumping links does: one for each peer namespace it reports).
    """
    answers: list[int] = []
    for start in range(0, len(namespace_fds), NSID_BATCH):
        answers += _nsid_batch(sock, namespace_fds[start : start + NSID_BATCH])
    return answers


def _nsid_batch(sock: NetlinkSocket, namespace_fds: list[int]) -> list[int]:
    first = sock.sequence + 1
    batch = bytearray()
    for fd in namespace_fds:
        sock.sequence += 1
        body = RTGENMSG.pack(socket.AF_UNSPEC) + RTATTR.pack(8, NETNSA_FD) + struct.pack("=I", fd)
        batch += NLMSG_HDR.pack(NLMSG_HDR.size + len(body), RTM_GETNSID, NLM_F_REQUEST, sock.sequence, 0) + body
    sock.sock.send(bytes(batch))
    answers: dict[int, int] = {}
    while len(answers) < len(namespace_fds):
        data = sock.sock.recv(1 << 16)
        offset = 0
        while offset + NLMSG_HDR.size <= len(data):
            length, msgtype, _flags, seq, _ = NLMSG_HDR.unpack_from(data, offset)
            if length < NLMSG_HDR.size:
                break
            body = offset + NLMSG_HDR.size
            if msgtype == RTM_NEWNSID:
                attrs = attributes(data, body + RTGENMSG.size, offset + length)
                answers[seq] = _s32(attrs[NETNSA_NSID]) if NETNSA_NSID in attrs else -1
            elif msgtype == NLMSG_ERROR:
                answers[seq] = -1  # e.g. the fd is not a network namespace
            offset += (length + 3) & ~3
    return [answers.get(first + i, -1) for i in range(len(namespace_fds))]


# -- nft list ruleset (the NAT part) -------------------------------------------------------------


@dataclass(frozen=True)
class NatMessage:
    """A rule that rewrites addresses: ``masquerade``, ``snat to``, ``dnat to`` or ``redirect``."""

    action: str  # masquerade, snat, dnat, redirect
    family: str  # nftables family of the table: ip, ip6, inet
    table: str
    chain: str
    to: str | None  # the new address[:port] for snat/dnat, or port for masquerade/redirect
    tool: str  # "nft", or "iptables" for iptables-nft rules (MASQUERADE/SNAT/DNAT targets)


def nat_rules(sock: NetlinkSocket) -> list[NatMessage]:
    """The address-translating rules of the socket's namespace (nftables and iptables-nft).

    A rule is a list of expressions run like tiny machine code on registers: ``dnat to
    10.1.1.1:80`` is ``immediate reg1 = 10.1.1.1; immediate reg2 = 80; nat dnat addr reg1 proto
    reg2``. We follow the ``immediate`` loads to print the target. (Rules of the legacy
    ``iptables`` backend, ``ip_tables``, are not in nftables and are not listed.)
    """
    msgtype = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETRULE
    found = []
    for kind, data, offset, end in sock.dump(msgtype, NFGENMSG.pack(socket.AF_UNSPEC, 0, 0)):
        if kind != (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWRULE:
            continue
        family = NFT_FAMILIES.get(data[offset], str(data[offset]))
        attrs = attributes(data, offset + NFGENMSG.size, end)
        table, chain = _text(attrs.get(NFTA_RULE_TABLE, b"")), _text(attrs.get(NFTA_RULE_CHAIN, b""))
        registers: dict[int, bytes] = {}
        for _element, expression in attribute_list(attrs.get(NFTA_RULE_EXPRESSIONS, b"")):
            parts = dict(attribute_list(expression))
            name = _text(parts.get(NFTA_EXPR_NAME, b""))
            args = dict(attribute_list(parts.get(NFTA_EXPR_DATA, b"")))
            rule = _nat_expression(name, args, registers)
            if rule is not None:
                action, to, tool = rule
                found.append(NatMessage(action, family, table, chain, to, tool))
    return found


def _nat_expression(name: str, args: dict[int, bytes], registers: dict[int, bytes]) -> tuple | None:
    """(action, to, tool) if this expression translates addresses; remember register loads."""
    if name == "immediate" and NFTA_IMMEDIATE_DREG in args:
        value = dict(attribute_list(args.get(NFTA_IMMEDIATE_DATA, b""))).get(NFTA_DATA_VALUE)
        if value is not None:
            registers[_be32(args[NFTA_IMMEDIATE_DREG])] = value
    elif name in ("masq", "redir"):
        port = _port(registers, args.get(NFTA_MASQ_REG_PROTO_MIN if name == "masq" else NFTA_REDIR_REG_PROTO_MIN))
        return ("masquerade" if name == "masq" else "redirect"), (f"port {port}" if port else None), "nft"
    elif name == "nat":
        action = "dnat" if _be32(args.get(NFTA_NAT_TYPE, b"\0\0\0\0")) == NFT_NAT_DNAT else "snat"
        to = _address(registers, args.get(NFTA_NAT_REG_ADDR_MIN))
        port = _port(registers, args.get(NFTA_NAT_REG_PROTO_MIN))
        if port:
            to = f"[{to}]:{port}" if to and ":" in to else f"{to or ''}:{port}"
        return action, to, "nft"
    elif name == "target":
        target = _text(args.get(NFTA_TARGET_NAME, b""))
        if target in ("MASQUERADE", "SNAT", "DNAT", "REDIRECT", "NETMAP"):
            return {"MASQUERADE": "masquerade", "REDIRECT": "redirect"}.get(target, target.lower()), None, "iptables"
    return None


def _register(registers: dict[int, bytes], reg: bytes | None) -> bytes | None:
    return registers.get(_be32(reg)) if reg else None


def _address(registers: dict[int, bytes], reg: bytes | None) -> str | None:
    value = _register(registers, reg)
    if value is None:
        return None
    return _ip(value[:16] if len(value) >= 16 else value[:4])


def _port(registers: dict[int, bytes], reg: bytes | None) -> int | None:
    value = _register(registers, reg)
    return struct.unpack(">H", value[:2])[0] if value and len(value) >= 2 else None


def nat_rules_or_none(sock: NetlinkSocket | None) -> list[NatMessage] | None:
    """``nat_rules``, or None when this kernel has no nftables to ask."""
    if sock is None:
        return None
    try:
        return nat_rules(sock)
    except OSError as exc:
        if exc.errno in (_errno.EOPNOTSUPP, _errno.ENOENT, _errno.EPROTONOSUPPORT, _errno.EINVAL):
            return None
        raise
