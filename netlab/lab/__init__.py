"""Labs that clean up after themselves.

lab.py      ``Lab``: build namespaces, links, addresses, routes, NAT; remember the ``ip`` commands
steps.py    what every step of a lab shares (journal first, undo on failure), all its parts know of it
wiring.py   ``Lab.connect`` and ``Lab.star``: the bigger steps, in few trips to the kernel
processes.py ``Lab.popen``: processes written down before they can run, stopped at close
internet.py ``Lab.sysctl``, ``Lab.masquerade``, ``Lab.publish``: settings and NAT, undone at close
journal.py  what a lab is about to build, written down *before* each step (``/run/netlab``)
cleanup.py  ``netlab cleanup``: remove what a crashed lab left, and nothing else
machine.py  what the machine holds, by identity, and what it had before any lesson (the baseline)
removal.py  the one way anything is removed: only the very object seen, its identity checked again
footprints.py what the programs netlab runs (CNI plugins, netavark) make, recorded as netlab's
cni.py      a container runtime's job: the CNI plugins and netavark, run as containerd and Podman do
rootless.py a container's network without root: slirp4netns and pasta, as rootless Podman runs them
"""

from __future__ import annotations

from netlab.lab.lab import Lab

__all__ = ["Lab"]
