"""How netlab talks to the kernel: a netlink socket opened *inside* the namespace it talks to.

``ip -n netns1 link`` does two things: it enters netns1 (``setns``), then opens a netlink socket
(``socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)``) and sends requests such as RTM_NEWLINK. A
socket belongs to the namespace its creator was in when it was made, for its whole life, so
netlab does the same in its worker thread (``netlab.enter.call``): enter the namespace, open a
pyroute2 ``IPRoute`` socket there, send the requests, close it::

    rtnl("netns1", lambda ipr: ipr.link("set", index=2, state="up"))   # ip -n netns1 link set ... up

Three pyroute2 pitfalls this avoids:

* ``IPRoute(netns="x")`` silently *creates* a missing namespace x, and takes a name with ``/``
  as a path relative to the current directory;
* the synchronous ``IPRoute`` runs its own asyncio loop, and fails with "This event loop is
  already running" in a Jupyter cell; in netlab's worker thread no loop is running;
* an open socket *holds* its namespace: ``ip netns delete`` would leave it alive (and its veth
  ends with it). So sockets are short-lived; a ``Rtnl`` session that keeps one open (a Lab's
  bulk build) must be closed before its namespace is deleted.

Kernel errors come back as ``NetlinkError(errno, message)``; ``error()`` turns them into a
``NetlabError`` that names the object, the namespace and what to do next.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from netlab.enter import call, netns_file
from netlab.errors import DeviceError, DeviceExistsError, DeviceNotFoundError, NetlabError, permission_error
from netlab.targets import NEW, Target, in_words
from netlab.threads import run_in_worker

__all__ = ["Rtnl", "error", "find", "ifindex", "kernel_call", "open_netns", "rtnl"]

T = TypeVar("T")


def _open():
    from pyroute2 import IPRoute  # heavy: imported on first use, so `import netlab` stays quick

    return IPRoute(groups=0, ext_ack=True)  # groups=0: no event subscriptions, replies only


def rtnl(target: Target, fn: Callable[[Any], T]) -> T:
    """Open a netlink socket inside ``target``, run ``fn(ipr)`` with it, close it."""

    def inside() -> T:
        ipr = _open()
        try:
            return fn(ipr)
        finally:
            ipr.close()

    return call(target, inside)


class Rtnl:
    """A netlink socket kept open inside one namespace, for many requests in a row.

    Every request still runs in the worker thread (pyroute2's loop must not meet Jupyter's);
    ``close()`` it before the namespace is deleted, or the socket keeps the namespace alive.
    """

    def __init__(self, target: Target):
        self.target = target
        self._ipr = call(target, _open)

    def __call__(self, fn: Callable[..., T], *args: Any) -> T:
        if self._ipr is None:
            raise RuntimeError("this netlink session is closed")
        return run_in_worker(fn, self._ipr, *args)

    @property
    def ipr(self) -> Any:
        """The pyroute2 socket itself, for code already running in the worker thread."""
        if self._ipr is None:
            raise RuntimeError("this netlink session is closed")
        return self._ipr

    def close(self) -> None:
        if self._ipr is not None:
            ipr, self._ipr = self._ipr, None
            run_in_worker(ipr.close)

    def __enter__(self) -> Rtnl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def open_netns(target: Target) -> Iterator[int]:
    """An open file descriptor of ``target``'s namespace, as IFLA_NET_NS_FD wants it."""
    if target is NEW:
        raise TypeError("a device cannot be sent to NEW: create the namespace first with netns.add()")
    file = netns_file(target)
    fd = os.open(file if file is not None else "/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        yield fd
    finally:
        os.close(fd)


def find(ipr: Any, name: str) -> Any | None:
    """The RTM_NEWLINK message of device ``name``, or None (an RTM_GETLINK request by name)."""
    from pyroute2.netlink.exceptions import NetlinkError

    try:
        return ipr.link("get", ifname=name)[0]
    except NetlinkError as exc:
        if exc.code == errno.ENODEV:
            return None
        raise


def ifindex(ipr: Any, name: str, target: Target) -> int:
    """The index of device ``name``, or a DeviceNotFoundError that says where we looked."""
    link = find(ipr, name)
    if link is None:
        raise DeviceNotFoundError(
            f"there is no device {name!r} in {in_words(target)}",
            hint=f"list the devices there with links.list({'' if target is None else repr(target)}) "
            f"or `{' '.join(_ip_br(target))}`",
            subject=name,
            errno=errno.ENODEV,
        )
    return link["index"]


def _ip_br(target: Target) -> list[str]:
    from netlab.commands import ip

    return ip(target, "-br", "link")


_NOT_FOUND = {errno.ENODEV, errno.EADDRNOTAVAIL, errno.ESRCH, errno.ENOENT}


def error(exc: Exception, *, action: str, subject: object, hint: str = "") -> NetlabError:
    """Turn the kernel's answer to ``action`` into a NetlabError naming ``subject``."""
    code = getattr(exc, "code", None) or getattr(exc, "errno", None) or 0
    said = exc.args[1] if len(exc.args) > 1 else str(exc)
    message = f"cannot {action}: the kernel says {said!r} ({errno.errorcode.get(code, code)})"
    if code in (errno.EPERM, errno.EACCES):
        return permission_error(action, OSError(code, said))
    if code == errno.EEXIST:
        return DeviceExistsError(
            message, hint=hint or "pick another name or remove the old one first", subject=subject, errno=code
        )
    if code in _NOT_FOUND:
        return DeviceNotFoundError(
            message, hint=hint or "check the name and the namespace", subject=subject, errno=code
        )
    return DeviceError(message, hint=hint, subject=subject, errno=code)


def kernel_call(action: str, subject: object, fn: Callable[[], T], *, hints: dict[int, str] | None = None) -> T:
    """Run one netlink request; a NetlinkError becomes a NetlabError (hint chosen by errno)."""
    from pyroute2.netlink.exceptions import NetlinkError

    try:
        return fn()
    except NetlinkError as exc:
        raise error(exc, action=action, subject=subject, hint=(hints or {}).get(exc.code, "")) from None
