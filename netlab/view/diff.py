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

The steps, in the order the sentences come: namespaces born and renamed, interfaces added, moved,
changed (``diff_interface.py`` asks what changed about one interface) and removed, then routes,
forwarding and NAT, namespaces gone, and who holds each namespace alive.

The sentences are in the learner's language (``netlab.plumbing.i18n``): each is one ``_()`` message with
named placeholders, so a translation can put the namespace before the interface, as Chinese does.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from netlab.model import words
from netlab.plumbing.i18n import _
from netlab.view.diff_interface import interface_sentences
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
        return "\n".join(change.text for change in self.changes) if self.changes else _("no change")

    def __repr__(self) -> str:
        return f"<TopologyDiff: {len(self.changes)} changes>"

    @property
    def summary(self) -> str:
        count = len(self.changes)
        return (_("{count} change") if count == 1 else _("{count} changes")).format(count=count)

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
    return ns.heading


def _addresses(interface: Interface) -> list[str]:
    return list(interface.shown_addresses)


def _with_addresses(interface: Interface) -> str:
    shown = _addresses(interface)
    return _(" with {addresses}").format(addresses=", ".join(shown)) if shown else ""


def _ns_sentence(ns: Namespace) -> str:
    if ns.names or ns.root:
        return _("{title} ({label})").format(title=ns.heading, label=ns.label)
    held = words(ns.holders[0]) if ns.holders else _("nothing")
    return _("{label}, held by {holder}").format(label=ns.label, holder=held)


def diff(before: Topology, after: Topology) -> TopologyDiff:
    """Compare two snapshots; the result prints as sentences, and ``draw(result)`` pictures it."""
    old_ns = {ns.inode: ns for ns in before.namespaces}
    new_ns = {ns.inode: ns for ns in after.namespaces}
    born = [ns for ns in after.namespaces if ns.inode not in old_ns]
    died = [ns for ns in before.namespaces if ns.inode not in new_ns]
    both = [(old_ns[ns.inode], ns) for ns in after.namespaces if ns.inode in old_ns]

    changes = [_namespace_born(ns) for ns in born]
    for old, new in both:
        changes += _name_changes(old, new)
    shuffle = _Shuffle.between(born, died, both)
    added, reported = _added_interfaces(after, shuffle)
    changes += added
    changes += _moved_interfaces(shuffle)
    changes += _kept_interfaces(both)
    changes += _removed_interfaces(before, after, shuffle)
    for old, new in both:
        changes += _route_changes(old, new)
        changes += _fact_changes(old, new)
    changes += [_namespace_gone(ns, shuffle) for ns in died]
    for old, new in both:
        changes += _holder_changes(old, new)
    left_behind = [(ns.inode, i.name) for (ns, i), _ in shuffle.moves]
    also_added = [key for key in reported if not any((c.netns, c.interface) == key for c in changes)]
    return TopologyDiff(before, after, changes, left_behind=left_behind, also_added=also_added)


def _namespace_born(ns: Namespace) -> Change:
    """The sentence for a namespace that was not there before."""
    return Change(_("new namespace {namespace}").format(namespace=_ns_sentence(ns)), ADDED, ns.inode)


def _namespace_gone(ns: Namespace, shuffle: _Shuffle) -> Change:
    """The sentence for a namespace that is gone, naming the interfaces that went with it (not those moved out)."""
    gone_with = [i.name for i in ns.interfaces if i.kind != "loopback" and not shuffle.moved_away(ns, i)]
    tail = _(" (and with it {names})").format(names=", ".join(gone_with)) if gone_with else ""
    gone = _("namespace {namespace} is gone").format(namespace=_ns_sentence(ns))
    return Change(gone + tail, REMOVED, ns.inode)


Placed = tuple[Namespace, Interface]  # an interface, and the namespace it is in


@dataclass
class _Shuffle:
    """Interfaces gone from one place, new in another, and the pairs of those that are one interface moved."""

    removed: list[Placed]  # gone from a namespace that is still there
    added: list[Placed]  # new in a namespace that was there, or in a new one (but its lo)
    moves: list[tuple[Placed, Placed]]  # (where it was, where it is now)

    def __post_init__(self) -> None:
        self._from = {(id(ns), i.name) for (ns, i), _ in self.moves}
        self._to = {(id(ns), i.name) for _, (ns, i) in self.moves}

    @classmethod
    def between(cls, born: list[Namespace], died: list[Namespace], both: list[tuple[Namespace, Namespace]]) -> _Shuffle:
        """Sort the interfaces of the namespaces born, died and kept; then pair up the moves."""
        removed = [
            (old, i) for old, new in both for i in old.interfaces if i.name not in {j.name for j in new.interfaces}
        ]
        added = [
            (new, i) for old, new in both for i in new.interfaces if i.name not in {j.name for j in old.interfaces}
        ]
        added += [(ns, i) for ns in born for i in ns.interfaces if i.kind != "loopback"]
        removed_in_dead = [(ns, i) for ns in died for i in ns.interfaces]
        return cls(removed, added, _match_moves(removed + removed_in_dead, added))

    def moved_away(self, ns: Namespace, interface: Interface) -> bool:
        """Did ``interface`` leave ``ns`` for another namespace?"""
        return (id(ns), interface.name) in self._from

    def moved_in(self, ns: Namespace, interface: Interface) -> bool:
        """Did ``interface`` come into ``ns`` from another namespace?"""
        return (id(ns), interface.name) in self._to


def _added_interfaces(after: Topology, shuffle: _Shuffle) -> tuple[list[Change], set[tuple[int, str]]]:
    """A sentence per new interface (one per new veth pair); also which (inode, name) they told about."""
    changes = []
    reported: set[tuple[int, str]] = set()
    for ns, interface in shuffle.added:
        if shuffle.moved_in(ns, interface) or (ns.inode, interface.name) in reported:
            continue
        changes.append(_added_interface(after, ns, interface, shuffle.added, reported))
    return changes, reported


def _moved_interfaces(shuffle: _Shuffle) -> list[Change]:
    """A sentence per move (and rename), then what the move did to the interface (DOWN, no addresses)."""
    changes = []
    for (old_place, old_if), (new_place, new_if) in shuffle.moves:
        renamed = _(" and is now called {name}").format(name=new_if.name) if new_if.name != old_if.name else ""
        moved = _("{name} moved from {source} to {target}").format(
            name=old_if.name, source=_where(old_place), target=_where(new_place)
        )
        changes.append(Change(moved + renamed, ADDED, new_place.inode, new_if.name))
        changes += _interface_changes(new_place, old_if, new_if, moved=True)
    return changes


def _kept_interfaces(both: list[tuple[Namespace, Namespace]]) -> list[Change]:
    """What changed about the interfaces still in the same namespace under the same name."""
    changes = []
    for old, new in both:
        new_by_name = {i.name: i for i in new.interfaces}
        for interface in old.interfaces:
            if interface.name in new_by_name:
                changes += _interface_changes(new, interface, new_by_name[interface.name])
    return changes


def _removed_interfaces(before: Topology, after: Topology, shuffle: _Shuffle) -> list[Change]:
    """A sentence per interface gone from a namespace that is still there (a move is told already)."""
    return [
        _removed_interface(before, after, ns, interface)
        for ns, interface in shuffle.removed
        if not shuffle.moved_away(ns, interface)
    ]


def _name_changes(old: Namespace, new: Namespace) -> list[Change]:
    changes = []
    for name in new.names:
        if name not in old.names:
            text = _("{label} got the name {name} (ip netns attach / a bind mount)")
            changes.append(Change(text.format(label=old.label, name=name), CHANGED, new.inode))
    for name in old.names:
        if name not in new.names:
            alive = (
                _(": still alive, held by {holders}").format(holders="; ".join(new.held_in_words))
                if new.holders
                else ""
            )
            lost = _("{label} lost its name {name}").format(label=new.label, name=name)
            changes.append(Change(lost + alive, CHANGED, new.inode))
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
            if ns_a.inode == ns_b.inode:
                text = _("added veth pair {a} ↔ {b} in {where}").format(a=a.name, b=b.name, where=_where(ns_a))
            else:
                text = _("added veth pair {a} ↔ {b} between {where_a} and {where_b}").format(
                    a=a.name, b=b.name, where_a=_where(ns_a), where_b=_where(ns_b)
                )
            for i in (a, b):
                if _addresses(i):
                    text += _("; {name} has {addresses}").format(name=i.name, addresses=", ".join(_addresses(i)))
            for i in (a, b):
                if i.master:
                    text += _("; {name} is a port of {master}").format(name=i.name, master=i.master)
            return Change(text, ADDED, ns.inode, interface.name)
    text = _("added {name} ({kind}) to {where}").format(name=interface.name, kind=interface.kind, where=_where(ns))
    text += _with_addresses(interface)
    if interface.master:
        text += _(", a port of {master}").format(master=interface.master)
    if other:
        text += _(", its peer is {peer} in {where}").format(peer=other[1].name, where=_where(other[0]))
    return Change(text, ADDED, ns.inode, interface.name)


def _removed_interface(before: Topology, after: Topology, ns: Namespace, interface: Interface) -> Change:
    reason = ""
    other = before.peer_of(ns, interface)
    if interface.kind == "veth" and other is not None:
        other_ns, other_if = other
        if after.by_inode(other_ns.inode) is None:
            reason = _(" (its peer {peer} went away with {where}: a veth pair dies together)")
        else:
            reason = _(" (and its peer {peer} in {where}: a veth pair dies together)")
        reason = reason.format(peer=other_if.name, where=_where(other_ns))
    text = _("removed {name} from {where}").format(name=interface.name, where=_where(ns))
    return Change(text + reason, REMOVED, ns.inode, interface.name)


def _interface_changes(ns: Namespace, old: Interface, new: Interface, *, moved: bool = False) -> list[Change]:
    """What changed about one interface (kept in place, or ``moved`` here): one sentence each."""
    sentences = interface_sentences(old, new, where=_where(ns), moved=moved)
    return [Change(text, CHANGED, ns.inode, new.name) for text in sentences]


def _route_brief(route) -> str:
    text = route.dst
    if route.type != "unicast":
        text = f"{route.type} {text}"
    if route.via:
        text += f" via {route.via}"
    if route.dev:
        text += f" dev {route.dev}"
    if route.connected:
        text += _(" (connected: it came with the address)")
    return text


def _route_changes(old: Namespace, new: Namespace) -> list[Change]:
    changes = []
    for route in new.routes:
        if route not in old.routes:
            text = _("new route in {where}: {route}").format(where=_where(new), route=_route_brief(route))
            changes.append(Change(text, CHANGED, new.inode))
    for route in old.routes:
        if route not in new.routes:
            text = _("route gone from {where}: {route}").format(where=_where(new), route=_route_brief(route))
            changes.append(Change(text, CHANGED, new.inode))
    return changes


def _fact_changes(old: Namespace, new: Namespace) -> list[Change]:
    changes = []
    if old.ip_forward != new.ip_forward and new.ip_forward is not None and old.ip_forward is not None:
        if new.ip_forward:
            text = _("{where}: IP forwarding turned on: it now routes packets between its interfaces ({setting})")
        else:
            text = _("{where}: IP forwarding turned off ({setting})")
        setting = f"net.ipv4.ip_forward={int(new.ip_forward)}"
        changes.append(Change(text.format(where=_where(new), setting=setting), CHANGED, new.inode))
    old_nat, new_nat = old.nat or (), new.nat or ()
    for rule in new_nat:
        if rule not in old_nat:
            changes.append(
                Change(_("{where}: new NAT rule: {rule}").format(where=_where(new), rule=rule), CHANGED, new.inode)
            )
    for rule in old_nat:
        if rule not in new_nat:
            text = _("{where}: NAT rule removed: {rule}").format(where=_where(new), rule=rule)
            changes.append(Change(text, CHANGED, new.inode))
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
            text = _("{where} is now also held by {holder}").format(where=_where(new), holder=words(holder))
            changes.append(Change(text, CHANGED, new.inode))
    for holder in old.holders:
        if holder not in new.holders and mine not in holder and holder not in names:
            text = _("{where} is no longer held by {holder}").format(where=_where(new), holder=words(holder))
            changes.append(Change(text, CHANGED, new.inode))
    return changes
