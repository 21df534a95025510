"""How a notebook shows netlab's objects: the display hooks, registered on purpose.

IPython decides how to show a cell's last value by asking its display formatters, one per
MIME type. ``register(shell)`` adds netlab's entries (``%load_ext netlab.live`` calls it):

* a ``Topology`` (a snapshot) and a ``TopologyDiff`` show as their diagram (``image/png``) and,
  where pictures cannot be shown (a terminal IPython), as the tree of ``netlab show``;
* a matplotlib ``Figure``, such as ``draw(snapshot())`` returns, shows as a PNG. pyplot's
  inline backend does that once pyplot is imported; netlab never imports pyplot, so it adds
  the same hook, unless pyplot's is already there.

``unregister(shell)`` takes back exactly what ``register`` added. Nothing here runs as a side
effect of drawing: the snapshot and the renderers know nothing about notebooks.
"""

from __future__ import annotations

import sys
from typing import Any

from netlab.view.diff import TopologyDiff
from netlab.view.snapshot import Topology

__all__ = ["register", "registered", "unregister"]

_FIGURE = ("matplotlib.figure", "Figure")
_added: dict[int, list[tuple[str, Any]]] = {}  # id(shell) -> (MIME type, what was registered)


def _topology_png(subject: Topology | TopologyDiff) -> bytes:
    from netlab.view.draw import png_bytes

    return png_bytes(subject)


def _figure_png(figure: Any) -> bytes:
    from netlab.view.draw import figure_png

    return figure_png(figure)


def _topology_text(subject: Topology | TopologyDiff, printer: Any, cycle: bool) -> None:
    from netlab.view.text import tree

    printer.text(tree(subject) if isinstance(subject, Topology) else str(subject))


def _knows_figures(formatter: Any) -> bool:
    """Whether a Figure already has a PNG printer (pyplot's inline backend sets one)."""
    if _FIGURE in getattr(formatter, "deferred_printers", {}):
        return True
    if _FIGURE[0] not in sys.modules:
        return False  # matplotlib not imported: nobody can have registered its type
    try:
        formatter.lookup_by_type(sys.modules[_FIGURE[0]].Figure)
        return True
    except KeyError:
        return False


def register(shell: Any = None) -> None:
    """Teach IPython (``shell``, default: the running one) to show snapshots, diffs and Figures."""
    shell = shell or _running_shell()
    if shell is None or id(shell) in _added:
        return
    png = shell.display_formatter.formatters["image/png"]
    plain = shell.display_formatter.formatters["text/plain"]
    added: list[tuple[str, Any]] = []
    for kind in (Topology, TopologyDiff):
        png.for_type(kind, _topology_png)
        plain.for_type(kind, _topology_text)
        added += [("image/png", kind), ("text/plain", kind)]
    if not _knows_figures(png):
        png.for_type_by_name(*_FIGURE, _figure_png)
        added.append(("image/png", _FIGURE))
    _added[id(shell)] = added


def unregister(shell: Any = None) -> None:
    """Remove what ``register`` added (pyplot's own Figure printer is left alone)."""
    shell = shell or _running_shell()
    if shell is None:
        return
    for mime, key in _added.pop(id(shell), []):
        formatter = shell.display_formatter.formatters[mime]
        if isinstance(key, tuple):
            if formatter.deferred_printers.get(key) is _figure_png:
                del formatter.deferred_printers[key]
            elif _FIGURE[0] in sys.modules:
                kind = sys.modules[_FIGURE[0]].Figure
                if formatter.type_printers.get(kind) is _figure_png:
                    del formatter.type_printers[kind]
        else:
            formatter.pop(key, None)


def registered(shell: Any = None) -> bool:
    """Whether ``register`` has run for ``shell`` (default: the running one)."""
    shell = shell or _running_shell()
    return shell is not None and id(shell) in _added


def _running_shell() -> Any:
    if "IPython" not in sys.modules:
        return None
    from IPython import get_ipython

    return get_ipython()
