"""A lab's processes: written down before they can run, stopped when the lab closes.

``Lab.popen`` is ``ip netns exec NS CMD &``, with one more step in between: the child stops
right after ``fork`` and waits until the lab has written its pid (and start time) into the
journal. A lab killed at that moment leaves a child that reads end-of-file and exits, never a
process that runs with nobody to stop it (and that keeps its namespace alive).
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from typing import Any

from netlab.enter import popen
from netlab.lab import journal
from netlab.lab.steps import Steps
from netlab.plumbing.commands import emit, in_netns
from netlab.plumbing.i18n import _
from netlab.targets import Target

__all__ = ["Processes"]


class Processes:
    """A lab's processes (``Lab.popen``): each one journaled before it runs, all stopped at ``stop_all``."""

    def __init__(self, steps: Steps):
        self._steps = steps
        self._started: list[tuple[int, subprocess.Popen]] = []  # (journal number, process), oldest first

    def popen(self, target: Target, argv: Sequence[str], **popen_kwargs: Any) -> subprocess.Popen:
        """``Lab.popen``: start ``argv`` in ``target``, on record, in a session of its own."""
        popen_kwargs.setdefault("start_new_session", True)  # Kernel > Interrupt spares it: see enter.popen
        with self._steps.step():
            proc = self._start_journaled(target, argv, popen_kwargs)
            seq = self._steps.record.find("process", pid=proc.pid)["seq"]  # type: ignore[index]
            self._started.append((seq, proc))
            emit(in_netns(target, argv), note=_("runs in the background until the lab closes"))
            self._steps.on_undo(lambda: self._stop(seq, proc))
            return proc

    def stop_all(self) -> None:
        """``kill PID`` for each process the lab started, the newest first (the lab is closing)."""
        for seq, proc in reversed(self._started):
            self._stop(seq, proc)

    def _start_journaled(self, target: Target, argv: Sequence[str], kwargs: dict[str, Any]) -> subprocess.Popen:
        pid_r, pid_w = os.pipe()  # child -> lab: "my pid is ..."
        go_r, go_w = os.pipe()  # lab -> child: "you are on record: exec"
        theirs = kwargs.pop("preexec_fn", None)
        ours = go_w

        def in_child() -> None:  # after fork, before exec: only plain system calls here
            os.close(ours)  # else the child's own copy of the write end would keep end-of-file away
            os.write(pid_w, str(os.getpid()).encode())
            if os.read(go_r, 2) != b"go":
                os._exit(125)  # the lab died before writing us down: do not run
            if theirs is not None:
                theirs()

        outcome: dict[str, Any] = {}

        def start() -> None:
            try:
                outcome["proc"] = popen(target, argv, preexec_fn=in_child, **kwargs)
            except BaseException as exc:
                outcome["error"] = exc

        starter = threading.Thread(target=start, name="netlab-popen", daemon=True)
        seq = None
        try:
            starter.start()
            pid = _read_pid(pid_r, starter)
            if pid is not None:
                seq = self._steps.journal.add(
                    "process", pid=pid, start=journal.process_start(pid), argv=[str(a) for a in argv]
                )
                os.write(go_w, b"go")
            os.close(go_w)
            go_w = -1
            starter.join()
        finally:
            for fd in (pid_r, pid_w, go_r, go_w):
                if fd >= 0:
                    os.close(fd)
        if "error" in outcome:
            if seq is not None:
                self._steps.journal.gone(seq)
            raise outcome["error"]
        return outcome["proc"]

    def _stop(self, seq: int, proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            group = _own_group(proc)
            _signal(proc, group, signal.SIGTERM)
            ended = _ended_within(proc, 1.0)
            if group is not None or not ended:  # what is still running of it, deaf to SIGTERM
                _signal(proc, group, signal.SIGKILL)
            proc.wait()  # reaped only now: until then its pid and its group's id cannot be anyone else's
        emit(["kill", str(proc.pid)])
        self._steps.journal.gone(seq)


def _ended_within(proc: subprocess.Popen, seconds: float) -> bool:
    """Whether ``proc`` ended within ``seconds``, left unreaped (``waitid`` with ``WNOWAIT``)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG) is not None:
                return True
        except ChildProcessError:  # reaped already
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)


def _own_group(proc: subprocess.Popen) -> int | None:
    """The process group ``proc`` leads (``start_new_session``), else None: then it shares the caller's.

    Its pid is still ours to ask about: it has not been waited for (``poll()`` said it runs).
    """
    try:
        return proc.pid if os.getpgid(proc.pid) == proc.pid else None
    except (ProcessLookupError, PermissionError):
        return None


def _signal(proc: subprocess.Popen, group: int | None, sig: signal.Signals) -> None:
    """``kill -SIG -PGID`` for a group of its own (what it started goes too), else ``kill -SIG PID``.

    The leader is not reaped yet (at most a zombie), so the group's id is still its own.
    """
    try:
        os.killpg(group, sig) if group is not None else os.kill(proc.pid, sig)
    except ProcessLookupError:
        pass


def _read_pid(fd: int, starter: threading.Thread) -> int | None:
    """The pid the child sends once forked; None if the start failed before (the thread ended)."""
    while True:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            return int(os.read(fd, 32))
        if not starter.is_alive():
            ready, _, _ = select.select([fd], [], [], 0)
            return int(os.read(fd, 32)) if ready else None
