"""A Lab's way out (ip_forward, masquerade, publish) in a router namespace, checked with nft -j, sysctl, ip -j, ping."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest
from conftest import sh
from scenes import wait_up

from netlab import Lab, nat, netns
from netlab.errors import DeviceExistsError, InvalidAddressError, InvalidNameError, LabExistsError, NetlabError
from netlab.lab import journal

FORWARD = "net.ipv4.ip_forward"
TTL = "net.ipv4.ip_default_ttl"


def tool(ns: str, key: str) -> str:
    return sh("ip", "netns", "exec", ns, "sysctl", "-n", key).stdout.strip()


def nft_items(ns: str, *args: str) -> list[dict]:
    """``ip netns exec NS nft -j ARGS``, without its metainfo."""
    items = json.loads(sh("ip", "netns", "exec", ns, "nft", "-j", *args).stdout)["nftables"]
    return [item for item in items if "metainfo" not in item]


def of_kind(items: list[dict], kind: str) -> list[dict]:
    return [item[kind] for item in items if kind in item]


def one_line(err: NetlabError) -> None:
    assert "\n" not in err.message and err.hint and "\n" not in err.hint, str(err)


@pytest.fixture
def routed(ns: str) -> Iterator[Lab]:
    """The article's way out, with a router namespace the lab does not own (``ns``) in the root's place::

    c1 10.0.0.2 ── br0 10.0.0.1 (ns) uplink 203.0.113.2 ── eth0 203.0.113.1 (internet)
    """
    with Lab("inet") as lab:
        lab.bridge("br0", netns=ns)
        lab.add_address("br0", "10.0.0.1/24", netns=ns)
        lab.up("br0", netns=ns)
        lab.netns("c1")
        lab.connect("c1", address="10.0.0.2/24", gateway="10.0.0.1", bridge="br0", netns=ns)
        lab.netns("internet")
        lab.connect("internet", address="203.0.113.1/24", host_ifname="uplink", host_address="203.0.113.2/24", netns=ns)
        wait_up(("c1", "eth0"), (ns, "v-c1"), (ns, "br0"), (ns, "uplink"), ("internet", "eth0"))
        yield lab


def test_forwarding_and_masquerade_in_a_router_take_c1_to_the_internet_and_close_takes_them_back(ns, routed):
    lab = routed
    before, root, root_tables = (
        tool(ns, FORWARD),
        sh("sysctl", "-n", FORWARD).stdout,
        sh("nft", "list", "tables").stdout,
    )
    assert lab.sysctl(FORWARD, 1, netns=ns) == before
    assert tool(ns, FORWARD) == "1" and sh("sysctl", "-n", FORWARD).stdout == root
    # Forwarding alone is not enough: the internet has no way back to 10.0.0.0/24.
    assert sh("ip", "netns", "exec", "c1", "ping", "-c", "1", "-W", "1", "203.0.113.1", check=False).returncode != 0
    lab.masquerade("10.0.0.0/24", out="uplink", netns=ns)
    assert sh("ip", "netns", "exec", "c1", "ping", "-c", "1", "-W", "5", "203.0.113.1").returncode == 0
    seen = lab.probe("c1", "203.0.113.1", 80, server="internet")
    assert seen.ok and seen.local[0] == "10.0.0.2" and seen.seen_from[0] == "203.0.113.2"
    # nft in the router: the lab's own table, a nat chain on postrouting, one masquerade out of uplink.
    items = nft_items(ns, "-a", "list", "ruleset")
    (table,) = of_kind(items, "table")
    assert (table["family"], table["name"]) == ("inet", lab.table)
    (chain,) = of_kind(items, "chain")
    assert (chain["type"], chain["hook"]) == ("nat", "postrouting")
    (rule,) = of_kind(items, "rule")
    assert {"masquerade": None} in rule["expr"] and '"uplink"' in json.dumps(rule["expr"])
    assert lab.record.find("nft", table=lab.table)["handle"] == table["handle"]
    assert sh("nft", "list", "tables").stdout == root_tables  # nothing in the root namespace
    lab.close()
    assert nft_items(ns, "list", "tables") == [] and tool(ns, FORWARD) == before
    assert [link["ifname"] for link in json.loads(sh("ip", "-n", ns, "-j", "link").stdout)] == ["lo"]
    assert netns.list() == [ns] and not (journal.record_dir() / "inet.jsonl").exists()


def test_a_port_published_in_the_router_reaches_the_service_in_c1(ns, routed):
    lab = routed
    lab.sysctl(FORWARD, 1, netns=ns)
    lab.publish(8080, to="10.0.0.2:80", netns=ns)
    inbound = lab.probe("internet", "203.0.113.2", 8080, server="c1", server_port=80)
    assert inbound.ok and inbound.seen_from[0] == "203.0.113.1"  # only the destination was rewritten
    items = nft_items(ns, "list", "table", "inet", lab.table)
    rules = of_kind(items, "rule")
    assert sorted(rule["chain"] for rule in rules) == ["output", "prerouting"]
    for rule in rules:
        (dnat,) = [expr["dnat"] for expr in rule["expr"] if "dnat" in expr]
        assert (dnat["addr"], dnat["port"]) == ("10.0.0.2", 80)
    assert [(p.port, p.to) for p in nat.published(ns)] == [(8080, "10.0.0.2:80")]
    # The published port is the router's: the internet cannot reach c1's port 80 by any other way.
    assert not lab.probe("internet", "10.0.0.2", 80, server="c1", timeout=0.5).ok


def test_a_table_of_the_labs_name_made_by_hand_is_refused_and_kept(ns):
    with Lab("inet") as lab:
        sh("ip", "netns", "exec", ns, "nft", "add", "table", "inet", lab.table)
        (mine,) = of_kind(nft_items(ns, "-a", "list", "tables"), "table")
        for step in (
            lambda: lab.masquerade("10.0.0.0/24", out="uplink", netns=ns),
            lambda: lab.publish(8080, to="10.0.0.2:80", netns=ns),
        ):
            with pytest.raises(LabExistsError) as err:
                step()
            one_line(err.value)
            assert lab.table in err.value.message and f"nft delete table inet {lab.table}" in err.value.hint
        assert lab.record.of("nft") == []
        assert nft_items(ns, "-a", "list", "table", "inet", lab.table) == [{"table": mine}]  # no chain, no rule
    assert of_kind(nft_items(ns, "-a", "list", "tables"), "table") == [mine]  # closing the lab left it


def test_a_refused_step_changes_nothing_and_puts_nothing_on_record(ns):
    script = "add table ip theirs\nadd chain ip theirs pre { type nat hook prerouting priority dstnat ; }\n"
    script += "add rule ip theirs pre tcp dport 8080 dnat to 10.9.9.9:80\n"
    subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", "-"], input=script, text=True, check=True)
    before, tables = tool(ns, FORWARD), nft_items(ns, "-a", "list", "tables")
    with Lab() as lab:
        refused = [
            (lambda: lab.sysctl(FORWARD, "abc", netns=ns), NetlabError),  # the kernel says EINVAL
            (lambda: lab.sysctl(FORWARD, 1.5, netns=ns), InvalidNameError),
            (lambda: lab.sysctl("kernel.hostname", "x", netns=ns), InvalidNameError),
            (lambda: lab.masquerade("10.0.0.0/33", out="uplink", netns=ns), InvalidAddressError),
            (lambda: lab.masquerade("10.0.0.0/24", out="eth*", netns=ns), InvalidNameError),
            (lambda: lab.publish(0, to="10.0.0.2:80", netns=ns), InvalidAddressError),
            (lambda: lab.publish(8080, to="10.0.0.2:80", netns=ns), DeviceExistsError),  # theirs forwards 8080
        ]
        for step, error in refused:
            with pytest.raises(error) as err:
                step()
            one_line(err.value)
            assert len(lab.history) == 0, str(lab.history)
        assert lab.record.of("sysctl") == [] and lab.record.of("nft") == []
        assert tool(ns, FORWARD) == before and nft_items(ns, "-a", "list", "tables") == tables


def test_a_setting_set_twice_goes_back_to_the_value_before_the_first(ns):
    before = tool(ns, TTL)
    with Lab() as lab:
        assert lab.sysctl(TTL, 100, netns=ns) == before
        assert lab.sysctl(TTL, 101, netns=ns) == "100"
        (obj,) = lab.record.of("sysctl")  # one entry: the first old value, the last new one
        inode = int(sh("ls", "-i", str(netns.path(ns))).stdout.split()[0])
        assert (obj["netns"], obj["old"], obj["new"]) == (inode, before, "101")
        assert tool(ns, TTL) == "101"
        report = lab.close()
    assert any(f"{TTL}=101" in line and f"back to {before}" in line for line in report.removed), report.removed
    assert tool(ns, TTL) == before


def test_a_setting_changed_by_hand_after_the_lab_is_left_as_it_is_and_said(ns):
    with Lab() as lab:
        lab.sysctl(TTL, 100, netns=ns)
        sh("ip", "netns", "exec", ns, "sysctl", "-qw", f"{TTL}=99")
        report = lab.close()
    assert tool(ns, TTL) == "99"
    assert any(TTL in line and "changed since the lab set 100" in line for line in report.left), report.left


def test_a_two_number_setting_is_put_back_when_the_lab_closes(ns):
    key = "net.ipv4.ip_local_port_range"
    before = tool(ns, key)
    with Lab() as lab:
        lab.sysctl(key, "40000 50000", netns=ns)
        assert tool(ns, key).split() == ["40000", "50000"]
        report = lab.close()
    assert tool(ns, key) == before, report.left
