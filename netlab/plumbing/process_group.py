"""Stopping a process group: what Ctrl-C in a shell does, with a deadline.

A program started with ``start_new_session=True`` leads a process group of its own, so every
process it starts (a server's workers, a sandbox's init and all it runs) can be signalled at once::

    kill -TERM -PGID       ask them all to end
    (wait up to N s)
    kill -KILL -PGID       then make them

Only the group of a ``Popen`` we started is signalled: never a pattern, never someone else's.
"""

from __future__ import annotations

import os
import signal
import subprocess

__all__ = ["stop_group"]


def stop_group(proc: subprocess.Popen, *, grace: float = 20.0) -> int:
    """SIGTERM to ``proc``'s process group, SIGKILL after ``grace`` seconds; ``proc``'s exit status."""
    if proc.poll() is None:
        _signal_group(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass  # the group ended meanwhile
