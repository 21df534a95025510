"""``netlab lab``: JupyterLab inside a private network world, reachable from your browser.

The JupyterLab server, its kernels and its terminals all run inside one ``netlab sandbox``, so
every notebook and every terminal sees the same private world (as in the VM), and nothing they
build touches this machine's network. Stopping the lab ends the world.

The browser is outside that world, and the sandbox's 127.0.0.1 is not this machine's. So the
server listens on a *Unix* socket (a file: files do not belong to a network namespace), and a
small forwarder here relays 127.0.0.1:PORT to it::

    browser -> 127.0.0.1:8888 (this namespace) -> /tmp/netlab-lab-*/jupyter.sock -> JupyterLab (sandbox)

Each lab has a folder of its own, ``/tmp/netlab-lab-*``, removed when the lab stops, however it
stops: the socket, JupyterLab's settings, its Jupyter runtime directory (where the server writes
``jpserver-PID.json``: in a sandbox the server is always PID 2, so two labs cannot share one) and
``lab.json``, the lab's address, which ``netlab lab --list`` reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from netlab.app.terminals import RCFILE, terminado_option, write_rcfile
from netlab.errors import reason
from netlab.plumbing.i18n import _, language, normalize
from netlab.plumbing.process_group import stop_group

__all__ = [
    "RunningLab",
    "find_notebooks",
    "lab_settings",
    "lesson_folder",
    "own_copy",
    "running_labs",
    "serve_lab",
    "terminal_shell",
]

FIRST_NOTEBOOK = "00-start-here.ipynb"
LESSONS_COPY = "netlab-lessons"  # in the learner's home, as the classroom names it
LOCALE_SETTING = "@jupyterlab/translation-extension:plugin"  # JupyterLab's "Language" setting
NOTIFICATION_SETTING = "@jupyterlab/apputils-extension:notification"  # JupyterLab's news and update checks
QUIET = {"fetchNews": "false", "checkForUpdates": False}  # "false": the setting is a string ("true", "false", "none")
FOLDER_PREFIX = "netlab-lab-"  # a lab's own folder, in the temporary directory
RECORD = "lab.json"  # in that folder: what `netlab lab --list` shows


def find_notebooks() -> Path:
    """The lessons ``netlab lab`` serves when no ``--notebooks`` is given.

    From a clone of the repository (an editable install, or ``python -m netlab`` in the clone):
    its top-level ``notebooks/``, where a learner edits them. From an installed package (a wheel,
    the conda route): the learner's own copy of the lessons shipped inside it (see :func:`own_copy`).
    """
    package = Path(__file__).resolve().parents[1]
    checkout = package.parent / "notebooks"
    if (package.parent / "pyproject.toml").is_file() and (checkout / FIRST_NOTEBOOK).is_file():
        return checkout
    installed = package / "notebooks"
    if (installed / FIRST_NOTEBOOK).is_file():
        return own_copy(installed, Path.home() / LESSONS_COPY)
    missing = _("netlab: cannot find the notebooks ({checkout} or {installed})\n  hint: netlab lab --notebooks FOLDER")
    raise SystemExit(missing.format(checkout=checkout, installed=installed))


def own_copy(shipped: Path, copy: Path) -> Path:
    """The learner's copy of the ``shipped`` lessons at ``copy`` (``~/netlab-lessons``), made at first start.

    A learner edits and saves notebooks; the copy inside an installed package is not theirs to
    change (and root may own it). Later starts keep every file the learner has, and only add lessons
    a newer netlab ships. Without a writable home, the shipped copy is served as it is.
    """
    try:
        if not copy.exists():
            # Copy beside it, then rename: two labs started at once never see half a copy.
            partial = Path(tempfile.mkdtemp(prefix=f".{copy.name}-", dir=copy.parent))
            shutil.copytree(shipped, partial, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
            try:
                partial.rename(copy)
            except OSError:  # the other lab won the race: its copy is as good as ours
                shutil.rmtree(partial, ignore_errors=True)
            else:
                print(
                    _("netlab: your own copy of the lessons is in {copy} (delete it to start afresh)").format(copy=copy)
                )
            return copy
        for lesson in shipped.rglob("*.ipynb"):
            mine = copy / lesson.relative_to(shipped)
            if not mine.exists() and ".ipynb_checkpoints" not in mine.parts:
                mine.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(lesson, mine)
        return copy
    except OSError:
        return shipped


def terminal_shell() -> str:
    """The shell JupyterLab's terminals run: the learner's ``$SHELL``, else bash, the article's shell.

    A lab started by systemd, cron or a CI runner has no ``$SHELL``; JupyterLab would then open
    ``sh``, whose bare ``#`` prompt and missing history are not what the article shows.
    """
    shell = os.environ.get("SHELL", "")
    if shell and os.access(shell, os.X_OK):
        return shell
    return shutil.which("bash") or shutil.which("sh") or "/bin/sh"


def lesson_folder(notebooks: Path, lang: str) -> Path:
    """The lessons in ``lang``: ``notebooks/zh-CN`` for ``zh_CN`` when it exists, else ``notebooks`` (English)."""
    folder = notebooks / lang.replace("_", "-")
    return folder if lang != "en" and folder.is_dir() else notebooks


def lab_settings(lang: str, workdir: Path) -> Path:
    """An application settings folder for JupyterLab whose interface speaks ``lang``.

    JupyterLab's supported way to change a setting's default for every user is an ``overrides.json``
    in its application settings folder (``jupyter lab path``; ``--LabApp.app_settings_dir``). We copy
    the installed one (if any) and set the language there, so this lab's choice changes nothing for
    other Jupyter servers. A language the learner picks in Settings > Language still wins. The same
    file turns off the "receive official Jupyter news?" question (:data:`QUIET`), whose toast covers
    the lower terminal of a lesson's layout in every fresh workspace.
    """
    lab_dir = Path(os.environ.get("JUPYTERLAB_DIR") or Path(sys.prefix, "share", "jupyter", "lab"))
    installed = Path(os.environ.get("JUPYTERLAB_SETTINGS_DIR") or lab_dir / "settings")
    settings = workdir / "lab-settings"
    if installed.is_dir():
        shutil.copytree(installed, settings)
    settings.mkdir(parents=True, exist_ok=True)
    path = settings / "overrides.json"
    overrides = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    overrides.setdefault(LOCALE_SETTING, {})["locale"] = lang
    for name, value in QUIET.items():  # no toast over the lesson's terminals; the lab may be offline
        overrides.setdefault(NOTIFICATION_SETTING, {}).setdefault(name, value)
    path.write_text(json.dumps(overrides, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return settings


@dataclass(frozen=True)
class RunningLab:
    """A ``netlab lab`` that is running: the address it printed, what it serves, its folder."""

    url: str
    notebooks: Path
    pid: int  # of `netlab lab`, in its own PID namespace
    folder: Path  # /tmp/netlab-lab-*

    @property
    def runtime(self) -> Path:
        """Its own Jupyter runtime directory: ``JUPYTER_RUNTIME_DIR=... jupyter server list`` shows its server."""
        return self.folder / "runtime"

    def __str__(self) -> str:
        return _("{url}\n  serving {notebooks} (pid {pid})").format(
            url=self.url, notebooks=self.notebooks, pid=self.pid
        )


def _record(folder: Path, url: str, notebooks: Path) -> None:
    """Write the lab's ``lab.json`` (whole or not at all: a rename), for ``netlab lab --list``."""
    data = {"url": url, "notebooks": str(notebooks), "pid": os.getpid(), "pidns": os.readlink("/proc/self/ns/pid")}
    partial = folder / f".{RECORD}"
    partial.write_text(json.dumps(data, ensure_ascii=False) + "\n", encoding="utf-8")
    partial.rename(folder / RECORD)


def running_labs() -> list[RunningLab]:
    """Every lab of yours running now, oldest first (``netlab lab --list``).

    Each lab writes down its address in its own folder, and the folder goes when the lab ends; so
    the records found are the labs running. One whose process is gone (seen from its own PID
    namespace) is left out.
    """
    found = []
    for record in Path(tempfile.gettempdir()).glob(f"{FOLDER_PREFIX}*/{RECORD}"):
        try:
            if record.parent.stat().st_uid != os.getuid():
                continue
            data = json.loads(record.read_text(encoding="utf-8"))
            lab = RunningLab(data["url"], Path(data["notebooks"]), int(data["pid"]), record.parent)
            gone = data["pidns"] == os.readlink("/proc/self/ns/pid") and not Path(f"/proc/{lab.pid}").exists()
            if not gone:
                found.append((record.stat().st_mtime, lab))
        except (OSError, ValueError, KeyError, TypeError):
            continue  # a lab ending while we read
    return [lab for _started, lab in sorted(found, key=lambda pair: pair[0])]


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


# Waits for end-of-file on its stdin, which comes when every process holding the other end has
# ended (this one, even killed by SIGKILL), then removes the lab's folder and its socket.
_JANITOR = "import shutil, sys; sys.stdin.buffer.read(); shutil.rmtree(sys.argv[1], ignore_errors=True)"


def _remove_when_gone(workdir: Path) -> None:
    """Remove ``workdir`` when this process ends, however it ends (``finally`` does not run on SIGKILL)."""
    read_end, write_end = os.pipe()
    subprocess.Popen(
        [sys.executable, "-c", _JANITOR, str(workdir)],
        stdin=read_end,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # not in our process group: a kill of the group spares it
    )
    os.close(read_end)
    os.set_inheritable(write_end, False)  # only this process holds it (os.pipe fds are not inherited)
    _janitor_pipes.append(write_end)


_janitor_pipes: list[int] = []


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _wait_for_socket(socket_path: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not socket_path.exists():
        if proc.poll() is not None:
            failed = _("netlab: JupyterLab exited with status {status} before it was ready")
            raise SystemExit(failed.format(status=proc.returncode))
        if time.monotonic() > deadline:
            raise SystemExit(_("netlab: JupyterLab did not start in time"))
        time.sleep(0.2)


def _listen(host: str, port: int) -> socket.socket:
    """Take the browser's port now, so the URL we print answers from the moment it is shown."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as exc:
        listener.close()
        busy = _(
            "netlab: cannot listen on {host}:{port}: {reason} (another lab or Jupyter is running?)\n"
            "  hint: stop it, or pick another port: netlab lab --port {next}"
        )
        raise SystemExit(busy.format(host=host, port=port, reason=reason(exc), next=port + 1)) from None
    listener.listen()
    return listener


def serve_lab(
    *,
    notebooks: Path,
    port: int = 8888,
    host: str = "127.0.0.1",
    token: str | None = None,
    host_network: bool = False,
    lang: str | None = None,
    lesson: str | None = None,
) -> int:
    """Run JupyterLab on ``notebooks``; print its URL; return its exit status when it stops.

    ``lang`` (``zh-CN``; default: the learner's language, see :mod:`netlab.plumbing.i18n`) picks the lessons'
    folder (``notebooks/zh-CN``), JupyterLab's interface language and netlab's messages in the kernels.
    ``lesson`` (``04``) opens that lesson with its notebook and two terminals side by side (see
    :mod:`netlab.app.workspace`).
    """
    lang = normalize(lang) if lang else language()
    os.environ["NETLAB_LANG"] = lang  # this process's own messages too
    from netlab.sandbox import POD_MODE_ENV

    if os.environ.get(POD_MODE_ENV) == "1":
        host_network = True  # a pod is already a private world: the server runs in its network, kernels in their own
    notebooks = lesson_folder(notebooks, lang)
    listener = _listen(host, port)
    token = token or secrets.token_urlsafe(32)
    env, common, workdir = _jupyter_setup(notebooks, token, lang)
    url = f"http://{host}:{port}/lab/tree/{FIRST_NOTEBOOK}?token={token}"
    if lesson:
        from netlab.app.workspace import lesson_workspace

        where = lesson_workspace(notebooks, lesson, workdir / "workspaces")
        common.append(f"--LabApp.workspaces_dir={workdir / 'workspaces'}")
        url = f"http://{host}:{port}{where}?token={token}"
    if host_network:
        listener.close()
        return _serve_in_host_network(common, env, workdir, url=url, notebooks=notebooks, host=host, port=port)
    return _serve_in_sandbox(common, env, workdir, listener, url=url, notebooks=notebooks)


def _jupyter_setup(notebooks: Path, token: str, lang: str) -> tuple[dict[str, str], list[str], Path]:
    """The lab's environment, its ``jupyter lab`` arguments, and its own folder (removed when it ends)."""
    # Kernels and terminals find `netlab`, `jupyter` and friends even when the venv is not activated.
    bin_dir = str(Path(sys.executable).parent)
    env = dict(os.environ, JUPYTER_TOKEN=token, PATH=os.pathsep.join([bin_dir, os.environ.get("PATH", "")]))
    env["SHELL"] = terminal_shell()
    workdir = Path(tempfile.mkdtemp(prefix=FOLDER_PREFIX))
    _remove_when_gone(workdir)
    env["JUPYTER_RUNTIME_DIR"] = str(workdir / "runtime")  # this lab's own: see the module's docstring
    settings = lab_settings(lang, workdir)
    common = ["lab", "--no-browser", "--allow-root", f"--ServerApp.root_dir={notebooks}"]
    common.append(f"--LabApp.app_settings_dir={settings}")
    # Terminals are login shells, whose /etc/profile resets PATH: see netlab.app.terminals.
    rcfile = write_rcfile(workdir / RCFILE, Path(bin_dir))
    common.append(terminado_option(env["SHELL"], rcfile))
    return env, common, workdir


def _serve_in_host_network(
    common: list[str], env: dict[str, str], workdir: Path, *, url: str, notebooks: Path, host: str, port: int
) -> int:
    """The VM's way: the lab's root namespace is this machine's, and JupyterLab takes the port itself."""
    jupyter = str(Path(sys.executable).with_name("jupyter"))
    _record(workdir, url, notebooks)
    starting = _("netlab: starting JupyterLab in this machine's own network namespace\n  {url}")
    print(starting.format(url=url), flush=True)
    try:
        return subprocess.call([jupyter, *common, f"--ip={host}", f"--port={port}"], env=env)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _serve_in_sandbox(
    common: list[str], env: dict[str, str], workdir: Path, listener: socket.socket, *, url: str, notebooks: Path
) -> int:
    """JupyterLab in a sandbox on a Unix socket; this process forwards the TCP port to it until Ctrl-C."""
    jupyter = str(Path(sys.executable).with_name("jupyter"))
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
        _record(workdir, url, notebooks)
        running = _(
            "netlab: the lab is running in a private network world (netlab sandbox).\n"
            "  open {url}\n  stop it with Ctrl-C"
        )
        print(running.format(url=url), flush=True)
        asyncio.run(_forward(listener, socket_path, proc))
    except KeyboardInterrupt:
        pass
    finally:
        stop_group(proc, grace=20)
        listener.close()
        shutil.rmtree(workdir, ignore_errors=True)
    return proc.returncode or 0
