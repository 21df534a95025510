"""netlab works inside a real ipykernel: a running event loop, many threads, and a main thread that never moves."""

from __future__ import annotations

import textwrap


def execute(client, code: str) -> str:
    """Run a cell; return its stdout, raising if the cell raised."""
    reply = client.execute_interactive(textwrap.dedent(code), timeout=60, output_hook=_collect(out := []))
    if reply["content"]["status"] != "ok":
        raise AssertionError(f"cell failed: {reply['content'].get('ename')}: {reply['content'].get('evalue')}\n{out}")
    return "".join(out)


def _collect(sink: list[str]):
    def hook(msg):
        if msg["msg_type"] == "stream":
            sink.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            sink.append("\n".join(msg["content"]["traceback"]))

    return hook


def test_namespace_calls_in_a_kernel_cell(kernel):
    out = execute(
        kernel,
        """
        import asyncio, os, threading
        from netlab import netns, run, call, label, inodes
        print("loop running:", asyncio.get_event_loop().is_running(), "threads:", threading.active_count() > 1)
        before = os.readlink("/proc/thread-self/ns/net")
        netns.add("kernel1")
        print("exec:", run("kernel1", ["ip", "-br", "link"]).stdout.split()[0])
        print("call:", call("kernel1", label) == label("kernel1"))
        print("main thread stayed:", os.readlink("/proc/thread-self/ns/net") == before)
        netns.delete("kernel1")
        print("left:", netns.list())
    """,
    )
    assert "loop running: True threads: True" in out
    assert "exec: lo" in out
    assert "call: True" in out
    assert "main thread stayed: True" in out
    assert "left: []" in out


def test_after_a_lesson_start_a_netlab_error_shows_as_one_line_not_a_traceback(kernel):
    execute(kernel, "from netlab.teach import lesson; lesson.start('01', quiet=True)")
    out: list[str] = []
    reply = kernel.execute_interactive(
        "from netlab import netns; netns.delete('no-such-namespace')", timeout=60, output_hook=_collect(out)
    )
    assert reply["content"]["status"] == "error"  # the cell still fails: Run All stops here
    text = "".join(out)
    assert text.startswith("netlab: namespace 'no-such-namespace' does not exist"), text
    assert "Traceback" not in text and "File " not in text and len(text.strip().splitlines()) == 2, text
