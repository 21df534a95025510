"""The kernel's network objects as netlab shows them: one small set of plain, frozen dataclasses.

Every view of the network in netlab (``links.list()``, ``snapshot()``, the checks, the
drawings and reports) hands you these same objects, each the Python twin of a line that
an ``ip`` or ``nft`` command prints::

    ip -br link                       Interface   lo  UNKNOWN  00:00:00:00:00:00 <LOOPBACK,UP,LOWER_UP>
    ip addr     (the "inet" lines)    Address     inet 10.1.1.1/24 scope global veth1
    ip route                          Route       10.1.1.0/24 dev veth1 proto kernel scope link src 10.1.1.1
    nft list ruleset (the NAT part)   NatRule     ip saddr 10.0.0.0/24 masquerade
    ip netns list, lsns -t net        Namespace   netns1, net:[4026532302]

and an interface's other end (a veth's peer, a macvlan's parent) is a ``Peer``.

The kernel speaks in numbers: interface *indexes*, ``scope 253``, ``proto 2``. These objects
speak in the words ``ip`` prints (``scope link``, ``proto kernel``); the tables below are the
dictionary, the same one iproute2 keeps in ``/etc/iproute2/rt_scopes`` and ``rt_protos``.

They are plain data: build one by hand to try a drawing or a check without a kernel,
compare them, keep them. An ``Address`` even compares equal to its text, so
``links.addresses("netns1", dev="veth1", family=4) == ["10.1.1.1/24"]`` reads as it means.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from netlab.plumbing.i18n import N_, _
from netlab.targets import Target

__all__ = [
    "OPERSTATES",
    "PROTOCOLS",
    "ROUTE_TYPES",
    "SCOPES",
    "Address",
    "Interface",
    "Namespace",
    "NatRule",
    "Peer",
    "Route",
    "plain",
    "words",
]

# -- the kernel's numbers, in ip's words --------------------------------------------------------

SCOPES = {0: "global", 200: "site", 253: "link", 254: "host", 255: "nowhere"}
"""How far an address or route reaches (``rt_scope_t``): ``scope host`` is 127.0.0.1, ``link`` is fe80::/10."""

PROTOCOLS = {
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
"""Who made a route (``RTPROT_*``): ``kernel`` when an address was added, ``boot`` for ``ip route add``."""

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
"""What a route does with a packet (``RTN_*``): forward it (unicast), drop it (blackhole), ..."""

OPERSTATES = ("UNKNOWN", "NOTPRESENT", "DOWN", "LOWERLAYERDOWN", "TESTING", "DORMANT", "UP")
"""The operational state of an interface (``IF_OPER_*``), the second column of ``ip -br link``."""


# -- the objects -------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Address:
    """An IP address with its prefix length, as ``ip addr`` prints it: ``inet 10.1.1.1/24 ... veth1``.

    It compares equal to its text: ``Address("10.1.1.1/24") == "10.1.1.1/24"``, so
    ``"10.1.1.1/24" in interface.addresses`` works.
    """

    cidr: str  # "10.1.1.1/24": the address and how many leading bits name its subnet
    family: int = 4  # 4 (inet) or 6 (inet6)
    scope: str = "global"  # "link" for fe80::/10 (never routed), "host" for 127.0.0.1 ...
    dev: str | None = None  # the interface it is on

    @property
    def ip(self) -> str:
        """The address alone: ``10.1.1.1`` (what ``ping`` takes)."""
        return self.cidr.split("/", 1)[0]

    @property
    def prefixlen(self) -> int:
        return int(self.cidr.split("/", 1)[1])

    @property
    def network(self) -> str:
        """The subnet it is on, ``10.1.1.0/24``: the kernel adds a route to it (``proto kernel``)."""
        import ipaddress

        return str(ipaddress.ip_interface(self.cidr).network)

    def _key(self) -> tuple:
        return (self.cidr, self.family, self.scope, self.dev)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return self.cidr == other
        if isinstance(other, Address):
            return self._key() == other._key()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.cidr)  # equal to its text, so hashed like it

    def __str__(self) -> str:
        return self.cidr


@dataclass(frozen=True)
class Peer:
    """Where the other end of a veth (or the parent device of a macvlan) is.

    The kernel says "ifindex 7 (``IFLA_LINK``) in the namespace I call id 0
    (``IFLA_LINK_NETNSID``, ``ip netns list-id``)". ``netns`` is that namespace's inode once
    known (a snapshot finds it; ``links.list`` knows it only for a peer in the same
    namespace), ``name`` the peer's name once read.
    """

    netns: int | None  # inode of its namespace; None: not known from here
    name: str | None  # None: not read
    index: int  # its ifindex, in its own namespace
    nsid: int | None = None  # the id this namespace uses for the peer's one; None: the same namespace

    @property
    def elsewhere(self) -> bool:
        """Is the other end in another namespace (``ip link`` prints ``link-netns`` or ``link-netnsid``)?"""
        return self.nsid is not None


@dataclass(frozen=True)
class Interface:
    """One network interface, as ``ip -d link`` and ``ip addr`` describe it."""

    name: str
    index: int  # ifindex: a number unique inside its namespace (``ip link`` prints it first)
    kind: str  # veth, bridge, loopback, device (a NIC), macvlan, vxlan, tun ...
    state: str  # operstate: UP, DOWN, LOWERLAYERDOWN (up, but the peer is down), UNKNOWN
    up: bool  # administratively up (``ip link set NAME up``): the UP flag
    carrier: bool  # the LOWER_UP flag: the wire works (a veth: both ends are up)
    mac: str
    mtu: int
    addresses: tuple[Address, ...] = ()
    master: str | None = None  # the bridge this is a port of (``ip link set NAME master BR``)
    peer: Peer | None = None  # veth: the other end
    lower: Peer | None = None  # macvlan/ipvlan/vxlan...: the device it is stacked on
    alias: str | None = None  # ``ip link set NAME alias TEXT`` (a Lab marks its devices so)

    @property
    def ipv4(self) -> tuple[str, ...]:
        return tuple(a.cidr for a in self.addresses if a.family == 4)

    @property
    def shown_addresses(self) -> tuple[str, ...]:
        """The addresses worth printing: all but IPv6 link-local ones (every up link has one)."""
        return tuple(a.cidr for a in self.addresses if a.scope != "link")

    @property
    def running(self) -> bool:
        """Up and able to carry packets (what makes a diagram draw it "green")."""
        return self.up and (self.carrier or self.state == "UP")

    @property
    def status(self) -> str:
        """UP, NO-CARRIER or DOWN, from the flags ``ip link`` prints (<...,UP,LOWER_UP>).

        ``state`` (the operstate ``ip -br link`` prints) says UNKNOWN for ``lo`` and lags the
        flags: the kernel updates it in the background, a moment after ``up``. The drawings
        and the tree use this instead.
        """
        if self.running:
            return "UP"
        return "NO-CARRIER" if self.up else "DOWN"

    def __str__(self) -> str:
        """One line, like ``ip -br addr`` (``veth0@if5`` names the peer's ifindex, as ``ip`` does)."""
        name = f"{self.name}@if{self.peer.index}" if self.peer else self.name
        master = f" master {self.master}" if self.master else ""
        addrs = " ".join(a.cidr for a in self.addresses)
        return f"{name:<16} {self.state:<14} {self.mac:<17} {self.kind:<8}{master} {addrs}".rstrip()


@dataclass(frozen=True)
class Route:
    """One route of the main table, printed like ``ip route``."""

    dst: str  # "default" or a prefix
    family: int = 4
    via: str | None = None  # the gateway: the next router to hand the packet to
    dev: str | None = None  # the interface it leaves by
    protocol: str = "static"  # "kernel": appeared by itself when an address was added
    scope: str = "global"  # "link": the destination is on the wire itself, no gateway needed
    type: str = "unicast"
    src: str | None = None  # the source address the kernel prefers for packets on this route
    metric: int = 0

    @property
    def connected(self) -> bool:
        """A route the kernel made for an address's own subnet (``proto kernel scope link``)."""
        return self.protocol == "kernel" and self.scope == "link"

    def __str__(self) -> str:
        words = [self.dst] if self.type == "unicast" else [self.type, self.dst]
        if self.via:
            words += ["via", self.via]
        if self.dev:
            words += ["dev", self.dev]
        if self.protocol not in ("boot", "static", "unspec"):
            words += ["proto", self.protocol]
        if self.scope not in ("global",):
            words += ["scope", self.scope]
        if self.src:
            words += ["src", self.src]
        if self.metric:
            words += ["metric", str(self.metric)]
        return " ".join(words)


@dataclass(frozen=True)
class NatRule:
    """A firewall rule that rewrites addresses (nftables, or iptables through nftables).

    ``masquerade`` and ``snat`` change the *source* of packets leaving (the way out to the
    internet); ``dnat`` and ``redirect`` change the *destination* of packets arriving (port
    publishing, ``docker run -p``).
    """

    action: str  # masquerade, snat, dnat, redirect
    table: str
    chain: str
    family: str = "ip"  # the nftables family of the table: ip, ip6, inet
    to: str | None = None  # the new address[:port] (snat, dnat), or "port N" (masquerade, redirect)
    tool: str = "nft"  # "iptables" for a rule iptables-nft made (MASQUERADE, SNAT, DNAT targets)

    def __str__(self) -> str:
        target = f" to {self.to}" if self.to else ""
        where = f"table {self.family} {self.table}, chain {self.chain}"
        return f"{self.action}{target} ({'iptables ' if self.tool == 'iptables' else ''}{where})"


@dataclass(frozen=True)
class Namespace:
    """One network namespace: its identity, what holds it alive, and everything inside it."""

    inode: int  # the namespace's identity: ``readlink /proc/PID/ns/net`` prints net:[INODE]
    title: str  # "root", "netns1", "pid 4242 (sleep)", ...
    root: bool = False  # the namespace the snapshot was taken from
    names: tuple[str, ...] = ()  # entries in the run directory (/run/netns)
    mounts: tuple[str, ...] = ()  # every path it is bind-mounted on
    pids: tuple[int, ...] = ()  # processes inside it
    holders: tuple[str, ...] = ()  # everything keeping it alive, in words
    interfaces: tuple[Interface, ...] = ()
    routes: tuple[Route, ...] = ()
    ip_forward: bool | None = None  # net.ipv4.ip_forward: does it route packets between its interfaces?
    nat: tuple[NatRule, ...] | None = ()  # None: nftables could not be asked
    outside: bool = False  # seen only as a veth's peer; not part of this lab's world
    target_path: str | None = field(default=None, repr=False)  # a file to enter it by, when unnamed

    @property
    def heading(self) -> str:
        """The title in the learner's language (``root`` -> ``根命名空间``); kernel names stay as they are."""
        if self.root:
            return _("root")
        if self.title in self.names or self.title in self.mounts:
            return self.title
        return words(self.title)

    @property
    def held_in_words(self) -> tuple[str, ...]:
        """``holders`` in the learner's language (``holders`` itself stays English: code compares it)."""
        return tuple(words(holder) for holder in self.holders)

    @property
    def label(self) -> str:
        """``net:[INODE]``, as ``readlink /proc/PID/ns/net`` prints it."""
        return f"net:[{self.inode}]"

    @property
    def key(self) -> str:
        """Its node in ``Topology.graph``."""
        return self.label

    @property
    def target(self) -> Target:
        """What to pass to ``netlab.run``/``call`` to work inside it.

        A name for a named namespace; for the root, None ("where you are"); otherwise the file
        the snapshot entered it by, such as ``/proc/PID/ns/net`` of a process holding it.
        """
        if self.root:
            return None
        if self.names:
            return self.names[0]
        if self.target_path:
            return Path(self.target_path)
        raise LookupError(_("no file leads into {title} ({label})").format(title=self.heading, label=self.label))

    def interface(self, name: str) -> Interface:
        for interface in self.interfaces:
            if interface.name == name:
                return interface
        raise KeyError(
            _("no interface {name!r} in {title} (it has {names})").format(
                name=name, title=self.heading, names=[i.name for i in self.interfaces]
            )
        )

    @property
    def default_routes(self) -> tuple[Route, ...]:
        return tuple(r for r in self.routes if r.dst == "default")


# -- in the learner's language --------------------------------------------------------------------

# The titles and holder words the snapshot writes (and ``NetnsInfo.held_by``), as data they stay
# English (code compares them, reports store them); ``words`` translates one when it is shown.
_WORDS = (
    (re.compile(r"root"), N_("root")),
    (re.compile(r"pid (?P<pid>\d+) \((?P<command>.*)\)"), N_("pid {pid} ({command})")),
    (re.compile(r"thread (?P<tid>\d+) of pid (?P<pid>\d+)"), N_("thread {tid} of pid {pid}")),
    (re.compile(r"fd (?P<fd>\d+) of pid (?P<pid>\d+)"), N_("fd {fd} of pid {pid}")),
    (re.compile(r"process (?P<pid>\d+) \((?P<command>.*)\)"), N_("process {pid} ({command})")),
    (re.compile(r"thread (?P<tid>\d+) of process (?P<pid>\d+)"), N_("thread {tid} of process {pid}")),
    (re.compile(r"open fd (?P<fd>\d+) of process (?P<pid>\d+)"), N_("open fd {fd} of process {pid}")),
    (re.compile(r"bind mount (?P<path>.+)"), N_("bind mount {path}")),
)


def words(text: str) -> str:
    """A namespace's title or holder (``process 42 (sleep)``, ``bind mount /run/netns/x``) as shown.

    In the learner's language; anything else (a name, a path, ``net:[INODE]``) comes back unchanged.
    """
    for pattern, message in _WORDS:
        found = pattern.fullmatch(text)
        if found:
            return _(message).format(**found.groupdict())
    return text


# -- plain data ---------------------------------------------------------------------------------

_FIELDS: dict[type, tuple[str, ...]] = {}
_SCALARS = frozenset({str, int, float, bool, type(None)})


def plain(obj: Any) -> Any:
    """These objects as dicts, tuples and strings (JSON-ready), like ``dataclasses.asdict``, faster.

    Tuples stay tuples (``json`` writes them as lists). A snapshot of 1000 namespaces holds
    ~15,000 objects, and ``asdict`` deep-copies every value on the way.
    """
    kind = type(obj)
    if kind in _SCALARS:
        return obj
    names = _FIELDS.get(kind)
    if names is not None:
        return {name: plain(getattr(obj, name)) for name in names}
    if kind is tuple or kind is list:
        return kind(plain(item) for item in obj)
    if kind is dict:
        return {key: plain(value) for key, value in obj.items()}
    if not hasattr(kind, "__dataclass_fields__"):
        return obj
    _FIELDS[kind] = tuple(f.name for f in fields(kind))
    return plain(obj)
