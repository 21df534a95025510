"""A child program: its first words within a deadline, its last words when it fails, and its end.

A helper or a server that netlab starts says when it is ready: a line on a pipe, a ``1`` on a
descriptor, its pid in a file. Each wait below has a deadline, and notices at once when the child
died instead. Ending one acts on that child only, by its pid.
"""

from __future__ import annotations

import os
import select
import subprocess
import time
from pathlib import Path
from typing import IO

__all__ = ["STOP_SECONDS", "end", "file_within", "last_line", "line_within", "read_within"]

STOP_SECONDS = 5  # a child asked to end that has not within this time is killed


def read_within(fd: int, timeout: float) -> tuple[bytes, bool]:
    """What arrives on ``fd`` within ``timeout``, until a line (or slirp4netns's ``1``); and whether it closed.

    The child holds the only write end: if it dies, ``fd`` reads as closed at once.
    """
    got = b""
    deadline = time.monotonic() + timeout
    while b"\n" not in got and not got.startswith(b"1"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return got, False
        chunk = os.read(fd, 64)
        if not chunk:
            return got, True
        got += chunk
    return got, False


def file_within(path: Path, proc: subprocess.Popen, timeout: float) -> tuple[bytes, bool]:
    """The line written to ``path`` within ``timeout``; and whether ``proc`` ended first.

    Looked at every 20 ms: the answer is the file's line or the process's end, whichever comes first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            said = path.read_bytes()
        except FileNotFoundError:
            said = b""
        if said.endswith(b"\n"):
            return said, False
        if proc.poll() is not None:
            return said, True
        if time.monotonic() >= deadline:
            return said, False
        time.sleep(0.02)


def line_within(proc: subprocess.Popen, stream: IO[bytes], timeout: float) -> bytes:
    """The first line ``proc`` writes to ``stream`` within ``timeout`` (empty if none, or if it ended)."""
    if not select.select([stream], [], [], timeout)[0]:
        return b""
    return stream.readline()


def end(proc: subprocess.Popen) -> None:
    """Stop ``proc`` by its pid and reap it; a Ctrl-C while waiting still leaves nothing running."""
    if proc.poll() is not None:
        return
    try:
        proc.terminate()
        proc.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    except BaseException:
        proc.kill()
        proc.wait()
        raise


def last_line(text: bytes) -> str:
    """A program's last line worth reading (pasta's "Failed to send ... to syslog" is not one)."""
    lines = [line.strip() for line in text.decode(errors="replace").splitlines()]
    lines = [line for line in lines if line and "to syslog" not in line]
    return lines[-1] if lines else ""
