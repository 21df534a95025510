"""Start ``netlab lab`` the way the README does, read the URL it prints, and stop it with everything it started.

Shared by the tests of the learner's set-up (``test_setup.py``) and of the lab in a real browser
(``test_browser.py``)::

    with netlab_lab(notebooks) as lab:       # netlab lab --notebooks DIR --port FREE_PORT
        lab.url                               # http://127.0.0.1:PORT/lab/tree/00-start-here.ipynb?token=...
        http_status(f"{lab.base}/api/status?token={lab.token}")   # 200
    # here the server, its sandbox, its kernels and its /tmp/netlab-lab-* directory are gone
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from netlab.plumbing.process_group import stop_group

VENV = Path(sys.executable).parent.parent
NETLAB = str(VENV / "bin/netlab")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_status(url: str, *, method: str = "GET") -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


def wait_for_url(url: str, proc: subprocess.Popen, seconds: float = 90) -> None:
    """Wait until something answers at ``url`` (any HTTP status), failing early if ``proc`` died."""
    deadline = time.monotonic() + seconds
    while True:
        assert proc.poll() is None, f"server exited with {proc.returncode}"
        try:
            http_status(url)
            return
        except (urllib.error.URLError, ConnectionError, OSError):
            assert time.monotonic() < deadline, "server did not answer"
            time.sleep(0.3)


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM the process group of ``proc`` (started with ``start_new_session``), SIGKILL if it lingers."""
    stop_group(proc, grace=30)
    if proc.stdout:
        proc.stdout.close()


def cmdline(proc: Path) -> bytes:
    try:
        return (proc / "cmdline").read_bytes()
    except OSError:
        return b""


def _children_of(pid: int) -> list[Path]:
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == str(pid):
            kids.append(stat.parent)
    return kids


@dataclass
class RunningLab:
    """A ``netlab lab`` that printed its URL."""

    proc: subprocess.Popen
    url: str  # exactly what it printed after "open"
    base: str  # http://127.0.0.1:PORT
    token: str
    server: Path  # /proc/PID of the JupyterLab server (inside its sandbox)
    workdir: Path  # /tmp/netlab-lab-*: the server's Unix socket lives here
    notebooks: Path | None  # the folder it was asked to serve (None: its own lessons)
    root: Path  # the folder JupyterLab serves: ``notebooks``, or its ``zh-CN`` with ``--lang zh-CN``

    def url_for(self, path: str) -> str:
        """The printed URL, opening ``path`` (relative to the notebooks folder) instead of the first notebook."""
        first = self.url.split("/lab/tree/", 1)[1].split("?", 1)[0]
        return self.url.replace(f"/lab/tree/{first}?", f"/lab/tree/{urllib.parse.quote(path)}?", 1)

    def api(self, path: str, *, method: str = "GET") -> object:
        """Call the Jupyter server's REST API with the token; return the decoded JSON (None if empty)."""
        request = urllib.request.Request(
            f"{self.base}/api/{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None


@contextlib.contextmanager
def netlab_lab(
    notebooks: Path | None,
    *,
    port: int | None = None,
    env: dict[str, str] | None = None,
    command: str = NETLAB,
    cwd: Path | None = None,
    args: tuple[str, ...] = (),
) -> Iterator[RunningLab]:
    """Run ``netlab lab --notebooks NOTEBOOKS --port PORT`` (the README's command) until the block ends.

    ``notebooks=None`` leaves ``--notebooks`` out (netlab finds its own lessons); ``command`` is the
    ``netlab`` to run (another installation's), ``cwd`` where to run it; ``args`` more options
    (``("--lesson", "04")``, ``("--lang", "zh-CN")``: then ``root`` is ``NOTEBOOKS/zh-CN``).
    """
    port = port or free_port()
    where = ["--notebooks", str(notebooks)] if notebooks is not None else []
    proc = subprocess.Popen(
        [command, "lab", *where, "--port", str(port), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
        env=env,
        cwd=cwd,
    )
    assert proc.stdout is not None
    try:
        line = ""
        while "token=" not in line:
            line = proc.stdout.readline()
            assert line, f"netlab lab printed no URL (exit status {proc.poll()})"
        url = line.split()[-1]
        token = url.split("token=", 1)[1]
        # The JupyterLab server is the child of netlab lab (`netlab sandbox` execs it); its socket names the workdir.
        server = next(p for p in _children_of(proc.pid) if b"--ServerApp.sock=" in cmdline(p))
        sock = next(arg for arg in cmdline(server).split(b"\0") if arg.startswith(b"--ServerApp.sock="))
        workdir = Path(os.fsdecode(sock.split(b"=", 1)[1])).parent
        root_dir = next(arg for arg in cmdline(server).split(b"\0") if arg.startswith(b"--ServerApp.root_dir="))
        yield RunningLab(
            proc=proc,
            url=url,
            base=f"http://127.0.0.1:{port}",
            token=token,
            server=server,
            workdir=workdir,
            notebooks=notebooks,
            root=Path(os.fsdecode(root_dir.split(b"=", 1)[1])),
        )
    finally:
        stop(proc)
