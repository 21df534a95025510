"""Named network namespaces, the way ``ip netns`` makes them (iproute2, ``ip/ipnetns.c``).

A network namespace has no name in the kernel. It lives as long as something holds it: a
process or thread inside it, an open file descriptor of it, or a *bind mount* of it. ``ip netns``
gives namespaces names by bind-mounting each one onto an empty file in a run directory::

    /run/netns/netns1   <- mount --bind /proc/<thread>/ns/net /run/netns/netns1

Read this module next to ``netns_add`` in ``ip/ipnetns.c``; the steps are the same:

    add(name)
      1. mkdir /run/netns                               (create_netns_dir)
      2. open it and flock(LOCK_EX)                     only one "ip" sets up the mount at a time
      3. mount --make-rshared /run/netns                so a later umount reaches every mount namespace;
         (first bind it onto itself if it is not a mount point: only mount points have propagation)
      4. open(/run/netns/NAME, O_CREAT|O_EXCL)          the empty file the namespace is pinned to
      5. unshare(CLONE_NEWNET)                          a fresh namespace: only ``lo``, and it is DOWN
      6. mount --bind /proc/thread-self/ns/net FILE     the pin: from now on the file keeps it alive
      7. on any error: unlink FILE                      nothing half-created

    delete(name) = umount2(FILE, MNT_DETACH|UMOUNT_NOFOLLOW) + unlink(FILE)

Three differences. ``ip`` unshares its only thread, then switches back (``netns_save`` /
``netns_restore``). netlab runs inside your Python (maybe a Jupyter kernel), so steps 5-6 happen
in a worker thread that then switches back; your own thread never leaves its namespace. (That
is also why step 6 uses ``/proc/thread-self``: ``/proc/self`` would name the main thread's.)
``ip`` lets go of the lock after step 3; netlab holds it until step 6 is done, so a second
``add`` of the same name waits, then finds a namespace ("already exists"), never the empty file
of step 4 that looks like a crash's leftover. And ``ip netns delete`` follows a symlink in the
run directory (containerlab names namespaces that way) and unmounts whatever it points to;
netlab's ``delete`` removes the symlink itself and leaves its target alone.

In this module a ``str`` is always a *name* in the run directory, never a path.
"""

from __future__ import annotations

import builtins
import errno
import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from netlab.errors import NamespaceExistsError, NamespaceNotFoundError, StaleNamespaceError, permission_error
from netlab.names import check_netns_name
from netlab.plumbing import syscalls
from netlab.plumbing.i18n import _
from netlab.plumbing.threads import run_in_worker

__all__ = [
    "add",
    "add_many",
    "attach",
    "attach_fd",
    "delete",
    "exists",
    "identify",
    "is_namespace",
    "list",
    "make_run_dir",
    "nsfs_device",
    "path",
    "pids",
    "unnamed",
    "run_dir",
    "stale",
]

DEFAULT_RUN_DIR = "/run/netns"
RUN_DIR_ENV = "NETLAB_NETNS_RUN_DIR"

T = TypeVar("T")
_builtin_list = list


def run_dir() -> Path:
    """The directory that holds the names: ``/run/netns``, or ``$NETLAB_NETNS_RUN_DIR``.

    ``/var/run/netns`` in the article is the same place: ``/var/run`` is a symlink to ``/run``.
    ``ip netns`` only looks in ``/run/netns``; point netlab elsewhere only for private experiments.
    """
    return Path(os.environ.get(RUN_DIR_ENV) or DEFAULT_RUN_DIR)


def path(name: str) -> Path:
    """The file a named namespace is pinned to, after checking that ``name`` is a valid name."""
    return run_dir() / check_netns_name(name)


def nsfs_device() -> int:
    """The device number of nsfs, the pseudo-filesystem every namespace file lives on."""
    return os.stat("/proc/thread-self/ns/net").st_dev


def is_namespace(file: Path) -> bool:
    """True if ``file`` shows a *network* namespace (a bind mount of nsfs), False for a plain file.

    A bind mount of another kind of namespace (``/proc/PID/ns/uts``) is on nsfs too: the
    ``NS_GET_NSTYPE`` ioctl tells them apart.
    """
    if not _on_nsfs(file):
        return False
    try:
        fd = os.open(file, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        return fcntl.ioctl(fd, NS_GET_NSTYPE) == syscalls.CLONE_NEWNET
    except OSError:
        return False
    finally:
        os.close(fd)


NS_GET_NSTYPE = 0xB703  # ioctl on a namespace file: which kind of namespace is it? (linux/nsfs.h)


def _on_nsfs(file: Path) -> bool:
    try:
        return os.stat(file).st_dev == nsfs_device()
    except (FileNotFoundError, NotADirectoryError):
        return False


def exists(name: str) -> bool:
    """True if ``name`` is a live named namespace (a stale plain file does not count)."""
    return is_namespace(path(name))


def list() -> builtins.list[str]:
    """Names of the live named namespaces, sorted (like ``ip netns list``, without stale files)."""
    return sorted(entry.name for entry in _entries() if is_namespace(entry))


def stale() -> builtins.list[str]:
    """Names whose file is not a namespace: left by a crash between steps 4 and 6 of ``add``.

    ``ip netns list`` shows them as if they were namespaces; ``ip netns exec`` then fails with
    "Invalid argument". ``delete(name)`` removes them.
    """
    return sorted(entry.name for entry in _entries() if not _on_nsfs(entry))


def _entries() -> builtins.list[Path]:
    try:
        return [entry for entry in run_dir().iterdir() if not entry.is_dir()]
    except FileNotFoundError:
        return []


@contextmanager
def _naming(directory: Path, *, setup: bool = True) -> Iterator[None]:
    """Steps 1-3 (``setup``), then hold the lock of step 2 while the caller does steps 4-6.

    The thread that holds it never waits for another to pin (that one might be waiting for the
    lock): steps 4-6 run in the thread that called ``_naming``.
    """
    if setup:
        try:
            directory.mkdir(mode=0o755, parents=True, exist_ok=True)
        except PermissionError as exc:
            raise permission_error(_("create {path}").format(path=directory), exc) from exc
    # flock belongs to an open file, not to a process: two threads of one process wait for each
    # other as two processes do. Closing the file releases it.
    lock_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
        if setup:
            _make_shared(directory)
        yield
    finally:
        os.close(lock_fd)


def _make_shared(directory: Path) -> None:
    """Step 3: make the run directory a shared mount point (a bind mount onto itself first, once).

    Under the lock: two processes stacking bind mounts on it at once can lock up the machine
    (Debian bug 949235).
    """
    made_mount_point = False
    while True:
        try:
            syscalls.mount("", directory, "none", syscalls.MS_SHARED | syscalls.MS_REC)
            return
        except OSError as exc:
            if exc.errno == errno.EPERM:
                raise permission_error(_("make {path} a shared mount").format(path=directory), exc) from exc
            if exc.errno != errno.EINVAL or made_mount_point:
                raise
        # EINVAL: not a mount point yet. Bind the directory onto itself, then retry.
        syscalls.mount(directory, directory, "none", syscalls.MS_BIND | syscalls.MS_REC)
        made_mount_point = True


def _create_file(file: Path, name: str) -> None:
    """Step 4: the empty file; O_EXCL makes a second ``add`` of the same name fail."""
    try:
        os.close(os.open(file, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0))
    except FileExistsError:
        if is_namespace(file):
            raise NamespaceExistsError(
                _("namespace {name!r} already exists ({file})").format(name=name, file=file),
                hint=_("pick another name, or remove it first: netns.delete({name!r}) / ip netns delete {name}").format(
                    name=name
                ),
                subject=name,
                errno=errno.EEXIST,
            ) from None
        raise StaleNamespaceError(
            _("{file} exists but is a plain file, not a namespace (left by a crash?)").format(file=file),
            hint=_("remove the stale entry with netns.delete({name!r}) or `ip netns delete {name}`").format(name=name),
            subject=name,
            errno=errno.EEXIST,
        ) from None
    except PermissionError as exc:
        raise permission_error(_("create {path}").format(path=file), exc) from exc


def _pin_new_namespace(file: Path) -> None:
    """Steps 5-6, run in the worker thread: a new namespace, bind-mounted onto ``file``."""
    syscalls.unshare(syscalls.CLONE_NEWNET)
    syscalls.mount("/proc/thread-self/ns/net", file, "none", syscalls.MS_BIND)
    # The worker now returns to its own namespace (netns_restore); the bind mount keeps this one alive.


def _pin_existing_namespace(source: str, file: Path) -> None:
    syscalls.mount(source, file, "none", syscalls.MS_BIND)


def _add(name: str, pin, *args) -> Path:
    file = path(name)
    with _naming(file.parent):
        _create_and_pin(file, name, pin, *args)
    return file


def _create_and_pin(file: Path, name: str, pin, *args) -> None:
    """Steps 4-7, under the run directory's lock."""
    _create_file(file, name)
    try:
        pin(*args, file)
    except BaseException as exc:
        file.unlink(missing_ok=True)  # step 7: roll back
        if isinstance(exc, PermissionError):
            raise permission_error(_("create namespace {name!r}").format(name=name), exc) from exc
        if isinstance(exc, FileNotFoundError):  # `ip netns delete NAME` ran between steps 4 and 6
            raise NamespaceNotFoundError(
                _("namespace {name!r} was deleted while it was being created").format(name=name),
                hint=_("another program deleted it at the same moment: add it again"),
                subject=name,
                errno=errno.ENOENT,
            ) from None
        raise


def add(name: str) -> Path:
    """``ip netns add NAME``: create a network namespace and pin it to ``/run/netns/NAME``.

    All of it in the worker thread: the thread that holds the lock is the one that pins.
    """
    return run_in_worker(_add, name, _pin_new_namespace)


def add_many(names: builtins.list[str]) -> builtins.list[Path]:
    """``ip netns add`` for each of ``names``, all in one trip to the worker thread.

    The same steps as ``add``, with two shortcuts ``ip -batch`` cannot take: the run directory
    is set up once, and the worker does not switch back between namespaces (each ``unshare``
    simply replaces the one it is in; the bind mount keeps the previous one alive), only once
    at the end. All or nothing: if one name fails, the namespaces made so far are deleted.
    """
    files = [path(name) for name in names]
    if len(set(files)) != len(files):
        raise NamespaceExistsError(
            _("add_many({names!r}): a name appears twice").format(names=names),
            hint=_("give each namespace its own name"),
            subject=names,
        )
    if not files:
        return []

    def work() -> builtins.list[Path]:
        with _naming(files[0].parent):
            return pin_all()

    def pin_all() -> builtins.list[Path]:
        made: builtins.list[tuple[str, Path]] = []
        try:
            for name, file in zip(names, files, strict=True):
                _create_file(file, name)
                made.append((name, file))
                _pin_new_namespace(file)
        except BaseException as exc:
            name, file = made[-1] if made else (names[0], files[0])
            if made and not _on_nsfs(file):
                file.unlink(missing_ok=True)
                made.pop()
            for earlier, _file in reversed(made):
                delete(earlier)
            if isinstance(exc, PermissionError):
                raise permission_error(_("create namespace {name!r}").format(name=name), exc) from exc
            raise
        return files

    return run_in_worker(work)


def unnamed(count: int, inside: Callable[[], T]) -> builtins.list[tuple[int, T]]:
    """``count`` new namespaces, each held only by an open file descriptor, in one worker trip.

    For each: ``unshare(CLONE_NEWNET)``, open ``/proc/thread-self/ns/net`` (the descriptor is
    what keeps it alive), and call ``inside()`` there: a socket ``inside`` opens belongs to
    that namespace for its whole life. Returns ``(fd, inside())`` pairs; closing an fd frees
    its namespace, unless ``attach_fd`` named it first. A crash frees them all: nothing is
    named yet, so nothing is left behind.
    """

    def work() -> builtins.list[tuple[int, T]]:
        made: builtins.list[tuple[int, T]] = []
        try:
            for _step in range(count):
                syscalls.unshare(syscalls.CLONE_NEWNET)
                fd = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
                try:
                    made.append((fd, inside()))
                except BaseException:
                    os.close(fd)
                    raise
        except BaseException as exc:
            for fd, _value in made:
                os.close(fd)
            if isinstance(exc, PermissionError):
                raise permission_error(_("create a network namespace"), exc) from exc
            raise
        return made

    return run_in_worker(work)


def attach_fd(name: str, fd: int, *, setup: bool = True) -> Path:
    """Name the namespace open as ``fd`` (from ``unnamed``): steps 4 and 6 of ``add``.

    ``setup=False`` skips steps 1-3, for callers that named many in a row and did them once.
    """
    file = path(name)
    with _naming(file.parent, setup=setup):
        _create_file(file, name)
        try:
            _pin_existing_namespace(f"/proc/self/fd/{fd}", file)
        except BaseException as exc:
            file.unlink(missing_ok=True)
            if isinstance(exc, PermissionError):
                raise permission_error(_("name namespace {name!r}").format(name=name), exc) from exc
            raise
    return file


def make_run_dir() -> Path:
    """Steps 1-3 of ``add`` on their own: the run directory, ready for names (``attach_fd(setup=False)``)."""
    directory = run_dir()
    with _naming(directory):
        pass
    return directory


def attach(name: str, pid: int) -> Path:
    """``ip netns attach NAME PID``: give a name to the namespace process ``pid`` is in."""
    source = f"/proc/{_check_pid(pid)}/ns/net"
    if not os.path.exists(source):
        raise NamespaceNotFoundError(
            _("no process with pid {pid}").format(pid=pid),
            hint=_("check the pid with `ps` or Popen.pid; the process may have exited"),
            subject=pid,
            errno=errno.ESRCH,
        )
    return _add(name, _pin_existing_namespace, source)


def delete(name: str) -> None:
    """``ip netns delete NAME``: lazy-unmount and remove the file (stale files and symlinks too).

    The namespace itself is freed by the kernel once nothing else holds it; a process still
    inside it, or an open file descriptor, keeps it alive without a name. A symlink is removed
    as a link: ``UMOUNT_NOFOLLOW`` keeps the unmount off whatever it points to.
    """
    file = path(name)
    if not os.path.lexists(file):
        raise NamespaceNotFoundError(
            _("namespace {name!r} does not exist ({file})").format(name=name, file=file),
            hint=_("see the existing names with netns.list() or `ip netns list`"),
            subject=name,
            errno=errno.ENOENT,
        )
    try:
        syscalls.umount2(file, syscalls.MNT_DETACH | syscalls.UMOUNT_NOFOLLOW)
    except OSError as exc:
        if exc.errno == errno.EPERM:
            raise permission_error(_("unmount {path}").format(path=file), exc) from exc
        # EINVAL: not a mount point: a stale plain file, or a symlink. ip ignores this too.
    try:
        file.unlink()
    except FileNotFoundError:
        raise NamespaceNotFoundError(
            _("namespace {name!r} was deleted by someone else at the same moment").format(name=name),
            hint=_("nothing left to do: it is gone"),
            subject=name,
            errno=errno.ENOENT,
        ) from None
    except PermissionError as exc:
        raise permission_error(_("remove {path}").format(path=file), exc) from exc


def identify(pid: int | str = "self") -> builtins.list[str]:
    """``ip netns identify PID``: the names of the namespace ``pid`` is in (often none)."""
    target = _proc_ns(pid)
    return sorted(entry.name for entry in _entries() if _same_file(entry, target))


def pids(name: str) -> builtins.list[int]:
    """``ip netns pids NAME``: the processes whose network namespace is ``name``."""
    file = path(name)
    if not is_namespace(file):
        if file.exists():
            raise StaleNamespaceError(
                _("{file} is not a namespace (stale entry)").format(file=file),
                hint=_("remove it with netns.delete({name!r})").format(name=name),
                subject=name,
            )
        raise NamespaceNotFoundError(
            _("namespace {name!r} does not exist").format(name=name),
            hint=_("see the existing names with netns.list()"),
            subject=name,
        )
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and _same_file(file, proc / "ns" / "net"):
            found.append(int(proc.name))
    return sorted(found)


def _check_pid(pid: object) -> int:
    if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
        raise NamespaceNotFoundError(
            _("{pid!r} is not a process id").format(pid=pid),
            hint=_("pass a positive int such as Popen.pid"),
            subject=pid,
        )
    return pid


def _proc_ns(pid: int | str) -> Path:
    if pid != "self":
        _check_pid(pid)
    target = Path(f"/proc/{pid}/ns/net")
    if not os.path.exists(target):
        raise NamespaceNotFoundError(
            _("no process with pid {pid}").format(pid=pid),
            hint=_("the process may have exited"),
            subject=pid,
            errno=errno.ESRCH,
        )
    return target


def _same_file(a: Path, b: Path) -> bool:
    """Two namespace files are the same namespace when device and inode both match."""
    try:
        sa, sb = os.stat(a), os.stat(b)
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)
