"""netlab: learn Linux network namespaces by building them for real.

One import gives you the lesson's tools::

    from netlab import netns, run, label
    netns.add("netns1")                              # ip netns add netns1
    run("netns1", ["ip", "link"]).stdout             # ip netns exec netns1 ip link
    label("netns1")                                  # ls -i /run/netns/netns1 -> net:[4026532302]
    netns.delete("netns1")                           # ip netns delete netns1
"""

from __future__ import annotations

from netlab import inodes, links, nat, netns, persist, reach, sysctl
from netlab.commands import recording
from netlab.enter import NEW, call, popen, run
from netlab.errors import (DeviceError, DeviceExistsError, DeviceNotFoundError, InvalidAddressError,
                           InvalidNameError, LabExistsError, NamespaceExistsError, NamespaceNotFoundError,
                           NetlabError, NetlabPermissionError, StaleNamespaceError, ToolMissingError)
from netlab.inodes import NetnsInfo, inode, label, namespaces
from netlab.lab import Lab
from netlab.reach import PingResult, ProbeResult, ping, probe
from netlab.changes import TopologyDiff, diff
from netlab.topology import Topology, snapshot
from netlab.widgets import namespace_explorer, ping_tester

__version__ = "0.1.0"

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
