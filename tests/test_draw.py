"""Every scene renders: a real PNG, not blank; plus the text views (tree, DOT, Mermaid).

Also: routes on the diagrams, projector mode (labels at least 14 px), Chinese labels.
Set NETLAB_KEEP_DRAWINGS=/some/dir to keep the PNGs for a look.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import scenes
from matplotlib.image import imread
from scenes import shell

from netlab import NetlabError, diff, draw, snapshot, tree
from netlab.view.draw import cjk_families, png_bytes, settings
from netlab.view.text import to_dot, to_mermaid


def rendered(topology_or_diff, path: Path, **options) -> np.ndarray:
    """Draw to ``path`` and return the pixels, after checking they make a picture."""
    figure = draw(topology_or_diff, path=path, **options)
    assert path.stat().st_size > 5_000
    pixels = imread(path)
    assert pixels.ndim == 3 and pixels.shape[0] > 150 and pixels.shape[1] > 300
    grey = pixels[..., :3].mean(axis=2)
    assert grey.std() > 0.05, "the image is (nearly) blank"
    assert (grey < 0.5).mean() > 0.002, "no dark ink: no text or frames"
    keep = os.environ.get("NETLAB_KEEP_DRAWINGS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / path.name)
    assert figure.get_figwidth() > 3
    return pixels


def colour_share(pixels: np.ndarray, rgb: str) -> float:
    """Fraction of pixels of exactly (within rounding) one colour (#rrggbb)."""
    target = np.array([int(rgb[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    return float((np.abs(pixels[..., :3] - target).max(axis=2) < 0.01).mean())


def test_the_empty_lab(tmp_path):
    rendered(snapshot(), tmp_path / "empty.png")


def test_the_articles_scene_and_its_steps(tmp_path):
    with scenes.cleanup(namespaces=("netns1",), links=("veth0",)):
        shell("ip netns add netns1", "ip link add veth0 type veth peer name veth1")
        pair = snapshot()
        down = rendered(pair, tmp_path / "article-1-pair.png")
        shell("ip link set veth1 netns netns1")
        moved = snapshot()
        rendered(diff(pair, moved), tmp_path / "article-2-moved-diff.png")
        shell("ip netns exec netns1 ifconfig veth1 10.1.1.1/24 up", "ifconfig veth0 10.1.1.2/24 up")
        up = rendered(snapshot(settle=0.5), tmp_path / "article-3-up.png")
    # DOWN chips are grey, UP ones green: the picture shows the difference.
    assert colour_share(down, "#f1f3f5") > colour_share(up, "#f1f3f5")
    assert colour_share(up, "#d3f9d8") > colour_share(down, "#d3f9d8")


def test_a_bridge_with_three_namespaces(tmp_path):
    with scenes.bridge_with_three():
        rendered(snapshot(), tmp_path / "bridge.png")


def test_a_chain_through_a_router(tmp_path):
    with scenes.chain_through_router():
        rendered(snapshot(), tmp_path / "chain.png")


def test_an_unnamed_namespace(tmp_path):
    with scenes.unnamed_held_by_process():
        rendered(snapshot(), tmp_path / "unnamed.png")


def test_a_peer_namespace_deleted_but_held(tmp_path):
    with scenes.peer_namespace_deleted():
        rendered(snapshot(), tmp_path / "orphan.png")


def test_a_diff_highlights_added_and_removed(tmp_path):
    with scenes.article_veth():
        before = snapshot()
    after = snapshot(settle=2.0)
    changes = diff(before, after)
    marks = changes.marks()
    netns1 = before.namespace("netns1")
    assert marks[netns1.key] == "removed" and marks[f"{before.root.key}/veth0"] == "removed"
    assert marks[before.root.key] == "changed"  # its route went away
    pixels = rendered(changes, tmp_path / "removed-diff.png")
    assert colour_share(pixels, "#e03131") > 0.0005  # the red of "removed"


def test_a_hundred_namespaces_compact(tmp_path):
    with scenes.star(100):
        topology = snapshot()
        pixels = rendered(topology, tmp_path / "star-100.png")
        assert pixels.shape[1] > 1500  # wide enough to read each tile
    with pytest.raises(ValueError) as failed:
        draw(topology, layout="sideways")
    assert isinstance(failed.value, NetlabError) and "layout='auto'" in failed.value.hint


def test_svg_and_forced_layouts(tmp_path):
    with scenes.article_veth():
        topology = snapshot()
        draw(topology, path=tmp_path / "article.svg")
        assert "<svg" in (tmp_path / "article.svg").read_text()[:500]
        rendered(topology, tmp_path / "article-compact.png", layout="compact")
        assert png_bytes(topology).startswith(b"\x89PNG")


def test_tree_dot_and_mermaid():
    with scenes.bridge_with_three():
        topology = snapshot()
        text = tree(topology)
        root = topology.root
        assert text.splitlines()[0] == f"root · {root.label} · you are here · forwarding on · NAT masquerade"
        assert re.search(r"^├── br0 +bridge +\S+ +10\.0\.0\.1/24$", text, re.M)
        assert re.search(r"^│   ├── v1 +veth +\S+ +⇄ eth0 @ ns1$", text, re.M)
        assert "    ├── default via 10.0.0.1 dev eth0" in text
        assert "no default route" not in text  # every namespace has one (root is never judged)
        assert "\033[" not in text and "\033[" in tree(topology, color=True)

        dot = to_dot(topology)
        assert dot.startswith("graph netlab {") and dot.rstrip().endswith("}")
        assert dot.count("subgraph cluster_") == 4 and dot.count('[label="veth"') == 3
        assert dot.count('[style=dotted, label="port"]') == 3
        assert dot.count("{") == dot.count("}")

        mermaid = to_mermaid(topology)
        assert mermaid.startswith("flowchart LR")
        assert mermaid.count("  subgraph ") == 4 and mermaid.count("\n  end") == 4
        assert mermaid.count("<-->|veth|") == 3 and mermaid.count("-.-|port|") == 3
        assert all(re.fullmatch(r"[A-Za-z0-9_]+", node) for node in re.findall(r"\b(if_\w+)", mermaid))
    if shutil.which("dot"):
        subprocess.run(["dot", "-Tsvg"], input=dot, text=True, check=True, capture_output=True)


def test_the_netlab_show_command(tmp_path):
    import json
    import sys

    netlab = str(Path(sys.executable).with_name("netlab"))
    with scenes.article_veth():
        shown = subprocess.run([netlab, "show"], capture_output=True, text=True, check=True).stdout
        assert shown.splitlines()[0].startswith("root · net:[") and "⇄ veth1 @ netns1" in shown
        assert "10.1.1.1/24" in shown and "└── routes" in shown
        assert "    └── # no default route: reaches only 10.1.1.0/24" in shown  # netns1's
        short = subprocess.run([netlab, "show", "--no-routes"], capture_output=True, text=True, check=True).stdout
        assert "routes" not in short
        data = json.loads(
            subprocess.run([netlab, "show", "--format", "json"], capture_output=True, text=True, check=True).stdout
        )
        assert [ns["title"] for ns in data["namespaces"]] == ["root", "netns1"]
        for fmt, start in (("dot", "graph netlab {"), ("mermaid", "flowchart LR")):
            out = subprocess.run([netlab, "show", "--format", fmt], capture_output=True, text=True, check=True).stdout
            assert out.startswith(start)
        png = tmp_path / "show.png"
        done = subprocess.run([netlab, "show", "--png", str(png)], capture_output=True, text=True, check=True)
        assert "drew 2 namespaces" in done.stderr and png.read_bytes().startswith(b"\x89PNG")


# -- routes, projector mode, Chinese labels ---------------------------------------------------------


def texts_of(figure) -> list[str]:
    from matplotlib.text import Text

    return [t.get_text() for t in figure.findobj(Text) if t.get_text()]


def test_routes_are_drawn_so_a_missing_gateway_shows(tmp_path):
    """netns1 has an address but no way out; after `ip route add default` the box says where to."""
    with scenes.article_veth():
        before = snapshot()
        figure = draw(before, path=tmp_path / "no-gateway.png")
        assert "no default route: reaches only 10.1.1.0/24" in texts_of(figure)
        assert not any(t.startswith("default via") for t in texts_of(figure))
        assert "# no default route: reaches only 10.1.1.0/24" in tree(before)

        shell("ip -n netns1 route add default via 10.1.1.2")
        after = snapshot()
        kernel = subprocess.run(
            ["ip", "-n", "netns1", "route", "show", "default"], capture_output=True, text=True, check=True
        ).stdout.split()
        assert kernel[:5] == ["default", "via", "10.1.1.2", "dev", "veth1"]  # what ip says, we draw
        for subject in (after, diff(before, after)):
            words = texts_of(draw(subject))
            assert "default via 10.1.1.2 dev veth1" in words
            assert not any(t.startswith("no default route") for t in words)
        compact = texts_of(draw(after, layout="compact"))
        assert any("default via 10.1.1.2 dev veth1" in t for t in compact)
        assert "no default route" not in tree(after) and "default via 10.1.1.2 dev veth1" in tree(after)


def label_pixels(figure) -> list[tuple[str, float, float]]:
    """Each text of a rendered figure: (text, em size in px = points x dpi / 72, px per line of its extent)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    renderer = FigureCanvasAgg(figure).get_renderer()
    found = []
    for text in figure.findobj(Text):
        if not text.get_text() or not text.get_visible():
            continue
        em = text.get_fontsize() * figure.dpi / 72
        lines = text.get_text().count("\n") + 1
        found.append((text.get_text(), em, text.get_window_extent(renderer).height / lines))
    return found


@pytest.fixture
def projector():
    settings.projector = True
    yield settings
    settings.projector = False


def test_projector_mode_makes_every_label_at_least_14_px(tmp_path, projector):
    with scenes.bridge_with_three():
        topology = snapshot()
        for layout in ("detailed", "compact"):
            figure = draw(topology, layout=layout, path=tmp_path / f"projector-{layout}.png")
            sizes = label_pixels(figure)
            assert len(sizes) > 10
            small = [(t, round(em, 1), round(line, 1)) for t, em, line in sizes if em < 14 or line < 14]
            assert small == [], f"{layout}: labels under 14 px at {figure.dpi:.0f} dpi"
            assert figure.get_figwidth() * figure.dpi <= projector.output_width_px  # shown unscaled at 1080p
        assert draw(topology).get_figwidth() * draw(topology).dpi <= projector.output_width_px
    projector.projector = False
    normal = label_pixels(draw(topology, layout="detailed"))
    assert min(em for _, em, _ in normal) < 10  # without it, the smallest labels are 8-9 px


def test_projector_mode_tables_are_bigger(projector):
    from netlab.view.widgets import describe

    with scenes.article_veth():
        topology = snapshot()
        assert "font-size:20px" in describe(topology, topology.namespace("netns1"))
        projector.projector = False
        assert "font-size" not in describe(topology, topology.namespace("netns1"))


@pytest.mark.skipif(
    not cjk_families(), reason="no CJK font installed (Debian: apt-get install fonts-noto-cjk); nothing to fall back on"
)
def test_chinese_names_draw_without_missing_glyphs(tmp_path):
    import warnings

    name = "实验室"  # "laboratory"
    with scenes.cleanup(namespaces=(name,)):
        shell(f"ip netns add {name}", f"ip -n {name} link set lo up")
        topology = snapshot()
        assert topology.namespace(name).title == name
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for layout in ("detailed", "compact"):
                rendered(topology, tmp_path / f"chinese-{layout}.png", layout=layout)
        missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
        assert missing == []
        assert name in texts_of(draw(topology, layout="detailed"))
