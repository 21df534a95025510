"""The compact layout's steps (``render_compact``), from hand-built snapshots: no kernel, no pixels compared.

Hubs and tiles measured, tiles on a grid, a bus per hub with a stub into each tile wired to it.
"""

from __future__ import annotations

import pytest
from helpers.topologies import lo, star

from netlab.view.draw.compact import (
    TILE_W,
    _add_buses,
    _measure,
    _tile_mark,
    _tile_positions,
    render_compact,
)
from netlab.view.draw.detailed import namespace_graph
from netlab.view.draw.render import HUB_COLOURS
from netlab.view.snapshot import Namespace, Topology, interface_key


@pytest.fixture(autouse=True)
def english(monkeypatch):
    monkeypatch.setenv("NETLAB_LANG", "en")


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
