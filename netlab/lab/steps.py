"""What every step of a lab shares: the journal, the undo list, and the marks that prove ownership.

A ``Lab`` and its parts (``wiring``, ``processes``, ``internet``) all take their steps through one
``Steps``: each step records its ``ip`` commands in the lab's history, writes what it is about to
build into the journal first, and, if it fails half-way, undoes what it did before the error
reaches you. This is all a part knows of the lab.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from netlab import inodes, links
from netlab.errors import NetlabError
from netlab.lab import journal
from netlab.plumbing.commands import History, quiet, recording
from netlab.plumbing.i18n import _
from netlab.targets import Target

__all__ = ["Steps"]


class Steps:
    """One lab's steps: ``with steps.step():`` around each, ``on_undo`` for what undoes it."""

    def __init__(self, lab: str, journal: journal.Journal, history: History, *, root: int):
        self.id = lab
        self.journal = journal
        self.history = history
        self.root = root  # the inode of the lab's root namespace
        self.closed = False
        self._undo: list[Callable[[], None]] | None = None
        self._macs = 0
        self._mac_prefix = hashlib.sha1(lab.encode()).digest()[:3]

    @property
    def record(self) -> journal.Record:
        """The journal, replayed: what the lab owns right now."""
        return self.journal.record

    def mac(self) -> str:
        """A locally administered MAC (02:...) unique in this lab: proof of ownership after a crash."""
        self._macs += 1
        a, b, c = self._mac_prefix
        n = self._macs  # 24 bits of count: past 65,535 devices the last byte of the prefix counts too
        return f"02:{a:02x}:{b:02x}:{c ^ (n >> 16) & 0xFF:02x}:{(n >> 8) & 0xFF:02x}:{n & 0xFF:02x}"

    def inode(self, target: Target) -> int:
        return inodes.inode(target)

    def owned_link(self, name: str, target: Target) -> dict[str, Any] | None:
        return self.record.find("link", name=name, netns=self.inode(target))

    # -- steps, undo and errors ---------------------------------------------------------------

    def check_open(self) -> None:
        if self.closed:
            raise NetlabError(
                _("lab {lab} is closed").format(lab=repr(self.id)), hint=_("start a new one: Lab()"), subject=self.id
            )

    @contextmanager
    def step(self) -> Iterator[None]:
        """One lab method: record its commands; if it fails, undo what it did and forget them."""
        self.check_open()
        outer = self._undo is None
        if outer:
            self._undo = []
            mark = len(self.history)
        try:
            with recording(self.history):
                yield
        except BaseException:
            if outer:
                undo, self._undo = self._undo, None
                with quiet():
                    for fn in reversed(undo or []):
                        try:
                            fn()
                        except Exception:  # best effort: cleanup/close catches what is left
                            pass
                del self.history[mark:]
            raise
        finally:
            if outer:
                self._undo = None

    def on_undo(self, fn: Callable[[], None]) -> None:
        if self._undo is not None:
            self._undo.append(fn)

    def delete_link(self, name: str, target: Target) -> None:
        """``ip link delete NAME``, and forget it (and its veth peer) in the journal."""
        obj = self.owned_link(name, target)
        try:
            links.delete(name, netns=target)
        finally:
            if obj is not None:
                self.journal.gone(obj["seq"], *([obj["pair"]] if obj.get("pair") else []))

    def taken(self, exc: NetlabError, kind: str, name: str, target: Target) -> NetlabError:
        """Say who owns a name that is already taken."""
        ino = self.inode(target) if kind == "link" else None
        for record in journal.all_records():
            obj = record.find("netns", name=name) if kind == "netns" else record.find("link", name=name, netns=ino)
            if obj is not None:
                if record.lab == self.id:
                    whose = _("this lab")
                elif record.alive:
                    whose = _("lab {lab} (pid {pid}, running)").format(lab=repr(record.lab), pid=record.pid)
                else:
                    whose = _("lab {lab} (pid {pid}, gone: `netlab cleanup` removes it)").format(
                        lab=repr(record.lab), pid=record.pid
                    )
                cls = type(exc)
                return cls(
                    _("{message}; it belongs to {owner}").format(message=exc.message, owner=whose),
                    hint=_("two labs never share a name: pick another one (prefix it with your lab's name)"),
                    subject=name,
                    errno=exc.errno_code,
                )
        return type(exc)(
            _("{message}; no lab made it (`ip` or netlab's plain functions did)").format(message=exc.message),
            hint=_(
                "a lab never takes over what it did not create: pick another name, or, if an earlier lesson "
                "left it, start from a clean world: `netlab reset` (lesson.reset() in a notebook)"
            ),
            subject=name,
            errno=exc.errno_code,
        )
