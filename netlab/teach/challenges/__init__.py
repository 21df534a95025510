"""Challenges: a starting state built for you, a task, and a check that says what is missing.

Each challenge builds its starting world in a ``Lab`` (so it is taken down again, whatever you
added inside its namespaces), tells you the task, and checks the kernel's state when you ask::

    ch = challenges.router()
    print(ch.task)
    ...                      # your ip commands or netlab calls
    ch.check()               # ✘ not yet ... hint: ...
    ch.close()               # removes the lab and the devices the task asked you to create

Reference solutions live outside the notebooks folder (``solutions/challenges.py``), so that
scrolling never gives them away; the tests run each one against its check.

One module per challenge, and ``base`` for what they share::

    base.py                     Challenge, the simulated internet
    bridge_without_internet.py  isolated_bridge()
    two_subnets.py              router()
    internet_by_nat.py          nat()
    published_port.py           publish()
    ghost_namespace.py          deleted_namespace()
"""

from __future__ import annotations

from netlab.teach.challenges.base import Challenge, close_all
from netlab.teach.challenges.bridge_without_internet import isolated_bridge
from netlab.teach.challenges.ghost_namespace import deleted_namespace
from netlab.teach.challenges.internet_by_nat import nat
from netlab.teach.challenges.published_port import publish
from netlab.teach.challenges.two_subnets import router

__all__ = ["Challenge", "close_all", "deleted_namespace", "isolated_bridge", "nat", "publish", "router"]
