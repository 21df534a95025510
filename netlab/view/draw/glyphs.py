"""Fast text for big drawings: each character rendered once, then copied wherever it appears.

A 1000-namespace compact drawing writes about 80,000 characters. matplotlib lays out and
rasterises every one of them through FreeType each time (tens of microseconds a character),
which made such a PNG take seconds. ``QuickText`` is a matplotlib ``Text`` (so it measures,
saves to SVG or PDF and is found by ``figure.findobj(Text)`` like any other) that, on the Agg
renderer used for PNG, lays its lines out itself: a glyph per (font, size, character) is
rendered once and cached, a line is pasted together from cached glyphs with numpy, and the line
goes to the canvas in one call. Kerning is left out, which single labels in a tile do not need.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from matplotlib.text import Text

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.backend_bases import RendererBase
    from matplotlib.font_manager import FontProperties

__all__ = ["QuickText"]

Glyph = tuple["np.ndarray", int, int, float]  # alpha bitmap, left bearing, rows above the baseline, advance (px)


@cache
def _font_paths(prop: FontProperties) -> tuple[str, ...]:
    from matplotlib.font_manager import fontManager

    return tuple(fontManager._find_fonts_by_props(prop))  # the same lookup matplotlib's Agg makes


@cache
def _metrics(path: str, size: float, dpi: float) -> tuple[float, float]:
    """Ascent and descent in pixels of a font at a size: its line box, as matplotlib lays lines out."""
    from matplotlib.font_manager import get_font

    font, pixels = get_font(path), size * dpi / 72
    head, os2, hhea = font.get_sfnt_table("head"), font.get_sfnt_table("OS/2"), font.get_sfnt_table("hhea")
    scale = pixels / (head["unitsPerEm"] if head else 2048)
    if os2 is not None:
        return os2["sTypoAscender"] * scale, -os2["sTypoDescender"] * scale
    if hhea is not None:
        return hhea["ascent"] * scale, -hhea["descent"] * scale
    return pixels * 0.93, pixels * 0.24


@cache
def _atlas(paths: tuple[str, ...], size: float, dpi: float, flags: Any) -> dict[str, Glyph]:
    """The glyphs of one font at one size rendered so far, by character."""
    return {}


def _glyph(paths: tuple[str, ...], size: float, dpi: float, char: str, flags: Any) -> Glyph:
    """One character rendered once, from the first font in ``paths`` that has it, as Agg renders it."""
    import numpy as np
    from matplotlib.font_manager import get_font
    from matplotlib.ft2font import RenderMode

    font: Any = next((f for f in map(get_font, paths) if f.get_char_index(ord(char))), get_font(paths[0]))
    font.set_size(size, dpi)
    font._set_transform(np.array([[0x10000, 0], [0, 0x10000]]), [0, 0])
    index = font.get_char_index(ord(char))
    advance = font.load_glyph(index, flags=flags).horiAdvance / 64  # hinted, as matplotlib lays it out
    bitmap = font._render_glyph(index, flags, RenderMode.NORMAL)
    return np.array(bitmap.buffer, dtype=np.uint8), bitmap.left, bitmap.top, advance


class QuickText(Text):
    """A ``Text`` that draws itself from cached glyphs on the Agg (PNG) renderer."""

    def draw(self, renderer: RendererBase) -> None:
        from matplotlib.backends.backend_agg import RendererAgg
        from matplotlib.ft2font import FT2Font

        simple = not (
            self.get_rotation()
            or self.get_usetex()
            or self.get_bbox_patch()
            or self.get_path_effects()
            or self.get_clip_on()  # clipped texts are left to matplotlib
        )
        able = isinstance(renderer, RendererAgg) and hasattr(FT2Font, "_render_glyph")  # matplotlib >= 3.11
        if not (able and simple and self.get_visible() and self.get_text()):
            super().draw(renderer)
            return
        try:
            self._quick_draw(renderer)
        except (AttributeError, TypeError, ValueError):  # a matplotlib whose private text calls changed
            super().draw(renderer)
            return
        self.stale = False

    def _quick_draw(self, renderer: Any) -> None:
        import numpy as np
        from matplotlib import colors
        from matplotlib.backends.backend_agg import get_hinting_flag

        prop, dpi = self.get_fontproperties(), renderer.dpi
        paths, size, flags = _font_paths(prop), prop.get_size_in_points(), get_hinting_flag()
        ascent, descent = _metrics(paths[0], size, dpi)
        atlas = _atlas(paths, size, dpi, flags)
        lines = self.get_text().split("\n")
        linespacing = getattr(self, "_linespacing", 1.2)  # set by Text(linespacing=...)
        spacing = linespacing if len(lines) > 1 and linespacing != "normal" else 1.0
        leading = (float(spacing) - 1) * (ascent + descent) / 2
        step = ascent + descent + 2 * leading
        x, y = self.get_transform().transform(self.get_unitless_position())
        y = renderer.height - y  # Agg counts rows downwards
        total = step * len(lines)
        va = self.get_verticalalignment()
        top = {"top": y, "center": y - total / 2, "bottom": y - total}.get(va, y - ascent - leading)
        ha = self.get_horizontalalignment()
        gc = renderer.new_gc()
        gc.set_foreground(colors.to_rgba(self.get_color()), isRGBA=True)
        gc.set_alpha(self.get_alpha())
        gc.set_antialiased(True)
        for n, line in enumerate(lines):
            glyphs = [atlas.get(char) or atlas.setdefault(char, _glyph(paths, size, dpi, char, flags)) for char in line]
            if not glyphs:
                continue
            width = sum(g[3] for g in glyphs)
            start = x - {"right": width, "center": width / 2}.get(ha, 0.0)
            baseline = top + n * step + leading + ascent
            above = max(g[2] for g in glyphs)
            below = max(max(g[0].shape[0] - g[2] for g in glyphs), 0)
            pen, lefts = 0.0, []
            for _, left, _, advance in glyphs:
                lefts.append(round(pen) + left)
                pen += advance
            shift = -min(min(lefts), 0)
            right = max(lx + g[0].shape[1] for lx, g in zip(lefts, glyphs, strict=True)) + shift
            canvas = np.zeros((above + below, max(right, 1)), dtype=np.uint8)
            for lx, (image, _, up, _) in zip(lefts, glyphs, strict=True):
                rows, cols = image.shape
                if rows and cols:
                    area = canvas[above - up : above - up + rows, lx + shift : lx + shift + cols]
                    np.maximum(area, image, out=area)
            renderer._renderer.draw_text_image(canvas, round(start) - shift, round(baseline) + below, 0, gc)
        gc.restore()
