"""Reading the kernel's network tables over netlink: what ``ip link``, ``ip addr`` and ``ip route`` do.

``ip link`` sends one request over a netlink socket (``netlink_socket.py``: the socket and the
message format) and reads back one message per interface. This module is a small, fast
reader for the few attributes netlab shows (the structs are in ``linux/rtnetlink.h``,
``linux/if_link.h``, ``linux/if_addr.h`` and ``linux/net_namespace.h``). Changing things goes
through pyroute2 (``rtnl.py``); reading a whole lab after every notebook cell is where
pyroute2's generality costs too much: it decodes every attribute of every message, ~45 us
each, ~100 ms for a 100-namespace lab, where this reader needs a few.

Two layers, like the kernel's own answer:

* ``links()``, ``addresses()``, ``routes()`` decode the messages as they come off the wire
  (``LinkMessage`` ...): numbers, not names. A route says "oif 2", a veth "my peer is
  ifindex 7 in namespace id 0", and only the other dumps (or other namespaces) say what
  those numbers are.
* ``interfaces()`` and ``named_routes()`` join them, once, into the objects of
  ``netlab.model`` that the rest of netlab works with (``links.list()``, ``snapshot()``).

A netlink socket talks to the network namespace it was *created* in, for its whole life, from
any thread. So ``snapshot()`` creates one socket in each namespace (in netlab's worker
thread, switched there with ``setns``) and then reads them all.

Two questions need more than one namespace:

* A veth's peer lives in another namespace. The kernel reports it as ``IFLA_LINK`` (the peer's
  ifindex) plus ``IFLA_LINK_NETNSID``: a small number that means "that namespace" *only as
  seen from this one* (``ip netns list-id``). ``RTM_GETNSID`` with a namespace's fd asks "what
  number do you use for this namespace?" (``ip netns id``); that is how ids become names.
* NAT rules live in nftables, another netlink family (``NETLINK_NETFILTER``, the socket
  ``open_netfilter_socket`` opens): ``nat.netlink_rules`` reads them with the same tools.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Mapping
from typing import NamedTuple

from netlab.model import OPERSTATES, PROTOCOLS, ROUTE_TYPES, SCOPES, Address, Interface, Peer, Route
from netlab.plumbing.netlink_socket import (
    NLM_F_REQUEST,
    NLMSG_ERROR,
    NLMSG_HDR,
    RTATTR,
    NetlinkSocket,
    attribute_list,
    attributes,
    be32,
    ip_text,
    open_netfilter_socket,
    open_route_socket,
    replies,
    s32,
    text,
    u32,
)

__all__ = [
    "AddressMessage",
    "LinkMessage",
    "NetlinkSocket",
    "RouteMessage",
    "addresses",
    "attribute_list",
    "attributes",
    "be32",
    "interfaces",
    "ip_forward",
    "ip_text",
    "links",
    "named_routes",
    "nsids",
    "open_netfilter_socket",
    "open_route_socket",
    "routes",
    "s32",
    "text",
    "u32",
]


# rtnetlink message types (linux/rtnetlink.h).
RTM_NEWLINK, RTM_GETLINK = 16, 18
RTM_NEWADDR, RTM_GETADDR = 20, 22
RTM_NEWROUTE, RTM_GETROUTE = 24, 26
RTM_NEWNETCONF, RTM_GETNETCONF = 80, 82
RTM_NEWNSID, RTM_GETNSID = 88, 90

# The fixed structs after the header.
IFINFOMSG = struct.Struct("=BxHiII")  # family, type (ARPHRD_*), index, flags (IFF_*), change
IFADDRMSG = struct.Struct("=BBBBI")  # family, prefix length, flags, scope, index
RTMSG = struct.Struct("=BBBBBBBBI")  # family, dst_len, src_len, tos, table, protocol, scope, type, flags
RTGENMSG = struct.Struct("=Bxxx")  # family (padded to 4 bytes)
NETCONFMSG = struct.Struct("=Bxxx")  # family (padded to 4 bytes)

# Link attributes (linux/if_link.h).
IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_LINK, IFLA_MASTER = 1, 3, 4, 5, 10
IFLA_OPERSTATE, IFLA_LINKINFO, IFLA_IFALIAS, IFLA_EXT_MASK, IFLA_LINK_NETNSID = 16, 18, 20, 29, 37
IFLA_INFO_KIND, IFLA_INFO_SLAVE_KIND = 1, 4
RTEXT_FILTER_SKIP_STATS = 1 << 3  # in a dump request: leave the counters out (a third of each message)
IFF_UP, IFF_LOWER_UP = 0x1, 0x10000
ARPHRD_LOOPBACK = 772
LINK_ATTRIBUTES = frozenset(
    {
        IFLA_ADDRESS,
        IFLA_IFNAME,
        IFLA_MTU,
        IFLA_LINK,
        IFLA_MASTER,
        IFLA_OPERSTATE,
        IFLA_LINKINFO,
        IFLA_IFALIAS,
        IFLA_LINK_NETNSID,
    }
)

# Address attributes (linux/if_addr.h).
IFA_ADDRESS, IFA_LOCAL = 1, 2

# Route attributes and values.
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_PRIORITY, RTA_PREFSRC, RTA_TABLE = 1, 4, 5, 6, 7, 15
RT_TABLE_COMPAT, RT_TABLE_MAIN = 252, 254
RTN_MULTICAST = 5
# Per-device IP settings, the netlink face of /proc/sys/net/ipv4/conf (linux/netconf.h).
NETCONFA_IFINDEX, NETCONFA_FORWARDING = 1, 2
NETCONFA_IFINDEX_ALL = -1  # "all": for forwarding, the same switch as net.ipv4.ip_forward

# Namespace ids (linux/net_namespace.h).
NETNSA_NSID, NETNSA_FD = 1, 3


# -- ip link -------------------------------------------------------------------------------------


class LinkMessage(NamedTuple):
    """The parts of one RTM_NEWLINK message netlab reads, as on the wire: indexes, not names."""

    ifindex: int
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
    alias: str | None  # IFLA_IFALIAS


LINK_REQUEST = IFINFOMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0) + RTATTR.pack(8, IFLA_EXT_MASK)
LINK_REQUEST += struct.pack("=I", RTEXT_FILTER_SKIP_STATS)


def links(sock: NetlinkSocket) -> list[LinkMessage]:
    """``ip link show``: every interface of the socket's namespace."""
    found = []
    for kind, data, offset, end in sock.dump(RTM_GETLINK, LINK_REQUEST):
        if kind != RTM_NEWLINK:
            continue
        _family, hwtype, index, flags, _change = IFINFOMSG.unpack_from(data, offset)
        attrs = attributes(data, offset + IFINFOMSG.size, end, LINK_ATTRIBUTES)
        linkinfo = attrs.get(IFLA_LINKINFO, b"")
        info = attributes(linkinfo, 0, len(linkinfo))
        link_kind = (
            text(info[IFLA_INFO_KIND])
            if IFLA_INFO_KIND in info
            else ("loopback" if hwtype == ARPHRD_LOOPBACK else "device")
        )
        operstate = attrs.get(IFLA_OPERSTATE, b"\0")[0]
        found.append(
            LinkMessage(
                index,
                text(attrs.get(IFLA_IFNAME, b"")),
                link_kind,
                OPERSTATES[operstate] if operstate < len(OPERSTATES) else str(operstate),
                bool(flags & IFF_UP),
                bool(flags & IFF_LOWER_UP),
                attrs[IFLA_ADDRESS].hex(":") if IFLA_ADDRESS in attrs else "",
                u32(attrs[IFLA_MTU]) if IFLA_MTU in attrs else 0,
                u32(attrs[IFLA_MASTER]) if IFLA_MASTER in attrs else 0,
                u32(attrs[IFLA_LINK]) if IFLA_LINK in attrs else 0,
                s32(attrs[IFLA_LINK_NETNSID]) if IFLA_LINK_NETNSID in attrs else None,
                (text(attrs[IFLA_IFALIAS]) or None) if IFLA_IFALIAS in attrs else None,
            )
        )
    return found


# -- ip addr -------------------------------------------------------------------------------------


class AddressMessage(NamedTuple):
    """One RTM_NEWADDR: an address with its prefix length, on interface ``ifindex``."""

    ifindex: int
    family: int  # 4 or 6
    cidr: str  # "10.1.1.1/24"
    scope: str  # global, link (fe80::/10), host (127.0.0.1) ...


ADDRESS_REQUEST = IFADDRMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0)


def addresses(sock: NetlinkSocket) -> list[AddressMessage]:
    """``ip addr show``: every IPv4 and IPv6 address of the socket's namespace."""
    found = []
    for kind, data, offset, end in sock.dump(RTM_GETADDR, ADDRESS_REQUEST):
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
                index, 4 if family == socket.AF_INET else 6, f"{ip_text(raw)}/{prefix}", SCOPES.get(scope) or str(scope)
            )
        )
    return found


# -- ip route ------------------------------------------------------------------------------------


class RouteMessage(NamedTuple):
    """One route of the main table, the one ``ip route`` shows; ``oif`` is an ifindex."""

    family: int  # 4 or 6
    dst: str  # "default" or "10.1.1.0/24"
    via: str | None  # gateway
    oif: int  # ifindex of the outgoing interface (0: none, e.g. blackhole)
    protocol: str  # kernel (made by adding an address), static (ip route add), boot, dhcp ...
    scope: str  # link (directly connected) or global (through a gateway)
    type: str  # unicast, blackhole, unreachable, prohibit ...
    src: str | None  # preferred source address
    metric: int


ROUTE_REQUEST = RTMSG.pack(socket.AF_UNSPEC, 0, 0, 0, RT_TABLE_MAIN, 0, 0, 0, 0)


def routes(sock: NetlinkSocket) -> list[RouteMessage]:
    """``ip route`` and ``ip -6 route`` (table main; IPv6 link-local and multicast routes left out).

    One dump for both families: AF_UNSPEC, with the table in the request so that the kernel
    (strict checking on) sends only table main.
    """
    found = []
    for kind, data, offset, end in sock.dump(RTM_GETROUTE, ROUTE_REQUEST):
        if kind != RTM_NEWROUTE:
            continue
        family, dst_len, _src_len, _tos, table, proto, scope, rtype, _flags = RTMSG.unpack_from(data, offset)
        if family not in (socket.AF_INET, socket.AF_INET6) or table not in (RT_TABLE_MAIN, RT_TABLE_COMPAT):
            continue  # RT_TABLE_COMPAT means "the table id is in RTA_TABLE"
        if family == socket.AF_INET6 and rtype == RTN_MULTICAST:
            continue  # ff00::/8 on every IPv6 device: ``ip -6 route`` leaves them out too
        attrs = attributes(data, offset + RTMSG.size, end)
        if RTA_TABLE in attrs and u32(attrs[RTA_TABLE]) != RT_TABLE_MAIN:
            continue
        dst = f"{ip_text(attrs[RTA_DST])}/{dst_len}" if RTA_DST in attrs else "default"
        if family == socket.AF_INET6 and dst.startswith("fe80:"):
            continue
        found.append(
            RouteMessage(
                4 if family == socket.AF_INET else 6,
                dst,
                ip_text(attrs[RTA_GATEWAY]) if RTA_GATEWAY in attrs else None,
                u32(attrs[RTA_OIF]) if RTA_OIF in attrs else 0,
                PROTOCOLS.get(proto) or str(proto),
                SCOPES.get(scope) or str(scope),
                ROUTE_TYPES.get(rtype) or str(rtype),
                ip_text(attrs[RTA_PREFSRC]) if RTA_PREFSRC in attrs else None,
                u32(attrs[RTA_PRIORITY]) if RTA_PRIORITY in attrs else 0,
            )
        )
    return found


# -- from messages to netlab.model ---------------------------------------------------------------


def _address_order(address: Address) -> tuple[int, bool]:
    return address.family, address.scope != "global"


def interfaces(
    link_messages: list[LinkMessage],
    address_messages: list[AddressMessage],
    *,
    netns: int | None = None,
    peers: Mapping[int, int] | None = None,
    names: Mapping[int, Mapping[int, str]] | None = None,
) -> list[Interface]:
    """Join one namespace's link and address dumps into ``model.Interface`` objects (lo first).

    Indexes become names: a port's ``master``, each address's ``dev``. A veth's peer (or a
    macvlan's parent) becomes a ``model.Peer``: in this namespace when it has no nsid (named
    from this dump); elsewhere, its namespace's inode is ``peers[nsid]`` when the caller
    found out (``snapshot()`` does, with ``nsids()``), and its name ``names[inode][index]``.
    ``netns`` is this namespace's inode.
    """
    here = {link.ifindex: link.name for link in link_messages}
    on: dict[int, list[Address]] = {}
    for msg in address_messages:
        on.setdefault(msg.ifindex, []).append(Address(msg.cidr, msg.family, msg.scope, here.get(msg.ifindex)))
    found = []
    for link in link_messages:
        ref = None
        if link.link:
            if link.link_nsid is None:
                where, name = netns, here.get(link.link)
            else:
                where = peers.get(link.link_nsid) if peers else None
                name = names[where].get(link.link) if names and where in names else None  # type: ignore[index]
            ref = Peer(where, name, link.link, link.link_nsid)
        addrs = on.get(link.ifindex)
        if addrs and len(addrs) > 1:
            addrs.sort(key=_address_order)
        found.append(
            Interface(
                link.name,
                link.ifindex,
                link.kind,
                link.operstate,
                link.up,
                link.lower_up,
                link.mac,
                link.mtu,
                tuple(addrs) if addrs else (),
                here.get(link.master) if link.master else None,
                ref if link.kind == "veth" else None,
                ref if link.kind != "veth" else None,
                link.alias,
            )
        )
    found.sort(key=lambda i: (i.kind != "loopback", i.index))
    return found


def named_routes(route_messages: list[RouteMessage], names: Mapping[int, str]) -> list[Route]:
    """``model.Route`` objects: each outgoing interface index replaced by its name."""
    return [
        Route(r.dst, r.family, r.via, names.get(r.oif) if r.oif else None, r.protocol, r.scope, r.type, r.src, r.metric)
        for r in route_messages
    ]


# -- ip netconf ---------------------------------------------------------------------------------


def ip_forward(sock: NetlinkSocket) -> bool | None:
    """``ip netconf show`` (the "all" line): does the namespace forward IPv4 packets?

    The same switch as ``sysctl net.ipv4.ip_forward``, asked over netlink instead of opening
    ``/proc/sys/net/ipv4/ip_forward``: with a thousand namespaces, each ``/proc/sys`` lookup
    costs a quarter of a millisecond, this one request a few microseconds. None if the
    kernel does not answer it.
    """
    request = NETCONFMSG.pack(socket.AF_INET) + RTATTR.pack(8, NETCONFA_IFINDEX)
    request += struct.pack("=i", NETCONFA_IFINDEX_ALL)
    try:
        kind, data, offset, end = sock.ask(RTM_GETNETCONF, request)
    except OSError:
        return None
    if kind != RTM_NEWNETCONF:
        return None
    attrs = attributes(data, offset + NETCONFMSG.size, end)
    return u32(attrs[NETCONFA_FORWARDING]) != 0 if NETCONFA_FORWARDING in attrs else None


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
        request = RTGENMSG.pack(socket.AF_UNSPEC) + RTATTR.pack(8, NETNSA_FD) + struct.pack("=I", fd)
        batch += NLMSG_HDR.pack(NLMSG_HDR.size + len(request), RTM_GETNSID, NLM_F_REQUEST, sock.sequence, 0)
        batch += request
    sock.sock.send(bytes(batch))
    answers: dict[int, int] = {}
    for kind, _flags, sequence, data, start, end in replies(sock.sock, first, sock.sequence):
        if kind == RTM_NEWNSID:
            attrs = attributes(data, start + RTGENMSG.size, end)
            answers[sequence] = s32(attrs[NETNSA_NSID]) if NETNSA_NSID in attrs else -1
        elif kind == NLMSG_ERROR:
            answers[sequence] = -1  # e.g. the fd is not a network namespace
        if len(answers) == len(namespace_fds):
            break
    return [answers.get(first + i, -1) for i in range(len(namespace_fds))]
