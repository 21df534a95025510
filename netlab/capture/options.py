"""Where and how to capture: the points, and every option checked before a socket is opened.

A capture point is an interface in a namespace (``Point``): what you would type is
``ip netns exec netns1 tcpdump -ni veth1``. ``check_options`` refuses, in one line with a hint,
what cannot work (no point, a point twice, a count, timeout, buffer, window or snaplen out of
range), so a capture never starts to fail later; ``check_points`` then asks each namespace for
its interfaces (``ip -n NS -br link``): the namespace must exist, and the interface in it. Both
run before any socket, file or thread is made: a refused capture leaves nothing behind.
"""

from __future__ import annotations

import errno
import math
import os
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netlab.enter import call
from netlab.errors import DeviceNotFoundError, NetlabError
from netlab.names import check_ifname
from netlab.plumbing.commands import in_netns
from netlab.plumbing.i18n import _
from netlab.targets import NEW, Target, in_words

__all__ = [
    "CaptureError",
    "Point",
    "PointSpec",
    "as_point",
    "check_options",
    "check_points",
    "no_interface",
    "target_of",
]


class CaptureError(NetlabError, ValueError):
    """A capture option netlab cannot use: a filter, count, timeout or capture point."""


@dataclass(frozen=True)
class Point:
    """Where to capture: interface ``iface`` in namespace ``netns`` (any target, None = here)."""

    iface: str
    netns: Target = None
    label: str = ""

    def __post_init__(self) -> None:
        check_ifname(self.iface)
        if self.netns is NEW:
            raise CaptureError(_("cannot capture in a new namespace"), hint=_("name an existing one, a Path or a pid"))
        if not self.label:
            object.__setattr__(self, "label", _label(self.netns, self.iface))

    @property
    def where(self) -> str:
        """The namespace in words: ``namespace 'netns1'``."""
        return in_words(self.netns)

    @property
    def command(self) -> list[str]:
        """What you would type: ``ip netns exec netns1 tcpdump -ni veth1``."""
        return in_netns(self.netns, ["tcpdump", "-ni", self.iface])


PointSpec = str | tuple[Target, str] | Point


_PROC_NETNS = re.compile(r"/proc/(\d+)(?:/task/\d+)?/ns/net")


def _label(target: Target, iface: str) -> str:
    if target is None:
        return iface
    if isinstance(target, str):
        return f"{target}:{iface}"
    if isinstance(target, int):
        return f"pid {target}:{iface}"
    path = os.fspath(target)  # type: ignore[arg-type]
    if pid := _PROC_NETNS.fullmatch(path):  # a container's namespace, entered by its process: one per pid
        return f"pid {pid[1]}:{iface}"
    return f"{Path(path).name}:{iface}"


def as_point(spec: PointSpec, netns: Target) -> Point:
    if isinstance(spec, Point):
        return spec
    if isinstance(spec, str):
        return Point(spec, netns)
    if isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[1], str):
        return Point(spec[1], spec[0])
    raise CaptureError(
        _("cannot capture on {spec!r}").format(spec=spec),
        hint=_("name an interface ('veth0'), or a pair (namespace, interface): ('netns1', 'veth1')"),
        subject=spec,
    )


def check_options(points: Sequence[Point], *, count: Any, timeout: Any, buffer: Any, window: Any, snaplen: Any) -> None:
    """Refuse what cannot work, before a socket is opened: one line each, with a hint."""
    if not points:
        raise CaptureError(_("no capture point"), hint=_("name an interface, e.g. capture('veth0')"))
    labels = [p.label for p in points]
    if len(set(labels)) != len(labels):
        raise CaptureError(
            _("capture points repeat: {labels}").format(labels=labels), hint=_("name each (namespace, interface) once")
        )
    if count is not None and not _whole(count, 1):
        raise CaptureError(
            _("count must be a positive whole number, not {count!r}").format(count=count), hint=_("e.g. count=4")
        )
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < math.inf
    ):
        raise CaptureError(
            _("timeout must be a positive number of seconds, not {timeout!r}").format(timeout=timeout),
            hint="timeout=2",
        )
    if not _whole(buffer, 1, 1024):
        raise CaptureError(
            _("buffer must be 1 to 1024 MiB, not {buffer!r}").format(buffer=buffer),
            hint=_("buffer=64 for a long flood"),
        )
    if not _whole(window, 0):
        raise CaptureError(
            _("window must be a whole number of packets, 0 or more, not {window!r}").format(window=window),
            hint=_("window=10000 keeps the latest 10000 packets in memory"),
        )
    if snaplen is not None and not _whole(snaplen, 64, 262144):
        raise CaptureError(
            _("snaplen must be 64 to 262144 bytes, not {snaplen!r}").format(snaplen=snaplen),
            hint=_("snaplen=65535 keeps the large frames of a TCP download whole"),
        )


def check_points(points: Sequence[Point]) -> None:
    """Every namespace exists and holds its interface (a down one is waited for, later); else one
    line with a hint (``NamespaceNotFoundError``, ``DeviceNotFoundError``). Opens no packet socket."""
    for point in points:
        names = {name for _index, name in call(point.netns, socket.if_nameindex)}  # the namespace, or why not
        if point.iface not in names:
            raise no_interface(point.iface, point.netns, names)


def no_interface(iface: str, netns: Target, names: Any) -> DeviceNotFoundError:
    """``no interface 'veth9' in namespace 'netns1'``, with the interfaces it has."""
    return DeviceNotFoundError(
        _("no interface {iface!r} in {where}").format(iface=iface, where=in_words(netns)),
        hint=_("its interfaces are {names}; list them with {command}").format(
            names=", ".join(sorted(names)), command=" ".join(in_netns(netns, ["ip", "-br", "link"]))
        ),
        subject=iface,
        errno=errno.ENODEV,
    )


def _whole(value: Any, low: int, high: int | None = None) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low and (high is None or value <= high)


def target_of(text: str | None) -> Target:
    """A namespace as typed on a command line: a name, a path (with ``/``) or a pid (digits)."""
    if text is None:
        return None
    if text.isascii() and text.isdigit():
        return int(text)
    return Path(text) if "/" in text else text
