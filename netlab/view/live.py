"""A live network diagram in a notebook: redrawn after every cell that changed the network.

Load it once, at the top of a notebook::

    %load_ext netlab.live

From then on, after each cell IPython runs (``post_run_cell``), netlab takes a snapshot of the
kernel's network state and compares it with the one before. If anything changed, whoever
changed it (netlab, or a ``!ip link set veth1 netns netns1`` cell), the cell's output ends with
what changed, in sentences, and the diagram with the changes highlighted. Cells that change
nothing show nothing extra.

    %netlab_live off        stop redrawing (on: start again)
    %netlab_live state      draw the plain state after a change, not the highlighted diff
    %netlab_live text       sentences only, no drawing
    %netlab_show            draw the current state now

``%unload_ext netlab.live`` removes the hook. A snapshot costs a few milliseconds for a small
lab (under 100 ms for 100 namespaces), so the hook does not slow the notebook down.
"""

from __future__ import annotations

import html
import traceback
from typing import Any

from netlab.view.diff import TopologyDiff, diff
from netlab.view.snapshot import Topology, snapshot

__all__ = ["LiveTopology", "load_ipython_extension", "unload_ipython_extension"]

SETTLE_SECONDS = 0.5  # wait this long at most for a deleted namespace's veths to vanish
MODES = ("diff", "state", "text", "off")


class LiveTopology:
    """The hook: remembers the last snapshot and shows what each cell changed."""

    def __init__(self, shell: Any, *, mode: str = "diff") -> None:
        self.shell = shell
        self.mode = mode
        self.last: Topology = snapshot(settle=SETTLE_SECONDS)
        self.history: list[TopologyDiff] = []  # every change seen, oldest first

    # IPython calls this after every cell, with the cell's ExecutionResult.
    def post_run_cell(self, result: Any = None) -> None:
        if self.mode == "off":
            return
        try:
            self.check()
        except Exception:  # a broken hook must never break the notebook
            print("netlab.live: could not read the network state:\n" + traceback.format_exc(limit=3))

    def check(self) -> TopologyDiff:
        """Snapshot now, show what changed since the last snapshot, and return it."""
        after = snapshot(settle=SETTLE_SECONDS)
        changes = diff(self.last, after)
        self.last = after
        if changes:
            self.history.append(changes)
            self.show(changes)
        return changes

    def show(self, changes: TopologyDiff) -> None:
        from IPython.display import display

        display(_changes_bundle(changes), raw=True)
        if self.mode == "diff":
            display(_png_bundle(changes._repr_png_(), str(changes.after)), raw=True)
        elif self.mode == "state":
            display(_png_bundle(changes.after._repr_png_(), str(changes.after)), raw=True)

    def show_state(self) -> None:
        from IPython.display import display

        self.last = snapshot(settle=SETTLE_SECONDS)
        display(_png_bundle(self.last._repr_png_(), str(self.last)), raw=True)


def _changes_bundle(changes: TopologyDiff) -> dict[str, str]:
    items = "".join(f"<li>{html.escape(line)}</li>" for line in changes.lines)
    markup = (
        f'<div class="netlab-live"><b>netlab</b>: this cell changed the network '
        f'({changes.summary}):<ul style="margin-top:2px">{items}</ul></div>'
    )
    plain = f"netlab: this cell changed the network ({changes.summary}):\n" + "\n".join(
        f"  - {line}" for line in changes.lines
    )
    return {"text/html": markup, "text/plain": plain}


def _png_bundle(png: bytes, text: str) -> dict[str, Any]:
    import base64

    return {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": text}


_live: LiveTopology | None = None


def _live_magic(line: str) -> None:
    """%netlab_live [on|off|diff|state|text]: switch the live diagram."""
    assert _live is not None
    word = line.strip() or "on"
    if word == "on":
        _live.mode = "diff" if _live.mode == "off" else _live.mode
        _live.last = snapshot(settle=SETTLE_SECONDS)
    elif word in MODES:
        _live.mode = word
    else:
        print(f"netlab.live: unknown mode {word!r}; use one of on, {', '.join(MODES)}")
        return
    print(f"netlab.live: {_live.mode}")


def _show_magic(line: str) -> None:
    """%netlab_show: draw the current state of the network now."""
    assert _live is not None
    _live.show_state()


def load_ipython_extension(shell: Any) -> None:
    """``%load_ext netlab.live``: hook the diagram onto cell execution and draw the start state."""
    global _live
    if _live is not None:
        unload_ipython_extension(shell)
    _live = LiveTopology(shell)
    shell.events.register("post_run_cell", _live.post_run_cell)
    shell.register_magic_function(_live_magic, magic_kind="line", magic_name="netlab_live")
    shell.register_magic_function(_show_magic, magic_kind="line", magic_name="netlab_show")
    from IPython.display import display

    display(_png_bundle(_live.last._repr_png_(), str(_live.last)), raw=True)


def unload_ipython_extension(shell: Any) -> None:
    """``%unload_ext netlab.live``: stop redrawing."""
    global _live
    if _live is not None:
        try:
            shell.events.unregister("post_run_cell", _live.post_run_cell)
        except ValueError:
            pass
        _live = None
