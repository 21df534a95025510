"""Draw a snapshot: namespaces as boxes, interfaces as ports on them, veth pairs as wires.

    from netlab import draw, snapshot
    draw(snapshot(), path="lab.png")          # a matplotlib Figure; also .svg or .pdf
    draw(diff(before, after))                 # what changed, highlighted

How to read a drawing:

* a **box** is a network namespace: its title (``root``, a name from ``/run/netns``, or the
  process holding it), its inode ``net:[N]``, facts (IP forwarding, NAT), and its routes: the
  default gateway and the routes someone added (``default via 10.0.0.1 dev eth0``), or, in
  red, "no default route" when it has an address but no way out. The root namespace, where
  you are, has a thick blue frame;
* a **chip** is an interface: name, kind and state, addresses. Green: up and carrying packets.
  Yellow: up, but no carrier (a veth whose peer is still down). Grey and dashed: DOWN;
* a **thick line** joins the two ends of a veth pair, sitting on the sides of the two boxes;
  a thin line joins a bridge port to its bridge; a dotted line a macvlan to its parent device;
* in a **diff**, green frames are new, red dashed ones are gone, yellow ones changed.

Up to a dozen namespaces get this detailed drawing (if it fits). Larger labs get a compact one:
busy namespaces (the root of a 100-namespace star) as bands across the top, the others as small
tiles on a grid, with a coloured bus from each band to the tiles wired to it.

The package, in the order a drawing is made:

    measure.py   fonts (with a CJK fallback) and how wide a text will be
    labels.py    what each box, chip and tile says
    detailed.py  the detailed layout: where each box and chip goes
    compact.py   the compact layout (tiles), rendered
    glyphs.py    fast text for the compact layout: each character rendered once, then copied
    render.py    colours, boxes, chips, wires, the legend; renders the detailed layout
    front.py     draw(), png_bytes(), save()

``settings`` (``netlab.view.settings``) holds projector mode: labels at least 14 px at 1080p.
"""

from __future__ import annotations

from netlab.view.draw.front import DrawingError, draw, figure_png, png_bytes, save
from netlab.view.draw.labels import caption_text
from netlab.view.draw.measure import cjk_families, families
from netlab.view.settings import settings

__all__ = [
    "DrawingError",
    "caption_text",
    "cjk_families",
    "draw",
    "families",
    "figure_png",
    "png_bytes",
    "save",
    "settings",
]
