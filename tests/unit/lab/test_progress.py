"""The star's progress display: a real ipywidgets bar that counts and goes, a terminal line, or silence."""

from __future__ import annotations

import ipywidgets

from netlab.lab.progress import Progress, progress


def test_a_widget_bar_counts_to_the_total_and_closes():
    bar = ipywidgets.IntProgress(max=10)
    shown = Progress(10, "lab demo: star", widget=bar)
    shown.update(4)
    shown.update(40)
    assert (bar.value, shown.count) == (10, 10)  # never past the total
    assert bar.comm is not None
    shown.close()
    assert bar.comm is None  # a closed widget: it leaves the notebook's output


def test_a_terminal_line_is_rewritten_in_place_and_erased(capsys):
    shown = Progress(3, "lab demo: star", terminal=True)
    shown.update(2)
    shown.close()
    err = capsys.readouterr().err
    assert err == "\rlab demo: star: 0/3\rlab demo: star: 2/3\r\033[K"


def test_in_a_pipe_or_when_asked_not_to_it_says_nothing(capsys):
    for bar in (progress(5, "quiet", show=False), progress(5, "piped")):  # pytest's stderr is no terminal
        bar.update(5)
        bar.close()
    assert capsys.readouterr().err == ""
