"""Run commands and Python code inside a network namespace.

``ip netns exec NAME CMD`` does four things before it runs ``CMD`` (``netns_switch`` in iproute2):

    1. setns(open("/run/netns/NAME"), CLONE_NEWNET)   enter the network namespace
    2. unshare(CLONE_NEWNS) + mount --make-rslave /   a private copy of the mount table
    3. umount /sys; mount -t sysfs sysfs /sys         so /sys/class/net lists *this* namespace's devices
    4. bind /etc/netns/NAME/* over /etc/*             per-namespace resolv.conf, hosts, ...

``run``/``popen`` do the same in a short-lived thread and start the command from there: a child
process inherits the namespaces of the thread that started it. ``call`` runs a Python function
with step 1 only, in netlab's worker thread, which switches back afterwards.
``nsenter --net=FILE`` and ``unshare -n`` are the same with other targets (see ``netlab.targets``):

    target                 means                          shell equivalent
    "netns1" (str)         the named namespace            ip netns exec netns1 ...
    Path("/run/x")         a namespace file anywhere      nsenter --net=/run/x ...
    1234 (int)             the namespace of process 1234  nsenter --net=/proc/1234/ns/net ...
    NEW                    a brand-new namespace          unshare -n ...
    None                   where the caller is            ...
"""

from __future__ import annotations

import atexit
import errno
import os
import shlex
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from netlab import netns
from netlab.errors import NamespaceNotFoundError, NetlabError, StaleNamespaceError, ToolMissingError, permission_error
from netlab.plumbing import syscalls
from netlab.plumbing.i18n import _
from netlab.plumbing.threads import run_in_new_thread, run_in_worker
from netlab.targets import NEW, Target

__all__ = ["NEW", "CommandFailedError", "Target", "call", "netns_file", "popen", "run"]

T = TypeVar("T")


def netns_file(target: Target) -> Path | None:
    """The file to ``setns`` into for ``target`` (None for the caller's own namespace or NEW)."""
    if target is None or target is NEW:
        return None
    if isinstance(target, str):
        file = netns.path(target)
        if not file.exists():
            raise NamespaceNotFoundError(
                _("namespace {name!r} does not exist").format(name=target),
                hint=_("create it with netns.add({target!r}); see netns.list()").format(target=target),
                subject=target,
                errno=errno.ENOENT,
            )
        if not netns.is_namespace(file):
            raise StaleNamespaceError(
                _("{file} is a plain file, not a namespace").format(file=file),
                hint=_("remove it with netns.delete({target!r}) and add it again").format(target=target),
                subject=target,
            )
        return file
    if isinstance(target, bool):
        raise TypeError(_("a namespace target cannot be a bool"))
    if isinstance(target, int):
        file = Path(f"/proc/{target}/ns/net")
        if target <= 0 or not file.exists():
            raise NamespaceNotFoundError(
                _("no process with pid {pid}").format(pid=target),
                hint=_("the process may have exited"),
                subject=target,
                errno=errno.ESRCH,
            )
        return file
    if isinstance(target, os.PathLike):
        file = Path(target)
        if not file.exists():
            raise NamespaceNotFoundError(
                _("no namespace file at {file}").format(file=file),
                hint=_("check the path"),
                subject=file,
                errno=errno.ENOENT,
            )
        return file
    raise TypeError(
        _("cannot enter {target!r}: pass a name (str), a Path, a pid (int), NEW or None").format(target=target)
    )


def _enter_network(file: Path | None, target: Target) -> None:
    """Step 1 (or ``unshare -n`` for NEW), in the current worker thread."""
    try:
        if target is NEW:
            syscalls.unshare(syscalls.CLONE_NEWNET)
        elif file is not None:
            fd = os.open(file, os.O_RDONLY | os.O_CLOEXEC)
            try:
                syscalls.setns(fd, syscalls.CLONE_NEWNET)
            finally:
                os.close(fd)
    except OSError as exc:
        if exc.errno == errno.EPERM:
            raise permission_error(_("enter network namespace {target!r}").format(target=target), exc) from exc
        if exc.errno == errno.EINVAL:
            raise StaleNamespaceError(
                _("{file} is not a network namespace").format(file=file),
                subject=target,
                hint=_("point at /run/netns/NAME or /proc/PID/ns/net"),
            ) from exc
        raise


def _private_mounts(name: str | None) -> None:
    """Steps 2-4: a private mount table with this namespace's /sys and /etc/netns/NAME files."""
    syscalls.unshare(syscalls.CLONE_NEWNS)
    syscalls.mount("", "/", "none", syscalls.MS_SLAVE | syscalls.MS_REC)
    flags = syscalls.MS_RDONLY if os.statvfs("/sys").f_flag & os.ST_RDONLY else 0
    syscalls.umount2("/sys", syscalls.MNT_DETACH)
    syscalls.mount(name or "sysfs", "/sys", "sysfs", flags)
    etc_dir = Path("/etc/netns") / name if name else None
    if etc_dir and etc_dir.is_dir():
        for entry in etc_dir.iterdir():
            target = Path("/etc") / entry.name
            if target.exists():
                syscalls.mount(entry, target, "none", syscalls.MS_BIND)


def call(target: Target, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``fn(*args, **kwargs)`` inside ``target``'s network namespace and return its result.

    Sockets created by ``fn`` belong to that namespace for their whole life, even after
    ``call`` returns: a netlink socket opened here keeps talking to that namespace.
    """
    file = netns_file(target)

    def inside() -> T:
        _enter_network(file, target)
        return fn(*args, **kwargs)

    return run_in_worker(inside)


def popen(target: Target, argv: Sequence[str], **popen_kwargs: Any) -> subprocess.Popen:
    """Start ``argv`` inside ``target`` and return the Popen.

    For a named namespace this is ``ip netns exec`` (steps 1-4 above: a private mount table with
    the namespace's own /sys); for a Path or pid it is ``nsenter --net=``, for NEW ``unshare -n``
    and for None a plain command (step 1 only, or nothing), like the tools they stand for.

    The process starts in a session of its own (``setsid CMD &``): Jupyter's Kernel > Interrupt
    (SIGINT to the kernel's process group) and Ctrl-C spare it, and it runs until it is stopped
    (``proc.terminate()``) or this Python process ends. Pass ``start_new_session=False`` to keep it
    in the caller's group; a command that reads the terminal the caller was typed in stays there
    anyway, as the terminal's foreground job (``netlab netns exec netns1 bash``).
    """
    argv = [os.fspath(a) for a in argv]
    popen_kwargs.setdefault("start_new_session", not _foreground(popen_kwargs))
    if not argv:
        raise ValueError(_("argv is empty: pass the command as a list, e.g. ['ip', 'link']"))
    if shutil.which(argv[0], path=(popen_kwargs.get("env") or os.environ).get("PATH")) is None:
        raise ToolMissingError(
            _("command {command!r} not found").format(command=argv[0]),
            subject=argv[0],
            errno=errno.ENOENT,
            hint=_("install it (e.g. `apt-get install iproute2 iputils-ping`) or check the spelling"),
        )
    file = netns_file(target)
    name = target if isinstance(target, str) else None

    def start() -> subprocess.Popen:
        _enter_network(file, target)
        if name is not None:  # `ip netns exec` remounts /sys; nsenter, unshare -n and None do not
            _private_mounts(name)
        return subprocess.Popen(argv, **popen_kwargs)

    proc = run_in_new_thread(start, name="netlab-exec")
    if popen_kwargs["start_new_session"]:
        _background[:] = [p for p in _background if p.returncode is None] + [proc]
    return proc


def _foreground(popen_kwargs: dict[str, Any]) -> bool:
    """True for a command that reads the terminal this process was typed in, as its foreground job.

    That is how a shell runs ``CMD`` (not ``CMD &``): Ctrl-C reaches it, and it can use the
    terminal. ``netlab netns exec netns1 bash`` is one. A Jupyter kernel has no terminal.
    """
    if popen_kwargs.get("stdin") is not None:
        return False
    try:
        return os.isatty(0) and os.tcgetpgrp(0) == os.getpgrp()
    except OSError:
        return False


_background: list[subprocess.Popen] = []  # started in their own session by this process
_OWNER = os.getpid()


@atexit.register
def stop_background() -> list[int]:
    """End the background processes this process started with ``popen``; the pids that were still running.

    By pid, one at a time (``kill PID``): only the processes ``popen`` started here. It runs when
    this process ends (a kernel restart, a script's end), and when a lesson starts over.
    """
    if os.getpid() != _OWNER:  # a forked child: its parent's processes are not its own
        return []
    stopped = []
    for proc in _background:
        if proc.poll() is None:
            stopped.append(proc.pid)
            try:
                proc.terminate()
                proc.wait(timeout=1)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            except OSError:
                pass
    _background.clear()
    return stopped


def run(
    target: Target,
    argv: Sequence[str],
    *,
    check: bool = False,
    timeout: float | None = None,
    input: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """Run ``argv`` inside ``target`` and return its exit code, stdout and stderr (as text).

    >>> run("netns1", ["ip", "-br", "link"]).stdout     # ip netns exec netns1 ip -br link
    'lo  DOWN  00:00:00:00:00:00 <LOOPBACK> \\n'
    """
    stdin = subprocess.PIPE if input is not None else subprocess.DEVNULL
    proc = popen(
        target,
        argv,
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=False,  # a foreground command: Ctrl-C (Kernel > Interrupt) stops it with the caller
    )
    try:
        stdout, stderr = proc.communicate(input, timeout=timeout)
    except BaseException:  # a timeout, or Ctrl-C: the command ends with the call, never behind it
        proc.kill()
        proc.communicate()
        raise
    result = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    if check and result.returncode:
        raise CommandFailedError(result)
    return result


class CommandFailedError(NetlabError, subprocess.CalledProcessError):
    """``run(..., check=True)`` of a command that failed: its own first line of complaint, and a hint.

    Still a ``CalledProcessError`` (``returncode``, ``cmd``, ``stdout``, ``stderr``), shown as one line.
    """

    def __init__(self, result: subprocess.CompletedProcess) -> None:
        said = next((line.strip() for line in (result.stderr or result.stdout or "").splitlines() if line.strip()), "")
        message = _("{command} failed (exit status {code}): {said}").format(
            command=shlex.join(result.args), code=result.returncode, said=said or _("no output")
        )
        Exception.__init__(self, message)
        self.message, self.subject, self.errno_code = message, list(result.args), None
        self.hint = _("if an earlier run made it already, run the lesson's first cell to start over")
        self.returncode, self.cmd = result.returncode, result.args
        self.output, self.stderr = result.stdout, result.stderr
