"""Wiring against the real kernel, each claim cross-checked with `ip -j` (and `sysctl`)."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import sh

from netlab import links, netns, snapshot, sysctl
from netlab.errors import DeviceExistsError, DeviceNotFoundError
from netlab.plumbing.commands import recording

NETLAB = str(Path(sys.executable).with_name("netlab"))


def ip_json(*args: str, netns_name: str | None = None) -> list[dict]:
    prefix = ["ip", "-n", netns_name] if netns_name else ["ip"]
    return json.loads(sh(*prefix, "-j", *args).stdout or "[]")


def link(name: str, netns_name: str | None = None) -> dict | None:
    return next((lk for lk in ip_json("-d", "link", netns_name=netns_name) if lk["ifname"] == name), None)


@pytest.fixture
def pair():
    """veth0 <-> veth1 in the current namespace, removed afterwards."""
    links.veth("veth0", "veth1")
    yield "veth0", "veth1"
    try:
        links.delete("veth0")
    except DeviceNotFoundError:
        pass  # a test deleted the namespace of veth1: the kernel removes the pair in the background


def test_veth_pair_is_two_connected_ends(pair):
    a, b = link("veth0"), link("veth1")
    assert a["linkinfo"]["info_kind"] == b["linkinfo"]["info_kind"] == "veth"
    assert a["link"] == "veth1" and b["link"] == "veth0"  # each end points at the other
    assert "UP" not in a["flags"]  # a new device is down


def test_veth_with_the_peer_already_in_a_namespace(ns):
    links.veth("veth0", "eth0", peer_netns=ns)
    try:
        assert link("eth0") is None and link("veth0") is not None
        inside = link("eth0", ns)
        assert inside["linkinfo"]["info_kind"] == "veth" and "link_netnsid" in inside
    finally:
        links.delete("veth0")
    assert link("eth0", ns) is None  # deleting one end deletes the other


def test_move_arrives_down_and_without_addresses(pair, ns):
    links.add_address("veth1", "10.1.1.1/24")
    links.up("veth1")
    links.move("veth1", to=ns)
    assert link("veth1") is None
    moved = link("veth1", ns)
    assert "UP" not in moved["flags"]
    assert ip_json("addr", "show", "veth1", netns_name=ns)[0]["addr_info"] == []


def test_move_with_a_new_name(pair, ns):
    links.move("veth1", to=ns, new_name="eth0")
    assert link("eth0", ns) and link("veth1", ns) is None


def test_a_half_done_move_is_undone(pair, ns):
    """`ip link set X netns N name Y` moves X, *then* fails on a taken name Y: netlab checks first, and undoes."""
    links.veth("other", "taken", peer_netns=ns)  # "taken" is in ns
    try:
        with pytest.raises(DeviceExistsError):
            links.move("veth1", to=ns, new_name="taken")
        assert link("veth1") is not None and link("veth1", ns) is None
        sh("ip", "link", "set", "veth1", "netns", ns)  # what the kernel leaves after the failed rename
        links._undo_half_move("veth1", None, ns)
        assert link("veth1") is not None and link("veth1", ns) is None
    finally:
        links.delete("other")


def test_up_down_rename_delete(pair):
    links.up("veth0")
    assert "UP" in link("veth0")["flags"]
    links.down("veth0")
    assert "UP" not in link("veth0")["flags"]
    links.rename("veth0", "cable0")
    assert link("cable0") and link("veth0") is None
    links.delete("cable0")
    assert link("cable0") is None and link("veth1") is None


def test_bridge_ports(pair):
    links.bridge("br0")
    try:
        links.attach("veth0", "br0")
        assert link("veth0")["master"] == "br0"
        assert [p["ifname"] for p in ip_json("link", "show", "master", "br0")] == ["veth0"]
        assert [lk.master for lk in links.list() if lk.name == "veth0"] == ["br0"]
        links.detach("veth0")
        assert "master" not in link("veth0")
    finally:
        links.delete("br0")


def test_addresses_and_connected_route(pair, ns):
    links.move("veth1", to=ns)
    links.add_address("veth1", "10.1.1.1/24", netns=ns)
    links.up("veth1", netns=ns)
    links.add_address("veth0", "10.1.1.2/24")
    links.up("veth0")
    info = ip_json("addr", "show", "veth1", netns_name=ns)[0]["addr_info"]
    assert [(a["local"], a["prefixlen"]) for a in info if a["family"] == "inet"] == [("10.1.1.1", 24)]
    routes = ip_json("route", netns_name=ns)
    assert {"dst": "10.1.1.0/24", "dev": "veth1"}.items() <= routes[0].items()
    assert links.addresses(ns, dev="veth1", family=4) == ["10.1.1.1/24"]
    links.remove_address("veth0", "10.1.1.2/24")
    assert all(a["family"] != "inet" for a in ip_json("addr", "show", "veth0")[0]["addr_info"])


def test_ipv6_address_skips_dad_and_works_at_once(ns):
    links.veth("veth0", "eth0", peer_netns=ns)
    try:
        links.add_address("veth0", "fd00::1/64")
        links.up("veth0")
        links.add_address("eth0", "fd00::2/64", netns=ns)
        links.up("eth0", netns=ns)
        addr = next(a for a in ip_json("-6", "addr", "show", "veth0")[0]["addr_info"] if a["local"] == "fd00::1")
        assert not addr.get("tentative")
        assert sh("ping", "-c", "1", "-W", "2", "fd00::2").returncode == 0
    finally:
        links.delete("veth0")


def test_routes_default_and_removal(pair, ns):
    links.move("veth1", to=ns)
    links.add_address("veth1", "10.1.1.1/24", netns=ns)
    links.up("veth1", netns=ns)
    links.add_route("default", via="10.1.1.2", netns=ns)
    links.add_route("192.168.50.0/24", dev="veth1", netns=ns)
    got = {r["dst"]: r for r in ip_json("route", netns_name=ns)}
    assert got["default"]["gateway"] == "10.1.1.2"
    assert got["192.168.50.0/24"]["dev"] == "veth1"
    assert {str(r.dst): r.via for r in links.routes(ns)}["default"] == "10.1.1.2"
    links.remove_route("default", netns=ns)
    assert "default" not in {r["dst"] for r in ip_json("route", netns_name=ns)}


def test_list_agrees_with_ip(pair, ns):
    ours = {lk.name: lk for lk in links.list()}
    theirs = {lk["ifname"]: lk for lk in ip_json("link")}
    assert set(ours) == set(theirs)
    for name, lk in ours.items():
        assert lk.index == theirs[name]["ifindex"] and lk.mac == theirs[name]["address"]
    assert [lk.name for lk in links.list(ns)] == ["lo"]
    assert "veth0@if" in str(ours["veth0"])


def test_looking_gives_the_snapshots_objects(pair, ns):
    """One model: links.list/addresses/routes hand out what a snapshot holds, cross-checked with `ip -j`."""
    links.bridge("br0")
    try:
        links.attach("veth0", "br0")
        links.add_address("br0", "10.7.0.1/24")
        links.up("br0")
        links.move("veth1", to=ns, new_name="eth0")
        links.add_address("eth0", "10.7.0.2/24", netns=ns)
        links.up("eth0", netns=ns)
        links.add_route("default", via="10.7.0.1", netns=ns)
        topology = snapshot()
        ours, snapshots = links.list(ns), topology.namespace(ns).interfaces
        # The same objects; only a snapshot knows which namespace a peer's id stands for.
        assert [replace(i, peer=None) for i in ours] == [replace(i, peer=None) for i in snapshots]
        assert [(i.peer.index, i.peer.nsid) for i in ours if i.peer] == [
            (i.peer.index, i.peer.nsid) for i in snapshots if i.peer
        ]
        assert links.routes(ns) == list(topology.namespace(ns).routes)
        root = {i.name: i for i in links.list()}
        assert root["veth0"].master == "br0" and root["veth0"].peer.elsewhere and root["veth0"].peer.netns is None
        assert root["br0"].addresses[0] == "10.7.0.1/24" and root["br0"].kind == "bridge"
        assert links.addresses(ns, dev="eth0", family=4) == ["10.7.0.2/24"]
        assert links.addresses(ns, family=6) == [a for a in links.addresses(ns) if a.family == 6]
        theirs = {lk["ifname"]: lk for lk in ip_json("-d", "addr", netns_name=ns)}
        for interface in links.list(ns):
            seen = theirs[interface.name]
            assert (interface.index, interface.mac, interface.mtu) == (seen["ifindex"], seen["address"], seen["mtu"])
            assert sorted(map(str, interface.addresses)) == sorted(
                f"{a['local']}/{a['prefixlen']}" for a in seen["addr_info"]
            )
        routes = {r["dst"]: r for r in ip_json("route", netns_name=ns)}
        assert {r.dst: (r.via, r.dev, r.protocol) for r in links.routes(ns) if r.family == 4} == {
            dst: (r.get("gateway"), r["dev"], r.get("protocol", "boot")) for dst, r in routes.items()
        }
    finally:
        links.delete("br0")


SHOW = "ip -j addr; ip -n netns1 -j addr; ip -j route; ip -n netns1 -j route"


def summary(text: str) -> list:
    """Names, kinds, addresses and routes from the four JSON lines of SHOW (no states, MACs or indexes)."""
    found = []
    for line in text.splitlines():
        for item in json.loads(line):
            if "ifname" in item:
                found.append(
                    (
                        item["ifname"],
                        sorted(
                            f"{a['local']}/{a['prefixlen']}"
                            for a in item["addr_info"]
                            if not a["local"].startswith("fe80")
                        ),
                    )
                )
            else:
                found.append((item["dst"], item.get("gateway"), item.get("dev"), item.get("protocol")))
    return sorted(found, key=repr)


def test_recorded_commands_rebuild_the_same_network_with_ip():
    """The history is not decoration: run it with the real `ip` in a fresh world, get the same state."""
    netns.add("netns1")
    try:
        with recording() as history:
            links.veth("veth0", "veth1")
            links.move("veth1", to="netns1")
            links.add_address("veth1", "10.1.1.1/24", netns="netns1")
            links.up("veth1", netns="netns1")
            links.add_address("veth0", "10.1.1.2/24")
            links.up("veth0")
            links.add_route("10.9.0.0/16", via="10.1.1.1")
        ours = sh("sh", "-c", SHOW).stdout
    finally:
        netns.delete("netns1")
    script = "ip netns add netns1\n" + str(history) + "\n" + SHOW
    replayed = sh(NETLAB, "sandbox", "--", "sh", "-ec", script).stdout
    assert summary(replayed) == summary(ours)
    assert ("10.9.0.0/16", "10.1.1.1", "veth0", None) in summary(ours)  # proto boot, as `ip route add` does
    assert str(history).splitlines()[0] == "ip link add veth0 type veth peer name veth1"


def test_sysctl_is_per_namespace(ns):
    assert sysctl.get("net.ipv4.ip_forward", netns=ns) == "0"
    before = sysctl.get("net.ipv4.ip_forward")
    old = sysctl.set("net.ipv4.ip_forward", 1, netns=ns)
    assert old == "0"
    assert sh("ip", "netns", "exec", ns, "sysctl", "-n", "net.ipv4.ip_forward").stdout.strip() == "1"
    assert sysctl.get("net.ipv4.ip_forward") == before  # the root namespace did not change
    with recording() as history:
        sysctl.set("net.ipv4.conf.all.forwarding", 0, netns=ns)
    assert str(history) == f"ip netns exec {ns} sysctl -w net.ipv4.conf.all.forwarding=0"
