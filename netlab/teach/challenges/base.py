"""What every challenge is made of: a starting state in a ``Lab``, a task, and a check.

A ``Challenge`` holds the lab that built the starting world, the task in words, and the check
(a function of ``netlab.teach.checks``) that looks at the kernel when you ask. ``close()`` takes
the world down again, and the root-namespace devices the task asked you to create.
"""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from netlab import links
from netlab.enter import call
from netlab.errors import NetlabError
from netlab.lab.lab import Lab
from netlab.plumbing.i18n import _
from netlab.teach.checks import CheckResult
from netlab.teach.lesson import Snapshot, closes_on_start

__all__ = ["INTERNET", "UPLINK", "Challenge", "InvalidAnswerError", "internet", "new_lab", "wait_for_listener"]

INTERNET = "203.0.113.1"  # the simulated internet's server (a documentation address)
UPLINK = "203.0.113.2"  # the root namespace's address towards it


@dataclass
class Challenge:
    """A starting state (``lab``), a ``task`` in words, and the ``check`` of the goal."""

    name: str  # in English; shown in the learner's language
    task: str
    lab: Lab
    checker: Callable[[], CheckResult]
    leftovers: list[str] = field(default_factory=list)  # root-namespace devices the task creates
    facts: dict[str, object] = field(default_factory=dict)
    baseline: set[str] = field(default_factory=lambda: {link.name for link in links.list()})
    before: Snapshot = field(default_factory=Snapshot.capture)  # sysctls, nft tables, iptables rules
    read_answer: Callable[[Challenge, object], object] | None = None  # a question's answer, checked; else refuses

    def __post_init__(self) -> None:
        _open.append(self)

    def check(self) -> CheckResult:
        """Look at the kernel now: done, or what is missing and a hint."""
        return self.checker()

    def answer(self, value: object) -> CheckResult:
        """Give an answer (for challenges that ask a question) and check it.

        An answer that cannot be one (``ghost.answer('abc')`` where a pid is asked) is refused with
        ``InvalidAnswerError``, and nothing is checked; a challenge that asks no question refuses all.
        """
        if self.read_answer is None:
            raise InvalidAnswerError(
                _("challenge {name!r} asks no question: there is nothing to answer").format(name=_(self.name)),
                hint=_("{variable}.check() looks at what you built").format(variable=self.variable),
                subject=value,
            )
        self.facts["answer"] = self.read_answer(self, value)
        return self.check()

    @property
    def variable(self) -> str:
        """The name the notebook holds this challenge under (``ghost``), for hints; else ``challenge``."""
        return _held_as(self) or "challenge"

    def close(self) -> None:
        """Take the starting state down, and the root-namespace devices the task asked you to make.

        Once: closing it again (a re-run cell) changes nothing, whatever happened since.
        """
        if not any(other is self for other in _open):
            return
        _open[:] = [other for other in _open if other is not self]
        try:
            self.before.restore()  # first what you typed by hand: sysctl -w, iptables -A, nft add table
            self.lab.close()  # then the starting state, and the sysctls the lab itself changed
        finally:
            present = {link.name for link in links.list()}
            for name in self.leftovers:
                if name in present and name not in self.baseline:  # made after the challenge began
                    links.delete(name)
            # Veths whose other end was in a deleted namespace go away too, a moment later: the
            # kernel frees a namespace's devices in the background. Wait for that, briefly.
            deadline = time.monotonic() + 3
            while {link.name for link in links.list()} - self.baseline and time.monotonic() < deadline:
                time.sleep(0.05)

    def __repr__(self) -> str:
        return _("Challenge {name}:").format(name=repr(_(self.name))) + "\n" + self.task


class InvalidAnswerError(NetlabError, ValueError):
    """An answer that cannot be one: not a pid where a pid is asked."""


_open: list[Challenge] = []  # the challenges this process started and has not closed


@closes_on_start
def close_all() -> list[str]:
    """Close every challenge this process has open (a lesson starting over); the names of those closed."""
    closed = []
    for challenge in list(_open):
        challenge.close()
        closed.append(_(challenge.name))
    return closed


def new_lab(name: str) -> Lab:
    """The lab of a challenge that starts now: one challenge at a time, so an open one is closed first.

    Its starting world uses the same names (br0, c1, uplink) as the next one's: starting challenge 3
    with challenge 1 open, or running a challenge's cell twice, closes the earlier one and says so.
    """
    for earlier in list(_open):
        earlier.close()
        held = _held_as(earlier)
        print(
            "netlab: "
            + (
                _("closed {variable} (challenge {name!r}) first: one challenge at a time")
                if held
                else _("closed challenge {name!r} first: one challenge at a time")
            ).format(variable=held, name=_(earlier.name)),
            file=sys.stderr,
        )
    return Lab(name)


def _held_as(challenge: Challenge) -> str | None:
    """The name a notebook (``__main__``) holds ``challenge`` under (``isolated``), if any."""
    main = sys.modules.get("__main__")
    for variable, value in list(vars(main).items()) if main else []:
        if value is challenge and not variable.startswith("_"):
            return variable
    return None


def internet(lab: Lab) -> None:
    """The simulated internet: namespace ``internet`` at 203.0.113.1, reached through ``uplink``."""
    lab.netns("internet")
    lab.connect("internet", address=f"{INTERNET}/24", host_ifname="uplink", host_address=f"{UPLINK}/24")


def wait_for_listener(ns: str, port: int, seconds: float = 10.0) -> None:
    """Wait until something in ``ns`` accepts TCP connections on ``port`` (a server has started)."""
    deadline = time.monotonic() + seconds
    while True:
        probe = call(ns, socket.socket)
        try:
            probe.settimeout(0.2)
            probe.connect(("127.0.0.1", port))
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
        finally:
            probe.close()
