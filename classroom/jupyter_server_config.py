"""Each student's Jupyter server in a netlab classroom (``jupyterhub_config.py`` passes it with --config).

The server itself stays in the machine's network namespace, where the hub can reach it. What the
student builds happens elsewhere:

- every notebook kernel runs in a network world of its own (the "netlab" kernelspec: ``netlab
  kernelspec install --sys-prefix``), and a kernel restart gives a fresh, empty world;
- every terminal opens in a world of its own too (``netlab sandbox -- bash``, a login shell that
  still finds ``netlab``: see ``netlab.app.terminals``).

So two students can both run ``ip netns add netns1`` and give ``veth0`` the address 10.1.1.2/24,
at the same time, and neither sees the other's. Nobody needs root: as an ordinary user each world
is made through a user namespace.
"""

from __future__ import annotations

import sys
from pathlib import Path

from jupyter_core.paths import jupyter_runtime_dir

from netlab.app.terminals import RCFILE as RC_NAME
from netlab.app.terminals import shell_command, write_rcfile

c = get_config()  # noqa: F821 (provided by Jupyter when it loads this file)

NETLAB = str(Path(sys.executable).with_name("netlab"))

# Kernels live in other network namespaces: the server reaches them through Unix socket files,
# which every namespace sees, instead of TCP on a 127.0.0.1 that is not the kernel's.
c.KernelManager.transport = "ipc"

# Only sandboxed kernels: a plain Python kernel would sit in the machine's own namespace.
c.MappingKernelManager.default_kernel_name = "netlab"
c.KernelSpecManager.allowed_kernelspecs = {"netlab"}

# A terminal is a world of its own as well (not the notebook's: see docs/classroom.md). It reads the
# login profile as `bash -l` would, then puts netlab's commands back in front of PATH.
RCFILE = write_rcfile(Path(jupyter_runtime_dir()) / RC_NAME, Path(sys.executable).parent)
c.ServerApp.terminado_settings = {"shell_command": [NETLAB, "sandbox", "--", *shell_command("/bin/bash", RCFILE)]}
