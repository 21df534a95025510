"""Discovery: scenes built with plain `ip` commands, and the snapshot must describe exactly them.

Every scene is checked twice: against the expected shape written out by hand, and against
what `ip -j` (an independent tool) reports in each namespace.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import networkx as nx
import pytest
import scenes
from scenes import shell

from netlab import call, inode, snapshot
from netlab.view.snapshot import NatRule, Route, Topology


def shape(topology: Topology) -> dict[str, dict[str, tuple]]:
    """{namespace title: {interface: (kind, admin up, IPv4 addresses, veth peer, bridge)}}."""
    out = {}
    for ns in topology.namespaces:
        interfaces = {}
        for interface in ns.interfaces:
            other = topology.peer_of(ns, interface)
            peer = f"{other[1].name}@{other[0].title}" if other else None
            interfaces[interface.name] = (interface.kind, interface.up, interface.ipv4, peer, interface.master)
        out[ns.title] = interfaces
    return out


def edges(topology: Topology, kind: str) -> set[frozenset[str]]:
    """Edges of one kind, as {"namespace/interface", ...} pairs, by title."""
    found = set()
    for a, b, data in topology.graph.edges(data=True):
        if data["kind"] == kind:
            ends = [topology.graph.nodes[n] for n in (a, b)]
            found.add(frozenset(f"{topology.graph.nodes[e['netns']]['title']}/{e['name']}" for e in ends))
    return found


LO_UP = ("loopback", True, ("127.0.0.1/8",), None, None)
LO_DOWN = ("loopback", False, (), None, None)


def ip_view(netns_name: str | None) -> dict[str, tuple]:
    """What `ip -j -d addr` says about a namespace: the independent cross-check.

    (Not the operstate: the kernel updates it in the background, a moment after `up`.)
    """
    argv = ["ip"] + (["-n", netns_name] if netns_name else []) + ["-j", "-d", "addr", "show"]
    found = {}
    for link in json.loads(subprocess.run(argv, capture_output=True, text=True, check=True).stdout):
        kind = link.get("linkinfo", {}).get("info_kind") or (
            "loopback" if link["link_type"] == "loopback" else "device"
        )
        ipv4 = tuple(f"{a['local']}/{a['prefixlen']}" for a in link.get("addr_info", []) if a["family"] == "inet")
        found[link["ifname"]] = (kind, "UP" in link["flags"], ipv4, link.get("master"), link["address"], link["mtu"])
    return found


def our_view(topology: Topology, title: str) -> dict[str, tuple]:
    ns = topology.namespace(title)
    return {i.name: (i.kind, i.up, i.ipv4, i.master, i.mac, i.mtu) for i in ns.interfaces}


def test_a_fresh_lab_is_just_the_root_namespace():
    topology = snapshot()
    assert [ns.title for ns in topology.namespaces] == ["root"]
    root = topology.root
    assert root.inode == inode() and root.label == f"net:[{inode()}]"
    assert shape(topology) == {"root": {"lo": LO_UP}}
    assert root.ip_forward is False and root.nat == () and root.routes == ()


def test_the_articles_veth_scene():
    with scenes.article_veth():
        topology = snapshot()
        assert shape(topology) == {
            "root": {"lo": LO_UP, "veth0": ("veth", True, ("10.1.1.2/24",), "veth1@netns1", None)},
            "netns1": {"lo": LO_DOWN, "veth1": ("veth", True, ("10.1.1.1/24",), "veth0@root", None)},
        }
        netns1 = topology.namespace("netns1")
        assert netns1.inode == os.stat("/run/netns/netns1").st_ino
        assert netns1.names == ("netns1",) and netns1.holders == ("bind mount /run/netns/netns1",)
        assert not netns1.root and topology.root.root
        assert Route("10.1.1.0/24", dev="veth1", protocol="kernel", scope="link", src="10.1.1.1") in netns1.routes
        assert edges(topology, "veth") == {frozenset({"root/veth0", "netns1/veth1"})}
        assert edges(topology, "port") == set()
        for title, name in (("root", None), ("netns1", "netns1")):
            assert our_view(topology, title) == ip_view(name)


def test_a_bridge_with_three_namespaces():
    with scenes.bridge_with_three():
        topology = snapshot()
        expected = {"root": {"lo": LO_UP, "br0": ("bridge", True, ("10.0.0.1/24",), None, None)}}
        for n in (1, 2, 3):
            expected["root"][f"v{n}"] = ("veth", True, (), f"eth0@ns{n}", "br0")
            expected[f"ns{n}"] = {"lo": LO_DOWN, "eth0": ("veth", True, (f"10.0.0.{10 + n}/24",), f"v{n}@root", None)}
        assert shape(topology) == expected
        assert edges(topology, "port") == {frozenset({f"root/v{n}", "root/br0"}) for n in (1, 2, 3)}
        [(ns, bridge, ports)] = topology.bridges()
        assert (ns.title, bridge.name, sorted(p.name for p in ports)) == ("root", "br0", ["v1", "v2", "v3"])
        ports_by_ip = json.loads(
            subprocess.run(
                ["ip", "-j", "link", "show", "master", "br0"], capture_output=True, text=True, check=True
            ).stdout
        )
        assert sorted(p["ifname"] for p in ports_by_ip) == ["v1", "v2", "v3"]
        for n in (1, 2, 3):
            assert topology.namespace(f"ns{n}").default_routes == (
                Route("default", via="10.0.0.1", dev="eth0", protocol="boot"),
            )
            assert our_view(topology, f"ns{n}") == ip_view(f"ns{n}")
        assert our_view(topology, "root") == ip_view(None)
        root = topology.root
        assert root.ip_forward is True
        assert root.nat == (NatRule("masquerade", table="scene_nat", chain="post", family="ip"),)


def test_a_chain_through_a_router_namespace():
    with scenes.chain_through_router():
        topology = snapshot()
        assert shape(topology) == {
            "root": {"lo": LO_UP},
            "A": {"lo": LO_UP, "a0": ("veth", True, ("10.1.0.2/24",), "r0@R", None)},
            "C": {"lo": LO_UP, "c0": ("veth", True, ("10.2.0.2/24",), "r1@R", None)},
            "R": {
                "lo": LO_DOWN,
                "r0": ("veth", True, ("10.1.0.1/24",), "a0@A", None),
                "r1": ("veth", True, ("10.2.0.1/24",), "c0@C", None),
            },
        }
        forwarding = {ns.title: ns.ip_forward for ns in topology.namespaces}
        assert forwarding == {"root": False, "A": False, "C": False, "R": True}
        for name in ("A", "R", "C"):  # /proc/sys/net follows the reading thread: agree with sysctl run inside
            inside = subprocess.run(
                ["ip", "netns", "exec", name, "sysctl", "-n", "net.ipv4.ip_forward"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            assert forwarding[name] == (inside == "1")
            assert our_view(topology, name) == ip_view(name)
        assert set(topology.namespace("R").nat) == {
            NatRule("dnat", table="nat", chain="pre", family="ip", to="10.1.0.2:80"),
            NatRule("masquerade", table="nat", chain="POSTROUTING", family="ip", tool="iptables"),
        }
        assert topology.namespace("A").nat == () and topology.namespace("A").default_routes[0].via == "10.1.0.1"
        # The graph answers routing questions: A reaches C through R, and only through R.
        graph = topology.graph
        a, c = topology.namespace("A").key, topology.namespace("C").key
        path = [graph.nodes[n].get("title") or graph.nodes[n]["name"] for n in nx.shortest_path(graph, a, c)]
        assert path == ["A", "a0", "r0", "R", "r1", "c0", "C"]
        assert not nx.has_path(graph, a, topology.root.key)


def test_an_unnamed_namespace_held_by_a_process():
    with scenes.unnamed_held_by_process() as proc:
        topology = snapshot()
        title = f"pid {proc.pid} (sleep)"
        assert shape(topology) == {
            "root": {"lo": LO_UP, "u0": ("veth", True, (), f"u1@{title}", None)},
            title: {"lo": LO_DOWN, "u1": ("veth", False, (), "u0@root", None)},
        }
        held = topology.namespace(title)
        assert held.inode == os.stat(f"/proc/{proc.pid}/ns/net").st_ino
        assert held.names == () and held.pids == (proc.pid,)
        assert held.holders == (f"process {proc.pid} (sleep)",)
        assert held.target == Path(f"/proc/{proc.pid}/ns/net")  # what netlab.run/call can enter
    after = snapshot()
    assert [ns.title for ns in after.namespaces] == ["root"]  # gone with its process


@pytest.mark.parametrize("holder", ["ip netns exec", "nsenter"])
def test_a_veth_whose_peer_namespace_was_deleted_but_is_still_held(holder):
    with scenes.peer_namespace_deleted(holder) as proc:
        topology = snapshot()
        title = f"pid {proc.pid} (sleep)"
        assert shape(topology) == {
            "root": {"lo": LO_UP, "x0": ("veth", True, ("10.5.0.1/30",), f"x1@{title}", None)},
            title: {"lo": LO_DOWN, "x1": ("veth", True, ("10.5.0.2/30",), "x0@root", None)},
        }
        orphan = topology.namespace(title)
        assert orphan.names == () and orphan.holders == (f"process {proc.pid} (sleep)",)
        # Still reachable through the process, although `ip netns list` no longer knows it.
        assert subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout == ""
        assert (
            subprocess.run(
                ["nsenter", f"--net=/proc/{proc.pid}/ns/net", "ping", "-c1", "-W1", "10.5.0.1"], capture_output=True
            ).returncode
            == 0
        )


def test_snapshot_from_inside_another_namespace_calls_that_one_root():
    with scenes.article_veth():
        inside = call("netns1", snapshot)
        assert inside.root.inode == os.stat("/run/netns/netns1").st_ino
        assert inside.root.title == "root" and inside.root.names == ("netns1",)
        sandbox_root = next(ns for ns in inside.namespaces if ns.inode == inode())
        assert not sandbox_root.root and sandbox_root.title.startswith(f"pid {min(sandbox_root.pids)} (")
        assert os.getpid() in sandbox_root.pids
        assert shape(inside)["root"]["veth1"][3] == f"veth0@{sandbox_root.title}"


def test_a_veth_pair_with_both_ends_here_and_a_stale_name():
    """Before the article moves veth1: both ends in root. A stale run-dir file is no namespace."""
    with scenes.cleanup(links=("veth0",), extra=("rm -f /run/netns/stale",)):
        shell("ip link add veth0 type veth peer name veth1", "touch /run/netns/stale")
        topology = snapshot()
        assert shape(topology) == {
            "root": {
                "lo": LO_UP,
                "veth0": ("veth", False, (), "veth1@root", None),
                "veth1": ("veth", False, (), "veth0@root", None),
            }
        }
        assert topology.find("veth1")[0][0].root


def test_graph_nodes_and_attributes():
    with scenes.article_veth():
        topology = snapshot()
        graph = topology.graph
        netns1 = topology.namespace("netns1")
        assert graph.nodes[netns1.key]["kind"] == "netns" and graph.nodes[netns1.key]["title"] == "netns1"
        veth1 = graph.nodes[f"{netns1.key}/veth1"]
        assert (veth1["kind"], veth1["type"], veth1["netns"], veth1["addresses"][0]) == (
            "interface",
            "veth",
            netns1.key,
            "10.1.1.1/24",
        )
        kinds = sorted(data["kind"] for _, _, data in graph.edges(data=True))
        assert kinds == ["contains"] * 4 + ["veth"]
        assert json.loads(json.dumps(topology.as_dict()))["namespaces"][1]["names"] == ["netns1"]


def test_a_hundred_namespaces_on_a_bridge():
    with scenes.star(100) as names:
        topology = snapshot()
        assert len(topology.namespaces) == 101
        assert len(topology.veth_pairs()) == 100
        [(_, bridge, ports)] = topology.bridges()
        assert bridge.name == "br0" and len(ports) == 100
        for i, name in enumerate(names, start=1):
            assert shape(topology)[name]["eth0"][2:4] == ((f"10.0.{i // 250}.{i % 250 + 2}/16",), f"h{i}@root")


def test_a_namespace_held_only_by_an_open_fd():
    """After `ip netns delete`, an open fd keeps the namespace: it is found, titled, and entered by it.

    A lower fd is closed first so that listing /proc/self/fd (which opens, then closes, an fd of
    its own in that hole) cannot hide the holder: the scan must shrug off fds that vanish.
    """
    with scenes.cleanup(namespaces=("held",)):
        shell("ip netns add held", "ip -n held link set lo up")
        spare = os.open("/dev/null", os.O_RDONLY)
        fd = os.open("/run/netns/held", os.O_RDONLY)
        try:
            os.close(spare)
            shell("ip netns delete held")
            topology = snapshot()
            title = f"fd {fd} of pid {os.getpid()}"
            held = topology.namespace(title)
            assert held.inode == os.fstat(fd).st_ino and held.names == ()
            assert held.holders == (f"open fd {fd} of process {os.getpid()}",)
            assert shape(topology)[title] == {"lo": LO_UP}
        finally:
            os.close(fd)
    assert [ns.title for ns in snapshot().namespaces] == ["root"]
