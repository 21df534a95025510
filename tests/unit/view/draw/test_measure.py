"""Text measured before drawing (netlab/view/draw/measure.py), against what matplotlib's Agg measures."""

from __future__ import annotations

import pytest

from netlab.view.draw.measure import (
    CJK_MONO,
    CJK_SANS,
    MONO,
    SANS,
    cjk_families,
    families,
    fit,
    line_height,
    text_width,
)

needs_cjk = pytest.mark.skipif(
    not cjk_families(), reason="no CJK font installed (Debian: apt-get install fonts-noto-cjk)"
)


def measured(text: str, size: float, *, mono: bool) -> float:
    """The width in inches matplotlib's Agg renderer gives ``text``, in the fonts netlab asks for."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    renderer = FigureCanvasAgg(Figure(dpi=72)).get_renderer()
    font = FontProperties(family=families(mono=mono), size=size)
    width, _height, _descent = renderer.get_text_width_height_descent(text, font, ismath=False)
    return width / 72


def test_a_longer_text_measures_wider_and_twice_the_size_twice_as_wide():
    for mono in (True, False):
        short, long = text_width("veth0", 8, mono=mono), text_width("veth0 10.0.0.2/24", 8, mono=mono)
        assert 0 < short < long
        assert text_width("veth0", 16, mono=mono) == pytest.approx(2 * short)
    assert text_width("", 8) == 0
    assert text_width("default via 10.0.0.1", 11, mono=False, bold=True) > text_width(
        "default via 10.0.0.1", 11, mono=False
    )


@pytest.mark.parametrize("text", ["veth0 10.0.0.2/24", "default via 10.0.0.1 dev eth0", "net:[4026531840]"])
def test_a_monospace_estimate_is_what_matplotlib_measures(text):
    assert text_width(text, 10) == pytest.approx(measured(text, 10, mono=True), rel=0.02)


def test_a_wide_east_asian_character_counts_a_full_em():
    assert text_width("实验室", 12) == pytest.approx(3 * 12 / 72)
    assert text_width("实验室", 12) > text_width("abc", 12)
    assert text_width("ｖｅｔｈ", 12) == pytest.approx(4 * 12 / 72)  # fullwidth Latin is wide too
    assert text_width("é", 12) == text_width("e", 12)  # accented Latin is not


@needs_cjk
def test_the_font_list_is_dejavu_then_the_best_cjk_family_of_the_same_kind():
    installed = cjk_families()
    assert list(installed) == [name for name in CJK_SANS + CJK_MONO if name in installed]  # best first
    sans = [name for name in installed if name in CJK_SANS] or list(installed)
    mono = [name for name in installed if name in CJK_MONO] or list(installed)
    assert families() == [SANS, sans[0]]
    assert families(mono=True) == [MONO, mono[0]]


@needs_cjk
@pytest.mark.parametrize(
    ("text", "mono"),
    [("实验室", False), ("实验室", True), ("netns 实验", True), ("网络命名空间 net:[4026531840]", True)],
)
def test_a_cjk_text_measures_as_matplotlib_draws_it_with_the_cjk_font(text, mono):
    """Each CJK character is drawn a full em wide by the CJK family, as estimated (DejaVu has none)."""
    assert text_width(text, 10, mono=mono) == pytest.approx(measured(text, 10, mono=mono), rel=0.03)


def test_a_line_is_a_third_taller_than_its_font_size():
    assert line_height(10) == pytest.approx(10 * 1.35 / 72)
    assert line_height(20) == pytest.approx(2 * line_height(10))


def test_a_text_that_fits_is_left_whole():
    text = "veth0 10.0.0.2/24"
    assert fit(text, 7.5, text_width(text, 7.5)) == text
    assert fit(text, 7.5, 100.0) == text


@pytest.mark.parametrize("mono", [True, False])
@pytest.mark.parametrize(
    "text", ["eth0 10.0.0.2/24 ⇄v1@root", "网络命名空间实验室一号", "default via 10.0.0.1 dev eth0"]
)
def test_a_text_too_wide_is_cut_to_the_longest_start_that_fits_with_an_ellipsis(text, mono):
    width = text_width(text, 7.5, mono=mono) * 0.6
    cut = fit(text, 7.5, width, mono=mono)
    assert cut.endswith("…") and text.startswith(cut[:-1]) and len(cut) < len(text)
    assert text_width(cut, 7.5, mono=mono) <= width
    one_more = text[: len(cut)] + "…"
    assert text_width(one_more, 7.5, mono=mono) > width


def test_a_narrower_width_never_gives_a_wider_text():
    text = "netns-with-a-long-name"
    roomy = fit(text, 10, text_width("n…", 10))  # room for one character: "n…"
    tight = fit(text, 10, text_width("n…", 10) * 0.9)  # a little less room
    assert text_width(tight, 10) <= text_width(roomy, 10)
