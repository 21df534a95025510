"""The one model of kernel objects (netlab.model) and how netlink messages become it, from hand-built data."""

from __future__ import annotations

import dataclasses
import json

from netlab import netlink
from netlab.model import Address, Interface, Namespace, NatRule, Peer, Route, plain
from netlab.view.snapshot import Topology


def link(ifindex: int, name: str, kind: str = "veth", **fields: object) -> netlink.LinkMessage:
    values: dict[str, object] = {
        "ifindex": ifindex,
        "name": name,
        "kind": kind,
        "operstate": "UP",
        "up": True,
        "lower_up": True,
        "mac": f"02:00:00:00:00:{ifindex:02x}",
        "mtu": 1500,
        "master": 0,
        "link": 0,
        "link_nsid": None,
        "alias": None,
    }
    values.update(fields)
    return netlink.LinkMessage(**values)  # type: ignore[arg-type]


def test_an_address_equals_its_text():
    address = Address("10.1.1.1/24", 4, "global", "veth1")
    assert address == "10.1.1.1/24" and "10.1.1.1/24" == address  # noqa: SIM300 - both ways round, on purpose
    assert address != "10.1.1.2/24" and address != Address("10.1.1.1/24", 4, "global", "veth0")
    assert [address] == ["10.1.1.1/24"] and "10.1.1.1/24" in (address,)
    assert hash(address) == hash("10.1.1.1/24") and len({address, Address("10.1.1.1/24", dev="veth1")}) == 1
    assert (address.ip, address.prefixlen, address.network, str(address)) == (
        "10.1.1.1",
        24,
        "10.1.1.0/24",
        "10.1.1.1/24",
    )


def test_messages_join_into_interfaces_with_names_not_numbers():
    links = [
        link(3, "br0", kind="bridge"),
        link(1, "lo", kind="loopback", operstate="UNKNOWN"),
        link(4, "v1", master=3, link=5),  # both ends here
        link(5, "v2", link=4),
        link(6, "h1", master=3, link=2, link_nsid=0),  # the far end is eth0 (ifindex 2) in namespace id 0
        link(7, "h2", link=2, link_nsid=1, alias="netlab:lab"),  # id 1: a namespace nobody identified
    ]
    addresses = [
        netlink.AddressMessage(3, 6, "fe80::1/64", "link"),
        netlink.AddressMessage(3, 4, "10.0.0.1/24", "global"),
        netlink.AddressMessage(1, 4, "127.0.0.1/8", "host"),
    ]
    found = netlink.interfaces(links, addresses, netns=100, peers={0: 200}, names={200: {1: "lo", 2: "eth0"}})
    by_name = {i.name: i for i in found}
    assert [i.name for i in found] == ["lo", "br0", "v1", "v2", "h1", "h2"]  # lo first, then by index
    assert by_name["br0"].addresses == ("10.0.0.1/24", "fe80::1/64")  # IPv4 first
    assert by_name["br0"].addresses[0].dev == "br0" and by_name["br0"].shown_addresses == ("10.0.0.1/24",)
    assert (by_name["v1"].master, by_name["h1"].master, by_name["v2"].master) == ("br0", "br0", None)
    assert by_name["v1"].peer == Peer(100, "v2", 5) and not by_name["v1"].peer.elsewhere
    assert by_name["h1"].peer == Peer(200, "eth0", 2, nsid=0) and by_name["h1"].peer.elsewhere
    assert by_name["h2"].peer == Peer(None, None, 2, nsid=1) and by_name["h2"].alias == "netlab:lab"
    assert by_name["lo"].peer is None and by_name["lo"].status == "UP" and "h1@if2" in str(by_name["h1"])


def test_routes_name_their_device():
    messages = [
        netlink.RouteMessage(4, "default", "10.0.0.1", 2, "boot", "global", "unicast", None, 0),
        netlink.RouteMessage(4, "10.0.0.0/24", None, 2, "kernel", "link", "unicast", "10.0.0.2", 0),
        netlink.RouteMessage(4, "10.9.0.0/16", None, 0, "static", "global", "blackhole", None, 0),
    ]
    routes = netlink.named_routes(messages, {1: "lo", 2: "eth0"})
    assert routes[0] == Route("default", via="10.0.0.1", dev="eth0", protocol="boot")
    assert routes[1].connected and str(routes[1]) == "10.0.0.0/24 dev eth0 proto kernel scope link src 10.0.0.2"
    assert str(routes[2]) == "blackhole 10.9.0.0/16"


def test_plain_data_is_what_asdict_gives():
    eth0 = Interface(
        "eth0",
        2,
        "veth",
        "UP",
        True,
        True,
        "02:00:00:00:00:02",
        1500,
        addresses=(Address("10.0.0.2/24", dev="eth0"),),
        peer=Peer(1, "h1", 6, nsid=0),
    )
    ns = Namespace(
        7,
        "ns1",
        names=("ns1",),
        interfaces=(eth0,),
        routes=(Route("default", via="10.0.0.1", dev="eth0"),),
        nat=(NatRule("masquerade", "nat", "post"),),
        ip_forward=False,
    )
    assert plain(ns) == dataclasses.asdict(ns)
    data = json.loads(json.dumps(Topology((ns,), taken_at=1.0).as_dict()))
    assert data["namespaces"][0]["interfaces"][0]["peer"] == {"netns": 1, "name": "h1", "index": 6, "nsid": 0}
