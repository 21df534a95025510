"""Keeping a namespace alive by hand: the last section of the article, step by step.

The article builds ``ip netns add`` out of plain tools, in two shells::

    shell 1                                   shell 2
    unshare -n bash        (new namespace)
    echo $$   -> 90883                        touch /var/run/netns/netns1
                                              mount --bind /proc/90883/ns/net /var/run/netns/netns1
    exit      (the process is gone ...)       ls -i /var/run/netns/netns1   (... the inode stays)
                                              nsenter --net=/var/run/netns/netns1 bash
                                              umount /var/run/netns/netns1  (now it is freed)

The same with netlab::

    proc = persist.start_unshared(["sleep", "infinity"])   # unshare -n sleep infinity
    persist.bind(proc.pid, "/run/netns/netns1")             # touch + mount --bind
    proc.kill(); proc.wait()                                # exit
    inodes.inode(Path("/run/netns/netns1"))                 # ls -i: same inode
    enter.run(Path("/run/netns/netns1"), ["ip", "link"])    # nsenter --net=...
    persist.unbind("/run/netns/netns1")                     # umount (+ rm)

A symlink would not do: ``ln -s /proc/90883/ns/net x`` points at a path that vanishes with the
process (this is how Docker and containerlab expose container namespaces, and why they dangle
when a container stops). ``symlink(pid, path)`` lets you see that for yourself.
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from netlab import enter, netns
from netlab.errors import NamespaceExistsError, NamespaceNotFoundError, permission_error
from netlab.plumbing import syscalls
from netlab.plumbing.i18n import _

__all__ = ["bind", "is_bind_mounted", "start_unshared", "symlink", "unbind"]


def start_unshared(argv: Sequence[str] = ("sleep", "infinity"), **popen_kwargs: Any) -> subprocess.Popen:
    """``unshare -n CMD``: start a process in a brand-new network namespace."""
    return enter.popen(enter.NEW, argv, **popen_kwargs)


def bind(pid: int, target: str | os.PathLike) -> Path:
    """``touch TARGET; mount --bind /proc/PID/ns/net TARGET``: pin the namespace of ``pid``."""
    source = enter.netns_file(pid)
    target = Path(target)
    try:
        fd = os.open(target, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0)
    except FileExistsError:
        raise NamespaceExistsError(
            _("{path} already exists").format(path=target),
            subject=target,
            errno=errno.EEXIST,
            hint=_("pick a new file name, or unbind the old one first"),
        ) from None
    except PermissionError as exc:
        raise permission_error(_("create {path}").format(path=target), exc) from exc
    os.close(fd)
    try:
        syscalls.mount(source, target, "none", syscalls.MS_BIND)
    except OSError as exc:
        target.unlink(missing_ok=True)
        if exc.errno == errno.EPERM:
            raise permission_error(_("bind-mount onto {path}").format(path=target), exc) from exc
        raise
    return target


def is_bind_mounted(target: str | os.PathLike) -> bool:
    """True if ``target`` shows a namespace (nsfs) rather than the plain file under it."""
    return netns.is_namespace(Path(target))


def unbind(target: str | os.PathLike, *, remove: bool = True) -> None:
    """``umount TARGET`` (and ``rm TARGET``): let go of the pin; the namespace may now be freed."""
    target = Path(target)
    if not is_bind_mounted(target):
        raise NamespaceNotFoundError(
            _("{path} is not a namespace bind mount").format(path=target),
            subject=target,
            hint=_("check the path; `findmnt -t nsfs` lists the bind mounts"),
        )
    try:
        syscalls.umount2(target, syscalls.MNT_DETACH)
    except PermissionError as exc:
        raise permission_error(_("unmount {path}").format(path=target), exc) from exc
    if remove:
        target.unlink()


def symlink(pid: int, target: str | os.PathLike) -> Path:
    """``ln -s /proc/PID/ns/net TARGET``: a name that dies with the process (compare ``bind``)."""
    enter.netns_file(pid)  # the process must exist now
    target = Path(target)
    target.symlink_to(f"/proc/{pid}/ns/net")
    return target
