"""What a lab owns, written down *before* it is built: one journal per lab in ``/run/netlab/``.

A crash (``kill -9``, a Jupyter kernel that dies) skips every ``finally``. So a ``Lab`` writes
one line to its journal ``/run/netlab/LAB.jsonl`` before each thing it creates, with what it
takes to recognise that thing later, and ``netlab cleanup`` reads it back::

    {"ev": "lab", "lab": "demo", "pid": 4242, "start": 1234567, "root": 4026531840, ...}
    {"ev": "netns", "seq": 1, "name": "netns1", "inode": 4026532302, "time": ...}
    {"ev": "link", "seq": 2, "name": "veth0", "netns": 4026531840, "mac": "02:..", "kind": "veth", "pair": 3}
    {"ev": "moved", "of": 3, "netns": 4026532302}
    {"ev": "sysctl", "seq": 4, "key": "net.ipv4.ip_forward", "netns": 4026531840, "old": "0", "new": "1"}
    {"ev": "nft", "seq": 5, "table": "netlab_demo", "netns": 4026531840}
    {"ev": "gone", "of": 2}

How each thing is recognised, so that cleanup removes exactly what the lab made:

* the owner: pid *and* the process start time (field 22 of ``/proc/PID/stat``); a pid reused
  by another program later is not the owner;
* a namespace: its name *and* its inode, which the lab knows before the name exists (it
  creates the namespace first, writes the line, then bind-mounts it to ``/run/netns/NAME``);
  a namespace of the same name made later by someone else has another inode;
* a link: its name, its namespace's inode and its MAC address, which the lab chooses and
  passes in the same netlink request that creates the link (``02:...``: locally administered);
* an nft table: its name, ``netlab_LAB``; a sysctl: restored only if it still holds our value.

The namespace of a recorded object is stored as an inode: ``/run/netns`` names can be reused.
Each line is one ``write()`` on an ``O_APPEND`` file, so a crash never leaves half a line.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netlab.errors import InvalidNameError, NetlabError, permission_error

__all__ = ["Journal", "Record", "all_records", "lab_ids", "process_start", "read", "record_dir"]

DEFAULT_DIR = "/run/netlab"
DIR_ENV = "NETLAB_RECORD_DIR"
_LAB_ID = re.compile(r"^[A-Za-z0-9_]{1,32}$")


def record_dir() -> Path:
    """``/run/netlab`` (a private tmpfs inside ``netlab sandbox``), or ``$NETLAB_RECORD_DIR``."""
    return Path(os.environ.get(DIR_ENV) or DEFAULT_DIR)


def check_lab_id(lab: object) -> str:
    if not isinstance(lab, str) or not _LAB_ID.match(lab):
        raise InvalidNameError(
            f"invalid lab name {lab!r}",
            hint="use 1 to 32 letters, digits or '_', e.g. 'demo' or 'student_07'",
            subject=lab,
        )
    return lab


def process_start(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot), or None if there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


@dataclass
class Record:
    """A lab's journal, replayed: who owns it and which of its objects may still exist."""

    lab: str
    path: Path
    pid: int
    start: int | None
    root: int  # inode of the namespace the lab was started in
    created: float
    objects: dict[int, dict[str, Any]] = field(default_factory=dict)  # seq -> object, in creation order

    @property
    def alive(self) -> bool:
        """Is the owner process still running (same pid *and* same start time)?"""
        return self.start is not None and process_start(self.pid) == self.start

    def of(self, ev: str) -> list[dict[str, Any]]:
        return [obj for obj in self.objects.values() if obj["ev"] == ev]

    def find(self, ev: str, **match: Any) -> dict[str, Any] | None:
        for obj in reversed(self.objects.values()):
            if obj["ev"] == ev and all(obj.get(k) == v for k, v in match.items()):
                return obj
        return None

    def apply(self, line: dict[str, Any]) -> None:
        """Replay one journal line."""
        ev = line.get("ev")
        if "seq" in line:
            self.objects[line["seq"]] = dict(line)
        elif ev == "gone":
            self.objects.pop(line["of"], None)
        elif ev == "moved" and line["of"] in self.objects:
            self.objects[line["of"]]["netns"] = line["netns"]
            self.objects[line["of"]]["name"] = line.get("name", self.objects[line["of"]]["name"])
        elif ev == "renamed" and line["of"] in self.objects:
            self.objects[line["of"]]["name"] = line["name"]

    def __str__(self) -> str:
        state = "running" if self.alive else "gone"
        kinds: dict[str, int] = {}
        for obj in self.objects.values():
            kinds[obj["ev"]] = kinds.get(obj["ev"], 0) + 1
        owned = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())) or "nothing"
        return f"lab {self.lab!r}: owner pid {self.pid} ({state}); owns {owned}"


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    for raw in path.read_bytes().split(b"\n"):
        if raw.strip():
            try:
                yield json.loads(raw)
            except ValueError:
                continue  # a torn last line cannot happen with single writes, but never trust a file


def read(path: Path) -> Record | None:
    """Replay one journal (None if it vanished or has no header)."""
    try:
        lines = list(_lines(path))
    except FileNotFoundError:
        return None
    if not lines or lines[0].get("ev") != "lab":
        return None
    head = lines[0]
    record = Record(
        lab=head["lab"],
        path=path,
        pid=head["pid"],
        start=head.get("start"),
        root=head["root"],
        created=head.get("time", 0.0),
    )
    for line in lines[1:]:
        record.apply(line)
    return record


def all_records() -> list[Record]:
    """Every lab journal in the record directory, oldest first."""
    directory = record_dir()
    if not directory.is_dir():
        return []
    found = [read(path) for path in sorted(directory.glob("*.jsonl"))]
    return sorted((r for r in found if r is not None), key=lambda r: r.created)


def lab_ids() -> list[str]:
    return [r.lab for r in all_records()]


class Journal:
    """The open journal of a running lab: ``add`` a line before building, ``gone`` after removing."""

    def __init__(self, lab: str, *, root: int):
        check_lab_id(lab)
        directory = record_dir()
        self.path = directory / f"{lab}.jsonl"
        try:
            directory.mkdir(mode=0o755, parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC, 0o644)
        except PermissionError as exc:
            raise permission_error(f"write the lab record {self.path}", exc) from exc
        pid = os.getpid()
        head = {"ev": "lab", "lab": lab, "pid": pid, "start": process_start(pid), "root": root, "time": time.time()}
        self.record = Record(lab=lab, path=self.path, pid=pid, start=head["start"], root=root, created=head["time"])
        self._seq = 0
        self._write([head])

    def _write(self, lines: list[dict[str, Any]]) -> None:
        if self._fd < 0:
            raise NetlabError("this lab is closed", hint="start a new Lab()")
        os.write(self._fd, "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines).encode())
        for line in lines:
            if line.get("ev") != "lab":
                self.record.apply(line)

    def add(self, ev: str, **fields: Any) -> int:
        """Write down an object about to be created; returns its number (``seq``)."""
        return self.add_many([(ev, fields)])[0]

    def add_many(self, items: list[tuple[str, dict[str, Any]]]) -> list[int]:
        """Several objects in one write (both ends of a veth pair)."""
        lines = []
        for ev, fields in items:
            self._seq += 1
            lines.append({"ev": ev, "seq": self._seq, **fields})
        self._write(lines)
        return [line["seq"] for line in lines]

    def add_pair(self, first: dict[str, Any], second: dict[str, Any], ev: str = "link") -> tuple[int, int]:
        """Both ends of a veth pair, each knowing the other's number, in one write."""
        a, b = self._seq + 1, self._seq + 2
        seqs = self.add_many([(ev, {**first, "pair": b}), (ev, {**second, "pair": a})])
        return seqs[0], seqs[1]

    def note(self, ev: str, of: int, **fields: Any) -> None:
        """Something happened to object ``of``: ``gone``, ``moved`` (netns=, name=), ``renamed`` (name=)."""
        self._write([{"ev": ev, "of": of, **fields}])

    def gone(self, *seqs: int) -> None:
        live = [s for s in seqs if s in self.record.objects]
        if live:
            self._write([{"ev": "gone", "of": s} for s in live])

    def close(self, *, remove: bool) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        if remove:
            self.path.unlink(missing_ok=True)
