"""JupyterHub for a netlab classroom: one machine, many students, a private network world per kernel.

    jupyterhub -f classroom/jupyterhub_config.py          (as root: it starts servers as each student)

How the pieces fit (docs/classroom.md says how to set it up, step by step)::

    browser ──> hub + proxy :8000 ──> student01's Jupyter server (runs as student01, machine's netns)
                                          ├── kernel ── netlab sandbox: student01's world #1
                                          ├── kernel ── netlab sandbox: student01's world #2
                                          └── terminal ─ netlab sandbox: a world of its own
                                  ──> student02's Jupyter server ...

- Students log in with their Unix account (PAM) and must be in the group ``students``; the
  teacher's account is an admin. Each server runs as its student (LocalProcessSpawner), so students
  cannot touch each other's files or processes.
- Each server gets ``jupyter_server_config.py`` from this folder: kernels of the "netlab" kernelspec
  only, spoken to over Unix sockets, each in a fresh ``netlab sandbox`` (rootless, through a user
  namespace: the kernel must allow unprivileged user namespaces, see ``netlab doctor``).
- At a first start, the notebooks are copied into the student's home (``~/netlab-lessons``), so each
  student edits a copy of their own.

Names, ports and groups below are the ones to adapt.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

c = get_config()  # noqa: F821 (provided by JupyterHub when it loads this file)

HERE = Path(__file__).resolve().parent
NOTEBOOKS = HERE.parent / "notebooks"
COPY_NAME = "netlab-lessons"  # not "netlab": a folder of that name in the home would shadow the package

# Where students connect. Put it behind HTTPS (a reverse proxy, or ssl_cert/ssl_key) on a real network.
c.JupyterHub.bind_url = "http://:8000"

# The proxy in front of everything: scripts/install puts configurable-http-proxy in the venv
# (NETLAB_EXTRAS=classroom); otherwise JupyterHub looks for it on PATH.
PROXY = Path(sys.executable).with_name("configurable-http-proxy")
if PROXY.exists():
    c.ConfigurableHTTPProxy.command = [str(PROXY)]

# Who may log in: Unix accounts in the group "students", and the teacher as admin.
c.JupyterHub.authenticator_class = "pam"
c.LocalAuthenticator.allowed_groups = {"students"}  # PAMAuthenticator is a LocalAuthenticator
c.Authenticator.admin_users = {"teacher"}

# One Jupyter server per student, running as that student. Its command first copies the notebooks
# into the student's home, once (later starts keep their work); it runs as the student, so the hub
# never writes into a home it does not own.
c.JupyterHub.spawner_class = "localprocess"
SINGLEUSER = Path(sys.executable).with_name("jupyterhub-singleuser")
c.Spawner.cmd = [
    "sh",
    "-c",
    f'[ -e "$HOME/{COPY_NAME}" ] || cp -R {shlex.quote(str(NOTEBOOKS))} "$HOME/{COPY_NAME}"; '
    f'exec {shlex.quote(str(SINGLEUSER))} "$@"',
    "netlab-singleuser",
]
c.Spawner.args = [f"--config={HERE / 'jupyter_server_config.py'}"]
# Students' kernels and terminals find `netlab` (the notebooks run `!netlab doctor`) and the venv's tools.
c.Spawner.environment = {
    "PATH": os.pathsep.join(
        [str(Path(sys.executable).parent), "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    )
}
c.Spawner.default_url = f"/lab/tree/{COPY_NAME}/00-start-here.ipynb"
# Sandboxed kernels start in a second or two; give a busy machine some slack.
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
