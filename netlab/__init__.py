"""netlab: learn Linux network namespaces by building them for real.

One import gives you the lesson's tools::

    from netlab import netns, run, label
    netns.add("netns1")                              # ip netns add netns1
    run("netns1", ["ip", "link"]).stdout             # ip netns exec netns1 ip link
    label("netns1")                                  # ls -i /run/netns/netns1 -> net:[4026532302]
    netns.delete("netns1")                           # ip netns delete netns1

The package, in the order a learner meets it:

    netns, enter, inodes, persist, sandbox      the article: ip netns, exec, inodes, bind mounts
    links, sysctl, nat, reach, capture          wiring: veth, bridges, forwarding, NAT, ping, packets
    netlink, rtnl, syscalls, threads            underneath: the kernel's interfaces, used directly
    model, targets, names, errors, commands     foundations: kernel objects, "which namespace", names
    lab/    view/    teach/    app/             machinery: labs, diagrams, exercises, the netlab command

Names are imported on first use, so ``import netlab`` (and the ``netlab`` command) start quickly.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

# name -> the module it lives in ("" when the name is that module itself, under netlab)
_EXPORTS = {
    "DeviceError": "netlab.errors",
    "DeviceExistsError": "netlab.errors",
    "DeviceNotFoundError": "netlab.errors",
    "InvalidAddressError": "netlab.errors",
    "InvalidNameError": "netlab.errors",
    "LabExistsError": "netlab.errors",
    "NamespaceExistsError": "netlab.errors",
    "NamespaceNotFoundError": "netlab.errors",
    "NetlabError": "netlab.errors",
    "NetlabPermissionError": "netlab.errors",
    "StaleNamespaceError": "netlab.errors",
    "ToolMissingError": "netlab.errors",
    "NEW": "netlab.targets",
    "call": "netlab.enter",
    "popen": "netlab.enter",
    "run": "netlab.enter",
    "recording": "netlab.commands",
    "NetnsInfo": "netlab.inodes",
    "inode": "netlab.inodes",
    "label": "netlab.inodes",
    "namespaces": "netlab.inodes",
    "PingResult": "netlab.reach",
    "ProbeResult": "netlab.reach",
    "ping": "netlab.reach",
    "probe": "netlab.reach",
    "Lab": "netlab.lab",
    "Topology": "netlab.view.snapshot",
    "snapshot": "netlab.view.snapshot",
    "TopologyDiff": "netlab.view.diff",
    "diff": "netlab.view.diff",
    "namespace_explorer": "netlab.view.widgets",
    "ping_tester": "netlab.view.widgets",
    "inodes": "",
    "links": "",
    "nat": "",
    "netns": "",
    "persist": "",
    "reach": "",
    "sysctl": "",
}

__all__ = [
    "DeviceError",
    "DeviceExistsError",
    "DeviceNotFoundError",
    "InvalidAddressError",
    "InvalidNameError",
    "Lab",
    "LabExistsError",
    "NEW",
    "NamespaceExistsError",
    "NamespaceNotFoundError",
    "NetlabError",
    "NetlabPermissionError",
    "NetnsInfo",
    "PingResult",
    "ProbeResult",
    "StaleNamespaceError",
    "ToolMissingError",
    "Topology",
    "TopologyDiff",
    "call",
    "diff",
    "inode",
    "inodes",
    "label",
    "links",
    "namespace_explorer",
    "namespaces",
    "nat",
    "netns",
    "persist",
    "ping",
    "ping_tester",
    "popen",
    "probe",
    "reach",
    "recording",
    "run",
    "snapshot",
    "sysctl",
]


def __getattr__(name: str) -> Any:
    """Import what ``name`` needs the first time it is asked for (PEP 562)."""
    where = _EXPORTS.get(name)
    if where is None:
        raise AttributeError(f"module 'netlab' has no attribute {name!r}")
    value = importlib.import_module(f"netlab.{name}") if where == "" else getattr(importlib.import_module(where), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:  # what a type checker and an editor see: the same names, imported eagerly
    from netlab import inodes, links, nat, netns, persist, reach, sysctl
    from netlab.commands import recording
    from netlab.enter import call, popen, run
    from netlab.errors import (
        DeviceError,
        DeviceExistsError,
        DeviceNotFoundError,
        InvalidAddressError,
        InvalidNameError,
        LabExistsError,
        NamespaceExistsError,
        NamespaceNotFoundError,
        NetlabError,
        NetlabPermissionError,
        StaleNamespaceError,
        ToolMissingError,
    )
    from netlab.inodes import NetnsInfo, inode, label, namespaces
    from netlab.lab import Lab
    from netlab.reach import PingResult, ProbeResult, ping, probe
    from netlab.targets import NEW
    from netlab.view.diff import TopologyDiff, diff
    from netlab.view.snapshot import Topology, snapshot
    from netlab.view.widgets import namespace_explorer, ping_tester
