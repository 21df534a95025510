"""Every operation in shell words: the ``ip``, ``nft`` or ``sysctl`` command that does the same.

netlab talks to the kernel through netlink sockets and ``/proc/sys`` files, not by running
``ip``, but each operation also *says* what you would type to do the same thing by hand::

    >>> from netlab import links, recording
    >>> with recording() as history:
    ...     links.veth("veth0", "veth1")
    ...     links.move("veth1", to="netns1")
    >>> print(history)
    ip link add veth0 type veth peer name veth1
    ip link set veth1 netns netns1

A command aimed at a named namespace uses iproute2's ``-n`` shorthand: ``ip -n netns1 link``
is exactly ``ip netns exec netns1 ip link``. Other tools get the long form
(``ip netns exec netns1 sysctl ...``); a namespace given as a path or a pid becomes
``nsenter --net=PATH ...`` / ``nsenter -t PID -n ...``.

A ``Lab`` keeps such a history of everything it builds (``lab.history``). ``echo(True)``, or
``Lab(echo=True)``, prints each command as it runs; in a notebook it shows under the cell that
ran it, which answers "what did this cell do, in ``ip`` terms?".
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from netlab.plumbing.i18n import _
from netlab.targets import Target

__all__ = ["Command", "History", "echo", "emit", "in_netns", "ip", "quiet", "recording"]


@dataclass(frozen=True)
class Command:
    """One shell command; ``note`` adds a comment, such as the iptables way to do the same."""

    argv: tuple[str, ...]
    note: str = ""

    def __str__(self) -> str:
        line = shlex.join(self.argv)
        return f"{line}\n    # {self.note}" if self.note else line


class History(list):
    """A list of ``Command``; ``print(history)`` shows them one per line, ready to paste."""

    def __init__(self, commands: Sequence[Command] = (), *, echo: bool = False):
        super().__init__(commands)
        self.echo = echo

    def __str__(self) -> str:
        return "\n".join(str(command) for command in self)

    def _repr_pretty_(self, printer, cycle: bool) -> None:  # IPython shows the commands, not a list repr
        printer.text(str(self) if self else _("(no commands yet)"))

    def script(self) -> str:
        """The history as a shell script that rebuilds the same network."""
        return "#!/bin/sh\nset -e\n" + "".join(f"{command}\n" for command in self)


_sinks: ContextVar[tuple[History, ...]] = ContextVar("netlab_history_sinks", default=())
_quiet: ContextVar[bool] = ContextVar("netlab_history_quiet", default=False)
_echo = False


@contextmanager
def recording(history: History | None = None) -> Iterator[History]:
    """Collect every command netlab runs inside the ``with`` block into ``history``."""
    history = History() if history is None else history
    if any(sink is history for sink in _sinks.get()):  # already recording into it (a nested step)
        yield history
        return
    token = _sinks.set(_sinks.get() + (history,))
    try:
        yield history
    finally:
        _sinks.reset(token)


@contextmanager
def quiet() -> Iterator[None]:
    """Bookkeeping that is not part of the lesson (ownership marks) is not recorded."""
    token = _quiet.set(True)
    try:
        yield
    finally:
        _quiet.reset(token)


def echo(on: bool = True) -> None:
    """Print every command as netlab runs it (for all operations, in or out of a Lab)."""
    global _echo
    _echo = on


def emit(argv: Sequence[str], *, note: str = "") -> Command:
    """Tell the active histories (and the screen, when echoing) that ``argv`` was just done."""
    command = Command(tuple(str(a) for a in argv), note)
    if _quiet.get():
        return command
    sinks = _sinks.get()
    for sink in sinks:
        sink.append(command)
    if _echo or any(sink.echo for sink in sinks):
        print(command, flush=True)
    return command


def ip(target: Target, *args: object) -> list[str]:
    """``ip ARGS`` as it would be typed to act inside ``target``."""
    if isinstance(target, str):
        return ["ip", "-n", target, *map(str, args)]
    return in_netns(target, ["ip", *map(str, args)])


def in_netns(target: Target, argv: Sequence[object]) -> list[str]:
    """``argv`` as it would be typed to run inside ``target`` (``ip netns exec``, ``nsenter``)."""
    words = [str(a) for a in argv]
    if target is None:
        return words
    if isinstance(target, str):
        return ["ip", "netns", "exec", target, *words]
    if isinstance(target, int) and not isinstance(target, bool):
        return ["nsenter", "-t", str(target), "-n", *words]
    if isinstance(target, os.PathLike):
        return ["nsenter", f"--net={os.fspath(target)}", *words]
    return ["unshare", "-n", *words]  # NEW
