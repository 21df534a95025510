"""The public API changes only on purpose."""

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
    }
    for name in netlab.__all__:
        assert hasattr(netlab, name)


def test_import_is_light():
    import subprocess
    import sys

    code = "import sys, netlab; print(sorted(m for m in ('matplotlib','ipywidgets','pyroute2','networkx','tqdm') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_every_exported_name_has_a_home():
    assert set(netlab.__all__) == set(netlab._EXPORTS)
