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
    %netlab_live projector  bigger diagrams and tables for a classroom (projector off: normal)
    %netlab_show            draw the current state now

Loading it also teaches the notebook to show a snapshot, a diff or ``draw()``'s Figure as a
picture (``netlab.view.notebook``). ``%unload_ext netlab.live`` removes the hook. A snapshot
costs a few milliseconds for a small lab (under 100 ms for 100 namespaces), so the hook does
not slow the notebook down.
"""

from __future__ import annotations

import html
import traceback
from typing import Any

from netlab.plumbing.i18n import _
from netlab.view import notebook
from netlab.view.diff import TopologyDiff, diff
from netlab.view.settings import settings
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
            print("netlab.live: " + _("could not read the network state:") + "\n" + traceback.format_exc(limit=3))

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
            display(_picture(changes), raw=True)
        elif self.mode == "state":
            display(_picture(changes.after), raw=True)

    def show_state(self) -> None:
        from IPython.display import display

        self.last = snapshot(settle=SETTLE_SECONDS)
        display(_picture(self.last), raw=True)


def _changes_bundle(changes: TopologyDiff) -> dict[str, str]:
    items = "".join(f"<li>{html.escape(line)}</li>" for line in changes.lines)
    changed = _("this cell changed the network ({summary}):").format(summary=changes.summary)
    markup = (
        f'<div class="netlab-live" style="{settings.html_style()}"><b>netlab</b>: {changed}'
        f'<ul style="margin-top:2px">{items}</ul></div>'
    )
    plain = f"netlab: {changed}\n" + "\n".join(f"  - {line}" for line in changes.lines)
    return {"text/html": markup, "text/plain": plain}


def _picture(subject: Topology | TopologyDiff) -> dict[str, Any]:
    """The diagram as a display bundle, with the tree as its text form."""
    import base64

    from netlab.view.draw import png_bytes
    from netlab.view.text import tree

    png = png_bytes(subject)
    text = tree(subject.after if isinstance(subject, TopologyDiff) else subject)
    return {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": text}


_live: LiveTopology | None = None


def _live_magic(line: str) -> None:
    """%netlab_live [on|off|diff|state|text|projector [on|off]]: switch the live diagram."""
    assert _live is not None
    word, *rest = line.split() or ["on"]
    if word == "projector":
        settings.projector = (rest or ["on"])[0] not in ("off", "0", "no", "false")
        mode = _("projector mode on") if settings.projector else _("projector mode off")
        print(f"netlab.live: {mode}")
        return
    if word == "on":
        _live.mode = "diff" if _live.mode == "off" else _live.mode
        _live.last = snapshot(settle=SETTLE_SECONDS)
    elif word in MODES:
        if _live.mode == "off" and word != "off":  # what changed while it was off is not this cell's doing
            _live.last = snapshot(settle=SETTLE_SECONDS)
        _live.mode = word
    else:
        modes = ", ".join(MODES)
        print(
            "netlab.live: "
            + _("unknown mode {mode}; use one of on, {modes}, projector").format(mode=repr(word), modes=modes)
        )
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
    notebook.register(shell)
    shell.events.register("post_run_cell", _live.post_run_cell)
    shell.register_magic_function(_live_magic, magic_kind="line", magic_name="netlab_live")
    shell.register_magic_function(_show_magic, magic_kind="line", magic_name="netlab_show")
    from IPython.display import display

    display(_picture(_live.last), raw=True)


def unload_ipython_extension(shell: Any) -> None:
    """``%unload_ext netlab.live``: stop redrawing, and forget how to show snapshots."""
    global _live
    notebook.unregister(shell)
    for name in ("netlab_live", "netlab_show"):  # gone with it: IPython then says they are not found
        shell.magics_manager.magics["line"].pop(name, None)
    if _live is not None:
        try:
            shell.events.unregister("post_run_cell", _live.post_run_cell)
        except ValueError:
            pass
        _live = None
