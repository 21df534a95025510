"""The compact layout, for big labs: busy namespaces as bands on top, the others as small tiles.

A 100-namespace star does not fit as boxes and chips. Here a namespace wired to many others
(the root of the star: a "hub") is a band across the top with its own interfaces listed; every
other namespace is a tile on a grid: title, inode, one line per interface, its default route.
Each hub has a colour; a bus of that colour runs from its band down the left margin and along
each row, with a stub into every tile wired to it. Tiles wired to each other get a thin line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import networkx as nx

from netlab.plumbing.i18n import _
from netlab.view.draw.detailed import name_key, namespace_graph
from netlab.view.draw.labels import header_lines, hub_lines, tile_lines
from netlab.view.draw.measure import fit, text_width
from netlab.view.draw.render import (
    DIM_INK,
    DOWN,
    GREY_INK,
    HUB_COLOURS,
    INK,
    MARK_COLOURS,
    NO_CARRIER,
    NS_BOX,
    OUTSIDE_BOX,
    ROOT_BOX,
    RUNNING,
    VETH_LINE,
    badge,
    caption,
    new_figure,
    round_box,
    round_patch,
    state_colours,
    wire,
    write,
)
from netlab.view.snapshot import Interface, Namespace, Topology, interface_key

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyBboxPatch

__all__ = ["TILE_W", "render_compact"]

TILE_W = 1.95  # inches
MARGIN, GAP_X, GAP_Y = 0.3, 0.14, 0.3  # inches: around the drawing, between tiles, between rows

Segments = dict[str, list]  # colour -> wire segments, drawn as one LineCollection each


def hubs_of(topology: Topology, graph: nx.Graph) -> list[Namespace]:
    """Namespaces wired to many others: drawn as bands across the top."""
    wired = graph.degree
    return [ns for ns in topology.namespaces if wired[ns.inode] >= 6 or (ns.root and wired[ns.inode] >= 3)]


def columns_for(tiles: int, *, max_width: float | None) -> int:
    """How many tiles per row: about 1.4 times wider than tall, 4 to 10, fewer if ``max_width``."""
    columns = max(4, min(10, math.ceil(math.sqrt(max(tiles, 1) * 1.4))))
    if max_width is not None:
        columns = min(columns, max(2, int((max_width - 0.8 + 0.14) // (TILE_W + 0.14))))
    return columns


@dataclass
class _Sheet:
    """What the compact layout measured, in inches: the bands, the tiles, and the drawing's size."""

    hubs: list[Namespace]  # the bands across the top, in order (band n has colour n)
    hub_text: dict[int, list[str]]  # inode -> a band's lines
    hub_heights: list[float]
    tiles: list[Namespace]  # the others, in grid order (root first, outside ones last)
    tile_text: dict[int, list[tuple[str, Interface | None]]]  # inode -> a tile's lines
    tile_h: float  # every tile is as tall as the one with the most lines
    columns: int
    grid_w: float
    width: float
    height: float

    @property
    def left(self) -> float:
        """Where the bands and the grid start: after the margin and the room for the hubs' buses."""
        return MARGIN + 0.2 * max(len(self.hubs), 1)


def render_compact(
    topology: Topology, marks: dict[str, str], *, dpi: float, caption_line: str, max_width: float | None = None
) -> Figure:
    """Hubs as bands, tiles on a grid, buses between them; at most ``max_width`` inches wide if given."""
    graph = namespace_graph(topology)
    sheet = _measure(topology, graph, caption_line=caption_line, max_width=max_width)
    figure, ax = new_figure(sheet.width, sheet.height, dpi=dpi)
    caption(ax, caption_line, x=MARGIN, y=sheet.height - MARGIN / 2 - 0.05)
    wires: Segments = {}
    trunk, bottom = _draw_hubs(ax, sheet, marks, wires)
    positions = _tile_positions(sheet, grid_top=bottom - 0.12)
    _add_buses(sheet, graph, trunk, positions, wires)
    _draw_wires(ax, wires)
    _draw_tile_links(ax, graph, positions, tile_h=sheet.tile_h)
    _draw_tiles(ax, sheet, marks, positions)
    _legend(ax, x=MARGIN, y=MARGIN * 0.7, hubs=bool(sheet.hubs))
    return figure


def _measure(topology: Topology, graph: nx.Graph, *, caption_line: str, max_width: float | None) -> _Sheet:
    """Pick the hubs and the tiles, write their lines, and size the grid and the drawing."""
    hubs = hubs_of(topology, graph)
    hub_inodes = {ns.inode for ns in hubs}
    tiles = sorted(
        (ns for ns in topology.namespaces if ns.inode not in hub_inodes),
        key=lambda n: (not n.root, n.outside, name_key(n)),
    )
    tile_text = {ns.inode: tile_lines(topology, ns) for ns in tiles}
    lines_per_tile = max((len(t) for t in tile_text.values()), default=1)
    tile_h = 0.42 + 0.15 * lines_per_tile
    columns = columns_for(len(tiles), max_width=max_width)
    rows = math.ceil(len(tiles) / columns) if tiles else 0
    bus_room = 0.2 * max(len(hubs), 1)
    grid_w = columns * TILE_W + (columns - 1) * GAP_X
    hub_text = {hub.inode: hub_lines(hub) for hub in hubs}
    hub_heights = [0.5 + 0.19 * len(hub_text[hub.inode]) for hub in hubs]
    width = max(grid_w + 2 * MARGIN + bus_room, text_width(caption_line, 8.5, mono=False) + 2 * MARGIN)
    height = sum(hub_heights) + 0.22 * len(hubs) + rows * (tile_h + GAP_Y) + 2 * MARGIN + 0.7
    return _Sheet(hubs, hub_text, hub_heights, tiles, tile_text, tile_h, columns, grid_w, width, height)


def _draw_hubs(
    ax: Axes, sheet: _Sheet, marks: dict[str, str], wires: Segments
) -> tuple[dict[int, tuple[float, float]], float]:
    """The bands, top-down, each with the start of its bus; returns where each bus starts and the bands' bottom."""
    y = sheet.height - MARGIN - 0.3
    trunk: dict[int, tuple[float, float]] = {}
    for n, hub in enumerate(sheet.hubs):
        h, colour = sheet.hub_heights[n], HUB_COLOURS[n % len(HUB_COLOURS)]
        _draw_hub(ax, sheet, hub, top=y, h=h, colour=colour, mark=marks.get(hub.key))
        trunk[hub.inode] = (MARGIN + 0.1 + 0.2 * n, y - h / 2)
        wires.setdefault(colour, []).append([(MARGIN + 0.1 + 0.2 * n, y - h / 2), (sheet.left, y - h / 2)])
        y -= h + 0.22
    return trunk, y


def _draw_hub(ax: Axes, sheet: _Sheet, hub: Namespace, *, top: float, h: float, colour: str, mark: str | None) -> None:
    """One band: a full-width box with a stripe of its colour, its title and facts, its interfaces."""
    from matplotlib.patches import Rectangle

    left, y, grid_w = sheet.left, top, sheet.grid_w
    fill, edge = ROOT_BOX if hub.root else NS_BOX
    width = 2.6 if hub.root or mark else 1.4
    round_box(
        ax, left, y - h, grid_w, h, fill=fill, edge=MARK_COLOURS.get(mark or "", edge), width=width, radius=0.14, z=1
    )
    ax.add_artist(Rectangle((left + 0.03, y - h + 0.12), 0.07, h - 0.24, facecolor=colour, edgecolor="none", zorder=2))
    title_ink = ROOT_BOX[1] if hub.root else INK
    write(
        ax,
        left + 0.22,
        y - 0.24,
        hub.heading,
        quick=True,
        size=11,
        fontweight="bold",
        va="center",
        color=title_ink,
        zorder=3,
    )
    facts = " · ".join(t for t, *_rest in header_lines(hub, routes=False)[1:])
    facts_x = left + 0.22 + text_width(hub.heading, 11, mono=False, bold=True) + 0.15
    write(ax, facts_x, y - 0.24, facts, quick=True, size=7.5, va="center", color=DIM_INK, zorder=3)
    body = "\n".join(fit(line, 7.5, grid_w - 0.4) for line in sheet.hub_text[hub.inode])
    write(
        ax,
        left + 0.22,
        y - 0.44,
        body,
        quick=True,
        size=7.5,
        mono=True,
        va="top",
        color=INK,
        linespacing=1.45,
        zorder=3,
    )
    if mark:
        badge(ax, left + grid_w - 0.05, y - 0.05, mark, z=8)


def _tile_positions(sheet: _Sheet, *, grid_top: float) -> dict[int, tuple[float, float]]:
    """Each tile's lower-left corner: row by row under ``grid_top``, ``sheet.columns`` to a row."""
    positions: dict[int, tuple[float, float]] = {}
    for index, ns in enumerate(sheet.tiles):
        r, c = divmod(index, sheet.columns)
        positions[ns.inode] = (sheet.left + c * (TILE_W + GAP_X), grid_top - (r + 1) * sheet.tile_h - r * GAP_Y)
    return positions


def _add_buses(
    sheet: _Sheet,
    graph: nx.Graph,
    trunk: dict[int, tuple[float, float]],
    positions: dict[int, tuple[float, float]],
    wires: Segments,
) -> None:
    """Per hub: a trunk down the left margin, a line above each row it reaches, a stub into each tile wired to it."""
    tile_h = sheet.tile_h
    for n, hub in enumerate(sheet.hubs):
        colour = HUB_COLOURS[n % len(HUB_COLOURS)]
        members = [ns for ns in sheet.tiles if graph.has_edge(hub.inode, ns.inode)]
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


def _draw_wires(ax: Axes, wires: Segments) -> None:
    """The buses, one collection per colour, behind everything."""
    from matplotlib.collections import LineCollection

    for colour, segments in wires.items():
        ax.add_collection(LineCollection(segments, colors=colour, linewidths=1.3, zorder=0.5))


def _draw_tile_links(ax: Axes, graph: nx.Graph, positions: dict[int, tuple[float, float]], *, tile_h: float) -> None:
    """Wires between tiles (a chain or a pair inside a big lab): thin lines from centre to centre, behind the tiles."""
    from matplotlib.collections import LineCollection

    between = []
    for a, b in graph.subgraph(positions).edges:
        (xa, ya), (xb, yb) = positions[a], positions[b]
        between.append([(xa + TILE_W / 2, ya + tile_h / 2), (xb + TILE_W / 2, yb + tile_h / 2)])
    if between:
        ax.add_collection(LineCollection(between, colors=VETH_LINE, linewidths=1.6, alpha=0.7, zorder=0.4))


def _draw_tiles(ax: Axes, sheet: _Sheet, marks: dict[str, str], positions: dict[int, tuple[float, float]]) -> None:
    """The tiles' frames (one collection), their words, and a dot per interface coloured by its state."""
    from matplotlib.collections import PatchCollection

    dots: list[tuple[float, float, str]] = []
    boxes = [_draw_tile(ax, ns, positions[ns.inode], sheet, marks, dots) for ns in sheet.tiles]
    ax.add_collection(PatchCollection(boxes, match_original=True, zorder=1))
    if dots:
        dots_x, dots_y, dots_c = (list(column) for column in zip(*dots, strict=True))
        ax.scatter(dots_x, dots_y, s=14, c=dots_c, linewidths=0, zorder=4)


def _tile_mark(ns: Namespace, marks: dict[str, str]) -> str | None:
    """A tile's mark in a diff: the namespace's own, else its first marked interface's."""
    return marks.get(ns.key) or next(
        (marks[interface_key(ns, i.name)] for i in ns.interfaces if interface_key(ns, i.name) in marks), None
    )


def _draw_tile(
    ax: Axes,
    ns: Namespace,
    corner: tuple[float, float],
    sheet: _Sheet,
    marks: dict[str, str],
    dots: list[tuple[float, float, str]],
) -> FancyBboxPatch:
    """One tile's title, facts and interface lines, its dots added to ``dots``; returns its frame, not yet drawn."""
    x0, y0 = corner
    tile_h = sheet.tile_h
    mark = _tile_mark(ns, marks)
    fill, edge = ROOT_BOX if ns.root else (OUTSIDE_BOX if ns.outside else NS_BOX)
    frame = round_patch(
        x0,
        y0,
        TILE_W,
        tile_h,
        fill=fill,
        edge=MARK_COLOURS.get(mark or "", edge),
        width=2.4 if (ns.root or mark) else 1.0,
        radius=0.08,
        dashed=mark == "removed" or ns.outside,
        z=1,
    )
    top = y0 + tile_h - 0.15
    title = fit(ns.heading, 8.5, TILE_W * 0.5, mono=False)
    title_ink = ROOT_BOX[1] if ns.root else INK
    write(ax, x0 + 0.1, top, title, quick=True, size=8.5, fontweight="bold", va="center", color=title_ink, zorder=3)
    facts = ns.label + (" · " + _("fwd") if ns.ip_forward else "") + (" · NAT" if ns.nat else "")
    write(ax, x0 + TILE_W - 0.08, top, facts, quick=True, size=6, va="center", ha="right", color=DIM_INK, zorder=3)
    texts = sheet.tile_text[ns.inode]
    for k, (_text, interface) in enumerate(texts):
        if interface is not None:
            dots.append((x0 + 0.13, top - 0.21 - 0.15 * k, state_colours(interface)[1]))
    dim = all(i is None or not i.up for _text, i in texts)
    body = "\n".join(fit(t, 6.5, TILE_W - 0.3) for t, _interface in texts)
    ink = DOWN[1] if dim else INK
    write(
        ax, x0 + 0.22, top - 0.13, body, quick=True, size=6.5, mono=True, va="top", color=ink, linespacing=1.5, zorder=3
    )
    if mark:
        badge(ax, x0 + TILE_W - 0.04, y0 + tile_h - 0.04, mark, z=8)
    return frame


def _legend(ax: Axes, *, x: float, y: float, hubs: bool) -> None:
    entries = [(_("up"), RUNNING[1]), (_("up, no carrier"), NO_CARRIER[1]), ("DOWN", DOWN[1])]
    for label, colour in entries:
        ax.scatter([x + 0.05], [y], s=20, c=[colour], linewidths=0)
        write(ax, x + 0.15, y, label, quick=True, size=7.5, va="center", color=GREY_INK)
        x += 0.3 + text_width(label, 7.5, mono=False)
    if hubs:
        x += 0.1
        wire(ax, (x, y), (x + 0.3, y), colour=HUB_COLOURS[0], width=1.4)
        label = _("veth pairs to a busy namespace (one colour per band at the top)")
        write(ax, x + 0.38, y, label, quick=True, size=7.5, va="center", color=GREY_INK)
