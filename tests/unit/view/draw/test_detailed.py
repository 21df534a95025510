"""The detailed layout's steps (``plan``), from hand-built snapshots: no kernel, no pixels compared.

A grid per group, each chip on the side facing its peer, boxes placed left to right, everything
moved to start at (0, 0).
"""

from __future__ import annotations

import pytest
from helpers.topologies import chain, star

from netlab.view.draw.detailed import Box, _set_grid, plan
from netlab.view.snapshot import Namespace, Topology, interface_key


@pytest.fixture(autouse=True)
def english(monkeypatch):
    monkeypatch.setenv("NETLAB_LANG", "en")


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
