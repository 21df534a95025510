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
        drawn = run(kernel, "from netlab import snapshot\nsnapshot().draw()")  # a Figure, shown without pyplot
        assert len(drawn.pngs) == 1

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
