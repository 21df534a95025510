"""``netlab lab``: JupyterLab inside a private network world, reachable from your browser.

The JupyterLab server, its kernels and its terminals all run inside one ``netlab sandbox``, so
every notebook and every terminal sees the same private world (as in the VM), and nothing they
build touches this machine's network. Stopping the lab ends the world.

The browser is outside that world, and the sandbox's 127.0.0.1 is not this machine's. So the
server listens on a *Unix* socket (a file: files do not belong to a network namespace), and a
small forwarder here relays 127.0.0.1:PORT to it::

    browser -> 127.0.0.1:8888 (this namespace) -> /tmp/netlab-lab-*/jupyter.sock -> JupyterLab (sandbox)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["serve_lab"]

FIRST_NOTEBOOK = "00-start-here.ipynb"


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def _forward(listener: socket.socket, socket_path: Path, server_proc: subprocess.Popen) -> None:
    async def relay(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_unix_connection(str(socket_path))
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(_pipe(client_reader, upstream_writer), _pipe(upstream_reader, client_writer))

    server = await asyncio.start_server(relay, sock=listener)
    async with server:
        while server_proc.poll() is None:
            await asyncio.sleep(0.5)


def _die_with_parent() -> None:
    """In the child, before exec: if netlab lab dies (even by SIGKILL), the sandbox gets SIGTERM."""
    import ctypes

    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _wait_for_socket(socket_path: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not socket_path.exists():
        if proc.poll() is not None:
            raise SystemExit(f"netlab: JupyterLab exited with status {proc.returncode} before it was ready")
        if time.monotonic() > deadline:
            raise SystemExit("netlab: JupyterLab did not start in time")
        time.sleep(0.2)


def _listen(host: str, port: int) -> socket.socket:
    """Take the browser's port now, so the URL we print answers from the moment it is shown."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as exc:
        listener.close()
        raise SystemExit(
            f"netlab: cannot listen on {host}:{port}: {exc.strerror} "
            f"(another lab or Jupyter is running?)\n  hint: stop it, or pick another port: "
            f"netlab lab --port {port + 1}"
        ) from None
    listener.listen()
    return listener


def serve_lab(
    *, notebooks: Path, port: int = 8888, host: str = "127.0.0.1", token: str | None = None, host_network: bool = False
) -> int:
    """Run JupyterLab on ``notebooks``; print its URL; return its exit status when it stops."""
    listener = _listen(host, port)
    token = token or secrets.token_urlsafe(32)
    jupyter = str(Path(sys.executable).with_name("jupyter"))
    # Kernels and terminals find `netlab`, `jupyter` and friends even when the venv is not activated.
    bin_dir = str(Path(sys.executable).parent)
    env = dict(os.environ, JUPYTER_TOKEN=token, PATH=os.pathsep.join([bin_dir, os.environ.get("PATH", "")]))
    common = ["lab", "--no-browser", "--allow-root", f"--ServerApp.root_dir={notebooks}"]
    url = f"http://{host}:{port}/lab/tree/{FIRST_NOTEBOOK}?token={token}"
    if host_network:
        # The VM's way: the lab's root namespace is this machine's, and JupyterLab takes the port itself.
        listener.close()
        print(f"netlab: starting JupyterLab in this machine's own network namespace\n  {url}", flush=True)
        return subprocess.call([jupyter, *common, f"--ip={host}", f"--port={port}"], env=env)

    workdir = Path(tempfile.mkdtemp(prefix="netlab-lab-"))
    socket_path = workdir / "jupyter.sock"
    netlab_cmd = str(Path(sys.executable).with_name("netlab"))
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    proc = subprocess.Popen(
        [netlab_cmd, "sandbox", "--", jupyter, *common, f"--ServerApp.sock={socket_path}"],
        env=env,
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )
    try:
        _wait_for_socket(socket_path, proc)
        print(
            f"netlab: the lab is running in a private network world (netlab sandbox).\n"
            f"  open {url}\n  stop it with Ctrl-C",
            flush=True,
        )
        asyncio.run(_forward(listener, socket_path, proc))
    except KeyboardInterrupt:
        pass
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        listener.close()
        shutil.rmtree(workdir, ignore_errors=True)
    return proc.returncode or 0
