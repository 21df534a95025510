"""Measuring text before drawing it: fonts, widths, line heights.

A layout needs to know how wide a label is before matplotlib renders it. Rendering each label
to measure it would cost a renderer per figure, so we estimate instead, from the fonts we ask
for: DejaVu Sans Mono glyphs are exactly 0.6 em wide, DejaVu Sans averages about 0.6 em, and a
Chinese or Japanese character (an East Asian "wide" character) is a full 1 em square.

Fonts: every text asks for DejaVu (it ships with matplotlib, so it is always there) followed by
a CJK family when one is installed (Debian: ``apt-get install fonts-noto-cjk``). matplotlib
falls back glyph by glyph along that list, so a namespace called ``实验`` draws without empty
boxes and without "Glyph ... missing from font(s)" warnings.
"""

from __future__ import annotations

import unicodedata
from functools import cache
from pathlib import Path

__all__ = ["MONO", "SANS", "cjk_families", "families", "fit", "line_height", "text_width"]

MONO, SANS = "DejaVu Sans Mono", "DejaVu Sans"
LINE_GAP = 1.35  # line height as a multiple of the font size

# CJK families, best first, as matplotlib's font manager names them (SC: simplified Chinese).
CJK_SANS = (
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Noto Sans CJK TC",
    "Noto Sans CJK KR",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Droid Sans Fallback",
)
CJK_MONO = ("Noto Sans Mono CJK SC", "Noto Sans Mono CJK JP", "Noto Sans Mono CJK TC", "Noto Sans Mono CJK KR")
_CJK_FILES = ("cjk", "sourcehan", "wqy", "droidsansfallback")  # how their font files are named


@cache
def cjk_families() -> tuple[str, ...]:
    """The CJK font families matplotlib can use here, best first (empty if none is installed).

    matplotlib caches its list of fonts the first time it runs and does not notice fonts
    installed later. If the cache knows no CJK family, the system's CJK font files (found the
    way ``fc-list`` finds them) are added for this process.
    """
    from matplotlib import font_manager

    def known() -> set[str]:
        return {font.name for font in font_manager.fontManager.ttflist}

    names = known()
    if not names.intersection(CJK_SANS + CJK_MONO):
        for path in font_manager.findSystemFonts():
            if any(part in Path(path).name.lower().replace("-", "") for part in _CJK_FILES):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue  # unreadable or not a font: skip it
        names = known()
    return tuple(name for name in CJK_SANS + CJK_MONO if name in names)


def families(*, mono: bool = False) -> list[str]:
    """The font list for one text: DejaVu first, then a CJK family to fall back on."""
    installed = cjk_families()
    preferred = [name for name in installed if (name in CJK_MONO) == mono] or list(installed)
    return [MONO if mono else SANS, *preferred[:1]]


def _wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F")


def text_width(text: str, size: float, *, mono: bool = True, bold: bool = False) -> float:
    """Width in inches of ``text`` at ``size`` points (a wide CJK character counts 1 em)."""
    per_char = 0.602 if mono else (0.66 if bold else 0.60)
    wide = 0 if text.isascii() else sum(1 for char in text if _wide(char))
    return ((len(text) - wide) * per_char + wide * 1.0) * size / 72


def line_height(size: float) -> float:
    """Height in inches of one line of text at ``size`` points."""
    return size * LINE_GAP / 72


def fit(text: str, size: float, width: float, *, mono: bool = True) -> str:
    """``text``, cut with "…" so it is at most ``width`` inches wide at ``size`` points."""
    if text_width(text, size, mono=mono) <= width:
        return text
    cut = text
    while cut and text_width(cut + "…", size, mono=mono) > width:
        cut = cut[:-1]
    return cut + "…"
