"""What changed about one interface, in sentences: the part of ``diff()`` that compares two ``ip link`` lines.

    before: veth1  UP    02:00:00:00:00:08  mtu 1500  10.1.1.1/24  master br0
    after:  veth1  DOWN  02:00:00:00:00:08  mtu 1500               (moved into netns1)

    veth1 in netns1 went DOWN (moving an interface brings it down)
    veth1 in netns1 lost 10.1.1.1/24 (a move to another namespace flushes addresses)
    veth1 in netns1 left bridge br0

One question at a time, in this order: was it made again, is it UP, which addresses, which
bridge, which MTU and MAC. Each sentence is one ``_()`` message about ``{name} in {where}``.
"""

from __future__ import annotations

from netlab.model import Interface
from netlab.plumbing.i18n import _

__all__ = ["interface_sentences"]

Said = tuple[str, dict[str, object]]  # a sentence about "{name} in {where}", and its other placeholders


def interface_sentences(old: Interface, new: Interface, *, where: str, moved: bool = False) -> list[str]:
    """What changed from ``old`` to ``new`` (the same interface, in ``where``, or ``moved`` there)."""
    recreated = not moved and old.index != new.index and old.mac != new.mac
    said = [
        *_identity_said(old, new, recreated=recreated),
        *_state_said(old, new, moved=moved),
        *_addresses_said(old, new, moved=moved),
        *_bridge_said(old, new),
        *_mtu_and_mac_said(old, new, recreated=recreated),
    ]
    return [sentence.format(name=new.name, where=where, **fields) for sentence, fields in said]


def _addresses(interface: Interface) -> list[str]:
    return list(interface.shown_addresses)


def _identity_said(old: Interface, new: Interface, *, recreated: bool) -> list[Said]:
    """Was it deleted and made again (a new ifindex and MAC), or is it now another kind?"""
    said: list[Said] = []
    if recreated:
        said.append((_("{name} in {where} was deleted and created again"), {}))
    if old.kind != new.kind:
        said.append((_("{name} in {where} is now a {kind} (was {old_kind})"), {"kind": new.kind, "old_kind": old.kind}))
    return said


def _state_said(old: Interface, new: Interface, *, moved: bool) -> list[Said]:
    """UP or DOWN; or, for a veth that stayed up, whether it can carry packets (its peer is up too)."""
    if old.up != new.up:
        if new.up:
            return [(_("{name} in {where} went UP"), {})]
        if moved:
            return [(_("{name} in {where} went DOWN (moving an interface brings it down)"), {})]
        return [(_("{name} in {where} went DOWN"), {})]
    if old.running != new.running and new.kind == "veth":
        if new.running:
            return [(_("{name} in {where} can carry packets now: its peer is UP too"), {})]
        return [(_("{name} in {where} stopped carrying packets: its peer is DOWN"), {})]
    return []


def _addresses_said(old: Interface, new: Interface, *, moved: bool) -> list[Said]:
    """The addresses it got and lost (a move flushes them all)."""
    said: list[Said] = []
    gained = [a for a in _addresses(new) if a not in _addresses(old)]
    lost = [a for a in _addresses(old) if a not in _addresses(new)]
    if gained:
        said.append((_("{name} in {where} got {addresses}"), {"addresses": ", ".join(gained)}))
    if lost:
        if moved:
            sentence = _("{name} in {where} lost {addresses} (a move to another namespace flushes addresses)")
        else:
            sentence = _("{name} in {where} lost {addresses}")
        said.append((sentence, {"addresses": ", ".join(lost)}))
    return said


def _bridge_said(old: Interface, new: Interface) -> list[Said]:
    """Did it join a bridge, leave one, or move from one bridge to another?"""
    if old.master == new.master:
        return []
    if new.master and old.master:
        return [(_("{name} in {where} moved from bridge {old} to {new}"), {"old": old.master, "new": new.master})]
    if new.master:
        return [(_("{name} in {where} joined bridge {bridge}"), {"bridge": new.master})]
    return [(_("{name} in {where} left bridge {bridge}"), {"bridge": old.master})]


def _mtu_and_mac_said(old: Interface, new: Interface, *, recreated: bool) -> list[Said]:
    """A new MTU, and a new MAC address (not worth saying when it was made again)."""
    said: list[Said] = []
    if old.mtu != new.mtu:
        said.append((_("{name} in {where} mtu {old} → {new}"), {"old": old.mtu, "new": new.mtu}))
    if old.mac != new.mac and not recreated:
        if new.kind == "bridge":
            sentence = _("{name} in {where} MAC {old} → {new} (a bridge takes the lowest MAC address of its ports)")
        else:
            sentence = _("{name} in {where} MAC {old} → {new}")
        said.append((sentence, {"old": old.mac, "new": new.mac}))
    return said
