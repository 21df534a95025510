"""Draw a snapshot: namespaces as boxes, interfaces as ports on them, veth pairs as wires.

    from netlab import snapshot
    snapshot().draw(path="/tmp/lab.png")      # or just `snapshot()` as the last line of a cell

How to read a drawing:

* a **box** is a network namespace: its title (``root``, a name from ``/run/netns``, or the
  process holding it), its inode ``net:[N]``, and facts (IP forwarding, NAT). The root
  namespace, where you are, has a thick blue frame;
* a **chip** is an interface: name, kind and state, addresses. Green: up and carrying packets.
  Yellow: up, but no carrier (a veth whose peer is still down). Grey and dashed: DOWN;
* a **thick line** joins the two ends of a veth pair, sitting on the sides of the two boxes;
  a thin line joins a bridge port to its bridge; a dotted line a macvlan to its parent device;
* in a **diff**, green frames are new, red dashed ones are gone, yellow ones changed.

Up to a dozen namespaces get this detailed drawing (if it fits). Larger labs get a compact one: busy
namespaces (the root of a 100-namespace star) as bands across the top, the others as small
tiles on a grid, with a coloured bus from each band to the tiles wired to it.

matplotlib is imported only when you draw, and only its object API (no pyplot), so drawing
works the same in a notebook, a terminal or a test, with no display.
"""

from __future__ import annotations

import io
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from netlab.view.snapshot import Interface, Namespace, Topology, interface_key, natural_key

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["draw", "png_bytes"]

DETAILED_MAX_NAMESPACES = 12
DETAILED_MAX_CHIPS = 24
DETAILED_MAX_WIDTH = 16.0  # inches; a notebook shows ~10 before it scales the picture down

# Colours: state of an interface, kind of a box, and diff marks.
RUNNING = ("#d3f9d8", "#2b8a3e")  # fill, edge
NO_CARRIER = ("#fff3bf", "#e8a600")
DOWN = ("#f1f3f5", "#868e96")
ROOT_BOX = ("#e7f1fb", "#1864ab")
NS_BOX = ("#f8f9fa", "#495057")
OUTSIDE_BOX = ("#ffffff", "#adb5bd")
VETH_LINE = "#1c7ed6"
PORT_LINE = "#5c677d"
LOWER_LINE = "#9c36b5"
MARK_COLOURS = {"added": "#2f9e44", "removed": "#e03131", "changed": "#f08c00"}
MARK_BADGES = {"added": "+", "removed": "−", "changed": "~"}
HUB_COLOURS = ("#1c7ed6", "#e8590c", "#2f9e44", "#9c36b5", "#c2255c", "#0c8599")

MONO, SANS = "DejaVu Sans Mono", "DejaVu Sans"


def _text_width(text: str, size: float, *, mono: bool = True, bold: bool = False) -> float:
    """Width in inches of ``text`` at ``size`` points (DejaVu: monospace glyphs are 0.6 em)."""
    per_char = 0.602 if mono else (0.66 if bold else 0.60)
    return len(text) * per_char * size / 72


def _state_colours(interface: Interface) -> tuple[str, str]:
    if interface.running:
        return RUNNING
    return NO_CARRIER if interface.up else DOWN


# -- geometry -------------------------------------------------------------------------------------


@dataclass(eq=False)
class Chip:
    """An interface drawn as a small rounded box; ``side`` says where on its namespace box."""

    ns: Namespace
    interface: Interface
    lines: list[tuple[str, float, str]]  # (text, size, style: bold/plain/dim)
    w: float
    h: float
    side: str = "inside"  # inside, top, bottom, left, right
    order: tuple = ()
    x: float = 0.0  # centre
    y: float = 0.0

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
    header: list[tuple[str, float, str]]
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
CHIP_PAD = 0.07
LINE_GAP = 1.35  # line height as a multiple of the font size


def _line_height(size: float) -> float:
    return size * LINE_GAP / 72


def _chip(ns: Namespace, interface: Interface, topology: Topology) -> Chip:
    kind = "" if interface.kind in ("veth",) else f"{interface.kind} · "
    lines = [(interface.name, 8.5, "bold"), (f"{kind}{interface.status}", 6.5, "dim")]
    addresses = list(interface.shown_addresses)
    if interface.kind == "loopback":
        addresses = [a for a in addresses if a.startswith("127.")] or addresses[:1]
    for address in addresses[:3]:
        lines.append((address, 7.5, "plain"))
    if len(addresses) > 3:
        lines.append((f"+{len(addresses) - 3} more", 6.5, "dim"))
    ref = interface.peer or interface.lower
    if ref is not None and (ref.netns is None or topology.by_inode(ref.netns) is None):
        where = "a namespace being freed" if ref.netns is None else f"net:[{ref.netns}]"
        lines.append((f"peer: ifindex {ref.index}", 6.5, "dim"))
        lines.append((f"in {where}", 6.5, "dim"))
    w = max(_text_width(text, size, bold=style == "bold") for text, size, style in lines) + 2 * CHIP_PAD + 0.06
    h = sum(_line_height(size) for _, size, _ in lines) + 2 * CHIP_PAD
    return Chip(ns=ns, interface=interface, lines=lines, w=max(w, 0.55), h=h)


def _header(ns: Namespace) -> list[tuple[str, float, str]]:
    facts = []
    if ns.root:
        facts.append("you are here")
    if ns.outside:
        facts.append("outside this lab")
    if ns.ip_forward:
        facts.append("forwarding on")
    for rule in ns.nat or ():
        facts.append(f"NAT {rule.action}" + (f" → {rule.to}" if rule.to else ""))
    if not ns.root and not ns.names:
        facts.append(f"held by {ns.holders[0]}" if ns.holders else "held by nothing")
    header = [(ns.title, 11.0, "title"), (ns.label, 7.5, "dim")]
    if facts:
        header.append((" · ".join(facts), 7.0, "fact"))
    return header


# -- detailed layout ------------------------------------------------------------------------------


def _components(topology: Topology, links: dict[int, set[int]]) -> list[list[Namespace]]:
    seen: set[int] = set()
    components = []
    for ns in topology.namespaces:  # root first: it starts the first component
        if ns.inode in seen:
            continue
        stack, component = [ns.inode], []
        seen.add(ns.inode)
        while stack:
            inode = stack.pop()
            component.append(topology.by_inode(inode))
            for other in sorted(links[inode]):
                if other not in seen:
                    seen.add(other)
                    stack.append(other)
        components.append(component)
    return components


def _rows_of(component: list[Namespace], links: dict[int, set[int]]) -> list[list[Namespace]]:
    """A chain goes left to right; anything else top-down from its busiest namespace."""
    if len(component) == 1:
        return [component]
    by_inode = {ns.inode: ns for ns in component}
    degree = {ns.inode: len(links[ns.inode]) for ns in component}
    edges = sum(degree.values()) // 2
    if max(degree.values()) <= 2 and edges == len(component) - 1:
        ends = [ns for ns in component if degree[ns.inode] == 1]
        start = next((ns for ns in ends if ns.root), min(ends, key=_name_key))
        row, previous, current = [start], None, start
        while len(row) < len(component):
            nxt = next(i for i in links[current.inode] if i != (previous.inode if previous else None))
            previous, current = current, by_inode[nxt]
            row.append(current)
        return [row]
    hub = max(component, key=lambda ns: (degree[ns.inode], ns.root, -ns.inode))
    rows, placed, frontier = [[hub]], {hub.inode}, [hub]
    while frontier:
        nxt = []
        for ns in frontier:
            for other in sorted(links[ns.inode], key=lambda i: _name_key(by_inode[i])):
                if other not in placed:
                    placed.add(other)
                    nxt.append(by_inode[other])
        if nxt:
            rows.append(nxt)
        frontier = nxt
    return rows


def _name_key(ns: Namespace) -> tuple:
    """Natural order: ns2 before ns10."""
    return natural_key(ns.title)


def _namespace_links(topology: Topology) -> dict[int, set[int]]:
    links: dict[int, set[int]] = {ns.inode: set() for ns in topology.namespaces}
    for ns, interface in topology.interfaces():
        for ref in (interface.peer, interface.lower):
            if ref and ref.netns is not None and ref.netns != ns.inode and ref.netns in links:
                links[ns.inode].add(ref.netns)
                links[ref.netns].add(ns.inode)
    return links


def _peer_chip(chips: dict[str, Chip], chip: Chip) -> Chip | None:
    ref = chip.interface.peer or chip.interface.lower
    if ref is None or ref.netns is None or ref.name is None:
        return None
    return chips.get(interface_key(ref.netns, ref.name))


def _detailed(topology: Topology) -> tuple[list[Box], dict[str, Chip], float, float]:
    links = _namespace_links(topology)
    boxes = {ns.inode: Box(ns=ns, header=_header(ns)) for ns in topology.namespaces}
    chips: dict[str, Chip] = {}
    for ns in topology.namespaces:
        for interface in ns.interfaces:
            chip = _chip(ns, interface, topology)
            chips[chip.key] = chip
            boxes[ns.inode].chips.append(chip)

    # 1. Abstract placement: each connected group of namespaces is a block of rows.
    blocks = [_rows_of(component, links) for component in _components(topology, links)]
    for block in blocks:
        width = max(len(row) for row in block)
        for r, row in enumerate(block):
            for c, ns in enumerate(row):
                boxes[ns.inode].grid = (c + (width - len(row)) / 2, r)

    # 2. Which side of its box each chip sits on: towards the namespace of its peer.
    for chip in chips.values():
        other = _peer_chip(chips, chip)
        if other is None or other.ns.inode == chip.ns.inode:
            chip.side = "inside"
            continue
        (x0, y0), (x1, y1) = boxes[chip.ns.inode].grid, boxes[other.ns.inode].grid
        if y0 == y1:  # same row: face each other sideways
            chip.side = "right" if x1 > x0 else "left"
        else:  # rows grow downwards
            chip.side = "top" if y1 < y0 else "bottom"
        chip.order = (x1 if chip.side in ("top", "bottom") else y1, *sorted([chip.key, other.key]))

    # 3. Box sizes from their chips.
    for box in boxes.values():
        _size_box(box)

    # 4. Real positions: rows inside each block, blocks left to right, wrapping into lines.
    placed = [_place_block([[boxes[ns.inode] for ns in row] for row in block]) for block in blocks]
    line_limit = max([11.0] + [w for w, _, _ in placed])
    x = y = line_height = 0.0
    for width, height, members in placed:
        if x > 0 and x + width > line_limit:
            x, y, line_height = 0.0, y - line_height - 0.45, 0.0
        for box in members:
            box.x += x
            box.y += y
        x += width + 0.8
        line_height = max(line_height, height)
    for box in boxes.values():
        _place_chips(box, chips)
    _align_side_chips(list(boxes.values()), chips)
    xs = [b.x for b in boxes.values()] + [b.x + b.w for b in boxes.values()]
    ys = [b.y for b in boxes.values()] + [b.y + b.h for b in boxes.values()]
    for chip in chips.values():
        xs += [chip.x - chip.w / 2, chip.x + chip.w / 2]
        ys += [chip.y - chip.h / 2, chip.y + chip.h / 2]
    x0, y0 = min(xs), min(ys)
    for box in boxes.values():
        box.x -= x0
        box.y -= y0
    for chip in chips.values():
        chip.x -= x0
        chip.y -= y0
    return list(boxes.values()), chips, max(xs) - x0, max(ys) - y0


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
    for row, width in zip(rows, widths):
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
    header_h = sum(_line_height(size) for _, size, _ in box.header) + 0.06
    header_w = max(_text_width(t, s, mono=False, bold=st == "title") for t, s, st in box.header)
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
            peer = _peer_chip(chips, chip)
            wanted.append((peer.x if horizontal else peer.y) if peer else (chip.x if horizontal else chip.y))
        if not horizontal:  # y grows upwards, the chips are ordered top-down: work in "downwards" units
            wanted = [-w for w in wanted]
            low, high = -high, -low
        positions = _spread(wanted, size, low, high, gap=0.16)
        for chip, position in zip(cs, positions):
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
    out = [min(max(w, low + s / 2), high - s / 2) for w, s in zip(wanted, size)]
    for i in range(1, len(out)):  # push right what overlaps its left neighbour
        out[i] = max(out[i], out[i - 1] + (size[i - 1] + size[i]) / 2 + gap)
    if out[-1] > high - size[-1] / 2:  # then pull back what fell off the right end
        out[-1] = high - size[-1] / 2
        for i in range(len(out) - 2, -1, -1):
            out[i] = min(out[i], out[i + 1] - (size[i] + size[i + 1]) / 2 - gap)
    return out


# -- rendering ------------------------------------------------------------------------------------


def _new_figure(width: float, height: float, *, dpi: float) -> tuple[Figure, Axes]:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=dpi)
    ax = figure.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_axis_off()
    return figure, ax


def _round_box(
    ax: Axes,
    x: float,
    y: float,
    w: float,
    h: float,
    *,
    fill: str,
    edge: str,
    width: float = 1.0,
    dashed: bool = False,
    radius: float = 0.08,
    alpha: float = 1.0,
    z: float = 1,
) -> None:
    from matplotlib.patches import FancyBboxPatch

    ax.add_artist(
        FancyBboxPatch(
            (x, y),
            w,
            h,
            boxstyle=f"round,pad=0,rounding_size={radius}",
            facecolor=fill,
            edgecolor=edge,
            linewidth=width,
            linestyle=(0, (4, 2.5)) if dashed else "-",
            alpha=alpha,
            zorder=z,
        )
    )


def _badge(ax: Axes, x: float, y: float, mark: str, *, z: float) -> None:
    from matplotlib.patches import Circle

    colour = MARK_COLOURS[mark]
    ax.add_artist(Circle((x, y), 0.085, facecolor=colour, edgecolor="white", linewidth=1.0, zorder=z))
    ax.text(
        x,
        y - 0.005,
        MARK_BADGES[mark],
        ha="center",
        va="center",
        fontsize=8,
        color="white",
        fontweight="bold",
        fontfamily=SANS,
        zorder=z + 0.1,
    )


def _draw_chip(ax: Axes, chip: Chip, mark: str | None, *, badge: bool = True) -> None:
    fill, edge = _state_colours(chip.interface)
    down = not chip.interface.up
    width = 1.1
    if chip.interface.kind == "bridge":
        width = 2.0
    if mark:
        edge, width = MARK_COLOURS[mark], 2.2
    alpha = 0.55 if mark == "removed" else 1.0
    _round_box(
        ax,
        chip.x - chip.w / 2,
        chip.y - chip.h / 2,
        chip.w,
        chip.h,
        fill=fill,
        edge=edge,
        width=width,
        dashed=down or mark == "removed",
        radius=0.06,
        alpha=alpha,
        z=5,
    )
    y = chip.y + chip.h / 2 - CHIP_PAD
    for text, size, style in chip.lines:
        y -= _line_height(size) / 2 + 0.005
        colour = "#868e96" if style == "dim" else ("#495057" if down else "#212529")
        ax.text(
            chip.x,
            y,
            text,
            ha="center",
            va="center",
            fontsize=size,
            fontfamily=MONO,
            fontweight="bold" if style == "bold" else "normal",
            color=colour,
            alpha=alpha,
            zorder=6,
        )
        y -= _line_height(size) / 2 - 0.005
    if mark and badge:
        _badge(ax, chip.x + chip.w / 2 - 0.02, chip.y + chip.h / 2 - 0.02, mark, z=7)


def _draw_box(ax: Axes, box: Box, mark: str | None) -> None:
    fill, edge = ROOT_BOX if box.ns.root else (OUTSIDE_BOX if box.ns.outside else NS_BOX)
    width = 2.6 if box.ns.root else 1.3
    if mark:
        edge, width = MARK_COLOURS[mark], 2.8
    _round_box(
        ax,
        box.x,
        box.y,
        box.w,
        box.h,
        fill=fill,
        edge=edge,
        width=width,
        radius=0.14,
        dashed=box.ns.outside or mark == "removed",
        alpha=0.6 if mark == "removed" else 1.0,
        z=1,
    )
    reserve_top = box.reserve[0]
    y = box.y + box.h - reserve_top - 0.14
    for text, size, style in box.header:
        y -= _line_height(size) / 2
        colour = {"title": ROOT_BOX[1] if box.ns.root else "#212529", "dim": "#5c677d", "fact": "#7048e8"}[style]
        ax.text(
            box.x + 0.16,
            y,
            text,
            ha="left",
            va="center",
            fontsize=size,
            fontfamily=SANS,
            fontweight="bold" if style == "title" else "normal",
            color=colour,
            zorder=3,
        )
        y -= _line_height(size) / 2
    if mark:
        _badge(ax, box.x + box.w - 0.05, box.y + box.h - 0.05, mark, z=8)


def _draw_wire(
    ax: Axes,
    start: tuple[float, float],
    end: tuple[float, float],
    *,
    colour: str,
    width: float,
    style: str = "-",
    alpha: float = 1.0,
    z: float = 4,
) -> None:
    ax.plot(
        [start[0], end[0]],
        [start[1], end[1]],
        color=colour,
        linewidth=width,
        linestyle=style,
        alpha=alpha,
        solid_capstyle="round",
        zorder=z,
    )


def _wire_style(a: Chip, b: Chip, marks: dict[str, str]) -> tuple[str, float, str, float]:
    mark = marks.get(a.key) or marks.get(b.key)
    if mark == "removed":
        return MARK_COLOURS["removed"], 2.2, "--", 0.8
    if mark == "added":
        colour = MARK_COLOURS["added"]
    else:
        colour = VETH_LINE
    if a.interface.running and b.interface.running:
        return colour, 2.6, "-", 1.0
    return (colour if mark else "#868e96"), 2.0, (0, (3, 2)), 1.0


def _facing(a: Chip, b: Chip) -> tuple[tuple[float, float], tuple[float, float]]:
    """Anchor points of two chips: their outer sides, or the sides facing each other inside a box."""
    if a.side != "inside" and b.side != "inside":
        return a.anchor(), b.anchor()
    if abs(a.x - b.x) >= abs(a.y - b.y):
        return (a.anchor("right"), b.anchor("left")) if a.x < b.x else (a.anchor("left"), b.anchor("right"))
    return (a.anchor("bottom"), b.anchor("top")) if a.y > b.y else (a.anchor("top"), b.anchor("bottom"))


def _render_detailed(
    topology: Topology, marks: dict[str, str], *, dpi: float, caption: str, layout: tuple | None = None
) -> Figure:
    boxes, chips, width, height = layout or _detailed(topology)
    margin, caption_h, legend_h = 0.3, 0.35, 0.35
    figure, ax = _new_figure(
        max(width, _legend_width(bool(marks)), len(caption) * 0.075) + 2 * margin,
        height + 2 * margin + caption_h + legend_h,
        dpi=dpi,
    )
    shift_x, shift_y = margin, margin + legend_h
    for box in boxes:
        box.x += shift_x
        box.y += shift_y
    for chip in chips.values():
        chip.x += shift_x
        chip.y += shift_y
    for box in boxes:
        _draw_box(ax, box, marks.get(box.ns.key))
    drawn: set[frozenset[str]] = set()
    for chip in chips.values():
        interface = chip.interface
        if interface.master:
            bridge = chips.get(interface_key(chip.ns, interface.master))
            if bridge is not None:
                start = chip.anchor(INNER_SIDE.get(chip.side, "inside"))  # from the chip's inner edge
                end = bridge.anchor("bottom" if start[1] < bridge.y else "top")
                removed = "removed" in (marks.get(chip.key), marks.get(bridge.key))
                _draw_wire(
                    ax,
                    start,
                    end,
                    colour=MARK_COLOURS["removed"] if removed else PORT_LINE,
                    width=1.2,
                    style="--" if removed else "-",
                    z=2,
                )
        other = _peer_chip(chips, chip)
        if other is None or frozenset((chip.key, other.key)) in drawn:
            continue
        drawn.add(frozenset((chip.key, other.key)))
        start, end = _facing(chip, other)
        if interface.peer is not None:
            colour, width_, style, alpha = _wire_style(chip, other, marks)
        else:
            colour, width_, style, alpha = LOWER_LINE, 1.6, ":", 1.0
        _draw_wire(ax, start, end, colour=colour, width=width_, style=style, alpha=alpha, z=4)
    for chip in chips.values():
        gone_with_box = marks.get(chip.ns.key) == "removed"  # its namespace is gone: so is it
        _draw_chip(ax, chip, marks.get(chip.key) or ("removed" if gone_with_box else None), badge=not gone_with_box)
    _caption(ax, caption, x=margin, y=figure.get_figheight() - margin - caption_h / 2 + 0.05)
    _legend(ax, x=margin, y=margin * 0.6 + 0.1, marks=bool(marks))
    return figure


def _caption(ax: Axes, text: str, *, x: float, y: float) -> None:
    ax.text(x, y, text, ha="left", va="center", fontsize=8.5, fontfamily=SANS, color="#495057")


def _legend_entries(marks: bool) -> list[tuple[str, str, str, bool]]:
    entries: list[tuple[str, str, str, bool]] = [
        ("chip", RUNNING[0], RUNNING[1], False),
        ("up", "", "", False),
        ("chip", NO_CARRIER[0], NO_CARRIER[1], False),
        ("up, no carrier", "", "", False),
        ("chip", DOWN[0], DOWN[1], True),
        ("DOWN", "", "", False),
        ("line", VETH_LINE, "-", False),
        ("veth pair", "", "", False),
        ("line", PORT_LINE, "-", False),
        ("bridge port", "", "", False),
    ]
    if marks:
        for mark in ("added", "changed", "removed"):
            entries += [("badge", mark, "", False), (mark, "", "", False)]
    return entries


def _legend_step(kind: str) -> float:
    return {"chip": 0.32, "line": 0.36, "badge": 0.22}.get(kind) or _text_width(kind, 7.5, mono=False) + 0.22


def _legend_width(marks: bool) -> float:
    return sum(_legend_step(kind) for kind, _, _, _ in _legend_entries(marks))


def _legend(ax: Axes, *, x: float, y: float, marks: bool) -> None:
    """A one-line key: chip colours, wire kinds, and the diff colours when there are marks."""
    for kind, a, b, dashed in _legend_entries(marks):
        if kind == "chip":
            _round_box(ax, x, y - 0.07, 0.26, 0.14, fill=a, edge=b, width=1.0, dashed=dashed, radius=0.03, z=5)
        elif kind == "line":
            _draw_wire(ax, (x, y), (x + 0.3, y), colour=a, width=2.2 if a == VETH_LINE else 1.2, z=5)
        elif kind == "badge":
            _badge(ax, x + 0.09, y, a, z=5)
        else:
            ax.text(x, y, kind, ha="left", va="center", fontsize=7.5, fontfamily=SANS, color="#495057")
        x += _legend_step(kind)


# -- compact layout (big labs) --------------------------------------------------------------------

TILE_W = 1.95


def _hubs(topology: Topology, links: dict[int, set[int]]) -> list[Namespace]:
    """Namespaces wired to many others: drawn as bands across the top."""
    return [ns for ns in topology.namespaces if len(links[ns.inode]) >= 6 or (ns.root and len(links[ns.inode]) >= 3)]


def _tile_lines(topology: Topology, ns: Namespace) -> list[tuple[str, Interface | None]]:
    """One line per interface (lo left out, peers abbreviated), at most four."""
    lines: list[tuple[str, Interface | None]] = []
    shown = [i for i in ns.interfaces if i.kind != "loopback"]
    for interface in shown[:3]:
        text = interface.name
        if interface.shown_addresses:
            text += " " + interface.shown_addresses[0]
        ref = interface.peer or interface.lower
        if ref is not None and ref.netns is not None and ref.netns != ns.inode:
            other = topology.by_inode(ref.netns)
            text += f" ⇄{ref.name}@{other.title if other else '?'}"
        lines.append((text, interface))
    if len(shown) > 3:
        lines.append((f"+{len(shown) - 3} more interfaces", None))
    if not shown:
        lo = next((i for i in ns.interfaces if i.kind == "loopback"), None)
        lines.append(("only lo" + (f" ({lo.status})" if lo else ""), None))
    return lines


def _fit(text: str, size: float, width: float) -> str:
    limit = max(int(width / (0.602 * size / 72)), 4)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _hub_lines(ns: Namespace) -> list[str]:
    """A hub's own interfaces, one line each: bridges with their port count; veth ends left out."""
    ports: dict[str, int] = {}
    for interface in ns.interfaces:
        if interface.master:
            ports[interface.master] = ports.get(interface.master, 0) + 1
    lines = []
    for interface in ns.interfaces:
        if interface.master or (interface.peer and interface.peer.netns not in (None, ns.inode)):
            continue
        words = (
            f"{interface.name:<10} {interface.kind:<9} {interface.status:<10} {', '.join(interface.shown_addresses)}"
        )
        if interface.name in ports:
            words += f"   ({ports[interface.name]} ports)"
        lines.append(words.rstrip())
    wired = sum(1 for i in ns.interfaces if i.peer and i.peer.netns not in (None, ns.inode))
    if len(lines) > 5:
        lines = lines[:4] + [f"+{len(lines) - 4} more interfaces"]
    lines.append(f"{wired} veth ends wired to the namespaces below (each tile names its peer here)")
    return lines


def _render_compact(topology: Topology, marks: dict[str, str], *, dpi: float, caption: str) -> Figure:
    from matplotlib.collections import LineCollection
    from matplotlib.patches import Rectangle

    links = _namespace_links(topology)
    hubs = _hubs(topology, links)
    hub_ids = {ns.inode: n for n, ns in enumerate(hubs)}
    tiles = sorted(
        (ns for ns in topology.namespaces if ns.inode not in hub_ids),
        key=lambda n: (not n.root, n.outside, _name_key(n)),
    )
    tile_text = {ns.inode: _tile_lines(topology, ns) for ns in tiles}
    lines_per_tile = max((len(t) for t in tile_text.values()), default=1)
    tile_h = 0.42 + 0.15 * lines_per_tile
    columns = max(4, min(10, math.ceil(math.sqrt(max(len(tiles), 1) * 1.4))))
    rows = math.ceil(len(tiles) / columns) if tiles else 0
    gap_x, gap_y, margin = 0.14, 0.3, 0.3
    bus_room = 0.2 * max(len(hubs), 1)
    grid_w = columns * TILE_W + (columns - 1) * gap_x
    hub_text = {hub.inode: _hub_lines(hub) for hub in hubs}
    hub_heights = [0.5 + 0.19 * len(hub_text[hub.inode]) for hub in hubs]
    width = max(grid_w + 2 * margin + bus_room, len(caption) * 0.075 + 2 * margin)
    height = sum(hub_heights) + 0.22 * len(hubs) + rows * (tile_h + gap_y) + 2 * margin + 0.7
    figure, ax = _new_figure(width, height, dpi=dpi)
    _caption(ax, caption, x=margin, y=height - margin / 2 - 0.05)
    left = margin + bus_room
    wires: dict[str, list] = {}  # colour -> segments, drawn as one LineCollection each

    # Hubs: full-width bands with a coloured stripe; their bus starts from the stripe.
    y = height - margin - 0.3
    trunk: dict[int, tuple[float, float]] = {}
    for n, hub in enumerate(hubs):
        h, colour = hub_heights[n], HUB_COLOURS[n % len(HUB_COLOURS)]
        fill, edge = ROOT_BOX if hub.root else NS_BOX
        mark = marks.get(hub.key)
        _round_box(
            ax,
            left,
            y - h,
            grid_w,
            h,
            fill=fill,
            edge=MARK_COLOURS.get(mark, edge),
            width=2.6 if hub.root or mark else 1.4,
            radius=0.14,
            z=1,
        )
        ax.add_artist(
            Rectangle((left + 0.03, y - h + 0.12), 0.07, h - 0.24, facecolor=colour, edgecolor="none", zorder=2)
        )
        title = hub.title
        ax.text(
            left + 0.22,
            y - 0.24,
            title,
            fontsize=11,
            fontweight="bold",
            fontfamily=SANS,
            va="center",
            color=ROOT_BOX[1] if hub.root else "#212529",
            zorder=3,
        )
        ax.text(
            left + 0.22 + _text_width(title, 11, mono=False, bold=True) + 0.15,
            y - 0.24,
            " · ".join(t for t, _, _ in _header(hub)[1:]),
            fontsize=7.5,
            fontfamily=SANS,
            va="center",
            color="#5c677d",
            zorder=3,
        )
        body = "\n".join(_fit(line, 7.5, grid_w - 0.4) for line in hub_text[hub.inode])
        ax.text(
            left + 0.22,
            y - 0.44,
            body,
            fontsize=7.5,
            fontfamily=MONO,
            va="top",
            color="#212529",
            linespacing=1.45,
            zorder=3,
        )
        if mark:
            _badge(ax, left + grid_w - 0.05, y - 0.05, mark, z=8)
        trunk[hub.inode] = (margin + 0.1 + 0.2 * n, y - h / 2)
        wires.setdefault(colour, []).append([(margin + 0.1 + 0.2 * n, y - h / 2), (left, y - h / 2)])
        y -= h + 0.22

    # Tiles on a grid.
    grid_top = y - 0.12
    positions: dict[int, tuple[float, float]] = {}
    for index, ns in enumerate(tiles):
        r, c = divmod(index, columns)
        positions[ns.inode] = (left + c * (TILE_W + gap_x), grid_top - (r + 1) * tile_h - r * gap_y)

    # Buses: a trunk per hub down the left margin, a line above each row, a stub into each tile.
    for hub in hubs:
        n = hub_ids[hub.inode]
        colour = HUB_COLOURS[n % len(HUB_COLOURS)]
        members = [ns for ns in tiles if hub.inode in links[ns.inode]]
        if not members:
            continue
        trunk_x, hub_y = trunk[hub.inode]
        row_ends: dict[float, float] = {}
        for ns in members:
            x0, y0 = positions[ns.inode]
            bus_y, stub_x = y0 + tile_h + 0.08 + 0.05 * n, x0 + 0.25 + 0.12 * n
            row_ends[bus_y] = max(row_ends.get(bus_y, 0), stub_x)
            wires[colour].append([(stub_x, bus_y), (stub_x, y0 + tile_h)])
        wires[colour].append([(trunk_x, hub_y), (trunk_x, min(row_ends))])
        wires[colour] += [[(trunk_x, bus_y), (end, bus_y)] for bus_y, end in row_ends.items()]
    for colour, segments in wires.items():
        ax.add_collection(LineCollection(segments, colors=colour, linewidths=1.3, zorder=0.5))

    # Wires between tiles (a chain or a pair inside a big lab): thin lines behind the tiles.
    done: set[frozenset[int]] = set()
    between = []
    for ns in tiles:
        for other in links[ns.inode]:
            if other in positions and frozenset((ns.inode, other)) not in done:
                done.add(frozenset((ns.inode, other)))
                (xa, ya), (xb, yb) = positions[ns.inode], positions[other]
                between.append([(xa + TILE_W / 2, ya + tile_h / 2), (xb + TILE_W / 2, yb + tile_h / 2)])
    if between:
        ax.add_collection(LineCollection(between, colors=VETH_LINE, linewidths=1.6, alpha=0.7, zorder=0.4))

    dots_x, dots_y, dots_c = [], [], []
    for ns in tiles:
        x0, y0 = positions[ns.inode]
        mark = marks.get(ns.key) or next(
            (marks[interface_key(ns, i.name)] for i in ns.interfaces if interface_key(ns, i.name) in marks), None
        )
        fill, edge = ROOT_BOX if ns.root else (OUTSIDE_BOX if ns.outside else NS_BOX)
        _round_box(
            ax,
            x0,
            y0,
            TILE_W,
            tile_h,
            fill=fill,
            edge=MARK_COLOURS.get(mark, edge),
            width=2.4 if (ns.root or mark) else 1.0,
            radius=0.08,
            dashed=mark == "removed" or ns.outside,
            z=1,
        )
        top = y0 + tile_h - 0.15
        title = _fit(ns.title, 8.5, TILE_W * 0.5)
        ax.text(
            x0 + 0.1,
            top,
            title,
            fontsize=8.5,
            fontweight="bold",
            fontfamily=SANS,
            va="center",
            color=ROOT_BOX[1] if ns.root else "#212529",
            zorder=3,
        )
        facts = ns.label + (" · fwd" if ns.ip_forward else "") + (" · NAT" if ns.nat else "")
        ax.text(
            x0 + TILE_W - 0.08,
            top,
            facts,
            fontsize=6,
            fontfamily=SANS,
            va="center",
            ha="right",
            color="#5c677d",
            zorder=3,
        )
        texts = tile_text[ns.inode]
        for k, (_, interface) in enumerate(texts):
            if interface is not None:
                dots_x.append(x0 + 0.13)
                dots_y.append(top - 0.21 - 0.15 * k)
                dots_c.append(_state_colours(interface)[1])
        dim = all(i is None or not i.up for _, i in texts)
        ax.text(
            x0 + 0.22,
            top - 0.13,
            "\n".join(_fit(t, 6.5, TILE_W - 0.3) for t, _ in texts),
            fontsize=6.5,
            fontfamily=MONO,
            va="top",
            color="#868e96" if dim else "#212529",
            linespacing=1.5,
            zorder=3,
        )
        if mark:
            _badge(ax, x0 + TILE_W - 0.04, y0 + tile_h - 0.04, mark, z=8)
    if dots_x:
        ax.scatter(dots_x, dots_y, s=14, c=dots_c, linewidths=0, zorder=4)
    _legend_compact(ax, x=margin, y=margin * 0.7, hubs=bool(hubs))
    return figure


def _legend_compact(ax: Axes, *, x: float, y: float, hubs: bool) -> None:
    entries = [("up", RUNNING[1]), ("up, no carrier", NO_CARRIER[1]), ("DOWN", DOWN[1])]
    for label, colour in entries:
        ax.scatter([x + 0.05], [y], s=20, c=[colour], linewidths=0)
        ax.text(x + 0.15, y, label, fontsize=7.5, va="center", fontfamily=SANS, color="#495057")
        x += 0.3 + _text_width(label, 7.5, mono=False)
    if hubs:
        x += 0.1
        _draw_wire(ax, (x, y), (x + 0.3, y), colour=HUB_COLOURS[0], width=1.4)
        ax.text(
            x + 0.38,
            y,
            "veth pairs to a busy namespace (one colour per band at the top)",
            fontsize=7.5,
            va="center",
            fontfamily=SANS,
            color="#495057",
        )


# -- front door -----------------------------------------------------------------------------------


def caption_text(topology: Topology, note: str | None = None) -> str:
    """The line above a drawing: how many namespaces and interfaces, and when."""
    interfaces = sum(len(ns.interfaces) for ns in topology.namespaces)
    when = time.strftime("%H:%M:%S", time.localtime(topology.taken_at))
    count = len(topology.namespaces)
    text = (
        f"{count} network namespace{'s' if count != 1 else ''} · {interfaces} interface"
        f"{'s' if interfaces != 1 else ''} · snapshot at {when}"
    )
    return f"{text} · {note}" if note else text


def draw(
    topology: Topology,
    *,
    path: str | Path | None = None,
    layout: str = "auto",
    marks: dict[str, str] | None = None,
    title_note: str | None = None,
    caption: str | None = None,
    dpi: float = 100,
) -> Figure:
    """Draw ``topology``; save it to ``path`` if given (.png, .svg, .pdf); return the Figure.

    ``caption`` replaces the line above the drawing (``title_note`` adds to the default one).
    ``layout``: "detailed" (boxes and wires), "compact" (tiles, for big labs) or "auto"
    (detailed for up to 12 namespaces, if it fits in 16 inches; else compact). ``marks`` maps graph nodes (``net:[N]`` or
    ``net:[N]/NAME``) to "added", "removed" or "changed"; ``TopologyDiff.draw`` fills it.
    """
    marks = marks or {}
    if layout not in ("auto", "detailed", "compact"):
        raise ValueError(f"layout must be 'auto', 'detailed' or 'compact', not {layout!r}")
    caption = caption or caption_text(topology, title_note)
    planned = None
    if layout == "auto":
        busiest = max((len(ns.interfaces) for ns in topology.namespaces), default=0)
        layout = "compact"
        if len(topology.namespaces) <= DETAILED_MAX_NAMESPACES and busiest <= DETAILED_MAX_CHIPS:
            planned = _detailed(topology)
            if planned[2] <= DETAILED_MAX_WIDTH:  # wider would shrink the text out of reach in a notebook
                layout = "detailed"
    if layout == "detailed":
        figure = _render_detailed(topology, marks, dpi=dpi, caption=caption, layout=planned)
    else:
        figure = _render_compact(topology, marks, dpi=dpi, caption=caption)
    if path is not None:
        save(figure, path)
    _show_figures_in_notebooks()
    return figure


def save(figure: Figure, path: str | Path) -> Path:
    """Write ``figure`` to ``path``, format from the suffix, without pyplot or a display."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    path = Path(path)
    figure.savefig(path, facecolor="white")
    return path


def figure_png(figure: Figure) -> bytes:
    """A Figure as PNG bytes, rendered with Agg (no pyplot, no display needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", facecolor="white")
    return buffer.getvalue()


def _show_figures_in_notebooks() -> None:
    """Let ``topo.draw()`` as a cell's last line show the picture.

    A notebook shows a matplotlib Figure as an image only once pyplot has set up the inline
    backend; our figures never touch pyplot, so teach IPython how to show them (once).
    """
    import sys

    if "IPython" not in sys.modules:
        return
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return
    from matplotlib.figure import Figure

    formatter = shell.display_formatter.formatters["image/png"]
    if not _has_formatter(formatter, Figure):  # pyplot's inline backend may have set one already
        formatter.for_type(Figure, figure_png)


def _has_formatter(formatter, kind: type) -> bool:
    try:
        formatter.lookup_by_type(kind)
        return True
    except KeyError:
        return False


def png_bytes(topology: Topology, **options) -> bytes:
    """The drawing as PNG bytes (what a notebook shows for a Topology)."""
    return figure_png(draw(topology, **options))
