"""How big to show things: normal, or projector mode for a classroom.

On a laptop a diagram's smallest labels (6 points at 100 dpi: about 8 pixels) read fine; on a
projector at the back of a room they do not. Projector mode makes every label at least 14
pixels tall on a 1920x1080 screen, and the tables of the widgets and of the live view bigger.
Three ways to turn it on::

    NETLAB_PROJECTOR=1 netlab lab               # before starting Jupyter (or in the kernel's environment)
    %netlab_live projector                       # in a notebook, after %load_ext netlab.live
    from netlab.view.settings import settings
    settings.projector = True                    # in Python

How "14 pixels" is measured: a text of ``p`` points in a figure of ``d`` dots per inch is
``p * d / 72`` pixels tall (its em size), when the picture is shown at its own size. So
projector mode draws at the dpi that makes the smallest text 14 pixels, and keeps a drawing
narrow enough (``output_width_px``: a notebook's output area on a 1080p screen) that the
notebook need not shrink it.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

__all__ = ["ViewSettings", "settings"]


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "no", "off", "false")


@dataclass
class ViewSettings:
    """What netlab's views read before drawing a diagram or writing a table."""

    projector: bool = field(default_factory=lambda: _env_flag("NETLAB_PROJECTOR"))
    dpi: float = 100.0  # a diagram's resolution in normal mode
    label_px: float = 14.0  # projector mode: the smallest label, in pixels
    output_width_px: float = 1700.0  # projector mode: a notebook output area at 1920x1080, side bar closed
    table_px: float = 20.0  # projector mode: the font size of HTML tables and lists

    def diagram_dpi(self, smallest_points: float) -> float:
        """The dpi to draw at, so that ``smallest_points`` text is ``label_px`` in projector mode."""
        if not self.projector:
            return self.dpi
        return max(self.dpi, math.ceil(self.label_px * 72 / smallest_points))

    def max_width(self, smallest_points: float) -> float | None:
        """The widest diagram in inches that still shows unscaled (None: no limit)."""
        if not self.projector:
            return None
        return self.output_width_px / self.diagram_dpi(smallest_points)

    def html_style(self) -> str:
        """CSS for the outer element of an HTML table or list (empty in normal mode)."""
        return f"font-size:{self.table_px:g}px;line-height:1.35" if self.projector else ""


settings = ViewSettings()
