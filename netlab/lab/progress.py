"""How far a long build has got: a bar under the cell in a notebook, one line in a terminal.

``Lab.star`` of hundreds of namespaces takes a few seconds; the learner sees it move::

    bar = progress(500, "lab demo: star")
    bar.update(100)          # after each batch of namespaces
    bar.close()              # the bar goes away: the result is what stays

In a Jupyter kernel it is an ipywidgets ``IntProgress``; on a terminal, a line on stderr rewritten
in place (``\\r``); anywhere else (a pipe, a log file), nothing.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["Progress", "progress"]


class Progress:
    """A count towards ``total``, shown as a widget, a terminal line, or not at all."""

    def __init__(self, total: int, title: str, *, widget: Any = None, terminal: bool = False) -> None:
        self.total, self.title, self.count = total, title, 0
        self._widget, self._terminal = widget, terminal
        self._draw()

    def update(self, n: int = 1) -> None:
        self.count = min(self.total, self.count + n)
        self._draw()

    def close(self) -> None:
        if self._widget is not None:
            self._widget.close()
        elif self._terminal:
            sys.stderr.write("\r\033[K")  # the line goes, as the widget does
            sys.stderr.flush()

    def _draw(self) -> None:
        if self._widget is not None:
            self._widget.value = self.count
        elif self._terminal:
            sys.stderr.write(f"\r{self.title}: {self.count}/{self.total}")
            sys.stderr.flush()


def progress(total: int, title: str, *, show: bool = True) -> Progress:
    """A progress display fit for where the code runs (silent when ``show`` is false)."""
    if not show:
        return Progress(total, title)
    widget = _notebook_bar(total, title)
    return Progress(total, title, widget=widget, terminal=widget is None and sys.stderr.isatty())


def _notebook_bar(total: int, title: str) -> Any:
    """An ``IntProgress`` under the running cell, if this is a Jupyter kernel; else None."""
    if "ipykernel" not in sys.modules:  # not a notebook: nothing to draw a widget in
        return None
    try:
        import ipywidgets
        from IPython.display import display
    except ImportError:
        return None
    bar = ipywidgets.IntProgress(
        value=0, min=0, max=max(total, 1), description=title, style={"description_width": "initial"}
    )
    display(bar)
    return bar
