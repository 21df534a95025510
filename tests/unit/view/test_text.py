"""Text views of a snapshot (netlab/view/text.py), from Topology objects built by hand: no kernel needed.

The scene: the article's veth pair (root <-> netns1), a bridge in root with a port whose peer is in
a namespace only a process holds, and a macvlan whose parent is somewhere the snapshot cannot see.
"""

from __future__ import annotations

import re

import pytest

from netlab.view.snapshot import Address, Interface, Namespace, NatRule, Peer, Route, Topology
from netlab.view.text import to_dot, to_mermaid, tree

ROOT, NETNS1, HELD = 4026531840, 4026532302, 4026532400


def _link(name: str, index: int, kind: str, *, up: bool = True, carrier: bool = True, **more) -> Interface:
    return Interface(
        name=name,
        index=index,
        kind=kind,
        state="UP" if up and carrier else "DOWN",
        up=up,
        carrier=carrier,
        mac=f"02:00:00:00:00:{index:02x}",
        mtu=1500,
        **more,
    )


def _connected(prefix: str, dev: str, src: str) -> Route:
    return Route(dst=prefix, dev=dev, protocol="kernel", scope="link", src=src)


@pytest.fixture
def scene() -> Topology:
    root = Namespace(
        inode=ROOT,
        title="root",
        root=True,
        interfaces=(
            _link("lo", 1, "loopback", addresses=(Address("127.0.0.1/8", scope="host"),)),
            _link(
                "veth0",
                2,
                "veth",
                addresses=(Address("10.1.1.2/24"), Address("fe80::1/64", family=6, scope="link")),
                peer=Peer(NETNS1, "veth1", 2),
            ),
            _link("br0", 3, "bridge", addresses=(Address("10.2.2.1/24"),)),
            _link("vethb", 4, "veth", master="br0", peer=Peer(HELD, "eth0", 2)),
            _link("mv0", 5, "macvlan", up=False, carrier=False, lower=Peer(None, None, 7)),
        ),
        routes=(_connected("10.1.1.0/24", "veth0", "10.1.1.2"), _connected("10.2.2.0/24", "br0", "10.2.2.1")),
        ip_forward=True,
        nat=(NatRule(action="masquerade", table="netlab", chain="postrouting"),),
    )
    netns1 = Namespace(
        inode=NETNS1,
        title="netns1",
        names=("netns1",),
        mounts=("/run/netns/netns1",),
        holders=("bind mount /run/netns/netns1",),
        interfaces=(
            _link("lo", 1, "loopback", up=False, carrier=False),
            _link("veth1", 2, "veth", addresses=(Address("10.1.1.1/24"),), peer=Peer(ROOT, "veth0", 2)),
        ),
        routes=(_connected("10.1.1.0/24", "veth1", "10.1.1.1"), Route(dst="default", via="10.1.1.2", dev="veth1")),
        ip_forward=False,
    )
    held = Namespace(
        inode=HELD,
        title='pid 4242 (sleep "x")',
        pids=(4242,),
        holders=("process 4242 (sleep)",),
        interfaces=(_link("eth0", 2, "veth", up=False, carrier=False, peer=Peer(ROOT, "vethb", 4)),),
        target_path="/proc/4242/ns/net",
    )
    return Topology((held, netns1, root), taken_at=0.0)


def _block(text: str, title: str) -> list[str]:
    """The lines of one namespace in the tree: its header up to the next header."""
    lines = text.splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith(title) and " · net:[" in line)
    end = next((n for n in range(start + 1, len(lines)) if not lines[n].startswith(("├", "└", "│", " "))), len(lines))
    return lines[start:end]


def test_the_root_comes_first_and_its_header_says_what_holds(scene):
    text = tree(scene)
    assert text.splitlines()[0] == "root · net:[4026531840] · you are here · forwarding on · NAT masquerade"
    assert [line.split(" · ")[0] for line in text.splitlines() if " · net:[" in line] == [
        "root",
        "netns1",
        'pid 4242 (sleep "x")',
    ]
    assert _block(text, "netns1")[0] == "netns1 · net:[4026532302] · forwarding off"  # its own name is not news
    assert _block(text, "pid 4242")[0] == 'pid 4242 (sleep "x") · net:[4026532400] · held by process 4242 (sleep)'


def test_each_interface_reads_like_ip_br_addr_with_its_wiring(scene):
    root = "\n".join(_block(tree(scene), "root"))
    assert re.search(r"veth0 +veth +UP +10\.1\.1\.2/24  ⇄ veth1 @ netns1$", root, re.M)
    assert "fe80::1" not in root  # every up link has a link-local address: not worth a column
    assert re.search(r"lo +loopback +UP +127\.0\.0\.1/8$", root, re.M)
    assert re.search(r"mv0 +macvlan +DOWN +↳ ifindex 7 in a namespace this snapshot cannot see$", root, re.M)
    netns1 = "\n".join(_block(tree(scene), "netns1"))
    assert re.search(r"lo +loopback +DOWN$", netns1, re.M)
    assert re.search(r"veth1 +veth +UP +10\.1\.1\.1/24  ⇄ veth0 @ root$", netns1, re.M)
    held = "\n".join(_block(tree(scene), "pid 4242"))
    assert re.search(r"eth0 +veth +DOWN +⇄ vethb @ root$", held, re.M)


def test_a_bridge_port_hangs_under_its_bridge(scene):
    lines = _block(tree(scene), "root")
    bridge = next(n for n, line in enumerate(lines) if re.match(r"[├└]── br0 ", line))
    assert re.match(r"│   └── vethb +veth +UP +⇄ eth0 @ pid 4242", lines[bridge + 1])
    assert not any(re.match(r"[├└]── vethb", line) for line in lines)  # not also at the top level


def test_routes_come_last_as_ip_route_prints_them(scene):
    lines = _block(tree(scene), "netns1")
    at = lines.index("└── routes")
    assert "    ├── 10.1.1.0/24 dev veth1 proto kernel scope link src 10.1.1.1" in lines[at + 1 :]
    assert any(line.endswith("default via 10.1.1.2 dev veth1") for line in lines[at + 1 :])
    assert all(line.startswith("    ") for line in lines[at + 1 :])
    assert not any("routes" in line for line in tree(scene, routes=False).splitlines())


def test_color_is_only_for_terminals(scene):
    assert "\033[" not in tree(scene)
    colored = tree(scene, color=True)
    assert "\033[32mUP\033[0m" in colored and "\033[31mDOWN\033[0m" in colored
    assert re.sub(r"\033\[\d+m", "", colored).splitlines()[0] == tree(scene).splitlines()[0]


def test_dot_has_a_cluster_per_namespace_and_an_edge_per_wire(scene):
    dot = to_dot(scene)
    assert dot.startswith("graph netlab {\n") and dot.endswith("}\n")
    assert dot.count("{") == dot.count("}")
    assert sorted(re.findall(r"subgraph cluster_(\d+)", dot)) == sorted(map(str, (ROOT, NETNS1, HELD)))
    edges = re.findall(r'^  "([^"]+)" -- "([^"]+)" \[(.*)\];$', dot, re.M)
    wires = {frozenset((a, b)): attrs for a, b, attrs in edges}
    assert 'label="veth"' in wires[frozenset({f"net:[{ROOT}]/veth0", f"net:[{NETNS1}]/veth1"})]
    assert 'label="veth"' in wires[frozenset({f"net:[{ROOT}]/vethb", f"net:[{HELD}]/eth0"})]
    assert "style=dotted" in wires[frozenset({f"net:[{ROOT}]/vethb", f"net:[{ROOT}]/br0"})]
    assert len(edges) == 3  # each veth pair once, and the one bridge port
    assert 'label="pid 4242 (sleep \\"x\\")\\nnet:[4026532400]"' in dot  # quotes escaped, line break kept
    assert re.search(r'"net:\[\d+\]/br0" \[label="br0\\n10\.2\.2\.1/24\\nUP".*shape=box3d\]', dot)


def test_mermaid_has_a_subgraph_per_namespace_and_a_link_per_wire(scene):
    text = to_mermaid(scene)
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    assert text.count("  subgraph ") == 3 == text.count("\n  end\n")
    assert f"  if_{ROOT}_veth0 <-->|veth| if_{NETNS1}_veth1" in lines
    assert f"  if_{ROOT}_vethb -.-|port| if_{ROOT}_br0" in lines
    assert f'  subgraph ns_{HELD}["pid 4242 (sleep #quot;x#quot;) · net:[{HELD}]"]' in lines
    assert f"  style ns_{ROOT} stroke:#1f4e79,stroke-width:3px" in lines
    states = {line.split()[-1]: set(line.split()[1].split(",")) for line in lines if line.startswith("  class ")}
    assert f"if_{NETNS1}_lo" in states["down"] and f"if_{ROOT}_veth0" in states["up"]


def test_an_empty_namespace_still_shows():
    alone = Topology((Namespace(inode=7, title="root", root=True),), taken_at=0.0)
    assert tree(alone) == "root · net:[7] · you are here"
    assert '"net:[7]" [label="(no interfaces)"' in to_dot(alone)
    assert '    empty_7["(no interfaces)"]' in to_mermaid(alone).splitlines()
