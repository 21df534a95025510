"""The sentences about one interface (``netlab.view.diff_interface``) and how ``diff()`` sorts interfaces.

Hand-built interfaces, in English: each question (made again? UP? addresses? bridge? MTU, MAC?)
on its own, then all of them at once, in the order ``diff()`` prints them.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from netlab.view.diff import _Shuffle, diff
from netlab.view.diff_interface import interface_sentences
from netlab.view.snapshot import Address, Interface, Namespace, Topology


@pytest.fixture(autouse=True)
def english(monkeypatch):
    monkeypatch.setenv("NETLAB_LANG", "en")


def veth(name: str = "veth1", **changes) -> Interface:
    interface = Interface(
        name=name,
        index=5,
        kind="veth",
        state="UP",
        up=True,
        carrier=True,
        mac="02:00:00:00:00:05",
        mtu=1500,
        addresses=(Address("10.1.1.1/24"),),
    )
    return replace(interface, **changes)


def said(new: Interface, old: Interface | None = None, *, moved: bool = False) -> list[str]:
    return interface_sentences(old or veth(), new, where="netns1", moved=moved)


def test_nothing_changed_says_nothing():
    assert said(veth()) == []


def test_a_new_ifindex_and_mac_is_the_interface_made_again():
    assert said(veth(index=9, mac="02:00:00:00:00:09")) == ["veth1 in netns1 was deleted and created again"]


def test_a_moved_interface_is_not_made_again_and_its_new_mac_is_told():
    assert said(veth(index=9, mac="02:00:00:00:00:09"), moved=True) == [
        "veth1 in netns1 MAC 02:00:00:00:00:05 → 02:00:00:00:00:09"
    ]


def test_up_and_down_and_why_a_moved_one_is_down():
    assert said(veth(up=False)) == ["veth1 in netns1 went DOWN"]
    assert said(veth(up=False), moved=True) == ["veth1 in netns1 went DOWN (moving an interface brings it down)"]
    assert said(veth(), veth(up=False)) == ["veth1 in netns1 went UP"]


def test_a_veth_that_stayed_up_tells_about_its_peer():
    no_carrier = veth(carrier=False, state="LOWERLAYERDOWN")
    assert said(no_carrier) == ["veth1 in netns1 stopped carrying packets: its peer is DOWN"]
    assert said(veth(), no_carrier) == ["veth1 in netns1 can carry packets now: its peer is UP too"]
    bridge = veth(kind="bridge")
    assert said(replace(bridge, carrier=False, state="DOWN"), bridge) == []  # only a veth has a peer to blame


def test_addresses_gained_and_lost_and_flushed_by_a_move():
    assert said(veth(addresses=(Address("10.1.1.1/24"), Address("10.2.2.2/24")))) == ["veth1 in netns1 got 10.2.2.2/24"]
    assert said(veth(addresses=())) == ["veth1 in netns1 lost 10.1.1.1/24"]
    assert said(veth(addresses=()), moved=True) == [
        "veth1 in netns1 lost 10.1.1.1/24 (a move to another namespace flushes addresses)"
    ]
    link_local = Address("fe80::1/64", family=6, scope="link")
    assert said(veth(addresses=(Address("10.1.1.1/24"), link_local))) == []


def test_bridges_joined_left_and_swapped():
    assert said(veth(master="br0")) == ["veth1 in netns1 joined bridge br0"]
    assert said(veth(), veth(master="br0")) == ["veth1 in netns1 left bridge br0"]
    assert said(veth(master="br1"), veth(master="br0")) == ["veth1 in netns1 moved from bridge br0 to br1"]


def test_mtu_and_mac_and_why_a_bridge_changes_its_mac():
    assert said(veth(mtu=9000)) == ["veth1 in netns1 mtu 1500 → 9000"]
    bridge = veth(kind="bridge")
    assert said(replace(bridge, mac="02:00:00:00:00:01"), bridge) == [
        "veth1 in netns1 MAC 02:00:00:00:00:05 → 02:00:00:00:00:01 (a bridge takes the lowest MAC address of its ports)"
    ]


def test_everything_at_once_comes_in_one_order():
    changed = veth(kind="dummy", up=False, addresses=(), master="br0", mtu=1400, mac="02:00:00:00:00:0c")
    assert said(changed) == [
        "veth1 in netns1 is now a dummy (was veth)",
        "veth1 in netns1 went DOWN",
        "veth1 in netns1 lost 10.1.1.1/24",
        "veth1 in netns1 joined bridge br0",
        "veth1 in netns1 mtu 1500 → 1400",
        "veth1 in netns1 MAC 02:00:00:00:00:05 → 02:00:00:00:00:0c",
    ]


def two_places() -> tuple[Namespace, Namespace, Namespace, Namespace]:
    """root holds veth0 and veth1 before; after, veth1 (same MAC) is in netns1 and dummy0 is new in root."""
    root_before = Namespace(inode=1, title="root", root=True, interfaces=(veth("veth0", index=4), veth()))
    ns_before = Namespace(inode=2, title="netns1", names=("netns1",))
    root_after = replace(root_before, interfaces=(veth("veth0", index=4), veth("dummy0", kind="dummy", mac="02:ff")))
    ns_after = replace(ns_before, interfaces=(veth(index=2, up=False, addresses=()),))
    return root_before, ns_before, root_after, ns_after


def test_the_shuffle_pairs_a_vanished_interface_with_its_twin_elsewhere():
    root_before, ns_before, root_after, ns_after = two_places()
    shuffle = _Shuffle.between([], [], [(root_before, root_after), (ns_before, ns_after)])
    assert [i.name for _ns, i in shuffle.removed] == ["veth1"]
    assert [(ns.title, i.name) for ns, i in shuffle.added] == [("root", "dummy0"), ("netns1", "veth1")]
    assert len(shuffle.moves) == 1
    assert shuffle.moved_away(root_before, veth()) and not shuffle.moved_away(root_after, veth())
    assert shuffle.moved_in(ns_after, veth()) and not shuffle.moved_in(root_after, veth("dummy0"))


def test_a_move_is_told_once_with_what_it_did():
    root_before, ns_before, root_after, ns_after = two_places()
    changes = diff(Topology((root_before, ns_before), taken_at=0), Topology((root_after, ns_after), taken_at=0))
    assert changes.lines == [
        "added dummy0 (dummy) to root with 10.1.1.1/24",
        "veth1 moved from root to netns1",
        "veth1 in netns1 went DOWN (moving an interface brings it down)",
        "veth1 in netns1 lost 10.1.1.1/24 (a move to another namespace flushes addresses)",
    ]
    assert changes.left_behind == ((1, "veth1"),)


def test_a_namespace_gone_names_what_went_with_it_but_not_what_moved_out():
    root = Namespace(inode=1, title="root", root=True)
    lost = Namespace(inode=3, title="netns2", names=("netns2",), interfaces=(veth("eth0", mac="02:00:00:00:00:33"),))
    emptied = Namespace(inode=5, title="netns5", names=("netns5",), interfaces=(veth(),))
    arrived = Namespace(inode=4, title="netns4", names=("netns4",), interfaces=(veth(index=2),))
    changes = diff(Topology((root, lost, emptied), taken_at=0), Topology((root, arrived), taken_at=0))
    assert changes.lines == [
        "new namespace netns4 (net:[4])",
        "veth1 moved from netns5 to netns4",
        "namespace netns2 (net:[3]) is gone (and with it eth0)",
        "namespace netns5 (net:[5]) is gone",
    ]
