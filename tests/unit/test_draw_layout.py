"""The two layouts' steps, from hand-built snapshots: no kernel, no pixels compared.

``plan`` (the detailed layout): a grid per group, each chip on the side facing its peer, boxes
placed left to right, everything moved to start at (0, 0). ``render_compact``'s steps: hubs and
tiles measured, tiles on a grid, a bus per hub with a stub into each tile wired to it.
"""

from __future__ import annotations

import pytest

from netlab.view.draw.compact import (
    TILE_W,
    _add_buses,
    _measure,
    _tile_mark,
    _tile_positions,
    render_compact,
)
from netlab.view.draw.detailed import Box, _set_grid, namespace_graph, plan
from netlab.view.draw.render import HUB_COLOURS
from netlab.view.snapshot import Interface, Namespace, Peer, Topology, interface_key


@pytest.fixture(autouse=True)
def english(monkeypatch):
    monkeypatch.setenv("NETLAB_LANG", "en")


def veth(name: str, index: int, peer: Peer) -> Interface:
    mac = f"02:00:00:00:00:{index:02x}"
    return Interface(name, index, "veth", "UP", up=True, carrier=True, mac=mac, mtu=1500, peer=peer)


def lo() -> Interface:
    return Interface("lo", 1, "loopback", "UNKNOWN", up=True, carrier=True, mac="00:00:00:00:00:00", mtu=65536)


def star(spokes: int, *, hub_root: bool = True) -> Topology:
    """A hub (inode 100) with a veth vK to eth0 in each spoke sK (inode 100 + K)."""
    hub_ifs = [lo()] + [veth(f"v{k}", 1 + k, Peer(100 + k, "eth0", 2)) for k in range(1, spokes + 1)]
    title, names = ("root", ()) if hub_root else ("hub", ("hub",))
    hub = Namespace(100, title, root=hub_root, names=names, interfaces=tuple(hub_ifs))
    others = [
        Namespace(100 + k, f"s{k}", names=(f"s{k}",), interfaces=(lo(), veth("eth0", 2, Peer(100, f"v{k}", 1 + k))))
        for k in range(1, spokes + 1)
    ]
    return Topology((hub, *others), taken_at=0)


def chain(*titles: str) -> Topology:
    """Namespaces in a row, each joined to the next by a veth pair (west/east)."""
    namespaces = []
    for n, title in enumerate(titles):
        links = [lo()]
        if n:
            links.append(veth("west", 2, Peer(n - 1, "east", 3)))
        if n < len(titles) - 1:
            links.append(veth("east", 3, Peer(n + 1, "west", 2)))
        namespaces.append(Namespace(n, title, root=n == 0, names=() if n == 0 else (title,), interfaces=tuple(links)))
    return Topology(tuple(namespaces), taken_at=0)


# -- the detailed layout ---------------------------------------------------------------------------


def test_a_short_row_is_centred_under_the_widest():
    a, b, c, d = (Namespace(n, f"n{n}") for n in range(4))
    boxes = {ns.inode: Box(ns=ns, header=[]) for ns in (a, b, c, d)}
    _set_grid(boxes, [[[a], [b, c, d]]])
    assert [boxes[n].grid for n in range(4)] == [(1.0, 0), (0.0, 1), (1.0, 1), (2.0, 1)]


def test_chips_face_their_peers():
    boxes, chips, _w, _h = plan(star(3))
    sides = {key: chip.side for key, chip in chips.items()}
    assert sides[interface_key(100, "v1")] == "bottom"  # the hub's row is above its spokes'
    assert sides[interface_key(101, "eth0")] == "top"
    assert sides[interface_key(100, "lo")] == "inside"  # no peer: inside its box
    boxes, chips, _w, _h = plan(chain("root", "a", "b"))
    assert (chips[interface_key(1, "west")].side, chips[interface_key(1, "east")].side) == ("left", "right")


def test_a_chain_goes_left_to_right_and_the_drawing_starts_at_zero():
    boxes, chips, width, height = plan(chain("root", "a", "b"))
    xs = [box.x for box in boxes]
    assert xs == sorted(xs) and len({box.y for box in boxes}) == 1
    left = min([box.x for box in boxes] + [chip.x - chip.w / 2 for chip in chips.values()])
    bottom = min([box.y for box in boxes] + [chip.y - chip.h / 2 for chip in chips.values()])
    assert (left, bottom) == (0.0, 0.0)
    right = max([box.x + box.w for box in boxes] + [chip.x + chip.w / 2 for chip in chips.values()])
    top = max([box.y + box.h for box in boxes] + [chip.y + chip.h / 2 for chip in chips.values()])
    assert (width, height) == pytest.approx((right, top))


def test_groups_sit_side_by_side_then_wrap():
    loners = Topology(tuple(Namespace(n, f"n{n}", root=n == 0) for n in range(8)), taken_at=0)
    boxes, _chips, width, _height = plan(loners)
    rows = sorted({box.y for box in boxes}, reverse=True)
    assert len(rows) > 1 and width <= 11.0  # eight lone boxes do not fit on one 11-inch line
    first = [box for box in boxes if box.y == rows[0]]
    assert [box.ns.inode for box in first] == list(range(len(first)))


# -- the compact layout ----------------------------------------------------------------------------


def test_a_busy_namespace_is_a_hub_and_the_rest_are_tiles_root_first():
    topology = star(7, hub_root=False)
    root = Namespace(99, "root", root=True, interfaces=(lo(),))
    topology = Topology((*topology.namespaces, root), taken_at=0)
    sheet = _measure(topology, namespace_graph(topology), caption_line="", max_width=None)
    assert [ns.title for ns in sheet.hubs] == ["hub"]
    assert [ns.title for ns in sheet.tiles] == ["root", "s1", "s2", "s3", "s4", "s5", "s6", "s7"]
    assert sheet.columns == 4 and sheet.width == pytest.approx(4 * TILE_W + 3 * 0.14 + 2 * 0.3 + 0.2)


def test_tiles_fill_rows_left_to_right_then_downwards():
    topology = star(6)
    sheet = _measure(topology, namespace_graph(topology), caption_line="", max_width=None)
    positions = _tile_positions(sheet, grid_top=10.0)
    corners = [positions[ns.inode] for ns in sheet.tiles]
    assert [y for _x, y in corners[:4]] == [10.0 - sheet.tile_h] * 4
    assert corners[4][0] == corners[0][0] and corners[4][1] < corners[0][1]
    assert corners[1][0] == pytest.approx(corners[0][0] + TILE_W + 0.14)


def test_each_hub_has_a_trunk_a_line_per_row_and_a_stub_per_tile():
    topology = star(6)
    graph = namespace_graph(topology)
    sheet = _measure(topology, graph, caption_line="", max_width=None)
    positions = _tile_positions(sheet, grid_top=10.0)
    wires: dict[str, list] = {HUB_COLOURS[0]: []}
    _add_buses(sheet, graph, {100: (0.4, 11.0)}, positions, wires)
    stubs, trunk, rows = wires[HUB_COLOURS[0]][:6], wires[HUB_COLOURS[0]][6], wires[HUB_COLOURS[0]][7:]
    assert [(a[0], b[1]) for a, b in stubs] == [(x + 0.25, y + sheet.tile_h) for x, y in positions.values()]
    assert trunk[0] == (0.4, 11.0) and len(rows) == 2  # six tiles: two rows of four and two


def test_a_tile_is_marked_as_its_namespace_else_as_its_first_marked_interface():
    ns = star(1).namespaces[1]
    assert _tile_mark(ns, {}) is None
    assert _tile_mark(ns, {interface_key(ns, "eth0"): "changed"}) == "changed"
    assert _tile_mark(ns, {interface_key(ns, "eth0"): "changed", ns.key: "added"}) == "added"


def test_the_compact_drawing_is_as_big_as_measured():
    topology = star(9)
    sheet = _measure(topology, namespace_graph(topology), caption_line="a caption", max_width=None)
    figure = render_compact(topology, {}, dpi=50, caption_line="a caption")
    assert tuple(figure.get_size_inches()) == pytest.approx((sheet.width, sheet.height))
