"""The lessons open right now: one notebook's lesson must not wipe another's.

A learner has notebook 03 half-way in one tab and opens 05 in another. 05's first cell,
``lesson.start("05")``, cleans what earlier lessons left, but 03's ``c1`` is not a leftover: its
notebook is still running. So every lesson start writes down who is running which lesson::

    /run/netlab/lessons/PID.json    {"lesson": "03", "pid": PID, "start": ..., "world": {...}}

where PID is the notebook's kernel and ``world`` what the root namespace held when the lesson
began (``netlab.lab.machine.World``). An object that a running lesson teaches (by name) and that
appeared after that lesson began (by identity) may be that lesson's: the next lesson start leaves
it alone and says so. A session ends with its process: a file whose pid is gone, or is another
program now (pid and start time), is stale and removed. ``netlab reset`` ignores all of this: it
resets everything netlab made, open lessons included.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from netlab import inodes
from netlab.lab import journal
from netlab.lab.machine import World, read_trusted, write_trusted

__all__ = ["Session", "begin", "end", "others"]


@dataclass
class Session:
    """A lesson running in a process (a notebook's kernel), and the world when it began."""

    lesson: str
    pid: int
    start: int
    world: World

    @property
    def alive(self) -> bool:
        return journal.process_start(self.pid) == self.start


def _dir() -> Path:
    return journal.record_dir() / "lessons"


def begin(lesson: str, world: World) -> Session:
    """This process now runs ``lesson``, which began with ``world``: write it down."""
    pid = os.getpid()
    session = Session(lesson, pid, journal.process_start(pid) or 0, world)
    write_trusted(
        _dir() / f"{pid}.json",
        {"lesson": lesson, "pid": pid, "start": session.start, "netns": inodes.inode(), "world": world.to_json()},
    )
    return session


def end() -> None:
    """This process runs no lesson any more."""
    (_dir() / f"{os.getpid()}.json").unlink(missing_ok=True)


def others() -> list[Session]:
    """The lessons other processes are running in this network namespace (stale files removed)."""
    found = []
    here, me = inodes.inode(), os.getpid()
    try:
        files = sorted(_dir().glob("*.json"))
    except OSError:
        return []
    for file in files:
        data, _problem = read_trusted(file)
        if data is None:
            continue
        try:
            session = Session(str(data["lesson"]), int(data["pid"]), int(data["start"]), World.from_json(data["world"]))
            netns = int(data["netns"])
        except (ValueError, KeyError, TypeError, AttributeError, OverflowError):  # "pid": Infinity
            continue
        if not session.alive:
            file.unlink(missing_ok=True)
        elif session.pid != me and netns == here:
            found.append(session)
    return found
