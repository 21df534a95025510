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

Never trust a file only because of its name. A journal appears whole: its header is written to a
hidden temporary file which is then *linked* to ``LAB.jsonl`` (``link()`` fails if the name exists,
so two labs of one name never share it, and no reader ever sees a journal without its owner).
Reading one opens it with ``O_NOFOLLOW|O_NONBLOCK`` and checks it with ``fstat``: a symlink, a
FIFO, a file of another user or lines of another shape are ignored and reported (``problems()``),
never acted upon. Who may change the record directory at a time is settled by ``flock`` on
``.lock`` in it (``locked()``): opening a lab and running cleanup take turns.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netlab.errors import InvalidNameError, LabExistsError, NetlabError, permission_error, reason
from netlab.plumbing.i18n import N_, _

__all__ = [
    "Journal",
    "Record",
    "UntrustedJournalError",
    "all_records",
    "lab_ids",
    "locked",
    "problems",
    "process_start",
    "read",
    "record_dir",
]

DEFAULT_DIR = "/run/netlab"
DIR_ENV = "NETLAB_RECORD_DIR"
_LAB_ID = re.compile(r"^[A-Za-z0-9_]{1,32}$")
MAX_BYTES = 64 << 20  # a journal of 100 000 objects is ~15 MB; anything bigger is not one of ours


class UntrustedJournalError(NetlabError):
    """A file in the record directory that cannot be proven to be a lab's journal (or its lock)."""


def record_dir() -> Path:
    """``/run/netlab`` (a private tmpfs inside ``netlab sandbox``), or ``$NETLAB_RECORD_DIR``."""
    return Path(os.environ.get(DIR_ENV) or DEFAULT_DIR)


def check_lab_id(lab: object) -> str:
    if not isinstance(lab, str) or not _LAB_ID.match(lab):
        raise InvalidNameError(
            _("invalid lab name {name}").format(name=repr(lab)),
            hint=_("use 1 to 32 letters, digits or '_', e.g. 'demo' or 'student_07'"),
            subject=lab,
        )
    return lab


def process_start(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot), or None if there is no such process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return int(text.rsplit(")", 1)[1].split()[19])


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
        elif ev == "set" and line["of"] in self.objects:  # learned after creation (an nft table's handle)
            self.objects[line["of"]].update({k: v for k, v in line.items() if k not in ("ev", "of")})

    def __str__(self) -> str:
        state = _("running") if self.alive else _("gone")
        kinds: dict[str, int] = {}
        for obj in self.objects.values():
            kinds[obj["ev"]] = kinds.get(obj["ev"], 0) + 1
        owned = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())) or _("nothing")
        return _("lab {lab}: owner pid {pid} ({state}); owns {owned}").format(
            lab=repr(self.lab), pid=self.pid, state=state, owned=owned
        )


# What each line must hold, field -> accepted types (None: the field may be missing).
_INT, _STR, _NUM = (int,), (str,), (int, float)
_HEAD = {"lab": _STR, "pid": _INT, "root": _INT, "start": (int, type(None)), "time": (*_NUM, type(None))}
_SHAPES: dict[str, dict[str, tuple[type, ...]]] = {
    "netns": {"seq": _INT, "name": _STR, "inode": _INT},
    "link": {"seq": _INT, "name": _STR, "netns": _INT, "mac": _STR},
    "borrowed": {"seq": _INT, "name": _STR, "netns": _INT, "mac": _STR, "home": _INT, "home_name": _STR},
    "sysctl": {"seq": _INT, "key": _STR, "netns": _INT, "old": _STR, "new": _STR},
    "nft": {"seq": _INT, "table": _STR, "netns": _INT},
    "process": {"seq": _INT, "pid": _INT, "start": (int, type(None))},
    "gone": {"of": _INT},
    "moved": {"of": _INT, "netns": _INT},
    "renamed": {"of": _INT, "name": _STR},
    "set": {"of": _INT},
}


def _check_shape(line: object, first: bool) -> str | None:
    """Why ``line`` is not a journal line of the expected shape (None if it is)."""
    if not isinstance(line, dict):
        return _("a line is {type}, not an object").format(type=type(line).__name__)
    ev = line.get("ev")
    shape = _HEAD if first else _SHAPES.get(ev) if isinstance(ev, str) else None
    if first and ev != "lab":
        return _("its first line is not a lab header")
    if shape is None:
        return _("unknown event {event}").format(event=repr(ev))
    for key, types in shape.items():
        if not isinstance(line.get(key), types) or isinstance(line.get(key), bool):
            if key in ("start", "time") and key not in line:
                continue
            return _("event {event}: field {field} is {value}").format(
                event=repr(ev), field=repr(key), value=repr(line.get(key))
            )
    if first and not _LAB_ID.match(line["lab"]):
        return _("invalid lab name {name}").format(name=repr(line["lab"]))
    return None


def _open_trusted(path: Path) -> int:
    """Open ``path`` only if it is a regular file of ours (no symlink, FIFO, device, other owner)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK):
            raise UntrustedJournalError(_("{path} is a symlink").format(path=path), subject=str(path)) from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UntrustedJournalError(_("{path} is not a regular file").format(path=path), subject=str(path))
        if st.st_uid != os.geteuid():
            raise UntrustedJournalError(
                _("{path} belongs to uid {uid}, not to you").format(path=path, uid=st.st_uid), subject=str(path)
            )
        if st.st_size > MAX_BYTES:
            raise UntrustedJournalError(
                _("{path} is too big for a journal ({size} bytes)").format(path=path, size=st.st_size),
                subject=str(path),
            )
    except BaseException:
        os.close(fd)
        raise
    return fd


def _lines(path: Path) -> list[dict[str, Any]]:
    fd = _open_trusted(path)
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(MAX_BYTES + 1)
    lines: list[dict[str, Any]] = []
    raws = data.split(b"\n")
    for number, raw in enumerate(raws):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except ValueError:
            if number == len(raws) - 1:
                continue  # a torn last line cannot happen with single writes, but never trust a file
            raise UntrustedJournalError(
                _("{path}: line {number} is not JSON").format(path=path, number=number + 1), subject=str(path)
            ) from None
        why = _check_shape(line, not lines)
        if why is not None:
            raise UntrustedJournalError(f"{path}: {why}", subject=str(path))
        lines.append(line)
    return lines


def read(path: Path, *, strict: bool = False) -> Record | None:
    """Replay one journal (None if it vanished, has no header, or cannot be trusted).

    ``strict=True`` raises ``UntrustedJournalError`` for a file that is there but not a journal
    of ours, instead of returning None.
    """
    try:
        lines = _lines(path)
    except FileNotFoundError:
        return None
    except (UntrustedJournalError, OSError):
        if strict:
            raise
        return None
    if not lines:
        if strict:
            raise UntrustedJournalError(_("{path} is empty").format(path=path), subject=str(path))
        return None
    head = lines[0]
    record = Record(
        lab=head["lab"],
        path=path,
        pid=head["pid"],
        start=head.get("start"),
        root=head["root"],
        created=head.get("time") or 0.0,
    )
    for line in lines[1:]:
        record.apply(line)
    return record


def _scan() -> tuple[list[Record], list[str]]:
    directory = record_dir()
    records, bad = [], []
    try:
        paths = sorted(directory.glob("*.jsonl"))
    except OSError:
        return [], []
    for path in paths:
        try:
            record = read(path, strict=True)
        except UntrustedJournalError as exc:
            bad.append(exc.message)
            continue
        except OSError as exc:
            bad.append(f"{path}: {reason(exc)}")
            continue
        if record is not None:
            records.append(record)
    return sorted(records, key=lambda r: r.created), bad


def all_records() -> list[Record]:
    """Every lab journal in the record directory that can be trusted, oldest first."""
    return _scan()[0]


def problems() -> list[str]:
    """The files in the record directory that look like journals but cannot be trusted, and why."""
    return _scan()[1]


def lab_ids() -> list[str]:
    return [r.lab for r in all_records()]


_lock = threading.RLock()
_lock_depth = 0
_lock_fd = -1


def _open_lock_file(directory: Path) -> int:
    """Open (or create) ``DIR/.lock``: a regular file, never through a symlink (``O_NOFOLLOW``)."""
    lock = directory / ".lock"
    try:
        directory.mkdir(mode=0o755, parents=True, exist_ok=True)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o644)
    except PermissionError as exc:
        raise permission_error(_("lock the lab records in {path}").format(path=directory), exc) from exc
    except OSError as exc:
        if exc.errno not in (errno.ELOOP, errno.EISDIR, errno.ENXIO):  # a symlink, a folder, a socket
            raise
        raise _untrusted_lock(lock) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # a FIFO or a device
        os.close(fd)
        raise _untrusted_lock(lock)
    return fd


_UNTRUSTED_LOCK = {
    "symlink": N_("cannot lock the lab records: {path} is a symlink"),
    "folder": N_("cannot lock the lab records: {path} is a folder"),
    "other": N_("cannot lock the lab records: {path} is not a regular file"),
}


def _untrusted_lock(lock: Path) -> UntrustedJournalError:
    """The lock is something netlab did not make: say what it is and how to remove it."""
    try:
        mode = os.lstat(lock).st_mode
    except OSError:
        mode = 0
    kind = "symlink" if stat.S_ISLNK(mode) else "folder" if stat.S_ISDIR(mode) else "other"
    return UntrustedJournalError(
        _(_UNTRUSTED_LOCK[kind]).format(path=lock),
        hint=_("netlab never follows or replaces a file it did not make: remove it yourself (rm -r {path})").format(
            path=lock
        ),
        subject=str(lock),
    )


@contextmanager
def locked() -> Iterator[None]:
    """Hold the record directory's lock (``flock`` on ``.lock``): one opener or cleaner at a time.

    Re-entrant inside one process (cleanup called by ``Lab.close`` called by cleanup ...).
    """
    global _lock_depth, _lock_fd
    with _lock:
        if _lock_depth == 0:
            fd = _open_lock_file(record_dir())
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except BaseException:
                os.close(fd)
                raise
            _lock_fd = fd
        _lock_depth += 1
        try:
            yield
        finally:
            _lock_depth -= 1
            if _lock_depth == 0:
                os.close(_lock_fd)  # closing drops the flock
                _lock_fd = -1


class Journal:
    """The open journal of a running lab: ``add`` a line before building, ``gone`` after removing."""

    def __init__(self, lab: str, *, root: int):
        check_lab_id(lab)
        directory = record_dir()
        self.path = directory / f"{lab}.jsonl"
        pid = os.getpid()
        start, created = process_start(pid), time.time()
        head = {"ev": "lab", "lab": lab, "pid": pid, "start": start, "root": root, "time": created}
        self.record = Record(lab=lab, path=self.path, pid=pid, start=start, root=root, created=created)
        self._seq = 0
        self._fd = self._create(directory, json.dumps(head, separators=(",", ":")) + "\n")

    def _create(self, directory: Path, head: str) -> int:
        """Write the header into a hidden file, then ``link()`` it to its name: it appears whole, once."""
        tmp = directory / f".{self.path.stem}.{os.getpid()}.{threading.get_native_id()}.tmp"
        try:
            directory.mkdir(mode=0o755, parents=True, exist_ok=True)
            tmp.unlink(missing_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
        except PermissionError as exc:
            raise permission_error(_("write the lab record {path}").format(path=self.path), exc) from exc
        try:
            os.write(fd, head.encode())
            os.link(tmp, self.path)  # EEXIST if another lab of that name got there first
        except FileExistsError:
            os.close(fd)
            raise LabExistsError(
                _("lab {lab} has a journal already ({path})").format(lab=repr(self.record.lab), path=self.path),
                hint=_("two labs never share a name: pick another name, or close the other lab first"),
                subject=self.record.lab,
            ) from None
        except BaseException:
            os.close(fd)
            raise
        finally:
            tmp.unlink(missing_ok=True)
        return fd

    def _write(self, lines: list[dict[str, Any]]) -> None:
        if self._fd < 0:
            raise NetlabError(_("this lab is closed"), hint=_("start a new Lab()"))
        os.write(self._fd, "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines).encode())
        for line in lines:
            if line.get("ev") != "lab":
                self.record.apply(line)

    @property
    def last_seq(self) -> int:
        """The number of the last object written down: ``add_many`` numbers the next ones from here."""
        return self._seq

    def add(self, ev: str, **fields: Any) -> int:
        """Write down an object about to be created; returns its number (``seq``)."""
        return self.add_many([(ev, fields)])[0]

    def add_many(self, items: list[tuple[str, dict[str, Any]]]) -> list[int]:
        """Several objects in one write (both ends of a veth pair, or a whole batch of a star)."""
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


def parent_of(pid: int) -> int:
    """The parent of process ``pid`` (0 if it has none, or is gone)."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def descendants(root: int) -> set[int]:
    """Every process below ``root`` (children, their children, ...)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            children.setdefault(parent_of(int(entry.name)), []).append(int(entry.name))
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found
