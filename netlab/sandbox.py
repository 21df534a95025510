"""A private network world: a new network + mount namespace with its own ``/run/netns``.

Everything netlab's tests and notebooks build lives in here, so the machine's own network is
never touched, and it all disappears when the last process of the sandbox exits::

    unshare --net --mount          a new, empty network namespace (only lo) and a private mount table
    mount --make-rprivate /        nothing we mount leaks back to the host
    mount -t tmpfs tmpfs /run/netns   our own, empty run directory for named namespaces
    mount -t tmpfs tmpfs /run/netlab  our own record of what labs built (see ``netlab cleanup``)
    mount -t sysfs sysfs /sys      /sys/class/net shows the sandbox's devices
    ip link set lo up

As an ordinary user it first creates a user namespace in which you are uid 0 (``unshare
--user --map-root-user``), so all of the above, and ``ip netns add``, veths, bridges and NAT,
work without sudo, yet stay powerless outside the sandbox.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from netlab import syscalls
from netlab.errors import NetlabPermissionError

__all__ = ["SANDBOX_ENV", "enter", "exec_in_sandbox", "in_sandbox"]

SANDBOX_ENV = "NETLAB_SANDBOX"


def in_sandbox() -> bool:
    """True inside ``netlab sandbox`` (its marker is set and the network is not init's)."""
    try:
        private = os.stat("/proc/self/ns/net").st_ino != os.stat("/proc/1/ns/net").st_ino
    except PermissionError:
        private = True  # rootless: process 1 is not ours to inspect, so we are not in its world
    return os.environ.get(SANDBOX_ENV) == "1" and private


def _map_root(uid: int, gid: int) -> None:
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"0 {uid} 1")
    Path("/proc/self/gid_map").write_text(f"0 {gid} 1")


def _unshare_world() -> None:
    uid, gid = os.getuid(), os.getgid()
    flags = syscalls.CLONE_NEWNET | syscalls.CLONE_NEWNS
    try:
        if uid != 0:
            syscalls.unshare(syscalls.CLONE_NEWUSER)
            _map_root(uid, gid)
        syscalls.unshare(flags)
    except OSError as exc:
        if uid != 0:
            raise NetlabPermissionError(
                f"cannot create a user namespace as uid {uid}: {exc.strerror}",
                hint=(
                    "this kernel forbids unprivileged user namespaces; enable them with "
                    "`sudo sysctl kernel.unprivileged_userns_clone=1` (Debian) or "
                    "`sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0` (Ubuntu 24.04+), "
                    "or run with sudo, or use the Vagrant VM"
                ),
                errno=exc.errno,
            ) from exc
        raise NetlabPermissionError(
            f"cannot create namespaces: {exc.strerror}", hint="run as root or with CAP_SYS_ADMIN", errno=exc.errno
        ) from exc


def _drop_inherited_mounts(run_dir: Path) -> None:
    """Let go of this mount table's copies of the outer world's pins (``/run/netns/NAME``).

    Our mount table is a private copy, so this changes nothing outside; it only keeps the outer
    namespaces from being held (and listed by ``findmnt``) in here. Rootless, the copies are
    locked to their parent mount and stay hidden under the new tmpfs instead.
    """
    prefix = str(run_dir).rstrip("/")
    points = []
    with open("/proc/self/mountinfo") as mountinfo:
        for line in mountinfo:
            point = line.split()[4]
            if point == prefix or point.startswith(prefix + "/"):
                points.append(point)
    for point in sorted(points, key=len, reverse=True):  # innermost first
        try:
            syscalls.umount2(point, syscalls.MNT_DETACH)
        except OSError:
            pass  # locked (rootless) or already gone: the tmpfs on top hides it


def _private_run_dir(run_dir: Path) -> None:
    _drop_inherited_mounts(run_dir)
    if not run_dir.is_dir():
        try:
            run_dir.mkdir(parents=True)
        except PermissionError:
            # Rootless and no such directory on the host: give the sandbox a /run of its own.
            syscalls.mount("tmpfs", run_dir.parent, "tmpfs", syscalls.MS_NOSUID | syscalls.MS_NODEV, "mode=0755")
            run_dir.mkdir()
    syscalls.mount("tmpfs", run_dir, "tmpfs", syscalls.MS_NOSUID | syscalls.MS_NODEV, "mode=0755")


PRIVATE_DIRS = ("/run/netns", "/run/netlab")


def enter() -> None:
    """Move this (single-threaded) process into a fresh sandbox. Used by ``netlab sandbox``."""
    _unshare_world()
    syscalls.mount("", "/", "none", syscalls.MS_REC | syscalls.MS_PRIVATE)
    for directory in PRIVATE_DIRS:
        _private_run_dir(Path(directory))
    # A fresh sysfs over the old one: its class/net lists the sandbox's own devices.
    syscalls.mount("sysfs", "/sys", "sysfs", syscalls.MS_NOSUID | syscalls.MS_NODEV | syscalls.MS_NOEXEC)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    os.environ[SANDBOX_ENV] = "1"


def exec_in_sandbox(argv: Sequence[str]) -> None:
    """Enter a sandbox and replace this process with ``argv`` (never returns)."""
    if not argv:
        argv = [os.environ.get("SHELL", "/bin/sh")]
    enter()
    os.execvp(argv[0], list(argv))
