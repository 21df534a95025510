"""The live diagram (``netlab/view/redraw.py``): what a learner sees after a cell, from hand-built snapshots."""

# An IPython shell runs the cells and publishes the displays (captured as a kernel would send them); the
# kernel's network state is a hand-built Topology that each test changes between cells, as a cell would.
# tests/test_live.py does the same in a real ipykernel against the real kernel.

from __future__ import annotations

import base64

import pytest
from helpers.topologies import chain
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from traitlets.config import Config

from netlab.view import notebook, redraw
from netlab.view.draw import png_bytes
from netlab.view.snapshot import Topology
from netlab.view.text import tree

PNG = b"\x89PNG\r\n\x1a\n"
BEFORE, AFTER = chain("root", "a"), chain("root", "a", "b")
TOLD = ["new namespace b (net:[2])", "added veth pair east ↔ west between a and b"]


class World:
    """The network a snapshot reads: ``now`` (or ``broken``, raised instead), and the ``settle`` each read asked for."""

    def __init__(self, now: Topology) -> None:
        self.now = now
        self.broken: Exception | None = None
        self.settles: list[float] = []

    def snapshot(self, *, everything: bool = False, settle: float = 0.0) -> Topology:
        self.settles.append(settle)
        if self.broken is not None:
            raise self.broken
        return self.now


@pytest.fixture
def world(monkeypatch, english) -> World:
    scene = World(BEFORE)
    monkeypatch.setattr(redraw, "snapshot", scene.snapshot)
    return scene


@pytest.fixture
def shell(tmp_path, monkeypatch):
    if InteractiveShell.initialized():
        pytest.skip("an IPython shell is already running in this process")
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path))  # the profile folder goes here; the history stays in memory
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    running = InteractiveShell.instance(config=config)
    yield running
    redraw.unload_ipython_extension(running)
    InteractiveShell.clear_instance()


@pytest.fixture
def loaded(shell, world):
    """``%load_ext netlab.live`` done (its start picture drawn and thrown away), showing text only."""
    with capture_output():
        redraw.load_ipython_extension(shell)
        shell.run_line_magic("netlab_live", "text")
    return shell


def _picture(output) -> tuple[bytes, str]:
    assert set(output.data) == {"image/png", "text/plain"}, output.data.keys()
    return base64.b64decode(output.data["image/png"]), output.data["text/plain"]


def test_loading_draws_the_start_and_a_cell_that_changes_nothing_shows_nothing_more(shell, world):
    with capture_output() as loading:
        redraw.load_ipython_extension(shell)
    [start] = loading.outputs
    png, text = _picture(start)
    assert png.startswith(PNG) and text == tree(BEFORE)
    assert notebook.registered(shell)  # a snapshot now shows as its diagram too
    assert {"netlab_live", "netlab_show"} <= set(shell.magics_manager.magics["line"])
    with capture_output() as quiet:
        result = shell.run_cell("x = 1 + 1")
    assert result.success and quiet.outputs == [] and quiet.stdout == ""
    assert set(world.settles) == {redraw.SETTLE_SECONDS}  # every read waits for half-deleted namespaces


def test_a_cell_that_changes_the_network_ends_with_its_sentences_and_then_the_diff_drawn(shell, world):
    live = redraw.LiveTopology(shell)
    world.now = AFTER
    with capture_output() as cell:
        live.post_run_cell()
    words, picture = cell.outputs
    assert words.data["text/plain"] == "netlab: this cell changed the network (2 changes):\n" + "\n".join(
        f"  - {line}" for line in TOLD
    )
    assert "(2 changes):<ul" in words.data["text/html"]
    assert "".join(f"<li>{line}</li>" for line in TOLD) in words.data["text/html"]
    [changes] = live.history
    assert changes.lines == TOLD
    png, text = _picture(picture)
    assert png == png_bytes(changes) and text == tree(AFTER)  # the highlighted diff, with the new state as text
    with capture_output() as next_cell:
        live.post_run_cell()
    assert next_cell.outputs == [] and len(live.history) == 1  # each change is told once


@pytest.mark.parametrize("mode", ["state", "text", "off"])
def test_the_mode_chooses_what_a_change_shows(shell, world, mode):
    live = redraw.LiveTopology(shell, mode=mode)
    reads = len(world.settles)
    world.now = AFTER
    with capture_output() as cell:
        live.post_run_cell()
    if mode == "off":
        assert cell.outputs == [] and live.history == [] and len(world.settles) == reads  # not even a snapshot
        return
    assert [output.data["text/plain"].splitlines()[1:] for output in cell.outputs[:1]] == [[f"  - {t}" for t in TOLD]]
    if mode == "text":
        assert len(cell.outputs) == 1  # the sentences, no drawing
    else:
        png, text = _picture(cell.outputs[1])
        assert png == png_bytes(AFTER) and text == tree(AFTER)  # the plain new state, not the diff


def test_the_sentences_are_escaped_in_html_and_kept_as_they_are_in_text(shell, world):
    live = redraw.LiveTopology(shell, mode="text")
    world.now = chain("root", "a", "<b>&")
    with capture_output() as cell:
        live.post_run_cell()
    [words] = cell.outputs
    assert "<li>new namespace &lt;b&gt;&amp; (net:[2])</li>" in words.data["text/html"]
    assert "<b>&" not in words.data["text/html"].replace("<b>netlab</b>", "")
    assert "  - new namespace <b>& (net:[2])" in words.data["text/plain"]


def test_a_snapshot_that_fails_is_reported_and_never_breaks_the_cell(shell, world):
    live = redraw.LiveTopology(shell, mode="text")
    world.broken = PermissionError(1, "Operation not permitted", "/run/netns/a")
    with capture_output() as cell:
        live.post_run_cell()  # IPython calls it after the cell: it must not raise
    lines = cell.stdout.splitlines()
    assert lines[0] == "netlab.live: could not read the network state:"
    assert "PermissionError: [Errno 1] Operation not permitted: '/run/netns/a'" in lines
    assert cell.outputs == [] and live.last is BEFORE
    world.broken = None
    world.now = AFTER
    with capture_output() as recovered:
        live.post_run_cell()
    assert len(recovered.outputs) == 1 and live.history[0].lines == TOLD  # the next cell works again


def test_an_unknown_mode_is_refused_in_one_line_and_the_mode_stays(loaded):
    with capture_output() as said:
        loaded.run_line_magic("netlab_live", "sideways")
    assert said.stdout == "netlab.live: unknown mode 'sideways'; use one of on, diff, state, text, off, projector\n"
    assert redraw._live is not None and redraw._live.mode == "text"


def test_switching_on_again_starts_from_now_not_from_what_happened_while_off(loaded, world):
    loaded.run_line_magic("netlab_live", "off")
    world.now = AFTER  # changed while nobody watched
    with capture_output() as cell:
        loaded.run_cell("%netlab_live on")
    assert cell.stdout == "netlab.live: diff\n" and cell.outputs == []  # the cell that said "on" changed nothing


def test_switching_from_off_to_a_mode_starts_from_now_too(loaded, world):
    loaded.run_line_magic("netlab_live", "off")
    world.now = AFTER
    with capture_output() as cell:
        loaded.run_cell("%netlab_live text")
    assert cell.stdout == "netlab.live: text\n"
    assert cell.outputs == [], cell.outputs[0].data["text/plain"]


def test_loading_twice_keeps_one_hook_and_unloading_stops_the_redraws(loaded, world):
    with capture_output():
        redraw.load_ipython_extension(loaded)
        loaded.run_line_magic("netlab_live", "text")
    world.now = AFTER
    with capture_output() as once:
        loaded.run_cell("pass")
    assert len(once.outputs) == 1  # told once, by the one hook
    redraw.unload_ipython_extension(loaded)
    assert not notebook.registered(loaded) and redraw._live is None
    world.now = BEFORE
    with capture_output() as after:
        result = loaded.run_cell("pass")
    assert result.success and after.outputs == [] and after.stdout == ""
    assert loaded.display_formatter.format(AFTER)[0] == {"text/plain": repr(AFTER)}
    for magic in ("netlab_live", "netlab_show"):  # gone with the extension, not left to fail
        assert loaded.find_line_magic(magic) is None
