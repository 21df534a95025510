"""The front door: ``draw(topology_or_diff)``, ``png_bytes``, ``save``.

``draw`` picks a layout, renders it, and returns a matplotlib ``Figure``; it never touches
pyplot and never changes how a notebook displays things (``%load_ext netlab.live`` does that,
see ``netlab.view.notebook``).
"""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netlab.errors import NetlabError
from netlab.plumbing.i18n import _
from netlab.view.diff import TopologyDiff
from netlab.view.draw.compact import render_compact
from netlab.view.draw.detailed import plan
from netlab.view.draw.labels import MIN_POINTS, caption_text
from netlab.view.draw.render import render_detailed
from netlab.view.settings import settings
from netlab.view.snapshot import Topology

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["FORMATS", "DrawingError", "check_format", "draw", "figure_png", "png_bytes", "save"]

FORMATS = (".png", ".svg", ".pdf")  # what a drawing can be saved as, named by the file's suffix
DETAILED_MAX_NAMESPACES = 12
DETAILED_MAX_CHIPS = 24
DETAILED_MAX_WIDTH = 16.0  # inches; a notebook shows ~10 before it scales the picture down
LAYOUTS = ("auto", "detailed", "compact")


class DrawingError(NetlabError, ValueError):
    """A drawing option netlab does not know."""


def draw(
    subject: Topology | TopologyDiff,
    *,
    path: str | Path | None = None,
    layout: str = "auto",
    marks: dict[str, str] | None = None,
    title_note: str | None = None,
    caption: str | None = None,
    dpi: float | None = None,
) -> Figure:
    """Draw a snapshot or a diff; save it to ``path`` if given (.png, .svg, .pdf); return the Figure.

    A diff (``diff(before, after)``) draws ``after`` plus what ``before`` had and lost, with
    what was added in green, changed in amber and removed in red and dashed.

    ``layout``: "detailed" (boxes and wires), "compact" (tiles, for big labs) or "auto"
    (detailed for up to 12 namespaces if it fits in 16 inches, or the projector's width).
    ``caption`` replaces the line above the drawing (``title_note`` adds to the default one).
    ``marks`` maps graph nodes (``net:[N]`` or ``net:[N]/NAME``) to "added", "removed" or
    "changed". ``dpi``: resolution; by default 100, or what projector mode needs
    (``netlab.view.settings``).
    """
    if layout not in LAYOUTS:
        raise DrawingError(
            _("no layout called {layout}").format(layout=repr(layout)),
            hint=_("use layout='auto', 'detailed' or 'compact'"),
        )
    if path is not None:
        check_format(path)
    if isinstance(subject, TopologyDiff):
        topology = subject.union()
        marks = {**subject.marks(), **(marks or {})}
        since = time.strftime("%H:%M:%S", time.localtime(subject.before.taken_at))
        note = _("{summary} since {time}").format(summary=subject.summary, time=since)
        note += f" · {title_note}" if title_note else ""
        caption = caption or caption_text(subject.after, note)
    else:
        topology = subject
        caption = caption or caption_text(topology, title_note)
    marks = marks or {}
    resolution = dpi or settings.diagram_dpi(MIN_POINTS)
    fits = settings.max_width(MIN_POINTS)
    limit = DETAILED_MAX_WIDTH if fits is None else min(DETAILED_MAX_WIDTH, fits - 0.6)  # 0.6: the margins
    planned = None
    if layout == "auto":
        busiest = max((len(ns.interfaces) for ns in topology.namespaces), default=0)
        layout = "compact"
        if len(topology.namespaces) <= DETAILED_MAX_NAMESPACES and busiest <= DETAILED_MAX_CHIPS:
            planned = plan(topology)
            if planned[2] <= limit:  # wider would shrink the text out of reach in a notebook
                layout = "detailed"
    if layout == "detailed":
        figure = render_detailed(topology, marks, dpi=resolution, caption_line=caption, layout=planned)
    else:
        figure = render_compact(topology, marks, dpi=resolution, caption_line=caption, max_width=fits)
    if dpi is None and settings.projector:
        figure.set_dpi(settings.diagram_dpi(smallest_text(figure)))  # in case a label is smaller still
    if path is not None:
        save(figure, path)
    return figure


def smallest_text(figure: Figure) -> float:
    """The smallest font size (points) of any text in ``figure``."""
    from matplotlib.text import Text

    sizes = [float(t.get_fontsize()) for t in figure.findobj(Text) if t.get_text()]
    return min(sizes, default=MIN_POINTS)


def check_format(path: str | Path) -> Path:
    """``path`` as a Path, if its suffix names a format a drawing can be saved as (``FORMATS``)."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise DrawingError(
            _("cannot draw into {path}: the file name must end in {formats}").format(
                path=path, formats=", ".join(FORMATS)
            ),
            hint=_("name it like lab.png, lab.svg or lab.pdf"),
            subject=str(path),
        )
    return path


def save(figure: Figure, path: str | Path) -> Path:
    """Write ``figure`` to ``path``, format from the suffix (``FORMATS``), without pyplot or a display."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    path = check_format(path)
    FigureCanvasAgg(figure)
    figure.savefig(path, facecolor="white", dpi="figure")
    return path


def figure_png(figure: Figure) -> bytes:
    """A Figure as PNG bytes, rendered with Agg (no pyplot, no display needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", facecolor="white", dpi="figure")
    return buffer.getvalue()


def png_bytes(subject: Topology | TopologyDiff, **options: Any) -> bytes:
    """The drawing as PNG bytes (what a notebook shows for a snapshot or a diff)."""
    return figure_png(draw(subject, **options))
