"""Text drawn from cached glyphs (netlab/view/draw/glyphs.py): each rendered once, inked where matplotlib inks it."""

from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

from netlab.view.draw import glyphs
from netlab.view.draw.glyphs import QuickText
from netlab.view.draw.measure import cjk_families, families

needs_cjk = pytest.mark.skipif(
    not cjk_families(), reason="no CJK font installed (Debian: apt-get install fonts-noto-cjk)"
)


@pytest.fixture
def rendered(monkeypatch) -> list[str]:
    """Each character FreeType renders for a QuickText (the real ``_glyph``), from an empty cache."""
    glyphs._atlas.cache_clear()
    made: list[str] = []
    real = glyphs._glyph

    def noted(paths, size, dpi, char, flags):
        made.append(char)
        return real(paths, size, dpi, char, flags)

    monkeypatch.setattr(glyphs, "_glyph", noted)
    yield made
    glyphs._atlas.cache_clear()


def figure_with(kind: type[Text], text: str, *, size: float = 9, dpi: float = 100, **options) -> Figure:
    """A 3 x 1 inch figure with ``text`` in its middle, written as netlab writes labels."""
    figure = Figure(figsize=(3, 1), dpi=dpi)
    options.setdefault("clip_on", False)
    figure.add_artist(
        kind(0.5, 0.5, text, fontsize=size, fontfamily=families(), transform=figure.transFigure, **options)
    )
    return figure


def pixels(figure: Figure) -> np.ndarray:
    """The figure rendered by Agg: rows x columns x RGB."""
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].astype(int)


def ink(figure: Figure) -> np.ndarray:
    """Where the figure is dark: the (row, column) of every inked pixel."""
    return np.argwhere(pixels(figure).min(axis=2) < 128)


def test_a_character_is_rendered_once_however_often_it_appears(rendered):
    eight = ink(figure_with(QuickText, "aaaa aaaa"))
    assert sorted(rendered) == [" ", "a"]
    one = ink(figure_with(QuickText, "a"))
    assert sorted(rendered) == [" ", "a"]  # the second figure took the cached "a"
    assert len(eight) >= 0.9 * 8 * len(one)  # yet each of the eight is inked


def test_glyphs_are_reused_across_texts_and_figures_and_redraws(rendered):
    first = figure_with(QuickText, "veth0")
    pixels(first)
    assert rendered == ["v", "e", "t", "h", "0"]
    pixels(figure_with(QuickText, "veth1", color="#c92a2a"))  # another colour: the same alpha glyphs
    pixels(first)
    assert rendered == ["v", "e", "t", "h", "0", "1"]


def test_another_size_or_resolution_renders_glyphs_of_its_own(rendered):
    small = ink(figure_with(QuickText, "lo", size=9))
    large = ink(figure_with(QuickText, "lo", size=18))
    sharp = ink(figure_with(QuickText, "lo", size=9, dpi=200))
    assert rendered == ["l", "o"] * 3
    assert len(large) > 2 * len(small) and len(sharp) > 2 * len(small)  # four times the area, about


@pytest.mark.parametrize(("ha", "va"), [("center", "center"), ("right", "bottom"), ("left", "baseline")])
def test_a_quick_text_lands_where_matplotlib_puts_the_same_text(rendered, ha, va):
    quick = ink(figure_with(QuickText, "veth0 10.0.0.2/24", ha=ha, va=va))
    plain = ink(figure_with(Text, "veth0 10.0.0.2/24", ha=ha, va=va))
    assert rendered  # drawn from glyphs, not handed to matplotlib
    assert abs(len(quick) - len(plain)) <= 0.1 * len(plain)
    assert np.abs(quick.min(axis=0) - plain.min(axis=0)).max() <= 2
    assert np.abs(quick.max(axis=0) - plain.max(axis=0)).max() <= 2


@needs_cjk
def test_a_chinese_label_is_drawn_from_the_cjk_font_as_matplotlib_draws_it(rendered):
    quick = ink(figure_with(QuickText, "实验室 netns1", size=11))
    plain = ink(figure_with(Text, "实验室 netns1", size=11))
    assert rendered[:3] == ["实", "验", "室"]
    assert abs(len(quick) - len(plain)) <= 0.1 * len(plain)
    assert np.abs(quick.min(axis=0) - plain.min(axis=0)).max() <= 2
    assert np.abs(quick.max(axis=0) - plain.max(axis=0)).max() <= 2


def test_a_quick_text_is_in_its_colour(rendered):
    red = pixels(figure_with(QuickText, "veth0", size=14, color="#c92a2a")).reshape(-1, 3)
    darkest = red[red.sum(axis=1).argmin()]
    assert rendered  # pasted from glyphs
    assert np.abs(darkest - [0xC9, 0x2A, 0x2A]).max() <= 3


@pytest.mark.parametrize(
    "options",
    [{"rotation": 30}, {"bbox": {"facecolor": "#fff3bf"}}, {"clip_on": True}],
    ids=["rotated", "boxed", "clipped"],
)
def test_a_text_it_cannot_paste_together_is_left_to_matplotlib(rendered, options):
    quick = pixels(figure_with(QuickText, "veth0 10.0.0.2/24", **options))
    plain = pixels(figure_with(Text, "veth0 10.0.0.2/24", **options))
    assert rendered == [] and (quick == plain).all()


def test_an_empty_or_hidden_text_draws_nothing(rendered):
    hidden = figure_with(QuickText, "veth0", visible=False)
    assert len(ink(hidden)) == 0 and len(ink(figure_with(QuickText, ""))) == 0
    assert rendered == []


def test_an_svg_holds_the_same_text_as_matplotlibs(rendered, monkeypatch):
    import matplotlib

    monkeypatch.setitem(matplotlib.rcParams, "svg.hashsalt", "netlab")  # the same ids in both files

    def svg(kind: type[Text]) -> bytes:
        buffer = io.BytesIO()
        figure_with(kind, "veth0 10.0.0.2/24").savefig(buffer, format="svg", metadata={"Date": None})
        return buffer.getvalue()

    assert svg(QuickText) == svg(Text) and b"veth0 10.0.0.2/24" in svg(QuickText)
    assert rendered == []  # glyph bitmaps are for PNG only
