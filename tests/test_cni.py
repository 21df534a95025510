"""The real CNI plugins, run as containerd runs them (netlab.lab.cni), checked with ip -j, iptables and the files.

Kernel tests: each makes its own namespaces and network name, and DELs everything it ADDed; the sandbox
gives this run its own /var/lib/cni. The bridge the plugin makes, the iptables-nft tables and
ip_forward (which DEL leaves, as it should) are put back by the ``world`` fixture.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import sh
from test_lesson import machine  # noqa: F401  (the VM's case: a machine with its own network)

from netlab import netns
from netlab.errors import InvalidNameError, NetlabError
from netlab.lab import cni
from netlab.teach import lesson

pytestmark = pytest.mark.skipif(not Path(cni.CNI_PATH, "bridge").is_file(), reason="containernetworking-plugins")


@pytest.fixture
def world() -> Iterator[dict]:
    """A network config of its own (a unique name and bridge); afterwards the bridge, tables and sysctls go."""
    tag = uuid.uuid4().hex[:6]
    before = lesson.Snapshot.capture()
    network = cni.bridge_network(f"t{tag}", bridge=f"cbr{tag}", subnet="10.77.0.0/24")
    try:
        yield network
    finally:
        sh("ip", "link", "delete", f"cbr{tag}", check=False)
        before.restore()


def _eth0(namespace: str) -> list[str]:
    [link] = json.loads(sh("ip", "-n", namespace, "-j", "addr", "show", "dev", "eth0").stdout)
    return [f"{a['local']}/{a['prefixlen']}" for a in link["addr_info"] if a["family"] == "inet"]


def _cni_chains() -> list[str]:
    rules = sh("iptables", "-t", "nat", "-S").stdout.splitlines()
    return [line.split()[1] for line in rules if line.startswith("-N CNI-") and "HOSTPORT" not in line]


def _host_links() -> list[str]:
    return sorted(link["ifname"] for link in json.loads(sh("ip", "-j", "link").stdout))


def test_add_gives_eth0_the_address_host_local_handed_out(world, ns):
    result = cni.add(world, ns, ns)
    [address] = result.addresses
    assert _eth0(ns) == [address] and address.startswith("10.77.0.")
    lease = Path("/var/lib/cni/networks", world["name"], address.split("/")[0])
    assert lease.read_text().split() == [ns, "eth0"]
    assert cni.ipam_files(world["name"]) == {address.split("/")[0]: f"{ns} eth0"}
    route = json.loads(sh("ip", "-n", ns, "-j", "route", "show", "default").stdout)
    assert [r["gateway"] for r in route] == ["10.77.0.1"]
    host_end = [
        i["name"] for i in result.interfaces if "sandbox" not in i and i["name"] != world["plugins"][0]["bridge"]
    ]
    assert host_end and host_end[0] in _host_links()
    assert _cni_chains()  # the masquerade chain of this container
    assert result.commands[0].startswith("echo ") and "CNI_COMMAND=ADD" in result.commands[0]
    cni.check(world, ns, ns)
    cni.delete(world, ns, ns)


def test_del_removes_the_veth_the_lease_file_and_the_chains(world, ns):
    links_before = _host_links()
    result = cni.add(world, ns, ns, ports=[(18080, 80)])
    host_end = [
        i["name"] for i in result.interfaces if "sandbox" not in i and i["name"] != world["plugins"][0]["bridge"]
    ]
    assert any(line.startswith("-N CNI-DN-") for line in sh("iptables", "-t", "nat", "-S").stdout.splitlines())
    cni.delete(world, ns, ns)
    assert host_end[0] not in _host_links()
    assert set(_host_links()) - set(links_before) == {world["plugins"][0]["bridge"]}  # DEL leaves the bridge
    assert cni.ipam_files(world["name"]) == {}
    assert _cni_chains() == []  # neither CNI-<hash> (bridge) nor CNI-DN-<hash> (portmap)
    assert json.loads(sh("ip", "-n", ns, "-j", "link").stdout)[0]["ifname"] == "lo"  # eth0 went too
    cni.delete(world, ns, ns)  # DEL again: nothing to do, and no error (the CNI spec asks it)


def test_a_plugin_error_becomes_one_line(world, ns):
    cni.add(world, ns, ns)
    sh("ip", "-n", ns, "route", "del", "default")
    with pytest.raises(cni.CniError) as caught:
        cni.check(world, ns, ns)
    line = caught.value.message
    assert "\n" not in line and line.startswith("CNI plugin bridge refused CHECK: ") and "(code 999)" in line
    assert caught.value.hint
    cni.delete(world, ns, ns)


def test_add_twice_is_refused_by_host_local_in_one_line(world, ns):
    cni.add(world, ns, ns)
    with pytest.raises(cni.CniError) as caught:
        cni.add(world, ns, ns)
    assert "\n" not in caught.value.message and caught.value.message.startswith("CNI plugin bridge refused ADD")
    cni.delete(world, ns, ns)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (lambda net: {**net, "plugins": []}, cni.CniConfigError),
        (lambda net: {**net, "name": "bad name"}, cni.CniConfigError),
        (lambda net: {k: v for k, v in net.items() if k != "cniVersion"}, cni.CniConfigError),
        (lambda net: {**net, "plugins": [{"type": "../bridge"}]}, cni.CniConfigError),
        (lambda net: {**net, "plugins": [{"type": "no-such-plugin"}]}, NetlabError),
    ],
    ids=["no-plugins", "bad-name", "no-version", "type-is-a-path", "missing-plugin"],
)
def test_bad_config_is_refused_before_anything_is_created(world, ns, change, error):
    links_before, chains_before = _host_links(), sh("iptables", "-t", "nat", "-S").stdout
    with pytest.raises(error):
        cni.add(change(world), ns, ns)
    assert _host_links() == links_before and sh("iptables", "-t", "nat", "-S").stdout == chains_before


def test_bad_container_namespace_or_interface_is_refused_before_anything_is_created(world, ns):
    links_before = _host_links()
    with pytest.raises(cni.CniConfigError, match="not a network namespace"):
        cni.add(world, "c-missing", "no-such-namespace")  # the plugin itself would make the bridge first
    with pytest.raises(cni.CniConfigError, match="container id"):
        cni.add(world, "bad id", ns)
    with pytest.raises(InvalidNameError):
        cni.add(world, ns, ns, ifname="a-name-far-too-long")
    assert _host_links() == links_before
    assert not Path("/var/lib/cni/networks", world["name"]).exists()
    with pytest.raises(cni.CniError, match="nothing to CHECK"):
        cni.check(world, ns, ns)


@pytest.mark.skipif(not Path(cni.NETAVARK).is_file(), reason="netavark")
def test_netavark_setup_and_teardown(ns, tmp_path):
    before = lesson.Snapshot.capture()
    options = cni.podman_options(
        ns, network="t", bridge="nvbr0", subnet="10.78.0.0/24", gateway="10.78.0.1", address="10.78.0.2"
    )
    try:
        answer = cni.netavark("setup", options, ns, config=str(tmp_path))
        assert answer["t"]["interfaces"]["eth0"]["subnets"][0]["ipnet"] == "10.78.0.2/24"
        assert _eth0(ns) == ["10.78.0.2/24"] and "nvbr0" in _host_links()
        cni.netavark("teardown", options, ns, config=str(tmp_path))
        assert "nvbr0" not in _host_links()  # the last container gone: netavark removes its bridge
        with pytest.raises(cni.CniError) as caught:
            cni.netavark("setup", {"networks": {}}, ns, config=str(tmp_path))
        assert "\n" not in caught.value.message and "container_id" in caught.value.message
    finally:
        before.restore()


def test_on_a_machine_a_reset_removes_what_the_plugins_made_and_lists_a_kubelets_chain(machine):  # noqa: F811
    """Lesson 06 interrupted: ADD with a published port, never DEL. The chains and rules the plugins made
    (CNI-HOSTPORT-*, the jumps to them, the PREROUTING and OUTPUT base chains iptables-nft added for them)
    are netlab's because netlab saw them appear: a reset removes them, and the network's lease folder.
    A chain with a CNI name that a kubelet beside the lab made meanwhile is listed and left."""
    lesson.start("06", sandbox=False, quiet=True)
    chains_before = _nft_chains()
    sh("ip", "netns", "add", "c1")
    network = cni.bridge_network("lesson06", bridge="br0", subnet="10.0.0.0/24")
    cni.add(network, "c1", "c1", ports=[(18080, 80)])
    leases = Path(cni.STATE, "networks", "lesson06")
    assert leases.is_dir() and "CNI-HOSTPORT-DNAT" in sh("iptables", "-t", "nat", "-S").stdout
    sh("iptables", "-t", "nat", "-N", "CNI-kubelet0")  # a pod's chain, not netlab's
    done = lesson.reset(sandbox=False)
    assert not leases.exists() and "c1" not in netns.list(), done
    assert _nft_chains() - chains_before == {"ip nat CNI-kubelet0"}, done
    assert any(line.startswith("nft delete chain ip nat handle ") for line in done.left), done.left
    assert not done.problems, done.problems
    sh("iptables", "-t", "nat", "-X", "CNI-kubelet0")


def _nft_chains() -> set[str]:
    listed = json.loads(sh("nft", "-j", "list", "chains").stdout)["nftables"]
    return {f"{c['chain']['family']} {c['chain']['table']} {c['chain']['name']}" for c in listed if "chain" in c}
