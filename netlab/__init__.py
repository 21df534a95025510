"""netlab: learn Linux network namespaces by building them for real.

One import gives you the lesson's tools::

    from netlab import netns, run, inode
    netns.add("netns1")                              # ip netns add netns1
    run("netns1", ["ip", "link"]).stdout             # ip netns exec netns1 ip link
    label("netns1")                                  # ls -i /run/netns/netns1 -> net:[4026532302]
    netns.delete("netns1")                           # ip netns delete netns1
"""

from __future__ import annotations

from netlab import inodes, netns, persist
from netlab.enter import NEW, call, popen, run
from netlab.errors import (DeviceError, DeviceExistsError, DeviceNotFoundError, InvalidAddressError,
                           InvalidNameError, NamespaceExistsError, NamespaceNotFoundError, NetlabError,
                           NetlabPermissionError, StaleNamespaceError, ToolMissingError)
from netlab.inodes import NetnsInfo, inode, label, namespaces

__version__ = "0.1.0"

__all__ = [
    "DeviceError",
    "DeviceExistsError",
    "DeviceNotFoundError",
    "InvalidAddressError",
    "InvalidNameError",
    "NEW",
    "NamespaceExistsError",
    "NamespaceNotFoundError",
    "NetlabError",
    "NetlabPermissionError",
    "NetnsInfo",
    "StaleNamespaceError",
    "ToolMissingError",
    "call",
    "inode",
    "inodes",
    "label",
    "namespaces",
    "netns",
    "persist",
    "popen",
    "run",
]
