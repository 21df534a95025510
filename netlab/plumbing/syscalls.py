"""The four system calls behind every network namespace.

``ip netns`` and ``unshare``/``nsenter`` are thin layers over these:

* ``unshare(CLONE_NEWNET)`` moves the calling *thread* into a brand-new network namespace;
* ``setns(fd, CLONE_NEWNET)`` moves the calling thread into the namespace ``fd`` refers to
  (an open ``/proc/PID/ns/net`` or ``/run/netns/NAME``);
* ``mount(src, dst, None, MS_BIND)`` pins a namespace to a file, so it outlives its processes;
* ``umount2(dst, MNT_DETACH)`` lets go of that pin.

Python 3.12 has ``os.unshare``/``os.setns``; netlab supports 3.10, so it calls libc through
ctypes. Each wrapper raises ``OSError`` with the real errno, exactly as the kernel answered.
"""

from __future__ import annotations

import ctypes
import os

# Namespace kinds (linux/sched.h).
CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
CLONE_FS = 0x00000200

# mount(2) flags (linux/mount.h).
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20

# umount2(2) flags.
MNT_DETACH = 2
UMOUNT_NOFOLLOW = 8  # a symlink at the target is not followed (its target is never unmounted)

_libc = ctypes.CDLL(None, use_errno=True)  # libc, already loaded: find_library("c") would run ldconfig
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.unshare.argtypes = [ctypes.c_int]
_libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]


def _check(result: int, what: str, path: str | None = None) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}", path)


def _bytes(value: str | os.PathLike | None) -> bytes | None:
    return None if value is None else os.fsencode(value)


def unshare(flags: int) -> None:
    """Move the calling thread into new namespaces of the kinds in ``flags``."""
    _check(_libc.unshare(flags), "unshare")


def setns(fd: int, nstype: int = CLONE_NEWNET) -> None:
    """Move the calling thread into the namespace that ``fd`` refers to."""
    _check(_libc.setns(fd, nstype), "setns")


def mount(
    source: str | os.PathLike | None,
    target: str | os.PathLike,
    fstype: str | None = None,
    flags: int = 0,
    data: str | None = None,
) -> None:
    """mount(2): with ``MS_BIND`` it makes ``target`` show the same object as ``source``."""
    _check(_libc.mount(_bytes(source), _bytes(target), _bytes(fstype), flags, _bytes(data)), "mount", os.fspath(target))


def umount2(target: str | os.PathLike, flags: int = 0) -> None:
    """umount2(2): with ``MNT_DETACH`` the mount disappears now and is freed when unused."""
    _check(_libc.umount2(_bytes(target), flags), "umount2", os.fspath(target))
