"""NAT for real: masquerade to a simulated internet, port publishing back in, checked with nft -j and probes."""

from __future__ import annotations

import json
import subprocess

import pytest
from conftest import sh

from netlab import Lab, nat, probe, sysctl
from netlab.errors import DeviceExistsError, DeviceNotFoundError, InvalidAddressError, InvalidNameError
from netlab.plumbing.commands import recording


def nft_json(*args: str, netns_name: str | None = None) -> list[dict]:
    prefix = ["ip", "netns", "exec", netns_name] if netns_name else []
    return json.loads(sh(*prefix, "nft", "-j", *args).stdout)["nftables"]


def rules(table: str) -> list[dict]:
    return [item["rule"] for item in nft_json("list", "table", "inet", table) if "rule" in item]


@pytest.fixture
def world():
    """The article's "connect to the internet": a bridge, two namespaces, an uplink to 203.0.113.0/24.

    ns1 10.0.0.2 ─┐
                  br0 10.0.0.1 (root, ip_forward=1) uplink 203.0.113.2 ── eth0 203.0.113.1 (internet)
    ns2 10.0.0.3 ─┘
    """
    with Lab("nat") as lab:
        lab.star(["ns1", "ns2"], bridge="br0", subnet="10.0.0.0/24")
        lab.netns("internet")
        lab.connect("internet", address="203.0.113.1/24", host_ifname="uplink", host_address="203.0.113.2/24")
        lab.sysctl("net.ipv4.ip_forward", 1)
        yield lab


def test_masquerade_hides_the_private_address(world):
    before = probe("ns1", "203.0.113.1", 80, server="internet", timeout=0.5)
    # Without NAT the internet sees 10.0.0.2 and has no route back to it: the handshake never completes.
    assert not before.ok
    world.masquerade("10.0.0.0/24", out="uplink")
    seen = probe("ns1", "203.0.113.1", 80, server="internet")
    assert seen.ok and seen.local[0] == "10.0.0.2"
    assert seen.seen_from[0] == "203.0.113.2" and seen.nat  # the uplink's address, never 10.x
    udp = probe("ns2", "203.0.113.1", 53, server="internet", proto="udp")
    assert udp.ok and udp.seen_from[0] == "203.0.113.2"
    assert world.ping("ns2", "203.0.113.1").ok
    # nft agrees: one masquerade rule in the lab's own table
    (rule,) = rules(world.table)
    assert rule["chain"] == "postrouting" and any("masquerade" in e for e in rule["expr"])


def test_port_publishing_reaches_a_namespace(world):
    world.publish(8080, to="10.0.0.2:80")
    inbound = probe("internet", "203.0.113.2", 8080, server="ns1", server_port=80)
    assert inbound.ok and inbound.seen_from[0] == "203.0.113.1"  # DNAT rewrote the destination only
    local = probe(None, "203.0.113.2", 8080, server="ns1", server_port=80)  # from the root namespace itself
    assert local.ok
    assert [p.port for p in nat.published()] == [8080]
    passing = probe("ns2", "10.0.0.2", 8080, server="ns1", timeout=0.5)  # not addressed to root: untouched
    assert passing.ok and passing.port == 8080
    with pytest.raises(DeviceExistsError) as err:
        world.publish(8080, to="10.0.0.3:80")
    assert "8080" in str(err.value) and "10.0.0.2:80" in str(err.value) and "unpublish" in err.value.hint


def test_lab_teardown_removes_table_and_restores_ip_forward():
    before = sysctl.get("net.ipv4.ip_forward")
    with Lab() as lab:
        lab.sysctl("net.ipv4.ip_forward", 1)
        lab.masquerade("10.0.0.0/24", out="lo")
        assert f"inet {lab.table}" in nat.tables()
        assert sh("sysctl", "-n", "net.ipv4.ip_forward").stdout.strip() == "1"
    assert f"inet {lab.table}" not in nat.tables()
    assert sh("sysctl", "-n", "net.ipv4.ip_forward").stdout.strip() == before


def test_nat_module_without_a_lab_and_iptables_notes(ns):
    with recording() as history:
        nat.masquerade("10.5.0.0/16", out="eth9", netns=ns)
        nat.publish(443, to=("10.5.0.9", 8443), netns=ns, proto="tcp")
    try:
        text = str(history)
        assert f"ip netns exec {ns} nft add table inet netlab" in text
        assert "iptables -t nat -A POSTROUTING -s 10.5.0.0/16 -o eth9 -j MASQUERADE" in text
        assert "--to-destination 10.5.0.9:8443" in text
        assert nat.published(ns)[0].to == "10.5.0.9:8443"
        assert {r["chain"] for r in rules_in(ns)} == {"postrouting", "prerouting", "output"}
        nat.unpublish(443, netns=ns)
        assert {r["chain"] for r in rules_in(ns)} == {"postrouting"}
        with pytest.raises(DeviceNotFoundError):
            nat.unpublish(443, netns=ns)
    finally:
        assert nat.remove_table(netns=ns)
    assert nat.tables(ns) == []
    with pytest.raises(DeviceNotFoundError):
        nat.remove_table(netns=ns)


def rules_in(ns: str) -> list[dict]:
    return [item["rule"] for item in nft_json("list", "table", "inet", "netlab", netns_name=ns) if "rule" in item]


def test_ipv6_masquerade_and_publish(ns):
    nat.masquerade("fd00:1::/64", out="eth0", netns=ns)
    nat.publish(8080, to="[fd00:1::2]:80", netns=ns)
    try:
        listing = nat.ruleset(ns, table="netlab")
        assert "ip6 saddr fd00:1::/64" in listing and "dnat ip6 to [fd00:1::2]:80" in listing
    finally:
        nat.remove_table(netns=ns)


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda: nat.masquerade("10.0.0.0/33", out="uplink"), InvalidAddressError),
        (lambda: nat.masquerade("10.0.0.1/24", out="uplink"), InvalidAddressError),
        (lambda: nat.masquerade("10.0.0.0/24", out="up link"), InvalidNameError),
        (lambda: nat.masquerade("10.0.0.0/24", out='q"x'), InvalidNameError),  # nft has no escape for '"'
        (lambda: nat.masquerade("10.0.0.0/24", out="eth*"), InvalidNameError),  # nft: a wildcard, every eth
        (lambda: nat.masquerade("10.0.0.0/24", out="uplink", table="bad-name"), InvalidNameError),
        (lambda: nat.publish(0, to="10.0.0.2:80"), InvalidAddressError),
        (lambda: nat.publish(8080, to="10.0.0.2"), InvalidAddressError),
        (lambda: nat.publish(8080, to="10.0.0.2:http"), InvalidAddressError),
        (lambda: nat.publish(8080, to="10.0.0.2:80", proto="sctp"), InvalidAddressError),
    ],
)
def test_nat_bad_input_changes_nothing(call, error):
    with pytest.raises(error) as err:
        call()
    assert err.value.hint
    assert nat.tables() == []


def test_publish_refuses_a_port_forwarded_by_someone_else(ns):
    script = (
        "add table ip theirs\n"
        "add chain ip theirs pre { type nat hook prerouting priority dstnat ; }\n"
        "add rule ip theirs pre tcp dport 8080 dnat to 10.9.9.9:80\n"
    )
    subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", "-"], input=script, text=True, check=True)
    with pytest.raises(DeviceExistsError) as err:
        nat.publish(8080, to="10.0.0.2:80", netns=ns)
    assert "another DNAT rule" in str(err.value)
    assert nat.tables(ns) == ["ip theirs"]  # nothing of ours was added (the table goes with the namespace)
