"""A Jupyter kernel with a private network world of its own: the ``netlab`` kernelspec.

``netlab lab`` puts a whole JupyterLab server in one sandbox. A classroom server (JupyterHub) cannot
do that: the hub must reach each student's server over the network. So here the *kernel* moves
instead. The kernelspec "Python 3 (netlab sandbox)" starts every kernel like this::

    jupyter server ──(ZMQ over Unix socket files)──> python -m netlab.app.kernelspec -f kernel-XYZ.json
                                                        │  netlab sandbox: new net, mount + PID namespace
                                                        └─> netlab-init (PID 1 in there)
                                                             └─> python -m ipykernel_launcher -f kernel-XYZ.json

Each kernel, and each *restart* of a kernel, gets a fresh, empty network world: ``ip netns add
netns1`` in one notebook cannot collide with ``netns1`` in a neighbour's notebook, or in your own
other notebook. When the kernel ends, everything it built goes with it.

Why Unix sockets? A kernel talks to its server over five ZMQ sockets. Over TCP the kernel would
listen on *its* 127.0.0.1, which the server, in another network namespace, cannot reach (each
network namespace has its own loopback). A Unix socket is a file: files do not belong to a network
namespace, so the server reaches the kernel through the file system. The server must therefore use
``--KernelManager.transport=ipc`` (``classroom/jupyter_server_config.py`` sets it); if it does not,
this launcher says so and exits instead of leaving a kernel that never answers.

    netlab kernelspec install --sys-prefix      # for every user of this Python environment
    netlab kernelspec install --user            # for you only (~/.local/share/jupyter/kernels)
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from netlab.plumbing.i18n import N_, _, cjk_spacing

__all__ = ["DISPLAY_NAME", "KERNEL_NAME", "install", "kernel_spec", "main"]

KERNEL_NAME = "netlab"
DISPLAY_NAME = "Python 3 (netlab sandbox)"

# sockaddr_un.sun_path holds 108 bytes, one of them the final NUL.
MAX_UNIX_PATH = 107

TRANSPORT_HINT = N_(
    "start Jupyter with `--KernelManager.transport=ipc` (or put "
    '`c.KernelManager.transport = "ipc"` in its config): see docs/classroom.md'
)


def kernel_spec(python: str | None = None) -> dict[str, object]:
    """The ``kernel.json`` of the netlab kernelspec, for the Python at ``python`` (default: this one)."""
    python = python or sys.executable
    return {
        "argv": [python, "-m", "netlab.app.kernelspec", "-f", "{connection_file}"],
        "display_name": DISPLAY_NAME,
        "language": "python",
        "interrupt_mode": "signal",
        "metadata": {"debugger": True, "netlab": {"sandbox": "per-kernel", "transport": "ipc"}},
    }


def install(*, user: bool = False, prefix: str | Path | None = None, python: str | None = None) -> Path:
    """Install the kernelspec as ``jupyter kernelspec install`` would; return where it went.

    ``user=True`` installs for you only; ``prefix`` installs under ``PREFIX/share/jupyter/kernels``
    (``sys.prefix`` is "--sys-prefix", the usual choice for a hub's environment); neither installs
    system-wide (``/usr/local/share/jupyter/kernels``, needs root).
    """
    from jupyter_client.kernelspec import KernelSpecManager

    with tempfile.TemporaryDirectory(prefix="netlab-kernelspec-") as tmp:
        source = Path(tmp) / KERNEL_NAME
        source.mkdir()
        (source / "kernel.json").write_text(json.dumps(kernel_spec(python), indent=1) + "\n")
        _copy_python_logos(source)
        destination = KernelSpecManager().install_kernel_spec(
            str(source), KERNEL_NAME, user=user, prefix=str(prefix) if prefix is not None else None
        )
    return Path(destination)


def _copy_python_logos(target: Path) -> None:
    """The launcher looks like any Python kernel: reuse ipykernel's logos when they are there."""
    try:
        from ipykernel.kernelspec import RESOURCES
    except ImportError:
        return
    for logo in Path(RESOURCES).glob("logo-*.png"):
        shutil.copy(logo, target / logo.name)


class KernelLaunchError(SystemExit):
    """The kernel cannot start: the message goes to the server's log, and the kernel exits."""

    def __init__(self, message: str, hint: str) -> None:
        label = _("hint:")
        super().__init__(cjk_spacing(f"netlab kernel: {message}\n  {label} {hint}"))


def check_connection(info: dict[str, object]) -> None:
    """Refuse a connection file the sandboxed kernel could not honour, saying why and what to do."""
    transport = info.get("transport", "tcp")
    if transport != "ipc":
        raise KernelLaunchError(
            _(
                "this Jupyter server talks to its kernels over {transport}, but a netlab kernel lives in its own "
                "network namespace, where 127.0.0.1 is not the server's 127.0.0.1"
            ).format(transport=transport),
            _(TRANSPORT_HINT),
        )
    base = str(info.get("ip", ""))
    if not os.path.isabs(base):
        raise KernelLaunchError(
            _("the kernel's socket files are named relative to the server's directory ({base})").format(
                base=repr(base)
            ),
            _("give the kernel manager an absolute connection file (Jupyter servers do)"),
        )
    longest = max(len(f"{base}-{info[key]}") for key in info if key.endswith("_port"))
    if longest > MAX_UNIX_PATH:
        raise KernelLaunchError(
            _(
                "the kernel's socket files would be named with {length} bytes, a Unix socket takes at most "
                "{most} ({base}-N)"
            ).format(length=longest, most=MAX_UNIX_PATH, base=base),
            _("set JUPYTER_RUNTIME_DIR to a short directory, e.g. /tmp/jupyter-$USER"),
        )


def _connection_file(argv: Sequence[str]) -> str:
    for i, arg in enumerate(argv):
        if arg == "-f" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("-f="):
            return arg[3:]
        if arg.startswith("--f="):
            return arg[4:]
    raise KernelLaunchError(
        _("no connection file given"), _("run it as Jupyter does: python -m netlab.app.kernelspec -f FILE")
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Check the connection file, enter a fresh sandbox, and become the ipykernel (never returns)."""
    from netlab.errors import NetlabError
    from netlab.sandbox import exec_in_sandbox

    argv = list(sys.argv[1:] if argv is None else argv)
    connection_file = _connection_file(argv)
    try:
        info = json.loads(Path(connection_file).read_text())
    except (OSError, ValueError) as exc:
        raise KernelLaunchError(
            _("cannot read the connection file {path}: {reason}").format(path=connection_file, reason=exc),
            _("the server writes it before starting the kernel; is its runtime dir shared?"),
        )
    check_connection(info)
    # The kernel's parent is now the sandbox's PID 1, and ipykernel takes a parent pid of 1 as "my
    # server is gone": it must not watch its parent. The sandbox watches the server instead.
    os.environ.pop("JPY_PARENT_PID", None)
    try:
        exec_in_sandbox(
            [sys.executable, "-m", "ipykernel_launcher", *argv],
            end_with=os.getppid(),  # the server: if it dies, its kernel ends too
        )
    except NetlabError as exc:
        raise SystemExit(f"netlab kernel: {exc}") from exc  # its hint says what to do


if __name__ == "__main__":
    main()
