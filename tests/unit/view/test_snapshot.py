"""Step 3 of a snapshot, the parts that need no kernel: which ids to ask about, and whom to ask first.

A hand-built star: the hub holds v1 (ifindex 3) and v2 (ifindex 4), whose far ends are eth0
(ifindex 2) in spoke1 and spoke2; each namespace calls the others by its own ids. The kernel
questions themselves (``RTM_GETNSID``) are checked in tests/test_snapshot.py.
"""

from __future__ import annotations

from netlab.inodes import NetnsInfo
from netlab.netlink import LinkMessage
from netlab.view.snapshot import _candidates, _Inside, _nsid_count, _resolve_nsids, _veth_ends, _wanted_nsids


def veth(ifindex: int, name: str, peer_index: int, nsid: int | None) -> LinkMessage:
    return LinkMessage(ifindex, name, "veth", "UP", True, True, "02:00:00:00:00:01", 1500, 0, peer_index, nsid, None)


def lo() -> LinkMessage:
    return LinkMessage(1, "lo", "loopback", "UNKNOWN", True, True, "00:00:00:00:00:00", 65536, 0, 0, None, None)


def inside(inode: int, *links: LinkMessage) -> _Inside:
    return _Inside(info=NetnsInfo(inode=inode), fd=-1, path="", links=[lo(), *links])  # never entered


def star() -> tuple[_Inside, _Inside, _Inside]:
    hub = inside(10, veth(3, "v1", 2, 0), veth(4, "v2", 2, 1))
    spoke1 = inside(11, veth(2, "eth0", 3, 5))
    spoke2 = inside(12, veth(2, "eth0", 4, 5))
    return hub, spoke1, spoke2


def test_every_link_with_a_peer_is_filed_under_its_index_and_its_peers():
    hub, spoke1, spoke2 = star()
    ends = _veth_ends([hub, spoke1, spoke2])
    assert ends == {(3, 2): [hub], (4, 2): [hub], (2, 3): [spoke1], (2, 4): [spoke2]}  # lo has no peer: not filed
    assert sorted(hub.by_index) == [1, 3, 4] and spoke1.by_index[2].name == "eth0"


def test_the_hub_counts_an_id_per_spoke():
    hub, spoke1, _spoke2 = star()
    assert (_nsid_count(hub), _nsid_count(spoke1)) == (2, 1)


def test_wanted_ids_leave_out_the_known_the_local_and_the_unset():
    hub, _spoke1, _spoke2 = star()
    hub.links.append(veth(5, "local", 6, None))  # a pair inside the hub: no id
    hub.links.append(veth(7, "nowhere", 8, -1))  # NETNSA_NSID_NOT_ASSIGNED
    hub.links.append(veth(9, "v3", 2, 0))  # a second veth into the namespace id 0 stands for
    wanted = _wanted_nsids(hub, found={})
    assert {nsid: [link.name for link in links] for nsid, links in wanted.items()} == {0: ["v1", "v3"], 1: ["v2"]}
    assert list(_wanted_nsids(hub, found={0: 11})) == [1]


def test_the_candidates_hold_a_link_pointing_back():
    hub, spoke1, spoke2 = star()
    ends = _veth_ends([hub, spoke1, spoke2])
    assert list(_candidates(hub, _wanted_nsids(hub, {}), ends).values()) == [spoke1, spoke2]
    assert list(_candidates(spoke2, _wanted_nsids(spoke2, {}), ends).values()) == [hub]
    lonely = inside(13, veth(2, "eth0", 99, 0))
    assert _candidates(lonely, _wanted_nsids(lonely, {}), _veth_ends([lonely])) == {}


def test_namespaces_that_could_not_be_entered_ask_nothing():
    hub, spoke1, spoke2 = star()  # no route socket: _read_inside could not step into them
    assert _resolve_nsids([hub, spoke1, spoke2]) == ({}, {})
