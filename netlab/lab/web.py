"""The outside world of lesson 07: a web server in a namespace, a connection to it, a download through a path.

How fast is a rootless container's network? One file, served from the "internet" namespace, is
downloaded through each path a container may take (a veth pair, slirp4netns, pasta), and the paths
are put side by side: rate, share of the fastest, and the CPU time the path's helper spent copying.
By hand::

    ip netns exec internet python3 -m http.server --bind 203.0.113.1 8000 &
    nsenter -t PID -n curl -o /dev/null -w '%{speed_download}\n' http://203.0.113.1:8000/32M.bin
"""

from __future__ import annotations

import atexit
import http.client
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from netlab import enter
from netlab.errors import NetlabError, reason
from netlab.plumbing import child
from netlab.plumbing.i18n import _
from netlab.targets import Target

if TYPE_CHECKING:
    from netlab.lab.rootless import Helper

__all__ = ["MIB", "Server", "Transfer", "WebError", "connect", "serve", "table", "throughput"]

READY_SECONDS = 10  # a server that is not listening by then never will be
MIB = 1 << 20


class WebError(NetlabError):
    """A server, connection or transfer that could not start or finish: one line, and a hint."""


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
        child.end(self.proc)
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

    ``python3 -m netlab.lab.web ADDRESS PORT FOLDER``, started with ``netlab.popen``: Python's
    ``http.server`` (``python3 -m http.server``), whose handler sends the file with ``sendfile(2)``, as
    nginx does, so that the server's own copying is not what limits a transfer. It returns once the
    server says it is listening.
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise WebError(
            _("invalid file size {size!r}").format(size=size),
            hint=_("give a number of bytes, e.g. 32 * 2**20"),
            subject=size,
        )
    folder = Path(tempfile.mkdtemp(prefix="netlab-www-"))
    _folders.append(folder)
    name = f"{size // MIB}M.bin" if size % MIB == 0 and size else f"{size}.bin"
    with open(folder / name, "wb") as file:
        file.truncate(size)
    shown = ["python3", "-m", "netlab.lab.web", address, str(port), str(folder)]
    argv = [sys.executable, "-u", *shown[1:]]
    with tempfile.TemporaryFile() as log:  # the request log goes here, never to a pipe nobody reads
        proc = enter.popen(target, argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log)
        assert proc.stdout is not None
        said = child.line_within(proc, proc.stdout, timeout)
        if not said.startswith(b"Serving HTTP"):
            child.end(proc)
            log.seek(0)
            complaint = child.last_line(log.read())
    if not said.startswith(b"Serving HTTP"):
        shutil.rmtree(folder, ignore_errors=True)
        raise WebError(
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
        raise WebError(
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
        raise WebError(_("not an http:// URL: {url!r}").format(url=url), hint=_("use the server's url"), subject=url)
    cpu_before = _cpu_seconds(helper.pid) if helper is not None else None
    try:
        got, seconds = enter.call(target, _download, parts, timeout)
    except (OSError, http.client.HTTPException) as exc:
        said = reason(exc) if isinstance(exc, OSError) and exc.errno else (str(exc) or type(exc).__name__)
        raise WebError(
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
