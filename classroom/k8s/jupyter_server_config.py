"""Every Jupyter server in the netlab image: the classroom's settings, run as the pod's root.

``scripts/image`` puts this file in the image's ``/opt/netlab/venv/etc/jupyter/`` (where Jupyter
looks for it) next to ``classroom/jupyter_server_config.py``, which it loads first: kernels of the
"netlab" kernelspec only, each in a fresh network world of its own, spoken to over Unix sockets,
and terminals in a world of their own too. So a kernel restart still gives an empty world, and
the pod's own network (where the hub reaches this server) is never the one a lesson rewires.

In pod mode the server runs as root, but root of the pod's own user namespace (``hostUsers:
false``): it is an unprivileged user on the node, and its capabilities count only inside the pod.
"""

from __future__ import annotations

from pathlib import Path

c = get_config()  # noqa: F821 (provided by Jupyter when it loads this file)

load_subconfig(str(Path(__file__).with_name("netlab_classroom_config.py")))  # noqa: F821 (traitlets provides it)

# Jupyter refuses to run as root unless told: here root is the pod's, not the node's.
c.ServerApp.allow_root = True
