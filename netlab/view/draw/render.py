"""Putting a layout on paper: colours, rounded boxes, chips, wires, badges and the legend.

Only matplotlib's object API is used (a ``Figure`` and its ``Axes``, never pyplot), so drawing
works the same in a notebook, a terminal or a test, with no display. One axes unit is one
inch: a layout's sizes are the figure's sizes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from netlab.plumbing.i18n import N_, _
from netlab.view.draw.detailed import INNER_SIDE, Box, Chip, peer_chip, plan
from netlab.view.draw.glyphs import QuickText
from netlab.view.draw.measure import families, line_height, text_width
from netlab.view.snapshot import Interface, Topology, interface_key

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyBboxPatch

__all__ = ["new_figure", "render_detailed", "round_box", "round_patch", "write"]

# Colours: the state of an interface, the kind of a box, and diff marks.
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
MARK_WORDS = {"added": N_("added"), "removed": N_("removed"), "changed": N_("changed")}  # the legend's words
MARK_BADGES = {"added": "+", "removed": "−", "changed": "~"}
HUB_COLOURS = ("#1c7ed6", "#e8590c", "#2f9e44", "#9c36b5", "#c2255c", "#0c8599")
INK, GREY_INK, DIM_INK = "#212529", "#495057", "#5c677d"
STYLE_INK = {"dim": DIM_INK, "fact": "#7048e8", "route": "#0b7285", "warn": "#c92a2a"}
MONO_STYLES = ("route", "warn")  # header lines written like a terminal


def state_colours(interface: Interface) -> tuple[str, str]:
    """Fill and edge of a chip: green when up and carrying, yellow without carrier, grey DOWN."""
    if interface.running:
        return RUNNING
    return NO_CARRIER if interface.up else DOWN


# -- primitives -----------------------------------------------------------------------------------


def new_figure(width: float, height: float, *, dpi: float) -> tuple[Figure, Axes]:
    """A blank figure of ``width`` x ``height`` inches whose axes count in inches."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=dpi)
    ax = figure.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_axis_off()
    return figure, ax


def write(
    ax: Axes, x: float, y: float, text: str, *, size: float, mono: bool = False, quick: bool = False, **options: Any
) -> None:
    """One text, in DejaVu with the CJK fallback (see ``measure.families``).

    ``quick``: drawn from cached glyphs on PNG (``glyphs.QuickText``), for drawings with
    thousands of labels; held by the figure, above the axes' shapes, and not clipped (a layout
    in inches never leaves the figure).
    """
    if not quick:
        ax.text(x, y, text, fontsize=size, fontfamily=families(mono=mono), **options)
        return
    label = QuickText(x, y, text, fontsize=size, fontfamily=families(mono=mono), clip_on=False, **options)
    label.set_transform(ax.transData)
    ax.figure.add_artist(label)


def round_patch(
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
) -> FancyBboxPatch:
    """A rounded box, not yet on any axes (``round_box`` puts one there)."""
    from matplotlib.patches import FancyBboxPatch

    return FancyBboxPatch(
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


def round_box(ax: Axes, x: float, y: float, w: float, h: float, **style: Any) -> None:
    """A rounded box on ``ax``; ``style`` as for ``round_patch``."""
    ax.add_artist(round_patch(x, y, w, h, **style))


def badge(ax: Axes, x: float, y: float, mark: str, *, z: float) -> None:
    """A small round "+", "−" or "~" in the mark's colour."""
    from matplotlib.patches import Circle

    colour = MARK_COLOURS[mark]
    ax.add_artist(Circle((x, y), 0.085, facecolor=colour, edgecolor="white", linewidth=1.0, zorder=z))
    write(
        ax,
        x,
        y - 0.005,
        MARK_BADGES[mark],
        size=8,
        ha="center",
        va="center",
        color="white",
        fontweight="bold",
        zorder=z + 0.1,
    )


def wire(
    ax: Axes,
    start: tuple[float, float],
    end: tuple[float, float],
    *,
    colour: str,
    width: float,
    style: Any = "-",
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


def caption(ax: Axes, text: str, *, x: float, y: float) -> None:
    write(ax, x, y, text, size=8.5, ha="left", va="center", color=GREY_INK)


# -- the detailed drawing -------------------------------------------------------------------------


def draw_chip(ax: Axes, chip: Chip, mark: str | None, *, with_badge: bool = True) -> None:
    fill, edge = state_colours(chip.interface)
    down = not chip.interface.up
    width = 2.0 if chip.interface.kind == "bridge" else 1.1
    if mark:
        edge, width = MARK_COLOURS[mark], 2.2
    alpha = 0.55 if mark == "removed" else 1.0
    round_box(
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
    y = chip.y + chip.h / 2 - chip.pad
    for text, size, style in chip.lines:
        y -= line_height(size) / 2 + 0.005
        colour = DOWN[1] if style == "dim" else (GREY_INK if down else INK)
        write(
            ax,
            chip.x,
            y,
            text,
            size=size,
            mono=True,
            ha="center",
            va="center",
            fontweight="bold" if style == "bold" else "normal",
            color=colour,
            alpha=alpha,
            zorder=6,
        )
        y -= line_height(size) / 2 - 0.005
    if mark and with_badge:
        badge(ax, chip.x + chip.w / 2 - 0.02, chip.y + chip.h / 2 - 0.02, mark, z=7)


def draw_box(ax: Axes, box: Box, mark: str | None) -> None:
    fill, edge = ROOT_BOX if box.ns.root else (OUTSIDE_BOX if box.ns.outside else NS_BOX)
    width = 2.6 if box.ns.root else 1.3
    if mark:
        edge, width = MARK_COLOURS[mark], 2.8
    round_box(
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
    y = box.y + box.h - box.reserve[0] - 0.14
    for text, size, style in box.header:
        y -= line_height(size) / 2
        title_ink = ROOT_BOX[1] if box.ns.root else INK
        write(
            ax,
            box.x + 0.16,
            y,
            text,
            size=size,
            mono=style in MONO_STYLES,
            ha="left",
            va="center",
            fontweight="bold" if style == "title" else "normal",
            color=title_ink if style == "title" else STYLE_INK.get(style, INK),
            zorder=3,
        )
        y -= line_height(size) / 2
    if mark:
        badge(ax, box.x + box.w - 0.05, box.y + box.h - 0.05, mark, z=8)


def wire_style(a: Chip, b: Chip, marks: dict[str, str]) -> tuple[str, float, Any, float]:
    """Colour, width, dashes and alpha of a veth wire: solid blue when both ends carry packets."""
    mark = marks.get(a.key) or marks.get(b.key)
    if mark == "removed":
        return MARK_COLOURS["removed"], 2.2, "--", 0.8
    colour = MARK_COLOURS["added"] if mark == "added" else VETH_LINE
    if a.interface.running and b.interface.running:
        return colour, 2.6, "-", 1.0
    return (colour if mark else DOWN[1]), 2.0, (0, (3, 2)), 1.0


def facing(a: Chip, b: Chip) -> tuple[tuple[float, float], tuple[float, float]]:
    """Anchor points of two chips: their outer sides, or the sides facing each other inside a box."""
    if a.side != "inside" and b.side != "inside":
        return a.anchor(), b.anchor()
    if abs(a.x - b.x) >= abs(a.y - b.y):
        return (a.anchor("right"), b.anchor("left")) if a.x < b.x else (a.anchor("left"), b.anchor("right"))
    return (a.anchor("bottom"), b.anchor("top")) if a.y > b.y else (a.anchor("top"), b.anchor("bottom"))


def render_detailed(
    topology: Topology, marks: dict[str, str], *, dpi: float, caption_line: str, layout: tuple | None = None
) -> Figure:
    """Boxes, chips and wires of ``detailed.plan``, a caption above and a legend below."""
    boxes, chips, width, height = layout or plan(topology)
    margin, caption_h, legend_h = 0.3, 0.35, 0.35
    figure, ax = new_figure(
        max(width, legend_width(bool(marks)), text_width(caption_line, 8.5, mono=False)) + 2 * margin,
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
        draw_box(ax, box, marks.get(box.ns.key))
    drawn: set[frozenset[str]] = set()
    for chip in chips.values():
        interface = chip.interface
        if interface.master:
            bridge = chips.get(interface_key(chip.ns, interface.master))
            if bridge is not None:
                start = chip.anchor(INNER_SIDE.get(chip.side, "inside"))  # from the chip's inner edge
                end = bridge.anchor("bottom" if start[1] < bridge.y else "top")
                removed = "removed" in (marks.get(chip.key), marks.get(bridge.key))
                colour = MARK_COLOURS["removed"] if removed else PORT_LINE
                wire(ax, start, end, colour=colour, width=1.2, style="--" if removed else "-", z=2)
        other = peer_chip(chips, chip)
        if other is None or frozenset((chip.key, other.key)) in drawn:
            continue
        drawn.add(frozenset((chip.key, other.key)))
        start, end = facing(chip, other)
        if interface.peer is not None:
            colour, line_width, style, alpha = wire_style(chip, other, marks)
        else:
            colour, line_width, style, alpha = LOWER_LINE, 1.6, ":", 1.0
        wire(ax, start, end, colour=colour, width=line_width, style=style, alpha=alpha, z=4)
    for chip in chips.values():
        gone_with_box = marks.get(chip.ns.key) == "removed"  # its namespace is gone: so is it
        mark = marks.get(chip.key) or ("removed" if gone_with_box else None)
        draw_chip(ax, chip, mark, with_badge=not gone_with_box)
    caption(ax, caption_line, x=margin, y=figure.get_figheight() - margin - caption_h / 2 + 0.05)
    legend(ax, x=margin, y=margin * 0.6 + 0.1, marks=bool(marks))
    return figure


# -- the legend -----------------------------------------------------------------------------------


def _legend_entries(marks: bool) -> list[tuple[str, str, str, bool]]:
    entries: list[tuple[str, str, str, bool]] = [
        ("chip", RUNNING[0], RUNNING[1], False),
        (_("up"), "", "", False),
        ("chip", NO_CARRIER[0], NO_CARRIER[1], False),
        (_("up, no carrier"), "", "", False),
        ("chip", DOWN[0], DOWN[1], True),
        ("DOWN", "", "", False),
        ("line", VETH_LINE, "-", False),
        (_("veth pair"), "", "", False),
        ("line", PORT_LINE, "-", False),
        (_("bridge port"), "", "", False),
    ]
    if marks:
        for mark in ("added", "changed", "removed"):
            entries += [("badge", mark, "", False), (_(MARK_WORDS[mark]), "", "", False)]
    return entries


def _legend_step(kind: str) -> float:
    return {"chip": 0.32, "line": 0.36, "badge": 0.22}.get(kind) or text_width(kind, 7.5, mono=False) + 0.22


def legend_width(marks: bool) -> float:
    return sum(_legend_step(kind) for kind, *_rest in _legend_entries(marks))


def legend(ax: Axes, *, x: float, y: float, marks: bool) -> None:
    """A one-line key: chip colours, wire kinds, and the diff colours when there are marks."""
    for kind, a, b, dashed in _legend_entries(marks):
        if kind == "chip":
            round_box(ax, x, y - 0.07, 0.26, 0.14, fill=a, edge=b, width=1.0, dashed=dashed, radius=0.03, z=5)
        elif kind == "line":
            wire(ax, (x, y), (x + 0.3, y), colour=a, width=2.2 if a == VETH_LINE else 1.2, z=5)
        elif kind == "badge":
            badge(ax, x + 0.09, y, a, z=5)
        else:
            write(ax, x, y, kind, size=7.5, ha="left", va="center", color=GREY_INK)
        x += _legend_step(kind)
