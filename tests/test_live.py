"""``%load_ext netlab.live`` in a real ipykernel: `!ip ...` cells redraw the diagram, quiet cells do not."""

from __future__ import annotations

import base64
import textwrap

import scenes


class Cell:
    """What one executed cell produced: text streams, rich displays, and errors."""

    def __init__(self) -> None:
        self.stdout: list[str] = []
        self.displays: list[dict] = []

    def hook(self, msg: dict) -> None:
        kind = msg["msg_type"]
        if kind == "stream":
            self.stdout.append(msg["content"]["text"])
        elif kind in ("display_data", "execute_result"):
            self.displays.append(msg["content"]["data"])
        elif kind == "error":
            self.stdout.append("\n".join(msg["content"]["traceback"]))

    @property
    def text(self) -> str:
        return "".join(self.stdout) + "".join(d.get("text/plain", "") for d in self.displays)

    @property
    def pngs(self) -> list[bytes]:
        return [base64.b64decode(d["image/png"]) for d in self.displays if "image/png" in d]


def run(client, code: str) -> Cell:
    cell = Cell()
    reply = client.execute_interactive(textwrap.dedent(code), timeout=60, output_hook=cell.hook)
    if reply["content"]["status"] != "ok":
        raise AssertionError(f"cell failed: {reply['content'].get('evalue')}\n{cell.text}")
    return cell


def test_the_live_view_follows_ip_commands(kernel):
    with scenes.cleanup(namespaces=("live1",), links=("veth0",)):
        loaded = run(kernel, "%load_ext netlab.live")
        assert len(loaded.pngs) == 1 and loaded.pngs[0].startswith(b"\x89PNG")  # the starting point

        quiet = run(kernel, "x = 1 + 1")
        assert quiet.displays == [] and quiet.pngs == []

        added = run(kernel, "!ip netns add live1")
        assert "this cell changed the network (1 change)" in added.text
        assert "new namespace live1 (net:[" in added.text
        assert len(added.pngs) == 1 and any("text/html" in d for d in added.displays)

        pair = run(kernel, "!ip link add veth0 type veth peer name veth1")
        assert "added veth pair veth0 ↔ veth1 in root" in pair.text

        moved = run(kernel, "!ip link set veth1 netns live1")
        assert "veth1 moved from root to live1" in moved.text and len(moved.pngs) == 1

        by_netlab = run(
            kernel,
            """
            from netlab import run as ns_run
            ns_run("live1", ["ip", "addr", "add", "10.1.1.1/24", "dev", "veth1"], check=True)
        """,
        )
        assert "veth1 in live1 got 10.1.1.1/24" in by_netlab.text

        off = run(kernel, "%netlab_live off")
        assert "netlab.live: off" in off.text
        unseen = run(kernel, "!ip link set veth0 up")
        assert unseen.pngs == [] and "changed the network" not in unseen.text

        on = run(kernel, "%netlab_live text")
        assert "netlab.live: text" in on.text
        words_only = run(kernel, "!ip link set veth0 down")
        assert "veth0 in root went DOWN" in words_only.text and words_only.pngs == []

        shown = run(kernel, "%netlab_show")
        assert len(shown.pngs) == 1
        drawn = run(kernel, "from netlab import draw, snapshot\ndraw(snapshot())")  # a Figure, shown without pyplot
        assert len(drawn.pngs) == 1
        as_value = run(kernel, "snapshot()")  # a snapshot is data; the extension shows it as its diagram
        assert len(as_value.pngs) == 1 and "live1 · net:[" in as_value.text  # the tree as its text form

        projector = run(kernel, "%netlab_live projector")
        assert "netlab.live: projector mode on" in projector.text
        big = run(kernel, "%netlab_show")
        assert png_width(big.pngs[0]) > png_width(shown.pngs[0]) * 1.4  # drawn at 155+ dpi, not 100
        run(kernel, "%netlab_live diff")
        bigger_words = run(kernel, "!ip link set veth0 up")
        assert any("font-size:20px" in d.get("text/html", "") for d in bigger_words.displays)
        assert "netlab.live: projector mode off" in run(kernel, "%netlab_live projector off").text

        main_thread = run(
            kernel,
            """
            import os, threading
            from netlab import inode, snapshot
            print("root is the kernel's namespace:", snapshot().root.inode == inode())
            print("threads:", threading.active_count() > 1)
        """,
        )
        assert "root is the kernel's namespace: True" in main_thread.text

        run(kernel, "%unload_ext netlab.live")
        after_unload = run(kernel, "!ip netns delete live1")
        assert after_unload.pngs == [] and "changed the network" not in after_unload.text
        plain = run(kernel, "snapshot()")  # the display hooks went with the extension
        assert plain.pngs == [] and "<Topology: " in plain.text


def png_width(png: bytes) -> int:
    """The width of a PNG, from its IHDR chunk."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(png[16:20], "big")


def test_drawing_alone_changes_no_display_hook():
    """``draw()`` leaves IPython's formatters alone; ``notebook.register`` adds, ``unregister`` removes."""
    from IPython.core.interactiveshell import InteractiveShell

    from netlab import diff, draw, snapshot
    from netlab.view import notebook

    shell = InteractiveShell.instance()
    try:
        with scenes.article_veth():
            topology = snapshot()
        figure = draw(topology)
        data, _ = shell.display_formatter.format(figure)
        assert "image/png" not in data and not notebook.registered(shell)

        notebook.register(shell)
        for subject in (topology, diff(topology, snapshot())):
            data, _ = shell.display_formatter.format(subject)
            assert data["image/png"].startswith(b"\x89PNG")
        assert "netns1 · net:[" in shell.display_formatter.format(topology)[0]["text/plain"]
        assert shell.display_formatter.format(figure)[0]["image/png"].startswith(b"\x89PNG")

        notebook.unregister(shell)
        data, _ = shell.display_formatter.format(topology)
        assert "image/png" not in data and data["text/plain"].startswith("<Topology: ")
        assert "image/png" not in shell.display_formatter.format(figure)[0]
    finally:
        notebook.unregister(shell)
        InteractiveShell.clear_instance()
