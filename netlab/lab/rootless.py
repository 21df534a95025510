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

import atexit
import http.client
import os
import select
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from netlab import enter
from netlab.errors import NetlabError, reason
from netlab.names import check_ifname
from netlab.plumbing.i18n import _
from netlab.targets import Target

__all__ = [
    "Container",
    "Helper",
    "RootlessError",
    "Server",
    "Transfer",
    "connect",
    "container",
    "pasta",
    "serve",
    "slirp4netns",
    "table",
    "throughput",
]

READY_SECONDS = 10  # a helper, a container or a server that is not ready by then never will be
STOP_SECONDS = 5
MIB = 1 << 20
CONTAINER = ("unshare", "--user", "--map-root-user", "--net")


class RootlessError(NetlabError):
    """A container, helper, server or transfer that could not start or finish: one line, and a hint."""


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
        _end(self.proc)


def container(host: Target = None, *, timeout: float = READY_SECONDS) -> Container:
    """Start a rootless container's namespaces from inside ``host``: ``unshare --user --map-root-user --net``.

    It returns once the process is in its new namespaces (it says so on its stdout).
    """
    argv = [*CONTAINER, "sh", "-c", "echo ready; exec sleep infinity"]
    proc = enter.popen(host, argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    said = _line_within(proc, proc.stdout, timeout)
    if said.strip() != b"ready":
        complaint = _last_line(proc.stderr.read() if proc.stderr and proc.poll() is not None else b"")
        _end(proc)
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
                self.proc.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                pass
        _end(self.proc)


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
        said, closed = _read_within(ready_r, timeout)
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
            said, closed = _file_within(pid_file, proc, timeout)
        except BaseException:  # an interrupt while waiting: pasta does not outlive it
            _end(proc)
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
                helper.proc.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                pass
        helper.stop()
        log.seek(0)
        said = _last_line(log.read())
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


# -- waiting, and ending a process -----------------------------------------------------------------------


def _read_within(fd: int, timeout: float) -> tuple[bytes, bool]:
    """What arrives on ``fd`` within ``timeout``, until a line (or slirp4netns's ``1``); and whether it closed.

    The helper holds the only write end: if it dies, ``fd`` reads as closed at once.
    """
    got = b""
    deadline = time.monotonic() + timeout
    while b"\n" not in got and not got.startswith(b"1"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return got, False
        chunk = os.read(fd, 64)
        if not chunk:
            return got, True
        got += chunk
    return got, False


def _file_within(path: Path, proc: subprocess.Popen, timeout: float) -> tuple[bytes, bool]:
    """The line written to ``path`` within ``timeout``; and whether ``proc`` ended first.

    Looked at every 20 ms: the answer is the file's line or the process's end, whichever comes first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            said = path.read_bytes()
        except FileNotFoundError:
            said = b""
        if said.endswith(b"\n"):
            return said, False
        if proc.poll() is not None:
            return said, True
        if time.monotonic() >= deadline:
            return said, False
        time.sleep(0.02)


def _line_within(proc: subprocess.Popen, stream: IO[bytes], timeout: float) -> bytes:
    if not select.select([stream], [], [], timeout)[0]:
        return b""
    return stream.readline()


def _end(proc: subprocess.Popen) -> None:
    """Stop ``proc`` by its pid and reap it; a Ctrl-C while waiting still leaves nothing running."""
    if proc.poll() is not None:
        return
    try:
        proc.terminate()
        proc.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    except BaseException:
        proc.kill()
        proc.wait()
        raise


def _last_line(text: bytes) -> str:
    """A program's last line worth reading (pasta's "Failed to send ... to syslog" is not one)."""
    lines = [line.strip() for line in text.decode(errors="replace").splitlines()]
    lines = [line for line in lines if line and "to syslog" not in line]
    return lines[-1] if lines else ""


# -- the outside: a web server, and a transfer through each path -----------------------------------------


@dataclass
class Server:
    """``python -m http.server`` in a namespace, serving a folder with one file of ``size`` bytes."""

    url: str  # the file's URL
    command: str
    folder: Path
    proc: subprocess.Popen = field(repr=False)

    @property
    def base(self) -> str:
        return self.url.rsplit("/", 1)[0] + "/"

    def stop(self) -> None:
        _end(self.proc)
        shutil.rmtree(self.folder, ignore_errors=True)


_folders: list[Path] = []


@atexit.register
def _remove_folders() -> None:
    for folder in _folders:
        shutil.rmtree(folder, ignore_errors=True)


def serve(
    target: Target, address: str, *, port: int = 8000, size: int = 32 * MIB, timeout: float = READY_SECONDS
) -> Server:
    """Serve a file of ``size`` bytes (sparse: it takes no disk) over HTTP from ``address`` in ``target``.

    ``python3 -m netlab.lab.rootless ADDRESS PORT FOLDER``, started with ``netlab.popen``: Python's
    ``http.server`` (``python3 -m http.server``), whose handler sends the file with ``sendfile(2)``, as
    nginx does, so that the server's own copying is not what limits a transfer. It returns once the
    server says it is listening.
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise RootlessError(
            _("invalid file size {size!r}").format(size=size),
            hint=_("give a number of bytes, e.g. 32 * 2**20"),
            subject=size,
        )
    folder = Path(tempfile.mkdtemp(prefix="netlab-www-"))
    _folders.append(folder)
    name = f"{size // MIB}M.bin" if size % MIB == 0 and size else f"{size}.bin"
    with open(folder / name, "wb") as file:
        file.truncate(size)
    shown = ["python3", "-m", "netlab.lab.rootless", address, str(port), str(folder)]
    argv = [sys.executable, "-u", *shown[1:]]
    with tempfile.TemporaryFile() as log:  # the request log goes here, never to a pipe nobody reads
        proc = enter.popen(target, argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log)
        assert proc.stdout is not None
        said = _line_within(proc, proc.stdout, timeout)
        if not said.startswith(b"Serving HTTP"):
            _end(proc)
            log.seek(0)
            complaint = _last_line(log.read())
    if not said.startswith(b"Serving HTTP"):
        shutil.rmtree(folder, ignore_errors=True)
        raise RootlessError(
            _("the web server did not start on {address} port {port}: {said}").format(
                address=address, port=port, said=complaint or _("no answer")
            ),
            hint=_("does the namespace have that address, and is the port free? ip -br addr; ss -tln"),
            subject=shown,
        )
    host = f"[{address}]" if ":" in address else address
    return Server(f"http://{host}:{port}/{name}", shlex.join(shown), folder, proc)


def connect(target: Target, address: str, port: int, *, timeout: float = 5) -> socket.socket:
    """A TCP connection from ``target``'s namespace, left open (to look at it with ``ss``); close it yourself."""
    try:
        return enter.call(target, socket.create_connection, (address, port), timeout)
    except OSError as exc:
        raise RootlessError(
            _("no connection to {address} port {port}: {reason}").format(
                address=address, port=port, reason=reason(exc)
            ),
            hint=_("is the path's helper running, and the server? ss -tln in the server's namespace"),
            subject=(address, port),
        ) from exc


@dataclass(frozen=True)
class Transfer:
    """One download: how many bytes, in how many seconds, and the path it took."""

    through: str
    bytes: int
    seconds: float
    helper_cpu: float | None = None  # CPU seconds the path's helper used meanwhile (None: no helper)

    @property
    def rate(self) -> float:
        """Bytes per second."""
        return self.bytes / self.seconds if self.seconds > 0 else 0.0

    def __str__(self) -> str:
        text = _("{through}: {mb:.0f} MB in {seconds:.2f} s, {rate:.0f} MB/s").format(
            through=self.through, mb=self.bytes / 1e6, seconds=self.seconds, rate=self.rate / 1e6
        )
        if self.helper_cpu is not None:
            text += _("; the helper used {cpu:.2f} s of CPU").format(cpu=self.helper_cpu)
        return text


def throughput(
    target: Target, url: str, *, through: str = "", helper: Helper | None = None, timeout: float = 30
) -> Transfer:
    """Download ``url`` once from inside ``target``'s namespace; the bytes and the seconds it took.

    A Python HTTP client in netlab's worker thread, entered into the namespace (``netlab.call``): the
    clock runs from the connection's start to the last byte; nothing is written to disk. With
    ``helper``, also the CPU time that helper used meanwhile (``/proc/PID/stat``: user + system).
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise RootlessError(
            _("not an http:// URL: {url!r}").format(url=url), hint=_("use the server's url"), subject=url
        )
    cpu_before = _cpu_seconds(helper.pid) if helper is not None else None
    try:
        got, seconds = enter.call(target, _download, parts, timeout)
    except (OSError, http.client.HTTPException) as exc:
        said = reason(exc) if isinstance(exc, OSError) and exc.errno else (str(exc) or type(exc).__name__)
        raise RootlessError(
            _("the transfer of {url} from {target} failed: {reason}").format(url=url, target=target, reason=said),
            hint=_("is the path's helper running, and the server? ss -tln in the server's namespace"),
            subject=url,
        ) from exc
    cpu = None
    if helper is not None and cpu_before is not None and (cpu_after := _cpu_seconds(helper.pid)) is not None:
        cpu = cpu_after - cpu_before
    return Transfer(through or str(target), got, seconds, cpu)


def _cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of process ``pid`` so far (fields 14 and 15 of ``/proc/PID/stat``)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after the command's name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _download(parts: urllib.parse.SplitResult, timeout: float) -> tuple[int, float]:
    buffer = memoryview(bytearray(MIB))
    start = time.perf_counter()
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port or 80, timeout=timeout)
    try:
        conn.request("GET", parts.path or "/")
        response = conn.getresponse()
        if response.status != 200:
            raise http.client.HTTPException(f"HTTP {response.status} {response.reason}")
        got = 0
        while count := response.readinto(buffer):
            got += count
    finally:
        conn.close()
    return got, time.perf_counter() - start


def table(transfers: Iterable[Transfer]) -> str:
    """The paths side by side, fastest first: rate, share of the fastest one's rate, the helper's CPU time.

    Of several transfers through one path, the fastest counts: the one the rest of the machine
    disturbed least.
    """
    best_of: dict[str, Transfer] = {}
    for t in transfers:
        if t.through not in best_of or t.rate > best_of[t.through].rate:
            best_of[t.through] = t
    rows = sorted(best_of.values(), key=lambda t: t.rate, reverse=True)
    if not rows:
        return ""
    best = rows[0].rate or 1.0
    width = max(len(t.through) for t in rows)
    lines = []
    for t in rows:
        bar = "█" * max(1, round(30 * t.rate / best))
        cpu = f"{t.helper_cpu:5.2f} s" if t.helper_cpu is not None else "     -"
        lines.append(f"{t.through:<{width}}  {t.rate / 1e6:6.0f} MB/s  {100 * t.rate / best:4.0f} %  {cpu}  {bar}")
    return "\n".join(lines)


# -- the server's process ----------------------------------------------------------------------------------


def _serve_forever(address: str, port: int, folder: str) -> None:
    """``python3 -m http.server --bind ADDRESS --directory FOLDER PORT``, with the file sent by the kernel."""
    import functools
    import http.server

    class Handler(http.server.SimpleHTTPRequestHandler):
        def copyfile(self, source, outputfile):
            outputfile.flush()
            self.connection.sendfile(source)

        def log_message(self, format, *args):
            pass

    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    server_class = type("Server", (http.server.ThreadingHTTPServer,), {"address_family": family})
    with server_class((address, port), functools.partial(Handler, directory=folder)) as server:
        print(f"Serving HTTP on {address} port {port}", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    _serve_forever(sys.argv[1], int(sys.argv[2]), sys.argv[3])
