"""``%load_ext netlab.live``: the short name of :mod:`netlab.view.live`, kept for notebooks."""

from __future__ import annotations

from netlab.view.live import load_ipython_extension, unload_ipython_extension

__all__ = ["load_ipython_extension", "unload_ipython_extension"]
