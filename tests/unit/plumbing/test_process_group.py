"""stop_group ends a whole process group: politely first, by force when it will not listen."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from netlab.plumbing.process_group import stop_group


def _children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _ended(pids: list[int]) -> bool:
    """Whether each of ``pids`` is gone or a zombie waiting for init to reap it (it may take a moment)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        states = []
        for pid in pids:
            try:
                states.append(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0])
            except FileNotFoundError:
                states.append("gone")
        if all(state in ("Z", "gone") for state in states):
            return True
        time.sleep(0.05)
    return False


def test_sigterm_ends_the_leader_and_its_children():
    proc = subprocess.Popen(
        ["sh", "-c", "sleep 60 & sleep 60 & echo ready; wait"],
        start_new_session=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    children = _children(proc.pid)
    assert len(children) == 2
    assert stop_group(proc, grace=30) == -signal.SIGTERM
    proc.stdout.close()
    assert _ended(children)


def test_a_group_that_ignores_sigterm_is_killed_after_the_grace():
    script = 'trap "" TERM; sleep 60 & echo ready; wait'
    proc = subprocess.Popen(["sh", "-c", script], start_new_session=True, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"  # the trap is set
    children = _children(proc.pid)
    assert stop_group(proc, grace=0.2) == -signal.SIGKILL
    proc.stdout.close()
    assert _ended(children)


def test_a_process_that_already_ended_is_left_alone():
    proc = subprocess.Popen(["true"], start_new_session=True)
    proc.wait()
    assert stop_group(proc) == 0
