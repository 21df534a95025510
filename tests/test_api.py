"""The public API changes only on purpose.

(That ``import netlab`` stays light, and that every name resolves, is checked in the unit tier:
tests/unit/test_front_door.py.)"""

import netlab


def test_public_api_is_pinned():
    assert netlab.__all__ == sorted(netlab.__all__)
    assert set(netlab.__all__) == {
        "NEW",
        "DeviceError",
        "DeviceExistsError",
        "DeviceNotFoundError",
        "InvalidAddressError",
        "InvalidNameError",
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
        # wiring and labs (issue 3)
        "Lab",
        "LabExistsError",
        "PingResult",
        "ProbeResult",
        "links",
        "nat",
        "ping",
        "probe",
        "reach",
        "recording",
        "sysctl",
        # live topology (issue 4)
        "Topology",
        "TopologyDiff",
        "diff",
        "namespace_explorer",
        "ping_tester",
        "snapshot",
        # renderers as functions (issue 12)
        "draw",
        "tree",
        # the lessons' exercises, by their old short names (issue 12)
        "checks",
        "challenges",
        "lesson",
        # packets (issue 16)
        "capture",
    }
    for name in netlab.__all__:
        assert hasattr(netlab, name)


def test_every_exported_name_has_a_home():
    assert set(netlab.__all__) == set(netlab._EXPORTS) | set(netlab._MODULES) | set(netlab._MODULES)
