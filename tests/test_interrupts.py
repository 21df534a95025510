"""Kernel > Interrupt, for real: SIGINT to a Jupyter kernel's whole process group, as jupyter_client sends it.

What a lesson started in the background (``netlab.popen``, ``Lab.popen``, ``persist.start_unshared``) keeps
running; the netlab call that was interrupted stops, with its command, and says so in one line.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting for its parent (read from /proc, not from the process's owner)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def _children(pid: int, command: str) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        name, rest = text.split("(", 1)[1].rsplit(")", 1)
        if name == command and rest.split()[1] == str(pid):
            found.append(int(stat.parent.name))
    return found


def _wait_for(what, seconds: float = 30.0):
    """Poll kernel state (not a clock) until ``what()`` is truthy; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not (found := what()):
        assert time.monotonic() < deadline, "never happened"
        time.sleep(0.02)
    return found


def _run(client, code: str) -> tuple[str, list[dict], str]:
    """Execute ``code``; its printed text, its error messages, and the reply's status."""
    msg_id = client.execute(code)
    return _collect(client, msg_id)


def _collect(client, msg_id: str) -> tuple[str, list[dict], str]:
    text, errors = "", []
    while True:
        msg = client.get_iopub_msg(timeout=60)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            text += content["text"]
        elif kind == "error":
            errors.append(content)
        elif kind == "status" and content["execution_state"] == "idle":
            break
    reply = client.get_shell_msg(timeout=60)
    # By msg_id, not by position: wait_for_ready asks kernel_info again when no answer came within 1 s
    # or IOPub was not connected yet, and stops at the first answer; a late second kernel_info_reply
    # then waits on the shell channel (often under the rootless sandbox, where the kernel starts slower).
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = client.get_shell_msg(timeout=60)
    return text, errors, reply["content"]["status"]


@pytest.fixture
def jupyter(english):
    import jupyter_client

    manager = jupyter_client.KernelManager(kernel_name="python3")
    manager.start_kernel()
    client = manager.client()
    client.start_channels()
    client.wait_for_ready(timeout=60)
    try:
        yield manager, client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=False)


def test_kernel_interrupt_spares_the_background_and_stops_the_netlab_call_in_one_line(jupyter):
    manager, client = jupyter
    kernel = manager.provisioner.process.pid
    assert os.getpgid(kernel) == kernel  # Jupyter's kernels lead their process group: an interrupt signals it all
    setup = textwrap.dedent("""
        import subprocess, netlab
        from netlab import persist
        from netlab.teach import lesson
        lesson._install_error_display()
        web = netlab.popen(None, ["sleep", "600"], stdout=subprocess.DEVNULL)
        lab = netlab.Lab("interrupted")
        lab.netns("int1")
        server = lab.popen("int1", ["sleep", "600"])
        unshared = persist.start_unshared(["sleep", "600"])
        print(web.pid, server.pid, unshared.pid)
    """)
    text, errors, status = _run(client, setup)
    assert status == "ok" and not errors, (text, errors)
    pids = [int(word) for word in text.split()]
    try:
        msg_id = client.execute('netlab.ping(None, "127.0.0.1", count=40, interval=0.5)')
        [ping] = _wait_for(lambda: _children(kernel, "ping"))
        manager.interrupt_kernel()  # os.killpg(kernel, SIGINT)
        text, errors, status = _collect(client, msg_id)
        assert status == "error"
        assert text.strip().splitlines() == [
            "netlab: interrupted: netlab.reach.ping() stopped",
            "  hint: the processes and labs you started keep running",
        ], text
        assert not errors, errors  # no traceback into subprocess.py
        assert not _alive(ping)  # the interrupted call's own command went with it ...
        assert all(_alive(pid) for pid in pids), pids  # ... what the lesson started did not
        text, errors, status = _run(client, "print(web.poll(), server.poll(), unshared.poll())")
        assert text.split() == ["None", "None", "None"], (text, errors)
        # Interrupting something that is not netlab's shows Python's own traceback, as always.
        msg_id = client.execute('subprocess.run(["sleep", "600"])')
        _wait_for(lambda: _children(kernel, "sleep") and len(_children(kernel, "sleep")) > 3)
        manager.interrupt_kernel()
        text, errors, status = _collect(client, msg_id)
        assert status == "error" and errors and errors[0]["ename"] == "KeyboardInterrupt"
        assert all(_alive(pid) for pid in pids), pids
        text, errors, status = _run(
            client, "lab.close(); web.terminate(); web.wait(); unshared.kill(); unshared.wait()"
        )
        assert status == "ok", (text, errors)
        assert not any(_alive(pid) for pid in pids)  # stopped by the pids they recorded
    finally:
        for pid in pids:  # whatever failed above: nothing of ours keeps running
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


SCRIPT = textwrap.dedent("""
    import subprocess, sys
    import netlab
    web = netlab.popen(None, ["sleep", "600"], stdin=subprocess.DEVNULL)
    lab = netlab.Lab("atexit")
    server = lab.popen(None, ["sleep", "600"])
    try:  # the pids inside the try: the test's SIGINT follows them at once, and must land here
        print(web.pid, server.pid, flush=True)
        sys.stdin.read()
    except KeyboardInterrupt:
        print("interrupted", flush=True)
    sys.stdin.read()  # until the test closes our stdin; then the end of Python stops them both
""")


def test_a_group_interrupt_spares_them_and_the_end_of_python_stops_them():
    """A script as its own process group (like a kernel): SIGINT to the group; then its exit ends its processes."""
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    pids: list[int] = []
    try:
        pids = [int(word) for word in proc.stdout.readline().split()]
        assert len(pids) == 2
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.stdout.readline().strip() == "interrupted"
        assert all(_alive(pid) for pid in pids)
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0
        assert not any(_alive(pid) for pid in pids)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in pids:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
