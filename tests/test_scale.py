"""A classroom-sized world: 1000 namespaces on one bridge, built, read back whole, and taken down.

It takes about a minute: ``pytest -m scale`` runs only this, ``pytest -m "not scale"`` skips it.
Every count is cross-checked with ``ip -j`` (one ``ip`` per namespace, through
``ip -all netns exec``), and after ``Lab.close()`` nothing may be left (the ``no_residue``
fixture compares namespaces, links, mounts, nft tables and sysctls with the start).
"""

from __future__ import annotations

import json
import re

import pytest
from conftest import sh

from netlab import Lab, netns, snapshot

pytestmark = pytest.mark.scale

COUNT = 1000


def ip_j(*args: str) -> list[dict]:
    return json.loads(sh("ip", "-j", *args).stdout or "[]")


def every_namespace_with_ip() -> dict[str, dict[str, tuple[str, ...]]]:
    """``ip -all netns exec ip -j -4 addr show``: {namespace: {interface: its IPv4 addresses}}."""
    out = sh("ip", "-all", "netns", "exec", "ip", "-j", "-4", "addr", "show").stdout
    found: dict[str, dict[str, tuple[str, ...]]] = {}
    # ip prints "\nnetns: NAME\n" then that namespace's JSON, for each namespace.
    for name, text in re.findall(r"^netns: (\S+)\n(.*?)$", out, flags=re.M | re.S):
        found[name] = {
            link["ifname"]: tuple(f"{a['local']}/{a['prefixlen']}" for a in link.get("addr_info", []))
            for link in json.loads(text or "[]")
        }
    return found


def every_namespace_links_with_ip() -> dict[str, set[str]]:
    """``ip -all netns exec ip -j link show``: {namespace: its interface names}."""
    out = sh("ip", "-all", "netns", "exec", "ip", "-j", "link", "show").stdout
    return {
        name: {link["ifname"] for link in json.loads(text or "[]")}
        for name, text in re.findall(r"^netns: (\S+)\n(.*?)$", out, flags=re.M | re.S)
    }


def test_a_thousand_namespace_star_is_seen_whole_and_leaves_nothing():
    lab = Lab("scale", progress=False)
    try:
        names = lab.star(COUNT, subnet="10.0.0.0/16", prefix="s")
        topology = snapshot()

        # Every namespace, as `ip netns list` has them.
        assert len(names) == COUNT
        listed = {entry["name"] for entry in ip_j("netns", "list")}
        assert listed == set(names) == set(netns.list())
        ours = {ns.title for ns in topology.namespaces if not ns.root}
        assert ours == listed and not any(ns.outside for ns in topology.namespaces)

        # Every interface of every namespace, and every address, as `ip -j` sees them.
        links_by_ip = every_namespace_links_with_ip()
        addrs_by_ip = every_namespace_with_ip()
        assert set(links_by_ip) == set(addrs_by_ip) == listed
        for name in names:
            ns = topology.namespace(name)
            assert {i.name for i in ns.interfaces} == links_by_ip[name] == {"lo", "eth0"}
            assert {i.name: i.ipv4 for i in ns.interfaces if i.ipv4} == {
                k: v for k, v in addrs_by_ip[name].items() if v
            }
            assert [r.via for r in ns.default_routes] == ["10.0.0.1"]
        root_by_ip = {link["ifname"] for link in ip_j("link", "show")}
        assert {i.name for i in topology.root.interfaces} == root_by_ip
        assert len(root_by_ip) == COUNT + 2  # lo, br0 and one veth end per namespace

        # Every veth joined to its other end, across the namespace border.
        pairs = topology.veth_pairs()
        assert len(pairs) == COUNT
        for name in names:
            ns = topology.namespace(name)
            far = topology.peer_of(ns, ns.interface("eth0"))
            assert far is not None and far[0].root and far[1].master == "br0"
            assert far[1].peer is not None and far[1].peer.netns == ns.inode

        # Every bridge port, as `ip link show master br0` lists them; the graph agrees.
        [(root, bridge, ports)] = topology.bridges()
        ports_by_ip = {link["ifname"] for link in ip_j("link", "show", "master", "br0")}
        assert root.root and bridge.name == "br0" and {p.name for p in ports} == ports_by_ip
        assert len(ports_by_ip) == COUNT
        kinds = [data["kind"] for _, _, data in topology.graph.edges(data=True)]
        assert (kinds.count("veth"), kinds.count("port")) == (COUNT, COUNT)
    finally:
        report = lab.close()

    assert report is not None and report.errors == [] and report.left == []
    assert sh("ip", "netns", "list").stdout == ""
    assert [link["ifname"] for link in ip_j("link", "show")] == ["lo"]
    assert [ns.title for ns in snapshot().namespaces] == ["root"]
