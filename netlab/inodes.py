"""Namespace identity: every namespace is an inode on nsfs, and something must hold it.

``readlink /proc/$$/ns/net`` prints ``net:[4026531840]``: the number is the inode of the
namespace on the nsfs pseudo-filesystem. Two processes are in the same network namespace
exactly when those numbers match. A bind mount of the namespace (``/run/netns/NAME``) shows
the same inode to ``ls -i``.

The kernel frees a namespace when its last holder is gone. Holders are:

* a process or a single thread inside it (``/proc/PID/task/TID/ns/net``),
* an open file descriptor of a namespace file (``/proc/PID/fd/N`` -> ``net:[...]``),
* a bind mount of it (``/run/netns/NAME``, or any other path: see ``/proc/self/mountinfo``;
  a path is one holder even where mountinfo lists it twice, as on a shared ``/run``),
* (also sockets created in it and child namespaces' owners; these are not listed here).

``namespaces()`` puts all of this in one table, like ``lsns -t net`` but also showing the
namespaces that only a bind mount or an open fd keeps alive. The names come from the mount
table too: a name is a namespace bind-mounted on a file in ``/run/netns``, and mountinfo
already says which namespace each mount shows (``findmnt -t nsfs`` prints the same lines).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable
from dataclasses import dataclass, field

from netlab import netns
from netlab.enter import netns_file
from netlab.model import words
from netlab.plumbing import syscalls
from netlab.targets import Target

__all__ = ["NetnsInfo", "inode", "label", "namespaces", "nsfs_mounts"]

NS_GET_NSTYPE = 0xB703  # ioctl on a namespace fd: which kind of namespace is this? (linux/nsfs.h)


def _stat_target(target: Target, tid: int | None) -> os.stat_result:
    if tid is not None:
        pid = "self" if target is None else target
        return os.stat(f"/proc/{pid}/task/{tid}/ns/net")
    file = netns_file(target)
    return os.stat(file if file is not None else "/proc/thread-self/ns/net")


def inode(target: Target = None, *, tid: int | None = None) -> int:
    """The inode number of a network namespace (``ls -i /run/netns/NAME``).

    ``target`` is a name, a Path, a pid or None (the calling thread); ``tid`` picks one thread
    of process ``target``.
    """
    return _stat_target(target, tid).st_ino


def label(target: Target = None, *, tid: int | None = None) -> str:
    """The ``net:[INODE]`` form that ``readlink /proc/PID/ns/net`` prints."""
    return f"net:[{inode(target, tid=tid)}]"


@dataclass
class NetnsInfo:
    """One network namespace and everything that keeps it alive."""

    inode: int
    names: list[str] = field(default_factory=list)  # entries in the run directory
    mounts: list[str] = field(default_factory=list)  # every path it is bind-mounted on, once each
    pids: list[int] = field(default_factory=list)  # processes inside it
    threads: list[tuple[int, int]] = field(default_factory=list)  # (pid, tid) of threads inside it
    #                                                     whose process is elsewhere
    fds: list[tuple[int, int]] = field(default_factory=list)  # (pid, fd) holding it open
    commands: dict[int, str] = field(default_factory=dict)  # pid -> command name
    current: bool = False  # the calling thread is in it
    init: bool = False  # process 1 is in it

    @property
    def label(self) -> str:
        return f"net:[{self.inode}]"

    @property
    def held_by(self) -> list[str]:
        """What keeps this namespace alive, in words."""
        held = [f"process {pid} ({self.commands.get(pid, '?')})" for pid in self.pids]
        held += [f"thread {tid} of process {pid}" for pid, tid in self.threads]
        held += [f"open fd {fd} of process {pid}" for pid, fd in self.fds]
        held += [f"bind mount {m}" for m in self.mounts]
        return held

    @property
    def held_in_words(self) -> list[str]:
        """``held_by`` in the learner's language, to read (``held_by`` itself stays English: code compares it)."""
        return [words(holder) for holder in self.held_by]


def nsfs_mounts(mountinfo: str = "/proc/self/mountinfo") -> list[tuple[int, str]]:
    """(inode, mount point) of every network-namespace bind mount in this mount namespace.

    In mountinfo an nsfs line's root field is the namespace itself, e.g.::

        612 25 0:4 net:[4026532302] /run/netns/netns1 rw - nsfs nsfs rw

    One pair per line, as mountinfo has them: on a shared ``/run`` with iproute2 < 7.0 the same
    pair comes twice (``namespaces()`` counts it as one holder).
    """
    return _mount_table(mountinfo)[0]


def _mount_table(mountinfo: str = "/proc/self/mountinfo") -> tuple[list[tuple[int, str]], dict[str, int | None]]:
    """One read of mountinfo: the network-namespace bind mounts, and what each mount point shows.

    The second part maps every mount point to the namespace inode mounted there, or None when
    the topmost mount on it is something else: when two mounts share a mount point, the
    later line is on top, and it is the one a path lookup (``ls -i``) sees.
    """
    found = []
    on_top: dict[str, int | None] = {}
    with open(mountinfo) as file:
        lines = file.read().split("\n")  # one read: a thousand mounts are ~100 KB
    for line in lines:
        fields = line.split(" ", 5)  # id, parent, major:minor, root, mount point, the rest
        if len(fields) < 6:
            continue
        mount_point = _unescape(fields[4])
        ino = None
        if fields[3].startswith("net:[") and " - nsfs " in line:
            ino = int(fields[3][5:-1])
            found.append((ino, mount_point))
        on_top[mount_point] = ino
    return found, on_top


def _unescape(field_: str) -> str:
    """mountinfo writes space, tab, newline and backslash as octal escapes (\\040 ...)."""
    return field_.encode().decode("unicode_escape") if "\\" in field_ else field_


def _ino_or_none(path: str) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def _is_net_namespace_fd(fd: str) -> bool:
    """Is this open nsfs file a *network* namespace (and not a mount, pid, uts... one)?"""
    link = os.readlink(fd)
    if link.startswith("net:["):
        return True
    if ":[" in link:
        return False  # another kind of namespace
    # Opened through a bind mount, the link shows that path: ask the kernel for its type.
    handle = os.open(fd, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return fcntl.ioctl(handle, NS_GET_NSTYPE) == syscalls.CLONE_NEWNET
    finally:
        os.close(handle)


def _names(on_top: dict[str, int | None]) -> list[tuple[str, int]]:
    """(name, inode) of every named namespace, sorted by name: what ``netns.list()`` finds, from mountinfo.

    A name is a network namespace bind-mounted on a file directly in the run directory. The
    mount table already says which namespace each one shows, so the run directory is not
    listed and no name is opened (a thousand names would cost a thousand ``stat`` and ``open``).
    """
    run_dir = os.path.realpath(netns.run_dir())  # mountinfo shows /run/netns for /var/run/netns
    found = []
    for mount_point, ino in on_top.items():
        if ino is not None and os.path.dirname(mount_point) == run_dir:
            found.append((os.path.basename(mount_point), ino))
    return sorted(found)


def namespaces() -> list[NetnsInfo]:
    """Every network namespace this process can see, with its names and holders (``lsns -t net``+).

    A namespace lives while something holds it: a process (or one of its threads) inside it, an
    open file descriptor on it, or a bind mount of it. So: look at every process, then at the
    mount table, and collect each holder under the inode of the namespace it holds.
    """
    table: dict[int, NetnsInfo] = {}

    def entry(ino: int) -> NetnsInfo:
        info = table.get(ino)
        if info is None:
            info = table[ino] = NetnsInfo(inode=ino)
        return info

    nsfs_dev = netns.nsfs_device()
    for name in os.listdir("/proc"):
        if name.isdigit():
            _look_at_process(int(name), entry, nsfs_dev)
    _look_at_mounts(entry)
    here = inode()
    init_ino = _ino_or_none("/proc/1/ns/net") or -1
    for info in table.values():
        info.current = info.inode == here
        info.init = info.inode == init_ino
        info.pids.sort()
    return sorted(table.values(), key=lambda i: i.inode)


def _look_at_process(pid: int, entry: Callable[[int], NetnsInfo], nsfs_dev: int) -> None:
    """What process ``pid`` holds: the namespace it is in, its threads' if others, and open fds on one."""
    proc = f"/proc/{pid}"
    try:
        process_ino = os.stat(f"{proc}/ns/net").st_ino
        info = entry(process_ino)
        info.pids.append(pid)
        with open(f"{proc}/comm") as comm:
            info.commands[pid] = comm.read().strip()
        for tid in os.listdir(f"{proc}/task"):
            thread_ino = _ino_or_none(f"{proc}/task/{tid}/ns/net")  # a thread may end while we look
            if thread_ino is not None and thread_ino != process_ino:
                entry(thread_ino).threads.append((pid, int(tid)))
        for fd in os.listdir(f"{proc}/fd"):
            path = f"{proc}/fd/{fd}"
            try:
                st = os.stat(path)
                if st.st_dev == nsfs_dev and _is_net_namespace_fd(path):
                    entry(st.st_ino).fds.append((pid, int(fd)))
            except OSError:
                continue  # closed while we looked (listing /proc/self/fd opens and closes one itself)
    except (FileNotFoundError, ProcessLookupError, PermissionError, NotADirectoryError):
        return  # the process ended while we looked, or is not ours to inspect


def _look_at_mounts(entry: Callable[[int], NetnsInfo]) -> None:
    """The bind mounts that hold namespaces, and the names ``ip netns`` gives the ones in its run dir."""
    mounts, on_top = _mount_table()
    for ino, mount_point in mounts:
        held = entry(ino).mounts
        # On a shared /run (systemd: a VM, a host) iproute2 < 7.0 mounts each namespace twice on the
        # same path: the self-bind of /run/netns is in /run's peer group, so the mount propagates to
        # /run underneath. mountinfo lists both, but they are one holder, removed by one umount.
        if mount_point not in held:
            held.append(mount_point)
    for name, ino in _names(on_top):
        entry(ino).names.append(name)
