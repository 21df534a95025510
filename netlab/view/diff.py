"""What changed between two snapshots, told in sentences.

    before = snapshot()
    # ip link add veth0 type veth peer name veth1; ip link set veth1 netns netns1 ...
    print(diff(before, snapshot()))

    added veth pair veth0 ↔ veth1 in root
    veth1 moved from root to netns1
    veth1 in netns1 got 10.1.1.1/24
    veth1 in netns1 went UP
    new route in netns1: 10.1.1.0/24 dev veth1 (connected)

How interfaces are matched: by namespace and name. An interface that vanished from one
namespace and appeared in another with the same kind and MAC address *moved* (``ip link set
veth1 netns netns1`` keeps the MAC, and the name unless you rename it). Moving flushes its
addresses and brings it DOWN; the sentences say so, because that surprises everyone once.
IPv6 link-local addresses (``fe80::``, one per interface that is up) are left out: they come
and go with every ``up`` and would bury the interesting lines.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from netlab.view.snapshot import Interface, Namespace, Topology, interface_key

__all__ = ["Change", "TopologyDiff", "diff"]

ADDED, REMOVED, CHANGED = "added", "removed", "changed"


@dataclass(frozen=True)
class Change:
    """One change: a sentence, and what it is about (for highlighting it in a drawing)."""

    text: str
    status: str  # added, removed or changed
    netns: int | None = None  # inode of the namespace it happened in
    interface: str | None = None  # interface name, if it is about one

    def __str__(self) -> str:
        return self.text


class TopologyDiff:
    """The changes from ``before`` to ``after``; ``str()`` gives one sentence per line.

    ``draw(changes)`` (``netlab.view.draw``) pictures them: ``union()`` is what it draws,
    ``marks()`` what it highlights.
    """

    def __init__(
        self,
        before: Topology,
        after: Topology,
        changes: list[Change],
        *,
        left_behind: Sequence[tuple[int, str]] = (),
        also_added: Sequence[tuple[int, str]] = (),
    ) -> None:
        self.before = before
        self.after = after
        self.changes = tuple(changes)
        self.left_behind = tuple(left_behind)  # (inode, name): where moved interfaces used to be
        self.also_added = tuple(also_added)  # (inode, name): the far ends of new veth pairs

    def __bool__(self) -> bool:
        return bool(self.changes)

    def __len__(self) -> int:
        return len(self.changes)

    def __iter__(self) -> Iterator[Change]:
        return iter(self.changes)

    def __str__(self) -> str:
        return "\n".join(change.text for change in self.changes) if self.changes else "no change"

    def __repr__(self) -> str:
        return f"<TopologyDiff: {len(self.changes)} changes>"

    @property
    def summary(self) -> str:
        return f"{len(self.changes)} change{'s' if len(self.changes) != 1 else ''}"

    @property
    def lines(self) -> list[str]:
        return [change.text for change in self.changes]

    def marks(self) -> dict[str, str]:
        """Graph node -> added/removed/changed, for drawing (removed wins over changed)."""
        marks: dict[str, str] = {}
        rank = {CHANGED: 0, ADDED: 1, REMOVED: 2}
        for change in self.changes:
            if change.netns is None:
                continue
            key = f"net:[{change.netns}]" if change.interface is None else interface_key(change.netns, change.interface)
            if rank[change.status] >= rank.get(marks.get(key, CHANGED), 0):
                marks[key] = change.status
        for inode, name in self.left_behind:
            marks[interface_key(inode, name)] = REMOVED
        for inode, name in self.also_added:
            if marks.get(interface_key(inode, name)) != REMOVED:
                marks[interface_key(inode, name)] = ADDED
        return marks

    def union(self) -> Topology:
        """``after`` plus what ``before`` had and ``after`` lost, so a drawing can show both."""
        namespaces = {ns.inode: ns for ns in self.after.namespaces}
        for old in self.before.namespaces:
            new = namespaces.get(old.inode)
            if new is None:
                namespaces[old.inode] = old
                continue
            have = {i.name for i in new.interfaces}
            gone = tuple(i for i in old.interfaces if i.name not in have)
            if gone:
                namespaces[old.inode] = replace(new, interfaces=new.interfaces + gone)
        return Topology(tuple(namespaces.values()), taken_at=self.after.taken_at)


def _where(ns: Namespace) -> str:
    return ns.title


def _addresses(interface: Interface) -> list[str]:
    return list(interface.shown_addresses)


def _with_addresses(interface: Interface) -> str:
    shown = _addresses(interface)
    return f" with {', '.join(shown)}" if shown else ""


def _ns_sentence(ns: Namespace) -> str:
    if ns.names or ns.root:
        return f"{ns.title} ({ns.label})"
    held = ns.holders[0] if ns.holders else "nothing"
    return f"{ns.label}, held by {held}"


def diff(before: Topology, after: Topology) -> TopologyDiff:
    """Compare two snapshots; the result prints as sentences, and ``draw(result)`` pictures it."""
    changes: list[Change] = []
    old_ns = {ns.inode: ns for ns in before.namespaces}
    new_ns = {ns.inode: ns for ns in after.namespaces}
    born = [ns for ns in after.namespaces if ns.inode not in old_ns]
    died = [ns for ns in before.namespaces if ns.inode not in new_ns]
    both = [(old_ns[ns.inode], ns) for ns in after.namespaces if ns.inode in old_ns]

    for ns in born:
        changes.append(Change(f"new namespace {_ns_sentence(ns)}", ADDED, ns.inode))
    for old, new in both:
        changes += _name_changes(old, new)

    # Interfaces: gone from one place, new in another; then pair up the moves.
    removed = [(old, i) for old, new in both for i in old.interfaces if i.name not in {j.name for j in new.interfaces}]
    added = [(new, i) for old, new in both for i in new.interfaces if i.name not in {j.name for j in old.interfaces}]
    added += [(ns, i) for ns in born for i in ns.interfaces if i.kind != "loopback"]
    removed_in_dead = [(ns, i) for ns in died for i in ns.interfaces]
    moves = _match_moves(removed + removed_in_dead, added)
    moved_from = {(id(ns), i.name) for (ns, i), _ in moves}
    moved_to = {(id(ns), i.name) for _, (ns, i) in moves}

    reported: set[tuple[int, str]] = set()
    for ns, interface in added:
        if (id(ns), interface.name) in moved_to or (ns.inode, interface.name) in reported:
            continue
        changes.append(_added_interface(after, ns, interface, added, reported))
    for (old_place, old_if), (new_place, new_if) in moves:
        renamed = f" and is now called {new_if.name}" if new_if.name != old_if.name else ""
        changes.append(
            Change(
                f"{old_if.name} moved from {_where(old_place)} to {_where(new_place)}{renamed}",
                ADDED,
                new_place.inode,
                new_if.name,
            )
        )
        changes += _interface_changes(new_place, old_if, new_if, moved=True)
    for old, new in both:
        new_by_name = {i.name: i for i in new.interfaces}
        for interface in old.interfaces:
            if interface.name in new_by_name:
                changes += _interface_changes(new, interface, new_by_name[interface.name])
    for ns, interface in removed:
        if (id(ns), interface.name) not in moved_from:
            changes.append(_removed_interface(before, after, ns, interface))

    for old, new in both:
        changes += _route_changes(old, new)
        changes += _fact_changes(old, new)
    for ns in died:
        gone_with = [i.name for i in ns.interfaces if i.kind != "loopback" and (id(ns), i.name) not in moved_from]
        tail = f" (and with it {', '.join(gone_with)})" if gone_with else ""
        changes.append(Change(f"namespace {_ns_sentence(ns)} is gone{tail}", REMOVED, ns.inode))
    for old, new in both:
        changes += _holder_changes(old, new)
    left_behind = [(ns.inode, i.name) for (ns, i), _ in moves]
    also_added = [key for key in reported if not any((c.netns, c.interface) == key for c in changes)]
    return TopologyDiff(before, after, changes, left_behind=left_behind, also_added=also_added)


def _name_changes(old: Namespace, new: Namespace) -> list[Change]:
    changes = []
    for name in new.names:
        if name not in old.names:
            changes.append(
                Change(f"{old.label} got the name {name} (ip netns attach / a bind mount)", CHANGED, new.inode)
            )
    for name in old.names:
        if name not in new.names:
            alive = f": still alive, held by {'; '.join(new.holders)}" if new.holders else ""
            changes.append(Change(f"{new.label} lost its name {name}{alive}", CHANGED, new.inode))
    return changes


def _match_moves(
    removed: list[tuple[Namespace, Interface]], added: list[tuple[Namespace, Interface]]
) -> list[tuple[tuple[Namespace, Interface], tuple[Namespace, Interface]]]:
    """Pair each vanished interface with one that appeared elsewhere with the same kind and MAC."""
    moves, taken = [], set()
    for old_place, old_if in removed:
        if old_if.kind in ("loopback", "bridge") or not old_if.mac or old_if.mac == "00:00:00:00:00:00":
            continue  # lo and bridges cannot move ("netns is immutable")
        for n, (new_place, new_if) in enumerate(added):
            if n in taken or new_place.inode == old_place.inode:
                continue
            if new_if.kind == old_if.kind and new_if.mac == old_if.mac:
                moves.append(((old_place, old_if), (new_place, new_if)))
                taken.add(n)
                break
    return moves


def _added_interface(
    after: Topology, ns: Namespace, interface: Interface, added: list, reported: set[tuple[int, str]]
) -> Change:
    reported.add((ns.inode, interface.name))
    other = after.peer_of(ns, interface)
    if interface.kind == "veth" and other is not None:
        other_ns, other_if = other
        if any(a_ns.inode == other_ns.inode and a_if.name == other_if.name for a_ns, a_if in added):
            reported.add((other_ns.inode, other_if.name))
            (ns_a, a), (ns_b, b) = sorted(
                [(ns, interface), (other_ns, other_if)], key=lambda e: (not e[0].root, e[1].name)
            )
            where = f"in {_where(ns_a)}" if ns_a.inode == ns_b.inode else f"between {_where(ns_a)} and {_where(ns_b)}"
            detail = "".join(f"; {i.name} has {', '.join(_addresses(i))}" for i in (a, b) if _addresses(i))
            detail += "".join(f"; {i.name} is a port of {i.master}" for i in (a, b) if i.master)
            return Change(f"added veth pair {a.name} ↔ {b.name} {where}{detail}", ADDED, ns.inode, interface.name)
    port = f", a port of {interface.master}" if interface.master else ""
    peer = f", its peer is {other[1].name} in {_where(other[0])}" if other else ""
    return Change(
        f"added {interface.name} ({interface.kind}) to {_where(ns)}{_with_addresses(interface)}{port}{peer}",
        ADDED,
        ns.inode,
        interface.name,
    )


def _removed_interface(before: Topology, after: Topology, ns: Namespace, interface: Interface) -> Change:
    reason = ""
    other = before.peer_of(ns, interface)
    if interface.kind == "veth" and other is not None:
        other_ns, other_if = other
        if after.by_inode(other_ns.inode) is None:
            reason = f" (its peer {other_if.name} went away with {_where(other_ns)}: a veth pair dies together)"
        else:
            reason = f" (and its peer {other_if.name} in {_where(other_ns)}: a veth pair dies together)"
    return Change(f"removed {interface.name} from {_where(ns)}{reason}", REMOVED, ns.inode, interface.name)


def _interface_changes(ns: Namespace, old: Interface, new: Interface, *, moved: bool = False) -> list[Change]:
    changes = []
    name, where = new.name, _where(ns)

    def changed(text: str) -> None:
        changes.append(Change(f"{name} in {where} {text}", CHANGED, ns.inode, name))

    recreated = not moved and old.index != new.index and old.mac != new.mac
    if recreated:
        changed("was deleted and created again")
    if old.kind != new.kind:
        changed(f"is now a {new.kind} (was {old.kind})")
    if old.up != new.up:
        changed("went UP" if new.up else "went DOWN" + (" (moving an interface brings it down)" if moved else ""))
    elif old.running != new.running and new.kind == "veth":
        changed(
            "can carry packets now: its peer is UP too" if new.running else "stopped carrying packets: its peer is DOWN"
        )
    gained = [a for a in _addresses(new) if a not in _addresses(old)]
    lost = [a for a in _addresses(old) if a not in _addresses(new)]
    if gained:
        changed(f"got {', '.join(gained)}")
    if lost:
        changed(f"lost {', '.join(lost)}" + (" (a move to another namespace flushes addresses)" if moved else ""))
    if old.master != new.master:
        if new.master and old.master:
            changed(f"moved from bridge {old.master} to {new.master}")
        elif new.master:
            changed(f"joined bridge {new.master}")
        else:
            changed(f"left bridge {old.master}")
    if old.mtu != new.mtu:
        changed(f"mtu {old.mtu} → {new.mtu}")
    if old.mac != new.mac and not recreated:
        why = " (a bridge takes the lowest MAC address of its ports)" if new.kind == "bridge" else ""
        changed(f"MAC {old.mac} → {new.mac}{why}")
    return changes


def _route_brief(route) -> str:
    text = route.dst
    if route.type != "unicast":
        text = f"{route.type} {text}"
    if route.via:
        text += f" via {route.via}"
    if route.dev:
        text += f" dev {route.dev}"
    if route.connected:
        text += " (connected: it came with the address)"
    return text


def _route_changes(old: Namespace, new: Namespace) -> list[Change]:
    changes = []
    for route in new.routes:
        if route not in old.routes:
            changes.append(Change(f"new route in {_where(new)}: {_route_brief(route)}", CHANGED, new.inode))
    for route in old.routes:
        if route not in new.routes:
            changes.append(Change(f"route gone from {_where(new)}: {_route_brief(route)}", CHANGED, new.inode))
    return changes


def _fact_changes(old: Namespace, new: Namespace) -> list[Change]:
    changes = []
    if old.ip_forward != new.ip_forward and new.ip_forward is not None and old.ip_forward is not None:
        state = "on: it now routes packets between its interfaces" if new.ip_forward else "off"
        changes.append(
            Change(
                f"{_where(new)}: IP forwarding turned {state} (net.ipv4.ip_forward={int(new.ip_forward)})",
                CHANGED,
                new.inode,
            )
        )
    old_nat, new_nat = old.nat or (), new.nat or ()
    for rule in new_nat:
        if rule not in old_nat:
            changes.append(Change(f"{_where(new)}: new NAT rule: {rule}", CHANGED, new.inode))
    for rule in old_nat:
        if rule not in new_nat:
            changes.append(Change(f"{_where(new)}: NAT rule removed: {rule}", CHANGED, new.inode))
    return changes


def _holder_changes(old: Namespace, new: Namespace) -> list[Change]:
    """Who keeps a namespace alive (not for root, where every command you run comes and goes)."""
    if new.root:
        return []
    mine = f"of process {os.getpid()}"  # netlab's own short-lived threads and fds
    names = {
        f"bind mount {mount}"
        for ns in (old, new)
        for mount in ns.mounts
        if mount.rsplit("/", 1)[-1] in set(old.names) ^ set(new.names)
    }  # said already: "got/lost its name"
    changes = []
    for holder in new.holders:
        if holder not in old.holders and mine not in holder and holder not in names:
            changes.append(Change(f"{_where(new)} is now also held by {holder}", CHANGED, new.inode))
    for holder in old.holders:
        if holder not in new.holders and mine not in holder and holder not in names:
            changes.append(Change(f"{_where(new)} is no longer held by {holder}", CHANGED, new.inode))
    return changes
