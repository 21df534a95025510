"""A snapshot's data: the namespaces, and the questions a diagram asks of them.

``Topology`` holds the ``netlab.model.Namespace`` objects a ``snapshot()`` read (it is plain
data: build one by hand to try a drawing), answers "where is the other end of this veth?",
"which ports has this bridge?", and offers the same as a networkx graph (``topo.graph``)::

    topo.peer_of(ns, veth)        (namespace, interface) at the other end, or None
    topo.veth_pairs()             each pair once
    topo.bridges()                (namespace, bridge, ports)
    topo.graph                    nodes net:[INODE] and net:[INODE]/NAME; edges contains/veth/port/lower
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from functools import cached_property
from typing import TYPE_CHECKING, Any

from netlab.errors import NetlabError
from netlab.model import Interface, Namespace, plain
from netlab.plumbing.i18n import _

if TYPE_CHECKING:
    import networkx

__all__ = ["NotInSnapshotError", "Topology", "interface_key", "natural_key"]


class NotInSnapshotError(NetlabError, KeyError):
    """A namespace this snapshot does not hold (a KeyError, so ``except KeyError`` still catches it)."""


def interface_key(namespace: Namespace | int, name: str) -> str:
    """The graph node of an interface: ``net:[INODE]/NAME``."""
    inode = namespace if isinstance(namespace, int) else namespace.inode
    return f"net:[{inode}]/{name}"


class Topology:
    """A snapshot: namespaces (``.namespaces``) and the same as a networkx graph (``.graph``).

    It is data only: ``draw(topo)`` and ``tree(topo)`` (``netlab.view.draw``, ``netlab.view.text``)
    show it; after ``%load_ext netlab.live`` a notebook displays it as its diagram.
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
        raise NotInSnapshotError(
            _("this snapshot has no root namespace"),
            hint=_("snapshot() always marks the namespace it was taken from; a Topology built by hand needs root=True"),
        )

    def namespace(self, which: str | int) -> Namespace:
        """A namespace by title ("root", "netns1", "pid 42 (sleep)"), name, label or inode."""
        for ns in self.namespaces:
            if which in (ns.inode, ns.title, ns.label) or which in ns.names:
                return ns
        raise NotInSnapshotError(
            _("no namespace {which!r} in this snapshot; it has {titles}").format(
                which=which, titles=[ns.title for ns in self.namespaces]
            ),
            hint=_("take a new snapshot() if it was made since; a name, a title, net:[INODE] or the inode all work"),
            subject=which,
        )

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
        return self._interfaces.get((ref.netns, ref.name))

    @cached_property
    def _interfaces(self) -> dict[tuple[int, str], tuple[Namespace, Interface]]:
        """Every interface by (namespace inode, name): one lookup per veth end, not a search."""
        found: dict[tuple[int, str], tuple[Namespace, Interface]] = {}
        for ns in self.namespaces:
            for interface in ns.interfaces:
                found.setdefault((ns.inode, interface.name), (ns, interface))
        return found

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

        nodes: list[tuple[str, dict[str, Any]]] = []
        edges: list[tuple[str, str, dict[str, str]]] = []
        for ns in self.namespaces:
            ns_key = ns.key
            attrs = {"kind": "netns", "title": ns.title, "inode": ns.inode, "root": ns.root, "names": ns.names}
            nodes.append((ns_key, {**attrs, "namespace": ns}))
            for interface in ns.interfaces:
                key = f"{ns_key}/{interface.name}"
                nodes.append(
                    (
                        key,
                        {
                            "kind": "interface",
                            "name": interface.name,
                            "type": interface.kind,
                            "netns": ns_key,
                            "state": interface.status,
                            "addresses": interface.shown_addresses,
                            "interface": interface,
                        },
                    )
                )
                edges.append((ns_key, key, {"kind": "contains"}))
        known = {key for key, _ in nodes}
        for ns in self.namespaces:
            for interface in ns.interfaces:
                key = f"{ns.key}/{interface.name}"
                if interface.master:
                    edges.append((key, f"{ns.key}/{interface.master}", {"kind": "port"}))
                for kind, ref in (("veth", interface.peer), ("lower", interface.lower)):
                    if ref and ref.netns is not None and ref.name is not None:
                        other = interface_key(ref.netns, ref.name)
                        if other in known:
                            edges.append((key, other, {"kind": kind}))
        graph = nx.Graph(taken_at=self.taken_at)
        graph.add_nodes_from(nodes)
        graph.add_edges_from(edges)
        return graph

    def as_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready): ``{"taken_at": ..., "namespaces": [...]}``."""
        return {"taken_at": self.taken_at, "namespaces": [plain(ns) for ns in self.namespaces]}

    def __repr__(self) -> str:
        interfaces = sum(len(ns.interfaces) for ns in self.namespaces)
        return f"<Topology: {len(self.namespaces)} namespaces, {interfaces} interfaces>"


def natural_key(text: str) -> tuple:
    """Sort key that puts ns2 before ns10."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", text))


def _order(ns: Namespace) -> tuple:
    """Root first, then named namespaces by name (ns2 before ns10), then the rest by inode."""
    return (not ns.root, ns.outside, not ns.names, natural_key(ns.names[0]) if ns.names else (), ns.inode)
