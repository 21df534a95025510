"""netlab: learn Linux network namespaces by building them for real.

One import gives you the lesson's tools::

    from netlab import netns, run, label
    netns.add("netns1")                              # ip netns add netns1
    run("netns1", ["ip", "link"]).stdout             # ip netns exec netns1 ip link
    label("netns1")                                  # ls -i /run/netns/netns1 -> net:[4026532302]
    netns.delete("netns1")                           # ip netns delete netns1

The package, in the order a learner meets it:

    netns, enter, inodes, persist, sandbox      the article: ip netns, exec, inodes, bind mounts
    links, sysctl, nat, reach, capture/         wiring: veth, bridges, forwarding, NAT, ping, packets
    netlink, rtnl                               underneath: the kernel's interfaces, used directly
    model, targets, names, errors               foundations: kernel objects, "which namespace", names
    plumbing/                                   system calls, threads, sockets, the learner's language
    lab/    view/    teach/    app/             machinery: labs, diagrams, exercises, the netlab command

Names are imported on first use, so ``import netlab`` (and the ``netlab`` command) start quickly.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from netlab.plumbing.version import __version__ as __version__

# a name -> the module it lives in
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
    "recording": "netlab.plumbing.commands",
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
    "draw": "netlab.view.draw",
    "tree": "netlab.view.text",
    "namespace_explorer": "netlab.view.widgets",
    "ArticleShells": "netlab.teach.shells",
    "nat_reply_captured": "netlab.teach.packet_checks",
    "environment_kind": "netlab.app.doctor",
    "ping_tester": "netlab.view.widgets",
}

# a name -> the module it is (``from netlab import netns, checks``)
_MODULES = {
    "inodes": "netlab.inodes",
    "links": "netlab.links",
    "nat": "netlab.nat",
    "netns": "netlab.netns",
    "persist": "netlab.persist",
    "reach": "netlab.reach",
    "sysctl": "netlab.sysctl",
    "capture": "netlab.capture",
    "packets": "netlab.view.packets",
    "cni": "netlab.lab.cni",
    "rootless": "netlab.lab.rootless",
    "web": "netlab.lab.web",
    "checks": "netlab.teach.checks",
    "challenges": "netlab.teach.challenges",
    "lesson": "netlab.teach.lesson",
}

__all__ = [
    "ArticleShells",
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
    "capture",
    "challenges",
    "checks",
    "cni",
    "diff",
    "draw",
    "environment_kind",
    "inode",
    "inodes",
    "label",
    "lesson",
    "links",
    "namespace_explorer",
    "namespaces",
    "nat",
    "nat_reply_captured",
    "netns",
    "packets",
    "persist",
    "ping",
    "ping_tester",
    "popen",
    "probe",
    "reach",
    "recording",
    "rootless",
    "run",
    "snapshot",
    "sysctl",
    "tree",
    "web",
]


def __getattr__(name: str) -> Any:
    """Import what ``name`` needs the first time it is asked for (PEP 562)."""
    if name in _MODULES:
        value = importlib.import_module(_MODULES[name])
    elif name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    else:
        raise AttributeError(f"module 'netlab' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS) | set(_MODULES))


if TYPE_CHECKING:  # what a type checker and an editor see: the same names, imported eagerly
    from netlab import capture, inodes, links, nat, netns, persist, reach, sysctl
    from netlab.app.doctor import environment_kind
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
    from netlab.lab import Lab, cni, rootless, web
    from netlab.plumbing.commands import recording
    from netlab.reach import PingResult, ProbeResult, ping, probe
    from netlab.targets import NEW
    from netlab.teach import challenges, checks, lesson
    from netlab.teach.packet_checks import nat_reply_captured
    from netlab.teach.shells import ArticleShells
    from netlab.view import packets
    from netlab.view.diff import TopologyDiff, diff
    from netlab.view.draw import draw
    from netlab.view.snapshot import Topology, snapshot
    from netlab.view.text import tree
    from netlab.view.widgets import namespace_explorer, ping_tester
