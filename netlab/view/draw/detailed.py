"""The detailed layout: each namespace a box, each interface a chip, veth pairs facing each other.

Four steps, all in inches (the renderer draws exactly these numbers):

1. **Where each box goes, roughly.** Namespaces wired together form a group. A chain (A - B - C)
   goes left to right; anything else top-down from its busiest namespace, in rows.
2. **Which side each chip sits on**: towards the namespace of its peer, so a veth pair is a
   short wire between two facing sides. Chips with no other namespace to face (lo, a bridge,
   a bridge port) sit inside their box.
3. **How big each box is**: its header (title, inode, facts, routes) and its chips.
4. **Where exactly**: rows inside each group, groups left to right, wrapping into lines; then
   the chips on a side slide towards their peers so the wires run straight where they can.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import networkx as nx

from netlab.view.draw.labels import Line, chip_lines, header_lines
from netlab.view.draw.measure import line_height, text_width
from netlab.view.snapshot import Interface, Namespace, Topology, interface_key, natural_key

__all__ = ["INNER_SIDE", "Box", "Chip", "name_key", "namespace_graph", "peer_chip", "plan"]

CHIP_PAD = 0.07  # inches between a chip's frame and its text


@dataclass(eq=False)
class Chip:
    """An interface drawn as a small rounded box; ``side`` says where on its namespace box."""

    ns: Namespace
    interface: Interface
    lines: list[Line]  # (text, size, style: bold/plain/dim)
    w: float
    h: float
    side: str = "inside"  # inside, top, bottom, left, right
    order: tuple = ()
    x: float = 0.0  # centre
    y: float = 0.0
    pad: ClassVar[float] = CHIP_PAD

    @property
    def key(self) -> str:
        return interface_key(self.ns, self.interface.name)

    def anchor(self, side: str | None = None) -> tuple[float, float]:
        side = side or self.side
        return {
            "top": (self.x, self.y + self.h / 2),
            "bottom": (self.x, self.y - self.h / 2),
            "left": (self.x - self.w / 2, self.y),
            "right": (self.x + self.w / 2, self.y),
        }.get(side, (self.x, self.y))


@dataclass(eq=False)
class Box:
    """A namespace: header, chips inside, chips sitting on its sides."""

    ns: Namespace
    header: list[Line]
    chips: list[Chip] = field(default_factory=list)
    w: float = 0.0
    h: float = 0.0
    x: float = 0.0  # lower-left corner
    y: float = 0.0
    grid: tuple[float, float] = (0.0, 0.0)  # abstract position (column, row) used to pick sides
    header_h: float = 0.0
    reserve: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # chips' inner halves: top, bottom, left, right
    inside_rows: list[list[Chip]] = field(default_factory=list)

    def side_chips(self, side: str) -> list[Chip]:
        return [c for c in self.chips if c.side == side]


INNER_SIDE = {"bottom": "top", "top": "bottom", "left": "right", "right": "left"}


def make_chip(ns: Namespace, interface: Interface, topology: Topology) -> Chip:
    """An interface's chip, sized to its lines."""
    lines = chip_lines(ns, interface, topology)
    w = max(text_width(text, size, bold=style == "bold") for text, size, style in lines) + 2 * CHIP_PAD + 0.06
    h = sum(line_height(size) for _, size, _ in lines) + 2 * CHIP_PAD
    return Chip(ns=ns, interface=interface, lines=lines, w=max(w, 0.55), h=h)


# -- detailed layout ------------------------------------------------------------------------------


def _blocks(graph: nx.Graph, topology: Topology) -> list[list[list[Namespace]]]:
    """Each connected group of namespaces (the root's first), as rows of namespaces."""
    position = {ns.inode: i for i, ns in enumerate(topology.namespaces)}
    groups = sorted(nx.connected_components(graph), key=lambda group: min(position[i] for i in group))
    return [_rows_of(graph.subgraph(group), sorted(group, key=position.__getitem__)) for group in groups]


def _rows_of(group: nx.Graph, inodes: list[int]) -> list[list[Namespace]]:
    """A chain goes left to right; anything else top-down, in layers outward from its busiest namespace."""
    ns = nx.get_node_attributes(group, "ns")
    if len(inodes) == 1:
        return [[ns[inodes[0]]]]
    if nx.is_tree(group) and max(degree for _, degree in group.degree) <= 2:  # a chain
        ends = [ns[i] for i in inodes if group.degree[i] == 1]
        start = next((end for end in ends if end.root), min(ends, key=name_key))
        return [[ns[i] for i in nx.dfs_preorder_nodes(group, start.inode)]]
    hub = max(inodes, key=lambda i: (group.degree[i], ns[i].root, -i))
    return [[ns[i] for i in layer] for layer in nx.bfs_layers(group, hub)]


def name_key(ns: Namespace) -> tuple:
    """Natural order: ns2 before ns10."""
    return natural_key(ns.title)


def namespace_graph(topology: Topology) -> nx.Graph:
    """The namespaces (nodes: inodes, each with its ``ns``), joined where a veth or a device's lower link crosses.

    Each namespace's neighbours are in name order, so walks (``bfs_layers``) list them that way.
    """
    graph = nx.Graph()
    graph.add_nodes_from((ns.inode, {"ns": ns}) for ns in topology.namespaces)
    crossings: set[tuple[int, int]] = set()
    for ns, interface in topology.interfaces():
        for ref in (interface.peer, interface.lower):
            if ref and ref.netns is not None and ref.netns != ns.inode and ref.netns in graph:
                crossings |= {(ns.inode, ref.netns), (ref.netns, ns.inode)}
    title = {ns.inode: name_key(ns) for ns in topology.namespaces}
    graph.add_edges_from(sorted(crossings, key=lambda pair: (title[pair[0]], title[pair[1]], pair)))
    return graph


def peer_chip(chips: dict[str, Chip], chip: Chip) -> Chip | None:
    ref = chip.interface.peer or chip.interface.lower
    if ref is None or ref.netns is None or ref.name is None:
        return None
    return chips.get(interface_key(ref.netns, ref.name))


def plan(topology: Topology) -> tuple[list[Box], dict[str, Chip], float, float]:
    """The detailed layout: every box and chip placed, in inches from the lower left; also the width and height."""
    graph = namespace_graph(topology)
    boxes, chips = _boxes_and_chips(topology)
    blocks = _blocks(graph, topology)
    _set_grid(boxes, blocks)  # 1. abstract placement: each connected group of namespaces is a block of rows
    for chip in chips.values():  # 2. which side of its box each chip sits on
        _choose_side(chip, chips, boxes)
    for box in boxes.values():  # 3. box sizes from their chips
        _size_box(box)
    _place_blocks(boxes, blocks)  # 4. real positions, then the chips on them
    for box in boxes.values():
        _place_chips(box, chips)
    _align_side_chips(list(boxes.values()), chips)
    width, height = _move_to_origin(list(boxes.values()), list(chips.values()))
    return list(boxes.values()), chips, width, height


def _boxes_and_chips(topology: Topology) -> tuple[dict[int, Box], dict[str, Chip]]:
    """A box per namespace (by inode), a chip per interface (by graph node), each chip in its box."""
    boxes = {ns.inode: Box(ns=ns, header=header_lines(ns)) for ns in topology.namespaces}
    chips: dict[str, Chip] = {}
    for ns in topology.namespaces:
        for interface in ns.interfaces:
            chip = make_chip(ns, interface, topology)
            chips[chip.key] = chip
            boxes[ns.inode].chips.append(chip)
    return boxes, chips


def _set_grid(boxes: dict[int, Box], blocks: list[list[list[Namespace]]]) -> None:
    """Give each box its (column, row) in its block, each row centred on the widest."""
    for block in blocks:
        columns = max(len(row) for row in block)
        for r, row in enumerate(block):
            for c, ns in enumerate(row):
                boxes[ns.inode].grid = (c + (columns - len(row)) / 2, r)


def _choose_side(chip: Chip, chips: dict[str, Chip], boxes: dict[int, Box]) -> None:
    """Put ``chip`` on the side of its box that faces its peer's box (inside, if there is none)."""
    other = peer_chip(chips, chip)
    if other is None or other.ns.inode == chip.ns.inode:
        chip.side = "inside"
        return
    (x0, y0), (x1, y1) = boxes[chip.ns.inode].grid, boxes[other.ns.inode].grid
    if y0 == y1:  # same row: face each other sideways
        chip.side = "right" if x1 > x0 else "left"
    else:  # rows grow downwards
        chip.side = "top" if y1 < y0 else "bottom"
    chip.order = (x1 if chip.side in ("top", "bottom") else y1, *sorted([chip.key, other.key]))


def _place_blocks(boxes: dict[int, Box], blocks: list[list[list[Namespace]]]) -> None:
    """Rows inside each block, blocks left to right, wrapping into a new line past the widest (or 11 inches)."""
    placed = [_place_block([[boxes[ns.inode] for ns in row] for row in block]) for block in blocks]
    line_limit = max([11.0] + [w for w, _, _ in placed])
    x = y = tallest = 0.0
    for width, height, members in placed:
        if x > 0 and x + width > line_limit:
            x, y, tallest = 0.0, y - tallest - 0.45, 0.0
        for box in members:
            box.x += x
            box.y += y
        x += width + 0.8
        tallest = max(tallest, height)


def _move_to_origin(boxes: list[Box], chips: list[Chip]) -> tuple[float, float]:
    """Shift everything so the drawing starts at (0, 0); returns its width and height."""
    xs = [b.x for b in boxes] + [b.x + b.w for b in boxes]
    ys = [b.y for b in boxes] + [b.y + b.h for b in boxes]
    for chip in chips:
        xs += [chip.x - chip.w / 2, chip.x + chip.w / 2]
        ys += [chip.y - chip.h / 2, chip.y + chip.h / 2]
    x0, y0 = min(xs), min(ys)
    for box in boxes:
        box.x -= x0
        box.y -= y0
    for chip in chips:
        chip.x -= x0
        chip.y -= y0
    return max(xs) - x0, max(ys) - y0


def _outward(box: Box, side: str) -> float:
    """How far the chips on one side of a box stick out of it."""
    return max((c.w / 2 if side in ("left", "right") else c.h / 2 for c in box.side_chips(side)), default=0.0)


def _place_block(rows: list[list[Box]]) -> tuple[float, float, list[Box]]:
    """Lay out one block: each row left to right and centred, rows downwards. Returns its size.

    The gaps leave room for the chips sitting on the boxes' sides and a visible wire between.
    """
    widths = []
    for row in rows:
        x = 0.0
        for n, box in enumerate(row):
            if n:
                x += 0.6 + _outward(row[n - 1], "right") + _outward(box, "left")
            box.x = x
            x += box.w
        widths.append(x)
    block_w = max(widths)
    y = 0.0
    for row, width in zip(rows, widths, strict=True):
        y -= max(_outward(b, "top") for b in row)
        tallest = max(b.h for b in row)
        for box in row:
            box.h = tallest  # one height per row: tidy, and room to line the wires up
            box.x += (block_w - width) / 2
            box.y = y - box.h
        y -= max(b.h for b in row) + max(_outward(b, "bottom") for b in row) + 0.75
    members = [box for row in rows for box in row]
    return block_w, -y - 0.75, members


def _size_box(box: Box) -> None:
    pad = 0.16
    header_h = sum(line_height(size) for _, size, _ in box.header) + 0.06
    header_w = max(text_width(t, s, mono=st in ("route", "warn"), bold=st == "title") for t, s, st in box.header)
    inside = _inside_rows(box)
    inside_w = max((sum(c.w for c in row) + 0.14 * (len(row) - 1) for row in inside), default=0)
    inside_h = sum(max(c.h for c in row) for row in inside) + 0.14 * max(len(inside) - 1, 0)
    top, bottom = box.side_chips("top"), box.side_chips("bottom")
    left, right = box.side_chips("left"), box.side_chips("right")

    def along(cs: list[Chip], size: str) -> float:
        return sum(getattr(c, size) for c in cs) + 0.16 * max(len(cs) - 1, 0)

    reserve_top = max((c.h / 2 for c in top), default=0) + (0.06 if top else 0)
    reserve_bottom = max((c.h / 2 for c in bottom), default=0) + (0.1 if bottom else 0)
    reserve_left = max((c.w / 2 for c in left), default=0) + (0.08 if left else 0)
    reserve_right = max((c.w / 2 for c in right), default=0) + (0.08 if right else 0)
    port_room = 0.35 if any(c.interface.master for c in bottom + top) else 0.0
    box.w = max(
        header_w + 2 * pad,
        inside_w + 2 * pad + reserve_left + reserve_right,
        along(top, "w") + 2 * pad,
        along(bottom, "w") + 2 * pad,
        1.6,
    )
    body_h = max(inside_h + (0.12 if inside else 0), along(left, "h") + 0.1, along(right, "h") + 0.1)
    box.h = reserve_top + pad + header_h + body_h + port_room + reserve_bottom + pad * 0.6
    box.header_h = header_h
    box.reserve = (reserve_top, reserve_bottom, reserve_left, reserve_right)
    box.inside_rows = inside


def _inside_rows(box: Box) -> list[list[Chip]]:
    """Interfaces with no neighbour box: loopback and others on top, bridges in the last row."""
    inside = [c for c in box.chips if c.side == "inside"]
    bridges = [c for c in inside if c.interface.kind == "bridge"]
    others = [c for c in inside if c.interface.kind != "bridge"]
    rows = [others[i : i + 3] for i in range(0, len(others), 3)]
    rows += [bridges[i : i + 3] for i in range(0, len(bridges), 3)]
    return rows


def _place_chips(box: Box, chips: dict[str, Chip]) -> None:
    reserve_top, reserve_bottom, reserve_left, reserve_right = box.reserve
    top_y = box.y + box.h
    body_top = top_y - reserve_top - 0.16 - box.header_h
    inner_left = box.x + 0.16 + reserve_left
    inner_right = box.x + box.w - 0.16 - reserve_right
    y = body_top - 0.06
    for row in box.inside_rows:
        width = sum(c.w for c in row) + 0.14 * (len(row) - 1)
        x = (inner_left + inner_right) / 2 - width / 2
        height = max(c.h for c in row)
        for chip in row:
            chip.x, chip.y = x + chip.w / 2, y - height / 2
            x += chip.w + 0.14
        y -= height + 0.14
    for side in ("top", "bottom", "left", "right"):
        cs = sorted(box.side_chips(side), key=lambda c: c.order)
        if not cs:
            continue
        if side in ("top", "bottom"):
            total = sum(c.w for c in cs) + 0.16 * (len(cs) - 1)
            x = box.x + box.w / 2 - total / 2
            for chip in cs:
                chip.x = x + chip.w / 2
                chip.y = top_y if side == "top" else box.y
                x += chip.w + 0.16
        else:
            total = sum(c.h for c in cs) + 0.16 * (len(cs) - 1)
            mid = (body_top + box.y) / 2
            y = mid + total / 2
            for chip in cs:
                chip.x = box.x if side == "left" else box.x + box.w
                chip.y = y - chip.h / 2
                y -= chip.h + 0.16


def _align_side_chips(boxes: list[Box], chips: dict[str, Chip]) -> None:
    """Slide the chips along their side towards their peers, so wires run straight where they can.

    Sides with several chips go first (towards the peers' centred chips), then single chips
    follow their peer. Chips keep their order, stay inside their side, and never overlap.
    """
    sides = [
        (box, side, sorted(box.side_chips(side), key=lambda c: c.order))
        for box in boxes
        for side in ("top", "bottom", "left", "right")
    ]
    sides = [entry for entry in sides if entry[2]]
    for box, side, cs in sorted(sides, key=lambda entry: len(entry[2]) == 1):
        horizontal = side in ("top", "bottom")
        if horizontal:
            low, high = box.x + 0.14, box.x + box.w - 0.14
        else:
            low = box.y + 0.12
            high = box.y + box.h - box.reserve[0] - 0.16 - box.header_h
        size = [c.w if horizontal else c.h for c in cs]
        wanted = []
        for chip in cs:
            peer = peer_chip(chips, chip)
            wanted.append((peer.x if horizontal else peer.y) if peer else (chip.x if horizontal else chip.y))
        if not horizontal:  # y grows upwards, the chips are ordered top-down: work in "downwards" units
            wanted = [-w for w in wanted]
            low, high = -high, -low
        positions = _spread(wanted, size, low, high, gap=0.16)
        for chip, position in zip(cs, positions, strict=True):
            if horizontal:
                chip.x = position
            else:
                chip.y = -position


def _spread(wanted: list[float], size: list[float], low: float, high: float, *, gap: float) -> list[float]:
    """Centres as close to ``wanted`` as possible, in order, inside [low, high], ``gap`` apart."""
    total = sum(size) + gap * (len(size) - 1)
    if total >= high - low:  # no room to move: pack them, centred
        start = (low + high) / 2 - total / 2
        out = []
        for s in size:
            out.append(start + s / 2)
            start += s + gap
        return out
    out = [min(max(w, low + s / 2), high - s / 2) for w, s in zip(wanted, size, strict=True)]
    for i in range(1, len(out)):  # push right what overlaps its left neighbour
        out[i] = max(out[i], out[i - 1] + (size[i - 1] + size[i]) / 2 + gap)
    if out[-1] > high - size[-1] / 2:  # then pull back what fell off the right end
        out[-1] = high - size[-1] / 2
        for i in range(len(out) - 2, -1, -1):
            out[i] = min(out[i], out[i + 1] - (size[i] + size[i + 1]) / 2 - gap)
    return out
