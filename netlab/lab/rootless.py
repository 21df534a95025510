"""Rootless: a container's network without root, as slirp4netns and pasta make it for rootless Podman.

Lessons 03 and 06 joined a container to its host with a veth pair, a bridge, an address, a route and a
masquerade rule. Every one of those needs ``CAP_NET_ADMIN`` in the *host's* network namespace, which an
ordinary user does not have. What anyone may make is a **user namespace**, where the user is root, and a
network namespace it owns. Inside, that root may create a **tap device**: a network card whose other
side is not a cable but a file descriptor, held by a program. A helper in the host's namespace reads the
container's frames from it and replays each connection with ordinary sockets of its own. The host sees a
process that opens connections, as a browser does: no veth, no bridge, no NAT rule. By hand::

    unshare --user --map-root-user --net sleep infinity &        # the container, pid $!
    slirp4netns --configure --mtu=65520 --disable-host-loopback $! tap0 &
    nsenter -t $! -n ip -br addr                                   # tap0  10.0.2.100/24
    # or, instead of slirp4netns (Podman 5's default):
    pasta --foreground --config-net --no-map-gw $! &               # eth0  the host's own address

What slirp4netns does, step by step:

1. A child joins the container's user and network namespaces, opens ``/dev/net/tun`` and creates
   ``tap0`` there (``TUNSETIFF``), then sends the descriptor back to its parent over a socket pair
   (its log says ``sent tapfd=5 for tap0``). The parent never leaves the host's namespace.
2. ``--configure``: ``tap0`` up, ``10.0.2.100/24``, a default route via ``10.0.2.2``, a virtual
   gateway that exists only inside slirp4netns (``10.0.2.3`` is its DNS). ``--disable-host-loopback``:
   ``10.0.2.2`` does not lead to the host's ``127.0.0.1``.
3. libslirp, a TCP/IP stack in user space (QEMU's user networking), reads the tap's frames. A SYN from
   the container becomes a ``connect()`` of slirp4netns's own; the data of the connection is copied
   between the two, byte by byte, through user space.
4. It writes ``1`` to ``--ready-fd`` when all this is done, and exits when ``--exit-fd`` is closed.

pasta (passt's namespace mode) does the same job its own way: ``--config-net`` copies the host's
interface name, address and routes into the namespace, so the container has the host's own address and
no translation of addresses is needed; TCP is spliced between the tap and the sockets without a full
stack in between. ``--no-map-gw``: the gateway's address leads to the gateway, not to the host itself.
It writes its pid to ``--pid FILE`` once the namespace is configured.

Here the helpers run *inside* a namespace the lesson made (``host``), so their sockets live in that
namespace's network stack, and the lab is root: ``--runas 0`` keeps pasta from dropping to ``nobody``
(which could not enter a namespace root made). On your own machine you run both as yourself.

Each helper is started with ``netlab.popen``: its own session, so Jupyter's Interrupt spares it, and a
lesson's setup cell (``lesson.start``) stops it by pid. :meth:`Helper.stop` stops it sooner.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from netlab import enter
from netlab.errors import NetlabError, reason
from netlab.names import check_ifname
from netlab.plumbing import child
from netlab.plumbing.i18n import _
from netlab.targets import Target

__all__ = [
    "Container",
    "Helper",
    "RootlessError",
    "container",
    "pasta",
    "slirp4netns",
]

READY_SECONDS = 10  # a helper, a container or a server that is not ready by then never will be
CONTAINER = ("unshare", "--user", "--map-root-user", "--net")


class RootlessError(NetlabError):
    """A container or a helper that could not start: one line, and a hint."""


# -- the container: a user namespace and a network namespace -----------------------------------------


@dataclass
class Container:
    """A process in a new user namespace (where it is root) and a new network namespace that namespace owns.

    ``pid`` is the target to use: ``netlab.run(c.pid, ...)``, ``nsenter -t PID -n ...``, a capture
    point ``(c.pid, "tap0")``.
    """

    pid: int
    command: str
    proc: subprocess.Popen = field(repr=False)

    def stop(self) -> None:
        """End the process: the namespaces go with it, and the tap device inside."""
        child.end(self.proc)


def container(host: Target = None, *, timeout: float = READY_SECONDS) -> Container:
    """Start a rootless container's namespaces from inside ``host``: ``unshare --user --map-root-user --net``.

    It returns once the process is in its new namespaces (it says so on its stdout).
    """
    argv = [*CONTAINER, "sh", "-c", "echo ready; exec sleep infinity"]
    proc = enter.popen(host, argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    said = child.line_within(proc, proc.stdout, timeout)
    if said.strip() != b"ready":
        complaint = child.last_line(proc.stderr.read() if proc.stderr and proc.poll() is not None else b"")
        child.end(proc)
        raise RootlessError(
            _("could not make a user and a network namespace: {said}").format(said=complaint or _("no answer")),
            hint=_("unprivileged user namespaces may be off here: cat /proc/sys/user/max_user_namespaces"),
            subject=argv,
        )
    proc.stdout.close()
    return Container(proc.pid, shlex.join([*CONTAINER, "sleep", "infinity"]), proc)


# -- the helpers ---------------------------------------------------------------------------------------


@dataclass
class Helper:
    """A running slirp4netns or pasta: its pid, the container it serves, the tap it made there."""

    tool: str
    pid: int
    container: int
    ifname: str
    command: str
    proc: subprocess.Popen = field(repr=False)
    exit_fd: int | None = field(default=None, repr=False)  # slirp4netns ends when this is closed

    def running(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        """Stop it by pid (slirp4netns: close its exit fd; pasta: SIGTERM), then be sure it is gone."""
        if self.exit_fd is not None:
            fd, self.exit_fd = self.exit_fd, None
            os.close(fd)
            try:
                self.proc.wait(timeout=child.STOP_SECONDS)
            except subprocess.TimeoutExpired:
                pass
        child.end(self.proc)


def slirp4netns(
    target: Container | int,
    *,
    host: Target = None,
    ifname: str = "tap0",
    mtu: int = 65520,
    timeout: float = READY_SECONDS,
) -> Helper:
    """Start slirp4netns in ``host`` for ``target``'s namespaces; return once ``--ready-fd`` says ready.

    The same options as rootless Podman's: ``--configure --mtu=65520 --disable-host-loopback``.
    """
    pid = _container_pid(target, host)
    check_ifname(ifname)
    _check_mtu(mtu, 68, 65521)
    ready_r, ready_w = os.pipe()
    exit_r, exit_w = os.pipe()
    shown = ["slirp4netns", "--configure", f"--mtu={mtu}", "--disable-host-loopback", str(pid), ifname]
    argv = [*shown[:-2], f"--ready-fd={ready_w}", f"--exit-fd={exit_r}", *shown[-2:]]
    try:
        proc, log = _start(host, argv, pass_fds=(ready_w, exit_r))
    except BaseException:
        for fd in (ready_r, ready_w, exit_r, exit_w):
            os.close(fd)
        raise
    os.close(ready_w)
    os.close(exit_r)
    helper = Helper("slirp4netns", proc.pid, pid, ifname, shlex.join(shown), proc, exit_w)
    try:
        said, closed = child.read_within(ready_r, timeout)
    finally:
        os.close(ready_r)
    _ready_or_fail(helper, said.startswith(b"1"), closed, log, timeout)
    return helper


def pasta(
    target: Container | int,
    *,
    host: Target = None,
    mtu: int | None = None,
    timeout: float = READY_SECONDS,
) -> Helper:
    """Start pasta in ``host`` for ``target``'s namespaces; return once it has written its pid.

    As rootless Podman runs it: ``--config-net``, no port forwarding (``-t none -u none -T none -U
    none``), ``--no-map-gw``. pasta writes ``--pid`` only when the namespace is configured, so its pid
    appearing in that file (in a folder of netlab's own) is the readiness signal. (A pipe passed as
    ``/dev/fd/N`` would spare the wait, but a newer pasta closes every descriptor it inherits first.)
    """
    pid = _container_pid(target, host)
    if mtu is not None:
        _check_mtu(mtu, 68, 65520)
    shown = ["pasta", "--foreground", "--quiet", "--config-net", "--no-map-gw"]
    shown += ["-t", "none", "-u", "none", "-T", "none", "-U", "none"]
    shown += [f"--mtu={mtu}"] if mtu is not None else []
    folder = Path(tempfile.mkdtemp(prefix="netlab-pasta-"))
    try:
        pid_file = folder / "pid"
        proc, log = _start(host, [*shown, "--runas", "0", "--pid", str(pid_file), str(pid)], pass_fds=())
        helper = Helper("pasta", proc.pid, pid, "", shlex.join([*shown, str(pid)]), proc)
        try:
            said, closed = child.file_within(pid_file, proc, timeout)
        except BaseException:  # an interrupt while waiting: pasta does not outlive it
            child.end(proc)
            log.close()
            raise
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    _ready_or_fail(helper, said.strip() == str(proc.pid).encode(), closed, log, timeout)
    helper.ifname = _default_ifname(pid)
    return helper


def _start(host: Target, argv: list[str], *, pass_fds: Sequence[int]) -> tuple[subprocess.Popen, IO[bytes]]:
    """``netlab.popen`` the helper in ``host``; its messages go to an unnamed file, read if it fails."""
    log = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller, which closes it
    try:
        proc = enter.popen(host, argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, pass_fds=pass_fds)
    except BaseException:
        log.close()
        raise
    return proc, log


def _ready_or_fail(helper: Helper, ready: bool, closed: bool, log: IO[bytes], timeout: float) -> None:
    """Return if the helper said it is ready; else stop it and raise with its own last words."""
    try:
        if ready and helper.running():
            return
        if closed:  # it gave up: let it finish saying why
            try:
                helper.proc.wait(timeout=child.STOP_SECONDS)
            except subprocess.TimeoutExpired:
                pass
        helper.stop()
        log.seek(0)
        said = child.last_line(log.read())
    finally:
        log.close()
    if closed or ready:
        message = _("{tool} stopped before it was ready: {said}").format(tool=helper.tool, said=said or _("no message"))
    else:
        message = _("{tool} was not ready within {seconds} s").format(tool=helper.tool, seconds=timeout)
    raise RootlessError(
        message,
        hint=_("run its command in a terminal to read all it says: {command}").format(command=helper.command),
        subject=helper.command,
    )


def _container_pid(target: Container | int, host: Target) -> int:
    """The pid of a container whose network namespace is not ``host``'s; refused before anything starts."""
    pid = target.pid if isinstance(target, Container) else target
    if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0 or not Path(f"/proc/{pid}/ns/net").exists():
        raise RootlessError(
            _("no container process with pid {pid}").format(pid=pid),
            hint=_("start one with rootless.container(host) and pass it, or its pid"),
            subject=pid,
        )
    try:
        theirs = os.stat(f"/proc/{pid}/ns/net").st_ino
        ours = enter.call(host, lambda: os.stat("/proc/thread-self/ns/net").st_ino)
    except OSError as exc:
        raise RootlessError(
            _("cannot look at the namespaces of process {pid}: {reason}").format(pid=pid, reason=reason(exc)),
            hint=_("the process may have exited"),
            subject=pid,
        ) from exc
    if theirs == ours:
        raise RootlessError(
            _("process {pid} is in the host's own network namespace, not a container's").format(pid=pid),
            hint=_("a helper serves a network namespace of its own: rootless.container(host)"),
            subject=pid,
        )
    return pid


def _check_mtu(mtu: object, low: int, high: int) -> None:
    if isinstance(mtu, bool) or not isinstance(mtu, int) or not low <= mtu <= high:
        raise RootlessError(
            _("invalid MTU {mtu!r}").format(mtu=mtu),
            hint=_("give a whole number from {low} to {high}").format(low=low, high=high),
            subject=mtu,
        )


def _default_ifname(pid: int) -> str:
    """The interface of the default route inside ``pid``'s namespace (pasta names it as the host's)."""
    out = enter.run(pid, ["ip", "-o", "-4", "route", "show", "default"]).stdout.split()
    return out[out.index("dev") + 1] if "dev" in out else ""
