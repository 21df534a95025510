"""The display hooks (``netlab/view/notebook.py``): how a snapshot, a diff and a Figure show, only after register."""

# IPython's own DisplayFormatter does the formatting, as in a kernel; the snapshots are built by hand.

from __future__ import annotations

import types

import pytest
from helpers.topologies import chain
from IPython.core.formatters import DisplayFormatter
from IPython.core.interactiveshell import InteractiveShell
from matplotlib.figure import Figure

from netlab import diff
from netlab.view import notebook

PNG = b"\x89PNG\r\n\x1a\n"


def _shell() -> types.SimpleNamespace:
    """What register() uses of a shell: its display formatter (a real one, with IPython's default printers)."""
    return types.SimpleNamespace(display_formatter=DisplayFormatter())


@pytest.fixture
def shell():
    host = _shell()
    yield host
    notebook.unregister(host)


def _printer(host, mime: str, subject):
    try:
        return host.display_formatter.formatters[mime].lookup(subject)
    except KeyError:
        return None


def test_a_diff_shows_as_its_highlighted_picture_and_as_its_sentences(shell, english):
    changes = diff(chain("root", "a"), chain("root", "a", "b"))
    notebook.register(shell)
    data, _ = shell.display_formatter.format(changes)
    assert data["image/png"].startswith(PNG)
    assert data["text/plain"] == "new namespace b (net:[2])\nadded veth pair east ↔ west between a and b"


def test_registering_twice_adds_each_hook_once_and_one_unregister_takes_them_all_back(shell):
    scene, changes, figure = chain("root", "a"), diff(chain("root"), chain("root", "a")), Figure()
    default_figure_png = _printer(shell, "image/png", figure)  # IPython has none for a Figure: pyplot adds it
    notebook.register(shell)
    notebook.register(shell)
    assert notebook.registered(shell)
    for subject in (scene, changes):
        assert _printer(shell, "image/png", subject) is not None and _printer(shell, "text/plain", subject) is not None
    assert _printer(shell, "image/png", figure) is not None
    notebook.unregister(shell)
    assert not notebook.registered(shell)
    for subject in (scene, changes):
        assert _printer(shell, "image/png", subject) is None
        assert shell.display_formatter.format(subject)[0] == {"text/plain": repr(subject)}
    assert _printer(shell, "image/png", figure) is default_figure_png
    notebook.unregister(shell)  # a second time: nothing left to take, no error


def _pyplot_like(figure) -> bytes:
    return b"pyplot's own picture"


@pytest.mark.parametrize("how", ["by type", "by name"])
def test_a_figure_printer_already_there_is_used_and_left_in_place(shell, how):
    """pyplot's inline backend registers one for Figure; netlab neither replaces it nor removes it."""
    png = shell.display_formatter.formatters["image/png"]
    if how == "by type":
        png.for_type(Figure, _pyplot_like)
    else:
        png.for_type_by_name("matplotlib.figure", "Figure", _pyplot_like)
    notebook.register(shell)
    assert shell.display_formatter.format(Figure())[0]["image/png"] == b"pyplot's own picture"
    notebook.unregister(shell)
    assert shell.display_formatter.format(Figure())[0]["image/png"] == b"pyplot's own picture"


def test_a_figure_shows_as_a_png_without_pyplot(shell):
    figure = Figure(figsize=(1, 1))
    figure.add_subplot().plot([0, 1], [1, 0])
    assert "image/png" not in shell.display_formatter.format(figure)[0]
    notebook.register(shell)
    assert shell.display_formatter.format(figure)[0]["image/png"].startswith(PNG)


def test_each_shell_is_taught_on_its_own():
    first, second = _shell(), _shell()
    scene = chain("root", "a")
    try:
        notebook.register(first)
        assert notebook.registered(first) and not notebook.registered(second)
        assert _printer(first, "text/plain", scene) is not None and _printer(second, "text/plain", scene) is None
        notebook.unregister(second)  # never registered: leaves the other alone
        assert notebook.registered(first) and _printer(first, "text/plain", scene) is not None
    finally:
        notebook.unregister(first)


def test_without_a_running_ipython_there_is_nothing_to_register():
    if InteractiveShell.initialized():
        pytest.skip("an IPython shell is running in this process")
    notebook.register()
    assert not notebook.registered()
    notebook.unregister()  # no error either


def test_with_no_shell_given_the_running_ipython_is_taught(tmp_path, monkeypatch):
    from traitlets.config import Config

    if InteractiveShell.initialized():
        pytest.skip("an IPython shell is already running in this process")
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path))  # its profile folder, and nothing else, goes here
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    running = InteractiveShell.instance(config=config)
    scene = chain("root", "a")
    try:
        notebook.register()
        assert notebook.registered() and notebook.registered(running)
        data, _ = running.display_formatter.format(scene)
        assert data["image/png"].startswith(PNG) and data["text/plain"].startswith("root · net:[0] · ")
        notebook.unregister()
        assert not notebook.registered(running)
    finally:
        notebook.unregister(running)
        InteractiveShell.clear_instance()
