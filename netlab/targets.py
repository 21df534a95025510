"""Which network namespace an operation acts on: a *target*.

Every function that works "in a namespace" takes one, the way every ``ip`` command takes one::

    target                 means                          shell equivalent
    "netns1" (str)         the named namespace            ip netns exec netns1 ...   (ip -n netns1 ...)
    Path("/run/x")         a namespace file anywhere      nsenter --net=/run/x ...
    1234 (int)             the namespace of process 1234  nsenter --net=/proc/1234/ns/net ...
    NEW                    a brand-new namespace          unshare -n ...
    None                   where the caller is            ...
"""

from __future__ import annotations

import os

from netlab.plumbing.i18n import _

__all__ = ["NEW", "Target", "in_words", "keyword"]


class _NewNamespace:
    def __repr__(self) -> str:
        return "NEW"


NEW = _NewNamespace()
"""Target meaning "a new, empty network namespace", like ``unshare -n``."""

Target = str | os.PathLike | int | _NewNamespace | None


def in_words(target: Target) -> str:
    """A namespace in words, for messages: ``namespace 'netns1'``, ``the namespace of pid 42``.

    In the learner's language (``命名空间 'netns1'``), like the message it goes into.
    """
    if target is None:
        return _("the current namespace")
    if isinstance(target, str):
        return _("namespace {name}").format(name=repr(target))
    if target is NEW:
        return _("a new namespace")
    if isinstance(target, int) and not isinstance(target, bool):
        return _("the namespace of pid {pid}").format(pid=target)
    return _("namespace {name}").format(name=os.fspath(target))  # type: ignore[arg-type]


def keyword(target: Target) -> str:
    """How a namespace is written among keyword arguments in messages: ``, netns='netns1'``."""
    return "" if target is None else f", netns={target!r}"
