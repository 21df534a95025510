"""What the kernel holds right now: every network namespace, its interfaces, and how they connect.

``snapshot()`` asks the kernel, not a record of what someone meant to build, so it shows the
same picture whether a lab was made by netlab, by typing ``ip`` commands, or both::

    from netlab import snapshot
    topo = snapshot()
    print(topo.tree())            # the terminal view (also: netlab show)
    topo.draw()                   # the diagram (a notebook displays ``topo`` as one)
    topo.graph                    # a networkx graph, for your own questions

How it finds everything, step by step:

1. **Which namespaces.** ``inodes.namespaces()`` lists every network namespace on the system
   and what holds it: names in ``/run/netns``, other bind mounts, processes, threads, open fds.
   A snapshot keeps the ones that belong to *this* lab's world: the namespace you are in (the
   "root" of the lab; inside ``netlab sandbox`` it is not the machine's), every named or
   bind-mounted one, and those held by processes that share your mount table or descend from
   a process in your namespace (an ``unshare -n`` shell started from a notebook). Other
   sandboxes and, inside a sandbox, the machine's own namespaces are left out
   (``snapshot(everything=True)`` keeps them).
2. **Look inside each.** In netlab's worker thread: ``setns`` into the namespace, open a netlink
   socket there (it stays bound to that namespace), read ``/proc/sys/net/ipv4/ip_forward``
   (``/proc/sys/net`` follows the reading *thread's* namespace). Then dump links, addresses,
   routes and NAT rules through those sockets (``netlink.py``): what ``ip link``, ``ip addr``,
   ``ip route`` and ``nft list ruleset`` would print in each namespace.
3. **Join the veth ends.** A veth says "my peer is ifindex 7 in the namespace I call id 0".
   Ids are private to each namespace, so for each id we ask the kernel (``RTM_GETNSID``, like
   ``ip netns id``) which of the namespaces we know it is.
4. **Build the graph**: namespaces and interfaces are nodes; edges say "contains", "veth"
   (the two ends of a pair), "port" (a bridge and its ports) and "lower" (a macvlan and its
   parent device).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netlab import inodes, netlink, netns, syscalls
from netlab.inodes import NetnsInfo
from netlab.threads import run_in_worker

if TYPE_CHECKING:
    import networkx

    from netlab.targets import Target
    from netlab.view.diff import TopologyDiff

__all__ = ["Address", "Interface", "NatRule", "Namespace", "Peer", "Route", "Topology", "snapshot"]


# -- what a snapshot holds -----------------------------------------------------------------------


@dataclass(frozen=True)
class Address:
    """An IP address with its prefix length, as ``ip addr`` prints it: ``10.1.1.1/24``."""

    cidr: str
    family: int = 4  # 4 or 6
    scope: str = "global"  # "link" for fe80::/10, "host" for 127.0.0.1 ...

    def __str__(self) -> str:
        return self.cidr


@dataclass(frozen=True)
class Peer:
    """Where the other end of a veth (or the lower device of a macvlan) is.

    ``netns`` is the inode of its namespace, or None if the kernel names a namespace this
    snapshot cannot enter (held only by a socket, say); ``name`` is None when it was not read.
    """

    netns: int | None
    name: str | None
    index: int


@dataclass(frozen=True)
class Interface:
    """One network interface, as ``ip -d link`` and ``ip addr`` describe it."""

    name: str
    index: int
    kind: str  # veth, bridge, loopback, device (a NIC), macvlan, vxlan, tun ...
    state: str  # operstate: UP, DOWN, LOWERLAYERDOWN (up, but the peer is down), UNKNOWN
    up: bool  # administratively up (`ip link set NAME up`)
    carrier: bool  # IFF_LOWER_UP: the wire works (a veth: both ends are up)
    mac: str
    mtu: int
    addresses: tuple[Address, ...] = ()
    master: str | None = None  # the bridge this is a port of (same namespace)
    peer: Peer | None = None  # veth: the other end
    lower: Peer | None = None  # macvlan/ipvlan/vxlan...: the device it is stacked on

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


@dataclass(frozen=True)
class Route:
    """One route of the main table, printed like ``ip route``."""

    dst: str  # "default" or a prefix
    family: int = 4
    via: str | None = None
    dev: str | None = None
    protocol: str = "static"  # "kernel": appeared by itself when an address was added
    scope: str = "global"
    type: str = "unicast"
    src: str | None = None
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
    """An address-translating firewall rule (nftables, or iptables through nftables)."""

    action: str  # masquerade, snat, dnat, redirect
    table: str
    chain: str
    family: str = "ip"
    to: str | None = None
    tool: str = "nft"

    def __str__(self) -> str:
        target = f" to {self.to}" if self.to else ""
        where = f"table {self.family} {self.table}, chain {self.chain}"
        return f"{self.action}{target} ({'iptables ' if self.tool == 'iptables' else ''}{where})"


@dataclass(frozen=True)
class Namespace:
    """One network namespace: identity, holders, and everything inside it."""

    inode: int
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
        raise LookupError(f"no file leads into {self.title} ({self.label})")

    def interface(self, name: str) -> Interface:
        for interface in self.interfaces:
            if interface.name == name:
                return interface
        raise KeyError(f"no interface {name!r} in {self.title} (it has {[i.name for i in self.interfaces]})")

    @property
    def default_routes(self) -> tuple[Route, ...]:
        return tuple(r for r in self.routes if r.dst == "default")


def interface_key(namespace: Namespace | int, name: str) -> str:
    """The graph node of an interface: ``net:[INODE]/NAME``."""
    inode = namespace if isinstance(namespace, int) else namespace.inode
    return f"net:[{inode}]/{name}"


class Topology:
    """A snapshot: namespaces (``.namespaces``) and the same as a networkx graph (``.graph``).

    In a notebook, a Topology displays as its diagram; ``print(topo)`` shows the tree.
    """

    def __init__(self, namespaces: tuple[Namespace, ...], *, taken_at: float | None = None) -> None:
        self.namespaces = tuple(sorted(namespaces, key=_order))
        self.taken_at = time.time() if taken_at is None else taken_at
        self._by_inode = {ns.inode: ns for ns in self.namespaces}

    # -- looking things up
    @property
    def root(self) -> Namespace:
        for ns in self.namespaces:
            if ns.root:
                return ns
        raise LookupError("this snapshot has no root namespace")

    def namespace(self, which: str | int) -> Namespace:
        """A namespace by title ("root", "netns1", "pid 42 (sleep)"), name, label or inode."""
        for ns in self.namespaces:
            if which in (ns.inode, ns.title, ns.label) or which in ns.names:
                return ns
        raise KeyError(f"no namespace {which!r} in this snapshot; it has {[ns.title for ns in self.namespaces]}")

    def by_inode(self, inode: int) -> Namespace | None:
        return self._by_inode.get(inode)

    def __contains__(self, which: object) -> bool:
        try:
            self.namespace(which)  # type: ignore[arg-type]
            return True
        except KeyError:
            return False

    def interfaces(self) -> Iterator[tuple[Namespace, Interface]]:
        """Every (namespace, interface) pair."""
        for ns in self.namespaces:
            for interface in ns.interfaces:
                yield ns, interface

    def find(self, name: str) -> list[tuple[Namespace, Interface]]:
        """Every interface called ``name``, wherever it is (``ip -all netns exec ip link show NAME``)."""
        return [(ns, i) for ns, i in self.interfaces() if i.name == name]

    def peer_of(self, namespace: Namespace, interface: Interface) -> tuple[Namespace, Interface] | None:
        """The other end of a veth, if this snapshot holds it."""
        ref = interface.peer
        if ref is None or ref.netns is None or ref.name is None:
            return None
        other = self.by_inode(ref.netns)
        if other is None:
            return None
        try:
            return other, other.interface(ref.name)
        except KeyError:
            return None

    def veth_pairs(self) -> list[tuple[tuple[Namespace, Interface], tuple[Namespace, Interface]]]:
        """Each veth pair once, as ((namespace, end), (namespace, other end))."""
        pairs, seen = [], set()
        for ns, interface in self.interfaces():
            if interface.kind != "veth":
                continue
            other = self.peer_of(ns, interface)
            if other is None or interface_key(ns, interface.name) in seen:
                continue
            seen.add(interface_key(other[0], other[1].name))
            pairs.append(((ns, interface), other))
        return pairs

    def bridges(self) -> list[tuple[Namespace, Interface, list[Interface]]]:
        """Each bridge with its ports: (namespace, bridge, ports)."""
        found = []
        for ns in self.namespaces:
            for interface in ns.interfaces:
                if interface.kind == "bridge":
                    ports = [i for i in ns.interfaces if i.master == interface.name]
                    found.append((ns, interface, ports))
        return found

    # -- the graph
    @cached_property
    def graph(self) -> networkx.Graph:
        """Namespaces and interfaces as nodes; "contains", "veth", "port" and "lower" edges.

        Node keys: ``net:[INODE]`` for a namespace, ``net:[INODE]/NAME`` for an interface. Node
        attributes: ``kind`` ("netns" or "interface"), ``title``/``name``, and ``namespace`` or
        ``interface`` (the dataclass with everything).
        """
        import networkx as nx

        graph = nx.Graph(taken_at=self.taken_at)
        for ns in self.namespaces:
            graph.add_node(
                ns.key, kind="netns", title=ns.title, inode=ns.inode, root=ns.root, names=ns.names, namespace=ns
            )
            for interface in ns.interfaces:
                key = interface_key(ns, interface.name)
                graph.add_node(
                    key,
                    kind="interface",
                    name=interface.name,
                    type=interface.kind,
                    netns=ns.key,
                    state=interface.status,
                    addresses=interface.shown_addresses,
                    interface=interface,
                )
                graph.add_edge(ns.key, key, kind="contains")
        for ns in self.namespaces:
            for interface in ns.interfaces:
                key = interface_key(ns, interface.name)
                if interface.master:
                    graph.add_edge(key, interface_key(ns, interface.master), kind="port")
                for kind, ref in (("veth", interface.peer), ("lower", interface.lower)):
                    if ref and ref.netns is not None and ref.name is not None:
                        other = interface_key(ref.netns, ref.name)
                        if other in graph:
                            graph.add_edge(key, other, kind=kind)
        return graph

    # -- comparing and showing
    def diff(self, since: Topology) -> TopologyDiff:
        """What changed from ``since`` to this snapshot, in sentences (see ``netlab.changes``)."""
        from netlab.view.diff import diff

        return diff(since, self)

    def draw(self, **options: Any):
        """Draw with matplotlib and return the Figure (see ``netlab.draw.draw`` for options)."""
        from netlab.view.draw import draw

        return draw(self, **options)

    def tree(self, **options: Any) -> str:
        from netlab.view.text import tree

        return tree(self, **options)

    def to_dot(self) -> str:
        from netlab.view.text import to_dot

        return to_dot(self)

    def to_mermaid(self) -> str:
        from netlab.view.text import to_mermaid

        return to_mermaid(self)

    def as_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready): ``{"taken_at": ..., "namespaces": [...]}``."""
        return {"taken_at": self.taken_at, "namespaces": [asdict(ns) for ns in self.namespaces]}

    def __str__(self) -> str:
        return self.tree()

    def __repr__(self) -> str:
        interfaces = sum(len(ns.interfaces) for ns in self.namespaces)
        return f"<Topology: {len(self.namespaces)} namespaces, {interfaces} interfaces>"

    def _repr_png_(self) -> bytes:
        from netlab.view.draw import png_bytes

        return png_bytes(self)


def natural_key(text: str) -> tuple:
    """Sort key that puts ns2 before ns10."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", text))


def _order(ns: Namespace) -> tuple:
    """Root first, then named namespaces by name (ns2 before ns10), then the rest by inode."""
    return (not ns.root, ns.outside, not ns.names, natural_key(ns.names[0]) if ns.names else (), ns.inode)


# -- step 1: which namespaces ---------------------------------------------------------------------


class _World:
    """Decides which processes belong to this lab (share our mount table or descend from us)."""

    def __init__(self, here: int) -> None:
        self.here = here
        self.mount_ns = _stat_ino("/proc/self/ns/mnt")
        self.verdicts: dict[int, bool] = {}

    def holds(self, pid: int) -> bool:
        if pid not in self.verdicts:
            self.verdicts[pid] = False  # guards against loops while we climb
            self.verdicts[pid] = self._decide(pid)
        return self.verdicts[pid]

    def _decide(self, pid: int) -> bool:
        if _stat_ino(f"/proc/{pid}/ns/mnt") == self.mount_ns:
            return True
        parent = _parent(pid)
        while parent > 0:
            if _stat_ino(f"/proc/{parent}/ns/net") == self.here:
                return True
            if parent in self.verdicts:
                return self.verdicts[parent]
            parent = _parent(parent)
        return False


def _stat_ino(path: str) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def _parent(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return int(stat.read().rsplit(b")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def _in_view(info: NetnsInfo, world: _World) -> bool:
    if info.current or info.names or info.mounts:
        return True
    if info.init:
        return False  # the machine's own namespace, seen from inside a sandbox
    holders = [*info.pids, *(pid for pid, _ in info.threads), *(pid for pid, _ in info.fds)]
    return any(world.holds(pid) for pid in holders)


def _entry_points(info: NetnsInfo) -> Iterator[str]:
    """Files that lead into this namespace, best first."""
    if info.current:
        yield "/proc/thread-self/ns/net"
    for name in info.names:
        yield str(netns.run_dir() / name)
    yield from info.mounts
    for pid in info.pids:
        yield f"/proc/{pid}/ns/net"
    for pid, tid in info.threads:
        yield f"/proc/{pid}/task/{tid}/ns/net"
    for pid, fd in info.fds:
        yield f"/proc/{pid}/fd/{fd}"


def _open_namespace(info: NetnsInfo) -> tuple[int, str] | None:
    """An open fd of the namespace and the file it came from (None if it is gone)."""
    for path in _entry_points(info):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            continue
        if os.fstat(fd).st_ino == info.inode:
            return fd, path
        os.close(fd)  # a pid that was reused, a name that was replaced...
    return None


def _title(info: NetnsInfo) -> str:
    if info.current:
        return "root"
    if info.names:
        return info.names[0]
    if info.mounts:
        return info.mounts[0]
    if info.pids:
        pid = info.pids[0]
        return f"pid {pid} ({info.commands.get(pid, '?')})"
    if info.threads:
        pid, tid = info.threads[0]
        return f"thread {tid} of pid {pid}"
    if info.fds:
        pid, fd = info.fds[0]
        return f"fd {fd} of pid {pid}"
    return f"net:[{info.inode}]"


def _stable_target_path(info: NetnsInfo, path: str) -> str | None:
    """A file that keeps meaning this namespace after the snapshot (not /proc/thread-self)."""
    if info.current or info.names:
        return None
    return path


# -- step 2: look inside each -------------------------------------------------------------------


@dataclass(eq=False)
class _Inside:
    """The raw answers from inside one namespace."""

    info: NetnsInfo
    fd: int
    path: str
    route: netlink.NetlinkSocket | None = None
    netfilter: netlink.NetlinkSocket | None = None
    ip_forward: bool | None = None
    links: list[netlink.LinkMessage] = field(default_factory=list)
    addresses: list[netlink.AddressMessage] = field(default_factory=list)
    routes: list[netlink.RouteMessage] = field(default_factory=list)
    nat: list[netlink.NatMessage] | None = None

    def close(self) -> None:
        for sock in (self.route, self.netfilter):
            if sock is not None:
                sock.close()
        os.close(self.fd)


def _read_flag(path: str) -> bool | None:
    try:
        with open(path, "rb") as file:
            return file.read().strip() not in (b"0", b"")
    except OSError:
        return None


def _open_sockets(inside: list[_Inside]) -> None:
    """In the worker thread: step into each namespace, open its sockets, read its sysctls."""
    for entry in inside:
        try:
            syscalls.setns(entry.fd, syscalls.CLONE_NEWNET)
        except OSError:
            continue  # not enterable (not ours to enter): drawn with no interfaces
        entry.route = netlink.open_route_socket()
        try:
            entry.netfilter = netlink.open_netfilter_socket()
        except OSError:
            entry.netfilter = None
        entry.ip_forward = _read_flag("/proc/sys/net/ipv4/ip_forward")


def _dump(entry: _Inside) -> None:
    if entry.route is None:
        return
    entry.links = netlink.links(entry.route)
    entry.addresses = netlink.addresses(entry.route)
    entry.routes = netlink.routes(entry.route)
    entry.nat = netlink.nat_rules_or_none(entry.netfilter)


# -- step 3: join the veth ends -----------------------------------------------------------------


def _resolve_nsids(inside: list[_Inside]) -> tuple[dict[tuple[int, int], int], dict[int, set[int]]]:
    """Map (namespace inode, nsid) -> inode of the namespace that id stands for.

    Candidates first: a namespace with an interface of the peer's ifindex whose own IFLA_LINK
    points back. One batched ``RTM_GETNSID`` confirms; if that fails, ask about every namespace.
    Returns the map and, per namespace inode, the ids still unknown.
    """
    by_index: dict[int, list[tuple[_Inside, netlink.LinkMessage]]] = {}
    for entry in inside:
        for link in entry.links:
            by_index.setdefault(link.index, []).append((entry, link))
    resolved: dict[tuple[int, int], int] = {}
    unresolved: dict[int, set[int]] = {}
    for entry in inside:
        if entry.route is None:
            continue
        wanted: dict[int, list[_Inside]] = {}
        for link in entry.links:
            if link.link_nsid is None or link.link_nsid < 0:
                continue
            candidates = wanted.setdefault(link.link_nsid, [])
            for other, other_link in by_index.get(link.link, ()):
                if other is not entry and other not in candidates and other_link.link == link.index:
                    candidates.append(other)
        if not wanted:
            continue
        asked = list(dict.fromkeys(c for cands in wanted.values() for c in cands))
        rest = [c for c in inside if c is not entry and c not in asked]
        for group in (asked, rest):  # the rest only if the candidates did not answer everything
            missing = {nsid for nsid in wanted if (entry.info.inode, nsid) not in resolved}
            if not missing or not group:
                continue
            for other, answer in zip(group, netlink.nsids(entry.route, [c.fd for c in group])):
                if answer in missing:
                    resolved[(entry.info.inode, answer)] = other.info.inode
        missing = {nsid for nsid in wanted if (entry.info.inode, nsid) not in resolved}
        if missing:
            unresolved[entry.info.inode] = missing
    return resolved, unresolved


def _find_outsiders(
    inside: list[_Inside],
    unresolved: dict[int, set[int]],
    others: list[NetnsInfo],
    resolved: dict[tuple[int, int], int],
    cleanup: ExitStack,
) -> list[_Inside]:
    """Namespaces outside the lab's world that a veth of ours leads into (kept, marked "outside")."""
    candidates = _enter_points(others, cleanup)
    found: list[_Inside] = []
    for entry in inside:
        missing = unresolved.get(entry.info.inode)
        if not missing or entry.route is None:
            continue
        for other, answer in zip(candidates, netlink.nsids(entry.route, [c.fd for c in candidates])):
            if answer in missing:
                resolved[(entry.info.inode, answer)] = other.info.inode
                if other not in found:
                    found.append(other)
    return found


# -- step 4: put it together --------------------------------------------------------------------


def _namespace(
    entry: _Inside, resolved: dict[tuple[int, int], int], names_by_ns: dict[int, dict[int, str]], *, outside: bool
) -> Namespace:
    info = entry.info
    names = names_by_ns[info.inode]
    addresses: dict[int, list[Address]] = {}
    for address in entry.addresses:
        addresses.setdefault(address.index, []).append(Address(address.cidr, address.family, address.scope))
    interfaces = []
    for link in entry.links:
        ref = None
        if link.link:
            where = info.inode if link.link_nsid is None else resolved.get((info.inode, link.link_nsid))
            ref = Peer(
                netns=where,
                name=names_by_ns.get(where, {}).get(link.link) if where is not None else None,
                index=link.link,
            )
        interfaces.append(
            Interface(
                name=link.name,
                index=link.index,
                kind=link.kind,
                state=link.operstate,
                up=link.up,
                carrier=link.lower_up,
                mac=link.mac,
                mtu=link.mtu,
                addresses=tuple(sorted(addresses.get(link.index, ()), key=lambda a: (a.family, a.scope != "global"))),
                master=names.get(link.master) if link.master else None,
                peer=ref if link.kind == "veth" else None,
                lower=ref if link.kind != "veth" else None,
            )
        )
    interfaces.sort(key=lambda i: (i.kind != "loopback", i.index))
    routes = tuple(
        Route(
            dst=r.dst,
            family=r.family,
            via=r.via,
            dev=names.get(r.oif),
            protocol=r.protocol,
            scope=r.scope,
            type=r.type,
            src=r.src,
            metric=r.metric,
        )
        for r in entry.routes
    )
    nat = (
        None
        if entry.nat is None
        else tuple(
            NatRule(action=n.action, table=n.table, chain=n.chain, family=n.family, to=n.to, tool=n.tool)
            for n in entry.nat
        )
    )
    return Namespace(
        inode=info.inode,
        title=_title(info),
        root=info.current,
        names=tuple(info.names),
        mounts=tuple(info.mounts),
        pids=tuple(info.pids),
        holders=tuple(info.held_by),
        interfaces=tuple(interfaces),
        routes=routes,
        ip_forward=entry.ip_forward,
        nat=nat,
        outside=outside,
        target_path=_stable_target_path(info, entry.path),
    )


def _enter_points(infos: list[NetnsInfo], cleanup: ExitStack) -> list[_Inside]:
    """Open each namespace once; ``cleanup`` closes the fds and sockets afterwards."""
    opened = []
    for info in infos:
        found = _open_namespace(info)
        if found:
            entry = _Inside(info=info, fd=found[0], path=found[1])
            cleanup.callback(entry.close)
            opened.append(entry)
    return opened


def _look_inside(entries: list[_Inside]) -> None:
    def work() -> None:
        _open_sockets(entries)
        for entry in entries:
            _dump(entry)

    run_in_worker(work)


def snapshot(*, everything: bool = False, settle: float = 0.0) -> Topology:
    """Read every network namespace of this lab from the kernel, and how they connect.

    ``everything=True`` also keeps namespaces outside the lab's world (inside ``netlab
    sandbox``: the machine's own, and other sandboxes'). Nothing is changed, except that
    listing links makes the kernel assign namespace ids to veth peers, as ``ip link`` does.

    ``settle`` (seconds): the kernel frees a namespace *after* ``ip netns delete`` returns, in
    the background, and its veths' far ends (in other namespaces) vanish only then. Until then
    they point into a namespace nobody holds. With ``settle`` the snapshot waits up to that
    long for such dangling veths to go, so a diagram does not show a half-deleted state.
    """
    deadline = time.monotonic() + settle
    while True:
        topology = _snapshot(everything=everything)
        if time.monotonic() >= deadline or not _dangling(topology):
            return topology
        time.sleep(0.01)


def _dangling(topology: Topology) -> bool:
    """A veth whose peer is in no namespace we could find: usually one being freed right now."""
    return any(i.kind == "veth" and i.peer is not None and i.peer.netns is None for _, i in topology.interfaces())


def _snapshot(*, everything: bool) -> Topology:
    world = _World(inodes.inode())
    chosen: list[NetnsInfo] = []
    others: list[NetnsInfo] = []
    for info in inodes.namespaces():
        (chosen if everything or _in_view(info, world) else others).append(info)
    with ExitStack() as cleanup:
        inside = _enter_points(chosen, cleanup)
        _look_inside(inside)
        resolved, unresolved = _resolve_nsids(inside)
        outsiders = _find_outsiders(inside, unresolved, others, resolved, cleanup) if unresolved else []
        _look_inside(outsiders)
        names_by_ns = {e.info.inode: {link.index: link.name for link in e.links} for e in inside + outsiders}
        namespaces = [_namespace(e, resolved, names_by_ns, outside=False) for e in inside]
        namespaces += [_namespace(e, resolved, names_by_ns, outside=True) for e in outsiders]
    return Topology(tuple(namespaces))
