"""The scene of one experiment: run the article's commands, keep a transcript, undo everything.

A check gets a ``Scene`` and does the article's steps through it, as a learner would type them::

    scene.do("ip", "netns", "add", "netns1")          # a step; a failure stops the experiment
    scene.undo(lambda: netns.delete("netns1"))        # how to take it back, whatever happens
    scene.look("ip", "netns", "list")                 # an observation with an independent tool
    scene.kit("netlab.netns.list()", netns.list())    # what netlab itself answers

Every command and its output go into the transcript the report prints. ``scene.versions``
holds the versions of the tools (``versions.Versions``), for claims whose truth depends on them.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from netlab.plumbing.i18n import _
from netlab.teach.reproduce.versions import Versions, detect

if TYPE_CHECKING:
    from netlab.lab.lab import Lab
    from netlab.view.snapshot import Topology

__all__ = ["COMMAND_TIMEOUT", "Scene", "StepFailed", "stop_process", "wait_for"]

COMMAND_TIMEOUT = 30  # seconds; no step of the article takes more than a fraction of one
TRANSCRIPT_LINES = 14  # output lines kept per command in the report


class StepFailed(Exception):
    """A step of the article failed where it should not (its command's own words are the message)."""


class Scene:
    """One experiment's workspace.

    ``do`` runs one of the article's steps and ``look`` one observation, both as shell commands
    through ``netlab.run``; both go into the transcript with their output. ``kit`` notes what a
    netlab call returned. ``undo`` registers how to take back what a step made; ``close`` runs
    those newest first, whatever happened. A ``lab()`` is closed the same way, and its history
    (the ``ip``/``nft``/``sysctl`` commands it stands for) joins the transcript.
    """

    def __init__(self, *, versions: Versions | None = None) -> None:
        self.versions = versions if versions is not None else detect()
        self.lines: list[str] = []
        self.diagram: Topology | None = None
        self._undo: list[Callable[[], object]] = []
        self._lab: Lab | None = None
        self._lab_seen = 0

    # The transcript ----------------------------------------------------------------------------

    def _sync_lab(self) -> None:
        if self._lab is not None:
            for line in self._lab.history[self._lab_seen :]:
                self.lines.append(f"$ {line}")
            self._lab_seen = len(self._lab.history)

    def _write(self, argv: Sequence[str], output: str, comment: str) -> None:
        self._sync_lab()
        self.lines.append(f"$ {shlex.join(argv)}" + (f"    # {comment}" if comment else ""))
        kept = output.rstrip("\n").splitlines()
        if len(kept) > TRANSCRIPT_LINES:
            more = _("... ({count} more lines)").format(count=len(kept) - TRANSCRIPT_LINES)
            kept = kept[:TRANSCRIPT_LINES] + [more]
        self.lines.extend(kept)

    def comment(self, text: str) -> None:
        self._sync_lab()
        self.lines.append(f"# {text}")

    def kit(self, call: str, value: object) -> None:
        """Note what a netlab call answered (the kit's own view, next to the tools')."""
        self._sync_lab()
        self.lines.append(f">>> {call}")
        self.lines.append(str(value))

    @property
    def transcript(self) -> str:
        self._sync_lab()
        return "\n".join(self.lines)

    # Running commands ---------------------------------------------------------------------------

    def _run(self, argv: Sequence[str]) -> subprocess.CompletedProcess:
        from netlab.enter import run

        return run(None, list(argv), timeout=COMMAND_TIMEOUT)

    def do(self, *argv: str, check: bool = True, comment: str = "") -> subprocess.CompletedProcess:
        """One of the article's steps. ``check``: a non-zero exit is a failure of the experiment."""
        proc = self._run(argv)
        self._write(argv, proc.stdout + proc.stderr, comment)
        if check and proc.returncode != 0:
            said = (proc.stderr or proc.stdout).strip() or _("exit status {status}").format(status=proc.returncode)
            raise StepFailed(_("`{command}` failed: {said}").format(command=shlex.join(argv), said=said))
        return proc

    def look(self, *argv: str, show: bool = True, comment: str = "") -> subprocess.CompletedProcess:
        """An observation with an independent tool. ``show=False`` keeps its output (JSON) out of the transcript."""
        proc = self._run(argv)
        self._write(argv, (proc.stdout + proc.stderr) if show else "", comment)
        return proc

    def look_json(self, *argv: str) -> list[dict[str, Any]]:
        """``ip -j ...`` parsed; an error (no such device) is an empty list."""
        proc = self.look(*argv, show=False, comment=_("JSON, read by the check"))
        return json.loads(proc.stdout) if proc.returncode == 0 and proc.stdout.strip() else []

    def start(self, *argv: str, comment: str = "", new_netns: bool = False) -> subprocess.Popen:
        """A background process (``CMD &``), stopped at the end if the check has not stopped it."""
        from netlab import enter, persist

        quiet = {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        proc = persist.start_unshared(argv, **quiet) if new_netns else enter.popen(None, list(argv), **quiet)
        shown = ["unshare", "-n", *argv] if new_netns else list(argv)
        self._write(shown, "", f"& -> pid {proc.pid}" + (f"; {comment}" if comment else ""))
        self.undo(lambda: stop_process(proc))
        return proc

    def stop(self, proc: subprocess.Popen, *, comment: str = "") -> None:
        """``kill PID``, and wait until it is gone."""
        self._write(["kill", str(proc.pid)], "", comment)
        stop_process(proc)

    # Undo, labs, diagrams ------------------------------------------------------------------------

    def undo(self, fn: Callable[[], object]) -> None:
        self._undo.append(fn)

    def lab(self) -> Lab:
        """A netlab ``Lab`` for this experiment, closed with the scene."""
        from netlab.lab.lab import Lab

        lab = Lab()
        self._lab, self._lab_seen = lab, 0
        self.undo(lab.close)
        return lab

    def snapshot(self) -> None:
        """Keep a picture of what the kernel holds now (``netlab.snapshot``) for the report."""
        try:
            from netlab.view.snapshot import snapshot

            self.diagram = snapshot()
        except Exception as exc:
            self.comment(_("no diagram: {error}").format(error=f"{type(exc).__name__}: {exc}"))

    def close(self) -> list[str]:
        """Undo everything, newest first; return what could not be undone (the transcript stops here)."""
        self._sync_lab()
        self._lab = None  # the lab's own clean-up commands stay out of the transcript, like the scene's
        errors = []
        while self._undo:
            fn = self._undo.pop()
            try:
                fn()
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
        return errors


def stop_process(proc: subprocess.Popen) -> None:
    """Kill ``proc`` if it still runs, and reap it."""
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def wait_for(condition: Callable[[], bool], timeout: float = 3.0) -> bool:
    """Poll ``condition`` until it is true (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True
