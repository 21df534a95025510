"""Small topologies built by hand, for the drawing's unit tests: no kernel, any user."""

from __future__ import annotations

from netlab.view.snapshot import Interface, Namespace, Peer, Topology


def veth(name: str, index: int, peer: Peer) -> Interface:
    mac = f"02:00:00:00:00:{index:02x}"
    return Interface(name, index, "veth", "UP", up=True, carrier=True, mac=mac, mtu=1500, peer=peer)


def lo() -> Interface:
    return Interface("lo", 1, "loopback", "UNKNOWN", up=True, carrier=True, mac="00:00:00:00:00:00", mtu=65536)


def star(spokes: int, *, hub_root: bool = True) -> Topology:
    """A hub (inode 100) with a veth vK to eth0 in each spoke sK (inode 100 + K)."""
    hub_ifs = [lo()] + [veth(f"v{k}", 1 + k, Peer(100 + k, "eth0", 2)) for k in range(1, spokes + 1)]
    title, names = ("root", ()) if hub_root else ("hub", ("hub",))
    hub = Namespace(100, title, root=hub_root, names=names, interfaces=tuple(hub_ifs))
    others = [
        Namespace(100 + k, f"s{k}", names=(f"s{k}",), interfaces=(lo(), veth("eth0", 2, Peer(100, f"v{k}", 1 + k))))
        for k in range(1, spokes + 1)
    ]
    return Topology((hub, *others), taken_at=0)


def chain(*titles: str) -> Topology:
    """Namespaces in a row, each joined to the next by a veth pair (west/east)."""
    namespaces = []
    for n, title in enumerate(titles):
        links = [lo()]
        if n:
            links.append(veth("west", 2, Peer(n - 1, "east", 3)))
        if n < len(titles) - 1:
            links.append(veth("east", 3, Peer(n + 1, "west", 2)))
        namespaces.append(Namespace(n, title, root=n == 0, names=() if n == 0 else (title,), interfaces=tuple(links)))
    return Topology(tuple(namespaces), taken_at=0)
