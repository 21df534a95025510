"""The words a drawing writes (netlab/view/draw/labels.py), from snapshots built by hand: no kernel needed.

The scene is lesson 03's: a bridge in the root namespace with c1 and c2 on it, and an "internet"
namespace behind a veth; c2 has a default route, c1 does not (yet).
"""

from __future__ import annotations

import pytest

from netlab.view.draw.labels import (
    MIN_POINTS,
    caption_text,
    chip_lines,
    header_lines,
    hub_lines,
    route_lines,
    tile_lines,
)
from netlab.view.snapshot import Address, Interface, Namespace, NatRule, Peer, Route, Topology

ROOT, C1, C2, NET = 1001, 1002, 1003, 1004
ELSEWHERE = 4026532999  # a namespace the snapshot did not see


@pytest.fixture(autouse=True)
def english(monkeypatch):
    monkeypatch.setenv("NETLAB_LANG", "en")


def link(
    name: str,
    index: int,
    kind: str = "veth",
    *addresses: str | Address,
    peer: Peer | None = None,
    lower: Peer | None = None,
    master: str | None = None,
    up: bool = True,
    carrier: bool = True,
) -> Interface:
    return Interface(
        name=name,
        index=index,
        kind=kind,
        state="UP" if up and carrier else "DOWN",
        up=up,
        carrier=carrier,
        mac=f"02:00:00:00:00:{index:02x}",
        mtu=1500,
        addresses=tuple(a if isinstance(a, Address) else Address(a) for a in addresses),
        peer=peer,
        lower=lower,
        master=master,
    )


def lo() -> Interface:
    return link("lo", 1, "loopback", Address("127.0.0.1/8", scope="host"), Address("::1/128", family=6, scope="host"))


def connected(prefix: str, dev: str) -> Route:
    return Route(prefix, dev=dev, protocol="kernel", scope="link")


GATEWAY = Route("default", via="10.0.0.1", dev="eth0")


def container(inode: int, name: str, address: str, peer: Peer, *routes: Route) -> Namespace:
    eth0 = link("eth0", 2, "veth", address, Address("fe80::2/64", family=6, scope="link"), peer=peer)
    return Namespace(inode=inode, title=name, names=(name,), interfaces=(lo(), eth0), routes=routes)


def lesson_03() -> Topology:
    root = Namespace(
        inode=ROOT,
        title="root",
        root=True,
        ip_forward=True,
        nat=(NatRule("masquerade", "nat", "postrouting"),),
        interfaces=(
            lo(),
            link("br0", 2, "bridge", "10.0.0.1/24"),
            link("v1", 3, peer=Peer(C1, "eth0", 2, nsid=0), master="br0"),
            link("v2", 4, peer=Peer(C2, "eth0", 2, nsid=1), master="br0"),
            link("up0", 5, "veth", "203.0.113.2/24", peer=Peer(NET, "eth0", 2, nsid=2)),
        ),
        routes=(
            connected("10.0.0.0/24", "br0"),
            connected("203.0.113.0/24", "up0"),
            Route("198.51.100.0/24", via="203.0.113.1", dev="up0"),
        ),
    )
    return Topology(
        (
            root,
            container(C1, "c1", "10.0.0.2/24", Peer(ROOT, "v1", 3, nsid=0), connected("10.0.0.0/24", "eth0")),
            container(C2, "c2", "10.0.0.3/24", Peer(ROOT, "v2", 4, nsid=0), GATEWAY, connected("10.0.0.0/24", "eth0")),
            container(
                NET, "internet", "203.0.113.1/24", Peer(ROOT, "up0", 5, nsid=0), connected("203.0.113.0/24", "eth0")
            ),
        ),
        taken_at=0,
    )


def texts(lines) -> list[str]:
    return [line[0] for line in lines]


# -- chips ----------------------------------------------------------------------------------------


def test_a_chip_is_the_name_then_kind_and_state_then_the_addresses_worth_showing():
    scene = lesson_03()
    root, c1 = scene.namespace("root"), scene.namespace("c1")
    assert chip_lines(c1, c1.interface("eth0"), scene) == [
        ("eth0", 8.5, "bold"),
        ("UP", 6.5, "dim"),  # a veth is the usual kind: not written
        ("10.0.0.2/24", 7.5, "plain"),  # fe80::2/64, link-local, left out
    ]
    assert texts(chip_lines(root, root.interface("br0"), scene)) == ["br0", "bridge · UP", "10.0.0.1/24"]
    half = link("veth0", 3, "veth", up=True, carrier=False)
    down = link("dummy0", 4, "dummy", up=False, carrier=False)
    assert texts(chip_lines(c1, half, scene)) == ["veth0", "NO-CARRIER"]
    assert texts(chip_lines(c1, down, scene)) == ["dummy0", "dummy · DOWN"]


def test_a_chip_shows_three_addresses_and_counts_the_rest():
    scene = lesson_03()
    busy = link("br0", 2, "bridge", *(f"10.0.{n}.1/24" for n in range(5)), "2001:db8::1/64")
    assert chip_lines(scene.root, busy, scene)[2:] == [
        ("10.0.0.1/24", 7.5, "plain"),
        ("10.0.1.1/24", 7.5, "plain"),
        ("10.0.2.1/24", 7.5, "plain"),
        ("+3 more", 6.5, "dim"),
    ]


def test_loopback_shows_its_ipv4_address_else_its_first():
    scene = lesson_03()
    assert texts(chip_lines(scene.root, lo(), scene)) == ["lo", "loopback · UP", "127.0.0.1/8"]
    only_v6 = link("lo", 1, "loopback", Address("::1/128", family=6, scope="host"), "10.9.9.9/32")
    assert texts(chip_lines(scene.root, only_v6, scene))[2:] == ["::1/128"]


def test_a_chip_says_where_its_other_end_is_only_when_the_drawing_cannot_show_it():
    scene = lesson_03()
    c1 = scene.namespace("c1")
    assert len(chip_lines(c1, c1.interface("eth0"), scene)) == 3  # its peer, v1, is drawn in root
    unseen = link("eth1", 3, peer=Peer(ELSEWHERE, "veth9", 9, nsid=4))
    assert texts(chip_lines(c1, unseen, scene))[-2:] == ["peer: ifindex 9", f"in net:[{ELSEWHERE}]"]
    freed = link("eth2", 4, peer=Peer(None, None, 11, nsid=5))
    assert texts(chip_lines(c1, freed, scene))[-2:] == ["peer: ifindex 11", "in a namespace being freed"]
    stacked = link("mv0", 5, "macvlan", lower=Peer(ELSEWHERE, "eth0", 2, nsid=4))
    assert texts(chip_lines(c1, stacked, scene))[-2:] == ["peer: ifindex 2", f"in net:[{ELSEWHERE}]"]


# -- headers and routes ---------------------------------------------------------------------------


def test_a_header_is_the_title_the_inode_the_facts_then_the_routes():
    root = lesson_03().namespace("root")
    assert header_lines(root) == [
        ("root", 11.0, "title"),
        ("net:[1001]", 7.5, "dim"),
        ("you are here · forwarding on · NAT masquerade", 7.0, "fact"),
        ("198.51.100.0/24 via 203.0.113.1 dev up0", 7.0, "route"),  # the kernel's own routes left out
    ]
    assert header_lines(root, routes=False) == header_lines(root)[:3]
    assert header_lines(lesson_03().namespace("c2")) == [
        ("c2", 11.0, "title"),  # nothing to say about c2: no facts line
        ("net:[1003]", 7.5, "dim"),
        ("default via 10.0.0.1 dev eth0", 7.0, "route"),
    ]


def test_a_header_says_what_holds_an_unnamed_namespace_and_where_nat_sends_packets():
    held = Namespace(7, "pid 42 (sleep)", pids=(42,), holders=("process 42 (sleep)", "open fd 5 of process 43"))
    assert texts(header_lines(held)) == ["pid 42 (sleep)", "net:[7]", "held by process 42 (sleep)"]
    assert texts(header_lines(Namespace(8, "net:[8]")))[2] == "held by nothing"
    publishing = Namespace(
        9, "edge", names=("edge",), outside=True, nat=(NatRule("dnat", "nat", "prerouting", to="10.0.0.2:80"),)
    )
    assert header_lines(publishing)[2] == ("outside this lab · NAT dnat → 10.0.0.2:80", 7.0, "fact")


def test_routes_put_the_default_first_and_sum_up_past_three():
    routes = (
        Route("10.1.0.0/16", via="10.0.0.254", dev="eth0"),
        Route("2001:db8::/32", family=6, via="fe80::1", dev="eth0"),
        connected("10.0.0.0/24", "eth0"),
        Route("10.0.0.2", dev="eth0", type="local", protocol="kernel", scope="host"),
        Route("default", family=6, via="fe80::1", dev="eth0"),
        Route("10.2.0.0/16", via="10.0.0.254", dev="eth0"),
        GATEWAY,
    )
    ns = Namespace(5, "c3", names=("c3",), interfaces=(lo(), link("eth0", 2, "veth", "10.0.0.2/24")), routes=routes)
    assert route_lines(ns) == [
        ("default via 10.0.0.1 dev eth0", 7.0, "route"),
        ("default via fe80::1 dev eth0", 7.0, "route"),
        ("10.1.0.0/16 via 10.0.0.254 dev eth0", 7.0, "route"),
        ("+2 more routes", 6.5, "dim"),
    ]


def test_a_namespace_with_an_address_and_no_way_out_ends_with_a_warning():
    scene = lesson_03()
    assert route_lines(scene.namespace("c1")) == [("no default route: reaches only 10.0.0.0/24", 7.0, "warn")]
    alone = Namespace(6, "alone", names=("alone",), interfaces=(lo(),))
    assert route_lines(alone) == []  # no address to route from yet: nothing to warn about
    assert [style for _text, _size, style in route_lines(scene.root)] == ["route"]  # never said of root


# -- compact tiles and hubs -----------------------------------------------------------------------


def test_a_tile_names_each_interface_but_lo_with_its_peer_and_then_the_gateway():
    scene = lesson_03()
    c1, c2 = scene.namespace("c1"), scene.namespace("c2")
    assert tile_lines(scene, c2) == [
        ("eth0 10.0.0.3/24 ⇄v2@root", c2.interface("eth0")),
        ("default via 10.0.0.1 dev eth0", None),
    ]
    assert [text for text, _interface in tile_lines(scene, c1)] == ["eth0 10.0.0.2/24 ⇄v1@root", "no default route"]
    far = Namespace(6, "far", names=("far",), interfaces=(link("eth0", 2, peer=Peer(ELSEWHERE, "veth7", 7, nsid=0)),))
    assert tile_lines(scene, far)[0][0] == "eth0 ⇄veth7@?"  # no address; a peer somewhere unseen


def test_a_tile_sums_up_past_three_interfaces_or_says_it_has_only_lo():
    scene = lesson_03()
    many = Namespace(
        6, "many", names=("many",), interfaces=(lo(), *(link(f"dummy{n}", 2 + n, "dummy") for n in range(5)))
    )
    lines = tile_lines(scene, many)
    assert [text for text, _interface in lines] == ["dummy0", "dummy1", "dummy2", "+2 more interfaces"]
    assert lines[-1][1] is None and lines[0][1] is many.interface("dummy0")
    fresh = Namespace(7, "fresh", names=("fresh",), interfaces=(link("lo", 1, "loopback", up=False, carrier=False),))
    assert tile_lines(scene, fresh) == [("only lo (DOWN)", None)]
    assert tile_lines(scene, Namespace(8, "bare", names=("bare",))) == [("only lo", None)]


def test_a_hub_lists_its_own_interfaces_bridges_with_their_ports_and_counts_the_wires_below():
    root = lesson_03().namespace("root")
    assert hub_lines(root) == [
        "lo         loopback  UP         127.0.0.1/8, ::1/128",
        "br0        bridge    UP         10.0.0.1/24   (2 ports)",  # v1 and v2: ports, not lines
        "3 veth ends wired to the namespaces below (each tile names its peer here)",  # v1, v2, up0
        "route 198.51.100.0/24 via 203.0.113.1 dev up0",
    ]


def test_a_busy_hub_keeps_four_lines_and_a_warning_is_not_called_a_route():
    own = (lo(), link("br0", 2, "bridge", "10.0.0.1/24"), *(link(f"dummy{n}", 3 + n, "dummy") for n in range(5)))
    hub = Namespace(9, "hub", names=("hub",), interfaces=own, routes=(connected("10.0.0.0/24", "br0"),))
    lines = hub_lines(hub)
    assert [line.split()[0] for line in lines[:4]] == ["lo", "br0", "dummy0", "dummy1"]
    assert lines[4:] == [
        "+3 more interfaces",
        "0 veth ends wired to the namespaces below (each tile names its peer here)",
        "no default route: reaches only 10.0.0.0/24",
    ]


# -- the caption, and the smallest text -----------------------------------------------------------


def test_the_caption_counts_namespaces_and_interfaces_and_says_when(utc):
    assert caption_text(lesson_03()) == "4 network namespaces · 11 interfaces · snapshot at 00:00:00"
    one = Topology((Namespace(1, "root", root=True, interfaces=(lo(),)),), taken_at=3723)
    assert caption_text(one, "1 change since 10:00:00") == (
        "1 network namespace · 1 interface · snapshot at 01:02:03 · 1 change since 10:00:00"
    )


def test_no_line_is_smaller_than_the_smallest_size_projector_mode_scales_from():
    scene = lesson_03()
    sizes = set()
    for ns in scene.namespaces:
        sizes.update(size for _text, size, _style in header_lines(ns))
        for interface in ns.interfaces:
            sizes.update(size for _text, size, _style in chip_lines(ns, interface, scene))
    unseen = link("eth1", 3, "veth", *(f"10.0.{n}.1/24" for n in range(5)), peer=Peer(None, None, 4, nsid=1))
    sizes.update(size for _text, size, _style in chip_lines(scene.root, unseen, scene))
    assert min(sizes) >= MIN_POINTS
