"""``%load_ext netlab.live``: the short name of :mod:`netlab.view.redraw`, kept for notebooks."""

from __future__ import annotations

from netlab.view.redraw import load_ipython_extension, unload_ipython_extension

__all__ = ["load_ipython_extension", "unload_ipython_extension"]
