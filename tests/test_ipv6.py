"""IPv6 in the article's scene (notebook 08), against the real kernel, cross-checked with `ip -j -6`.

Link-local addresses that appear by themselves, duplicate address detection (and what it catches),
neighbour discovery where IPv4 has ARP, routes, ping both ways, a routed /64 through a router
namespace, and NAT66 (masquerade for ip6).
"""

from __future__ import annotations

import ipaddress
import json
import uuid
from collections.abc import Iterator

import pytest
from conftest import sh

from netlab import links, nat, netns, ping, probe, sysctl
from netlab.capture import capture
from netlab.errors import DeviceError, InvalidAddressError
from netlab.plumbing.commands import recording
from netlab.reach import wait_for_dad


def ip6(*args: str, netns_name: str | None = None) -> list[dict]:
    prefix = ["ip", "-n", netns_name] if netns_name else ["ip"]
    return json.loads(sh(*prefix, "-j", "-6", *args).stdout or "[]")


def addr_info(dev: str, netns_name: str) -> list[dict]:
    [link] = ip6("addr", "show", "dev", dev, netns_name=netns_name)
    return link["addr_info"]


def mac_of(dev: str, netns_name: str) -> str:
    [link] = json.loads(sh("ip", "-n", netns_name, "-j", "link", "show", "dev", dev).stdout)
    return link["address"]


def eui64(mac: str) -> str:
    """The link-local address the kernel derives from a MAC (addr_gen_mode eui64, the default)."""
    octets = bytearray(bytes.fromhex(mac.replace(":", "")))
    octets[0] ^= 0x02  # the universal/local bit, flipped
    interface_id = bytes(octets[:3]) + b"\xff\xfe" + bytes(octets[3:])
    return str(ipaddress.IPv6Address(b"\xfe\x80" + bytes(6) + interface_id))


@pytest.fixture
def two(ns: str) -> Iterator[tuple[str, str]]:
    """Namespaces ``ns`` (veth "a") and another (veth "b"), joined by a veth pair, both ends up."""
    other = f"t-{uuid.uuid4().hex[:8]}"
    netns.add(other)
    try:
        links.veth("a", "b", netns=ns, peer_netns=other)
        links.up("a", netns=ns)
        links.up("b", netns=other)
        yield ns, other
    finally:
        netns.delete(other)


def test_a_link_local_address_appears_by_itself_and_dad_finishes(two):
    left, right = two
    assert wait_for_dad("a", netns=left) == [] and wait_for_dad("b", netns=right) == []
    for dev, where in (("a", left), ("b", right)):
        [local] = [a for a in addr_info(dev, where) if a["scope"] == "link"]  # nobody added it
        assert local["local"] == eui64(mac_of(dev, where)) and local["prefixlen"] == 64
        assert not local.get("tentative") and not local.get("dadfailed")
        assert links.addresses(where, dev=dev, family=6) == [f"{local['local']}/64"]


def test_a_new_address_is_tentative_until_dad_is_over(two):
    left, _right = two
    wait_for_dad("a", netns=left)
    links.add_address("a", "2001:db8:1::1/64", netns=left, dad=True)
    [new] = [a for a in addr_info("a", left) if a["local"] == "2001:db8:1::1"]
    assert new.get("tentative")  # at once: the kernel has not asked the link yet
    with recording() as history:
        assert wait_for_dad("a", netns=left) == []
    [new] = [a for a in addr_info("a", left) if a["local"] == "2001:db8:1::1"]
    assert not new.get("tentative") and not new.get("dadfailed")
    assert f"ip -n {left} -6 addr show dev a tentative" in str(history)


def test_dad_catches_a_duplicate_and_the_capture_shows_why(two):
    left, right = two
    wait_for_dad("a", netns=left), wait_for_dad("b", netns=right)
    links.add_address("a", "2001:db8:1::1/64", netns=left, dad=True)
    wait_for_dad("a", netns=left)
    with capture((right, "b"), proto="icmp6", timeout=10) as cap:
        links.add_address("b", "2001:db8:1::1/64", netns=right, dad=True)  # the same address: a mistake
        failed = wait_for_dad("b", netns=right)
    assert failed == ["2001:db8:1::1/64"]
    [dup] = [a for a in addr_info("b", right) if a["local"] == "2001:db8:1::1"]
    assert dup.get("dadfailed")  # ip -6 addr: "dadfailed tentative", and never used
    asked = [p for p in cap if p.what == "neighbor solicitation" and p.src == "::"]
    assert asked and asked[0].direction == "out" and asked[0].dst == "ff02::1:ff00:1"  # the solicited-node group
    answered = [p for p in cap if p.what == "neighbor advertisement" and p.direction == "in"]
    assert answered and "2001:db8:1::1" in answered[0].summary


def test_wait_for_dad_says_why_a_link_that_is_down_never_finishes(ns):
    links.veth("a", "b", netns=ns)
    links.up("a", netns=ns)  # and "b" stays down: no carrier, so no DAD
    links.add_address("a", "2001:db8:1::1/64", netns=ns, dad=True)
    with pytest.raises(DeviceError) as caught:
        wait_for_dad("a", netns=ns, timeout=0.3)
    assert "still tentative" in caught.value.message and "bring up" in caught.value.hint
    assert [a for a in addr_info("a", ns) if a["local"] == "2001:db8:1::1"][0].get("tentative")
    for bad in (0, -1, True, "1"):
        with pytest.raises(InvalidAddressError):
            wait_for_dad("a", netns=ns, timeout=bad)  # type: ignore[arg-type]


def test_neighbour_discovery_instead_of_arp(two):
    left, right = two
    links.add_address("a", "2001:db8:1::2/64", netns=left)  # nodad: usable at once
    links.add_address("b", "2001:db8:1::1/64", netns=right)
    with capture((left, "a"), (right, "b"), filter="icmp6 and host 2001:db8:1::2", timeout=10) as cap:
        result = ping(left, "2001:db8:1::1")
    assert result.ok, result
    seen = [(p.what, p.src, p.dst) for p in cap if p.point == f"{left}:a"]
    assert seen == [
        ("neighbor solicitation", "2001:db8:1::2", "ff02::1:ff00:1"),  # not a broadcast: a multicast group
        ("neighbor advertisement", "2001:db8:1::1", "2001:db8:1::2"),
        ("echo request", "2001:db8:1::2", "2001:db8:1::1"),
        ("echo reply", "2001:db8:1::1", "2001:db8:1::2"),
    ], seen
    first = next(p for p in cap if p.point == f"{left}:a")
    assert first.dst_mac == "33:33:ff:00:00:01" and first.protocol == "ICMPv6"
    [entry] = [n for n in ip6("neigh", "show", "dev", "a", netns_name=left) if n["dst"] == "2001:db8:1::1"]
    assert entry["lladdr"] == mac_of("b", right)  # what the advertisement taught
    assert not sh("ip", "-n", left, "-j", "-4", "neigh").stdout.strip("[]\n")  # and no ARP at all


def test_routes_and_ping_both_ways_also_over_link_local(two):
    left, right = two
    links.add_address("a", "2001:db8:1::2/64", netns=left)
    links.add_address("b", "2001:db8:1::1/64", netns=right)
    wait_for_dad("a", netns=left), wait_for_dad("b", netns=right)
    kernel = {(r["dst"], r["dev"], r.get("protocol")) for r in ip6("route", netns_name=left)}
    assert {("2001:db8:1::/64", "a", "kernel"), ("fe80::/64", "a", "kernel")} <= kernel
    [route] = [r for r in links.routes(left) if r.family == 6]
    assert (route.dst, route.dev, route.protocol) == ("2001:db8:1::/64", "a", "kernel")
    assert ping(left, "2001:db8:1::1", count=2).received == 2
    assert ping(right, "2001:db8:1::2", count=2).received == 2
    [peer_local] = [a.ip for a in links.addresses(right, dev="b", family=6) if a.scope == "link"]
    assert ping(left, f"{peer_local}%a").ok  # a link-local address needs its link: %a
    # A default route through the neighbour's link-local address, as routers advertise it.
    links.add_route("default", via=peer_local, dev="a", netns=left)
    [default] = [r for r in ip6("route", "show", "default", netns_name=left)]
    assert (default["gateway"], default["dev"]) == (peer_local, "a")


@pytest.fixture
def routed() -> Iterator[dict[str, str]]:
    """c (2001:db8:2::2) -- router (2001:db8:2::1 | 2001:db8:ff::2) -- internet (2001:db8:ff::1)."""
    names = {role: f"t-{role[:3]}-{uuid.uuid4().hex[:6]}" for role in ("c", "router", "internet")}
    for name in names.values():
        netns.add(name)
    try:
        c, router, internet = names["c"], names["router"], names["internet"]
        links.veth("eth0", "down0", netns=c, peer_netns=router)
        links.veth("uplink", "eth0", netns=router, peer_netns=internet)
        for dev, where, cidr in [
            ("eth0", c, "2001:db8:2::2/64"),
            ("down0", router, "2001:db8:2::1/64"),
            ("uplink", router, "2001:db8:ff::2/64"),
            ("eth0", internet, "2001:db8:ff::1/64"),
        ]:
            links.add_address(dev, cidr, netns=where)
            links.up(dev, netns=where)
        links.add_route("default", via="2001:db8:2::1", netns=c)
        sysctl.set("net.ipv6.conf.all.forwarding", 1, netns=router)
        yield names
    finally:
        for name in names.values():
            netns.delete(name)


def test_a_routed_64_needs_no_nat_and_nat66_hides_it(routed):
    c, router, internet = routed["c"], routed["router"], routed["internet"]
    assert sh("ip", "netns", "exec", router, "sysctl", "-n", "net.ipv6.conf.all.forwarding").stdout.strip() == "1"
    assert not ping(c, "2001:db8:ff::1").ok  # the internet has no way back to 2001:db8:2::/64
    links.add_route("2001:db8:2::/64", via="2001:db8:ff::2", netns=internet)
    assert [r["dst"] for r in ip6("route", "show", "via", "2001:db8:ff::2", netns_name=internet)] == ["2001:db8:2::/64"]
    seen = probe(c, "2001:db8:ff::1", 8000, server=internet)
    assert seen.ok and seen.seen_from and seen.seen_from[0] == "2001:db8:2::2" and not seen.nat  # routed: as it is
    assert ping(internet, "2001:db8:2::2").ok  # and the way in works too: no port to publish
    # NAT66: no route back, the router masquerades the /64 behind its uplink's address.
    links.remove_route("2001:db8:2::/64", via="2001:db8:ff::2", netns=internet)
    nat.masquerade("2001:db8:2::/64", out="uplink", netns=router)
    rules = json.loads(sh("ip", "netns", "exec", router, "nft", "-j", "list", "ruleset").stdout)["nftables"]
    assert any("masquerade" in e for item in rules if "rule" in item for e in item["rule"]["expr"])
    seen = probe(c, "2001:db8:ff::1", 8001, server=internet)
    assert seen.ok and seen.seen_from and seen.seen_from[0] == "2001:db8:ff::2" and seen.nat
    assert not ping(internet, "2001:db8:2::2").ok  # hidden again: the way in is closed
