"""The renderers from a hand-built snapshot: no kernel, no sandbox, any user.

The scene is lesson 03's: a bridge in the root namespace, c1 and c2 on it, and an "internet"
namespace behind a veth. c2 has a default route, c1 does not yet (the lesson's "why can't c1
reach it?"). The kernel tests (tests/test_draw.py) draw the same things from real snapshots.
"""

from __future__ import annotations

import io
import warnings

import pytest

from netlab import diff, draw, tree
from netlab.view import notebook
from netlab.view.draw import cjk_families, png_bytes, settings
from netlab.view.snapshot import Address, Interface, Namespace, NatRule, Peer, Route, Topology

ROOT, C1, C2, NET = 1001, 1002, 1003, 1004


def link(
    name: str, index: int, kind: str = "veth", *addresses: str, peer: Peer | None = None, master: str = ""
) -> Interface:
    return Interface(
        name=name,
        index=index,
        kind=kind,
        state="UP",
        up=True,
        carrier=True,
        mac=f"02:00:00:00:00:{index:02x}",
        mtu=1500,
        addresses=tuple(Address(a) for a in addresses),
        peer=peer,
        master=master or None,
    )


def connected(prefix: str, dev: str) -> Route:
    return Route(prefix, dev=dev, protocol="kernel", scope="link")


def lo() -> Interface:
    return link("lo", 1, "loopback", "127.0.0.1/8")


def container(inode: int, name: str, address: str, peer: Peer, *routes: Route) -> Namespace:
    eth0 = link("eth0", 2, "veth", address, peer=peer)
    return Namespace(inode=inode, title=name, names=(name,), interfaces=(lo(), eth0), routes=routes)


def lesson_03(*, c1_gateway: bool = False) -> Topology:
    root = Namespace(
        inode=ROOT,
        title="root",
        root=True,
        ip_forward=True,
        nat=(NatRule("masquerade", "nat", "postrouting"),),
        interfaces=(
            lo(),
            link("br0", 2, "bridge", "10.0.0.1/24"),
            link("v1", 3, peer=Peer(C1, "eth0", 2), master="br0"),
            link("v2", 4, peer=Peer(C2, "eth0", 2), master="br0"),
            link("up0", 5, "veth", "203.0.113.2/24", peer=Peer(NET, "eth0", 2)),
        ),
        routes=(connected("10.0.0.0/24", "br0"), connected("203.0.113.0/24", "up0")),
    )
    gateway = Route("default", via="10.0.0.1", dev="eth0")
    c1_routes = (gateway,) if c1_gateway else ()
    return Topology(
        (
            root,
            container(C1, "c1", "10.0.0.2/24", Peer(ROOT, "v1", 3), *c1_routes, connected("10.0.0.0/24", "eth0")),
            container(C2, "c2", "10.0.0.3/24", Peer(ROOT, "v2", 4), gateway, connected("10.0.0.0/24", "eth0")),
            container(NET, "internet", "203.0.113.1/24", Peer(ROOT, "up0", 5), connected("203.0.113.0/24", "eth0")),
        ),
        taken_at=0,
    )


def words(figure) -> list[str]:
    from matplotlib.text import Text

    return [t.get_text() for t in figure.findobj(Text) if t.get_text()]


def test_each_box_says_its_gateway_or_that_it_has_none():
    drawn = words(draw(lesson_03(), layout="detailed"))
    assert "default via 10.0.0.1 dev eth0" in drawn  # c2
    assert "no default route: reaches only 10.0.0.0/24" in drawn  # c1
    assert not any("no default route" in w and "10.0.0.0/24 and" in w for w in drawn)
    compact = "\n".join(words(draw(lesson_03(), layout="compact")))
    assert "default via 10.0.0.1 dev eth0" in compact and "no default route" in compact


def test_the_tree_notes_a_missing_gateway_under_the_routes():
    text = tree(lesson_03())
    c1 = text[text.index("c1 · ") : text.index("c2 · ")]
    assert c1.rstrip().endswith("└── # no default route: reaches only 10.0.0.0/24")
    assert "no default route" not in text[: text.index("c1 · ")]  # never said of root
    fixed = tree(lesson_03(c1_gateway=True))
    assert fixed.count("# no default route") == 1  # only "internet" still has none


def test_a_diff_draws_like_a_snapshot_and_shows_the_new_route():
    changes = diff(lesson_03(), lesson_03(c1_gateway=True))
    assert "new route in c1: default via 10.0.0.1 dev eth0" in changes.lines
    drawn = words(draw(changes))
    assert drawn.count("default via 10.0.0.1 dev eth0") == 2  # c1 now, and c2
    assert any("1 change since" in w for w in drawn)  # the caption
    assert png_bytes(changes).startswith(b"\x89PNG")


@pytest.fixture
def projector():
    settings.projector = True
    yield settings
    settings.projector = False


def test_projector_labels_are_at_least_14_px(projector):
    """Measured as matplotlib lays the text out: the em is points x dpi / 72, the extent per line."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    for layout in ("detailed", "compact"):
        figure = draw(lesson_03(), layout=layout)
        renderer = FigureCanvasAgg(figure).get_renderer()
        texts = [t for t in figure.findobj(Text) if t.get_text()]
        ems = [float(t.get_fontsize()) * figure.dpi / 72 for t in texts]
        per_line = [t.get_window_extent(renderer).height / (t.get_text().count("\n") + 1) for t in texts]
        assert min(ems) >= 14 and min(per_line) >= 14, layout
        assert figure.get_figwidth() * figure.dpi <= projector.output_width_px
    projector.projector = False
    figure = draw(lesson_03(), layout="detailed")
    smallest = min(float(t.get_fontsize()) for t in figure.findobj(Text) if t.get_text())
    assert figure.dpi == 100 and smallest * 100 / 72 < 10


@pytest.mark.skipif(not cjk_families(), reason="no CJK font installed (Debian: apt-get install fonts-noto-cjk)")
def test_chinese_labels_have_every_glyph():
    import dataclasses

    scene = lesson_03()
    renamed = [dataclasses.replace(ns, title="实验室") if ns.inode == C1 else ns for ns in scene.namespaces]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for layout in ("detailed", "compact"):
            png_bytes(Topology(tuple(renamed), taken_at=0), layout=layout)
    assert [str(w.message) for w in caught if "missing from font" in str(w.message)] == []


def test_the_notebook_hooks_come_only_from_register():
    IPython = pytest.importorskip("IPython")
    shell = IPython.core.interactiveshell.InteractiveShell.instance()
    try:
        scene = lesson_03()
        figure = draw(scene)
        assert "image/png" not in shell.display_formatter.format(figure)[0]  # draw() registered nothing
        notebook.register(shell)
        data, _ = shell.display_formatter.format(scene)
        assert data["image/png"].startswith(b"\x89PNG") and data["text/plain"].startswith("root · net:[1001]")
        assert shell.display_formatter.format(figure)[0]["image/png"].startswith(b"\x89PNG")
        notebook.unregister(shell)
        assert shell.display_formatter.format(scene)[0] == {"text/plain": repr(scene)}
    finally:
        notebook.unregister(shell)
        IPython.core.interactiveshell.InteractiveShell.clear_instance()


def test_quick_text_lands_where_matplotlib_puts_its_text():
    """A tile's label drawn from cached glyphs inks the same pixels, within a pixel or two."""
    import numpy as np
    from matplotlib.text import Text
    from PIL import Image

    from netlab.view.draw.front import figure_png
    from netlab.view.draw.render import new_figure, write

    def ink(quick: bool, **options) -> np.ndarray:
        figure, ax = new_figure(3, 1, dpi=100)
        body = "eth0 10.0.0.2/24 ⇄v1@root\ndefault via 10.0.0.1 dev eth0"
        write(ax, 0.2, 0.8, body, size=6.5, mono=True, va="top", linespacing=1.5, quick=quick, **options)
        write(ax, 2.9, 0.9, "net:[4026531841]", size=6, ha="right", va="center", quick=quick)
        assert [t.get_text() for t in figure.findobj(Text) if t.get_text()][-1] == "net:[4026531841]"
        pixels = np.asarray(Image.open(io.BytesIO(figure_png(figure))).convert("L"))
        return np.argwhere(pixels < 128)

    plain, quick = ink(False), ink(True)
    assert abs(len(plain) - len(quick)) < 0.15 * len(plain)  # the same amount of ink
    assert np.abs(plain.min(axis=0) - quick.min(axis=0)).max() <= 2  # the same top-left corner
    assert np.abs(plain.max(axis=0) - quick.max(axis=0)).max() <= 2  # and bottom-right


def test_a_compact_svg_keeps_its_words_as_text():
    buffer = io.BytesIO()
    draw(lesson_03(), layout="compact").savefig(buffer, format="svg")
    svg = buffer.getvalue().decode()
    assert "default via 10.0.0.1 dev eth0" in svg  # written by matplotlib's SVG backend, not from glyphs


@pytest.mark.parametrize("name", ["lab.unknownext", "lab", "lab.png.txt"])
def test_a_file_name_without_a_drawing_suffix_is_refused_before_drawing(tmp_path, english, name):
    from netlab.view.draw import DrawingError

    with pytest.raises(DrawingError) as err:
        draw(lesson_03(), path=tmp_path / name)
    assert "must end in .png, .svg, .pdf" in err.value.message and err.value.hint
    assert list(tmp_path.iterdir()) == []
