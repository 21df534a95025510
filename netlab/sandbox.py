"""A private world: new network, mount and PID namespaces, with their own ``/run/netns`` and ``/proc``.

Everything netlab's tests and notebooks build lives in here, so the machine's own network is
never touched, and it all disappears when the last process of the sandbox exits. It is what
``unshare --net --mount --pid --fork --mount-proc`` does, plus a few private directories::

    unshare --net --mount           a new, empty network namespace (only lo) and a private mount table
    mount --make-rprivate /         nothing we mount leaks back to the host
    mount -t tmpfs tmpfs /run/netns   our own, empty run directory for named namespaces
    mount -t tmpfs tmpfs /run/netlab  our own record of what labs built (see ``netlab cleanup``)
    mount -t tmpfs tmpfs /var/lib/netlab   our own lesson baseline: the host's is the host's
    mount -t tmpfs tmpfs /var/lib/cni      our own CNI state (the addresses host-local IPAM handed out)
    mount -t sysfs sysfs /sys       /sys/class/net shows the sandbox's devices
    ip link set lo up
    unshare --pid --fork            the next process is PID 1 of a new PID namespace...
    mount -t proc proc /proc        ...and a fresh /proc lists only the processes in it

So ``ps -e``, ``lsns`` and ``netlab.namespaces()`` show the sandbox's world only, as in a container.
Files are another matter: the sandbox is private for what netlab writes, never for the learner's
files. Its directory, its Python and the paths on its command line stay where they are, ``/tmp``
included, so a report, a capture or a drawing it writes is there after it ends.

PID 1 is ``netlab-init``: it starts your command, reaps orphaned processes (the job of any PID 1),
passes on SIGTERM, SIGHUP and friends, and exits with your command's status; when it exits, the
kernel ends every process left in the sandbox. Ctrl-C goes straight to your command, as usual.

As an ordinary user it first creates a user namespace in which you are uid 0 (``unshare
--user --map-root-user``), so all of the above, and ``ip netns add``, veths, bridges and NAT,
work without sudo, yet stay powerless outside the sandbox.
"""

from __future__ import annotations

import ctypes
import errno
import os
import select
import signal
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from netlab.errors import NetlabError, NetlabPermissionError, reason
from netlab.plumbing import syscalls
from netlab.plumbing.i18n import _

__all__ = ["INIT_NAME", "POD_MODE_ENV", "SANDBOX_ENV", "SandboxError", "exec_in_sandbox", "in_sandbox"]

SANDBOX_ENV = "NETLAB_SANDBOX"
# "1" in netlab's container image: the pod is already a private world, root only in its own user
# namespace, so a sandbox never nests another user namespace in there (docs/classroom.md, Kubernetes).
POD_MODE_ENV = "NETLAB_POD_MODE"
INIT_NAME = "netlab-init"  # what `ps` shows for PID 1 of a sandbox
# Where netlab keeps the state of a world: each sandbox gets its own, empty (a tmpfs on each).
PRIVATE_DIRS = ("/run/netns", "/run/netlab", "/var/lib/netlab", "/var/lib/cni")
CLONE_NEWPID = 0x20000000
PR_SET_NAME, PR_SET_PDEATHSIG = 15, 1
# What PID 1 passes on to the command. Not SIGINT: Ctrl-C and Jupyter's "interrupt" already reach the
# command directly (they signal the whole process group); passing it on too would interrupt it twice.
FORWARDED = (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)


class SandboxError(NetlabError):
    """The sandbox cannot be built here (a chroot, a missing /proc, a kernel that says no)."""


def in_sandbox() -> bool:
    """True inside ``netlab sandbox``: its marker is set and process 1 is the sandbox's init."""
    if os.environ.get(SANDBOX_ENV) != "1":
        return False
    try:
        return Path("/proc/1/comm").read_text().strip() == INIT_NAME
    except OSError:
        return False


# -- step 1: the namespaces ------------------------------------------------------------------


def _map_root(uid: int, gid: int) -> None:
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"0 {uid} 1")
    Path("/proc/self/gid_map").write_text(f"0 {gid} 1")


def _root_is_a_mount_point() -> bool:
    with open("/proc/self/mountinfo") as mountinfo:
        return any(line.split()[4] == "/" for line in mountinfo)


def _unshare_user() -> None:
    uid, gid = os.getuid(), os.getgid()
    try:
        syscalls.unshare(syscalls.CLONE_NEWUSER)
    except OSError as exc:
        if exc.errno == errno.EPERM and not _root_is_a_mount_point():
            raise SandboxError(
                _("the kernel refuses user namespaces inside a chroot, so a sandbox without root cannot start here"),
                hint=_(
                    "run it as root (sudo), or enter the directory with `unshare --mount` + `pivot_root` "
                    "(as containers do) instead of chroot"
                ),
                errno=exc.errno,
            ) from exc
        raise NetlabPermissionError(
            _("cannot create a user namespace as uid {uid}: {reason}").format(uid=uid, reason=reason(exc)),
            hint=_(
                "this kernel forbids unprivileged user namespaces; enable them with "
                "`sudo sysctl kernel.unprivileged_userns_clone=1` (Debian) or "
                "`sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0` (Ubuntu 24.04+), "
                "or run with sudo, or use the Vagrant VM"
            ),
            errno=exc.errno,
        ) from exc
    _map_root(uid, gid)


def _unshare(flags: int) -> None:
    try:
        syscalls.unshare(flags)
    except OSError as exc:
        raise NetlabPermissionError(
            _("cannot create namespaces: {reason}").format(reason=reason(exc)),
            hint=_("run as root or with CAP_SYS_ADMIN"),
            errno=exc.errno,
        ) from exc


# -- step 2: the mounts ----------------------------------------------------------------------


def _make_private() -> None:
    """``mount --make-rprivate /``, also where ``/`` is no mount point (a chroot).

    In a chroot, ``/`` is a plain directory of some mount outside it: the kernel refuses to change
    that (EINVAL). Our mount table is a private copy, so we step out of the chroot in it, make
    everything private from the real top, and step back in; the machine's mounts are unchanged.
    """
    try:
        syscalls.mount("", "/", None, syscalls.MS_REC | syscalls.MS_PRIVATE)
        return
    except OSError as exc:
        if exc.errno != errno.EINVAL:
            raise
    inside = os.open("/", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        below = next((d for d in ("/proc", "/dev", "/sys", "/tmp", "/etc") if os.path.isdir(d)), None)
        if below is None:
            raise SandboxError(
                _("/ is not a mount point here (a chroot?) and has no subdirectory to work from"),
                hint=_("bind the chroot's directory onto itself before entering it: mount --rbind DIR DIR"),
            )
        os.chdir("/")
        os.chroot(below)  # the root moves down one step; the working directory stays above it...
        for _step in range(256):
            os.chdir("..")  # ...so ".." climbs, past the old root, to the top of the mount table
        os.chroot(".")
        syscalls.mount("", "/", None, syscalls.MS_REC | syscalls.MS_PRIVATE)
        os.fchdir(inside)
        os.chroot(".")  # back inside the chroot
    finally:
        os.close(inside)


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


def _nearest(directory: Path) -> Path:
    """``directory``, or the closest of its parents that exists."""
    while not directory.is_dir():
        directory = directory.parent
    return directory


def _shadow(directory: Path) -> None:
    """A tmpfs on ``directory`` that still shows everything in it: each entry bound back (symlinks copied).

    Ours to add to, while the machine's copy stays as it was: that is how the sandbox makes
    ``/var/lib/netlab`` where the machine has none, without creating it there.
    """
    below = os.open(directory, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)  # the machine's, once covered
    try:
        entries = list(os.scandir(directory))
        mode = f"mode={os.stat(directory).st_mode & 0o7777:o}"
        syscalls.mount("tmpfs", directory, "tmpfs", syscalls.MS_NOSUID | syscalls.MS_NODEV, mode)
        for entry in entries:
            original, copy = f"/proc/self/fd/{below}/{entry.name}", directory / entry.name
            if entry.is_symlink():
                copy.symlink_to(os.readlink(original))
                continue
            if entry.is_dir(follow_symlinks=False):
                copy.mkdir()
            else:
                copy.touch()  # a file, socket or device: a file to bind it onto
            try:
                syscalls.mount(original, copy, None, syscalls.MS_BIND | syscalls.MS_REC)
            except OSError:  # gone meanwhile: no empty stand-in for it
                if copy.is_dir():
                    copy.rmdir()
                else:
                    copy.unlink()
    finally:
        os.close(below)


def _private_dirs(directories: Sequence[Path]) -> None:
    """An empty tmpfs on each of ``directories``; one the machine lacks is made in the sandbox only.

    Where it is missing, its closest existing parent is shadowed (see :func:`_shadow`) and the
    directory made in there. Only ``/`` itself is never shadowed: a directory missing right under
    it (a bare chroot) is made for real.
    """
    for directory in directories:
        _drop_inherited_mounts(directory)
    shadowed: list[Path] = []
    for directory in directories:
        if directory.is_dir():
            continue
        top = _nearest(directory)
        if top != Path("/") and not any(top.is_relative_to(done) for done in shadowed):
            _shadow(top)
            shadowed.append(top)
        directory.mkdir(parents=True)
    for directory in directories:
        syscalls.mount("tmpfs", directory, "tmpfs", syscalls.MS_NOSUID | syscalls.MS_NODEV, "mode=0755")


def _build_world() -> None:
    cwd = os.getcwd()
    _make_private()
    _private_dirs([Path(directory) for directory in PRIVATE_DIRS])
    # A fresh sysfs over the old one: its class/net lists the sandbox's own devices.
    syscalls.mount("sysfs", "/sys", "sysfs", syscalls.MS_NOSUID | syscalls.MS_NODEV | syscalls.MS_NOEXEC)
    os.chdir(cwd)  # look the directory up again: under a shadowed directory it is now the bound copy
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)


# -- step 3: PID 1 ---------------------------------------------------------------------------


def _exit_code(status: int) -> int:
    """A wait status as a shell reports it: the exit code, or 128 + the signal that killed it."""
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def _prctl(option: int, value: int | bytes) -> None:
    ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)


def _run_command(argv: Sequence[str], mask: Iterable[int]) -> None:
    """In the command's process: default signal handling, the caller's signal mask, then exec (never returns)."""
    for sig in (signal.SIGINT, *FORWARDED):
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    try:
        os.execvp(argv[0], list(argv))
    except OSError as exc:
        print(f"netlab sandbox: {argv[0]}: {reason(exc)}", file=sys.stderr)
        os._exit(127 if isinstance(exc, FileNotFoundError) else 126)


def _forward_to(pid: int) -> None:
    def forward(signum: int, frame: object) -> None:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    for sig in FORWARDED:
        signal.signal(sig, forward)


def _init(argv: Sequence[str], mask: Iterable[int]) -> None:
    """PID 1 of the sandbox: mount its /proc, start the command, reap, exit with its status.

    It starts with the forwarded signals blocked (see ``exec_in_sandbox``): PID 1 of a PID namespace
    never gets a signal it has no handler for, so a SIGTERM that came before ``_forward_to`` would
    be lost, not just early. Blocked, it waits until the handler is there.
    """
    try:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # `netlab sandbox` killed: the sandbox goes too
        _prctl(PR_SET_NAME, INIT_NAME.encode())
        syscalls.mount("proc", "/proc", "proc", syscalls.MS_NOSUID | syscalls.MS_NODEV | syscalls.MS_NOEXEC)
        command = os.fork()
    except OSError as exc:
        print(_("netlab sandbox: cannot mount a private /proc: {reason}").format(reason=reason(exc)), file=sys.stderr)
        os._exit(125)
    if command == 0:
        _run_command(argv, mask)
    _forward_to(command)
    signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    while True:
        try:
            pid, status = os.wait()  # the command, or an orphan that PID 1 inherited
        except ChildProcessError:
            os._exit(125)
        if pid == command:
            os._exit(_exit_code(status))  # the kernel then ends whatever is left in the sandbox


def _wait_for(init: int, end_with: int | None) -> int:
    """Wait for PID 1 of the sandbox; if process ``end_with`` ends first, ask the sandbox to end too."""
    if end_with is not None:
        try:
            watched = [os.pidfd_open(init), os.pidfd_open(end_with)]
        except OSError:  # already gone, or a kernel older than 5.3
            os.kill(init, signal.SIGTERM)
        else:
            while len(watched) == 2:
                ready, _writable, _errors = select.select(watched, [], [])
                if watched[1] in ready:
                    os.kill(init, signal.SIGTERM)
                    os.close(watched.pop())
                elif watched[0] in ready:
                    break
    while True:
        try:
            return os.waitpid(init, 0)[1]
        except ChildProcessError:
            os._exit(125)


def exec_in_sandbox(argv: Sequence[str], *, end_with: int | None = None) -> None:
    """Run ``argv`` in a fresh sandbox and exit with its status (never returns).

    ``end_with``: a pid; when that process ends, the command gets SIGTERM. Call it from a
    single-threaded process: a user namespace cannot be entered by a process with threads.
    """
    argv = list(argv) or [os.environ.get("SHELL", "/bin/sh")]
    if os.getuid() != 0:
        if os.environ.get(POD_MODE_ENV) == "1":
            raise SandboxError(
                _("pod mode ({variable}=1) runs as root of the pod's own user namespace, not as uid {uid}").format(
                    variable=POD_MODE_ENV, uid=os.getuid()
                ),
                hint=_("run the pod with hostUsers: false and runAsUser: 0 (classroom/k8s/values.yaml)"),
            )
        _unshare_user()
    _unshare(syscalls.CLONE_NEWNET | syscalls.CLONE_NEWNS)
    _build_world()
    os.environ[SANDBOX_ENV] = "1"
    _unshare(CLONE_NEWPID)  # for the children: the next process forked is PID 1 in there
    sys.stdout.flush()
    sys.stderr.flush()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the command directly
    # A signal that comes while a process is forked and before its handler is set stays pending.
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED)
    init = os.fork()
    if init == 0:
        _init(argv, mask)
    _forward_to(init)
    signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    os._exit(_exit_code(_wait_for(init, end_with)))
