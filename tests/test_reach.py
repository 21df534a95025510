"""ping and probe: structured results that agree with the real tools."""

from __future__ import annotations

import pytest
from conftest import sh

from netlab import Lab, links, ping, probe
from netlab.errors import DeviceExistsError, InvalidAddressError, NamespaceNotFoundError
from netlab.reach import PingResult, parse_ping

IPUTILS_OK = """PING 10.1.1.1 (10.1.1.1) 56(84) bytes of data.

--- 10.1.1.1 ping statistics ---
3 packets transmitted, 3 received, 0% packet loss, time 402ms
rtt min/avg/max/mdev = 0.031/0.045/0.060/0.012 ms
"""
IPUTILS_LOSS = """PING 10.1.1.9 (10.1.1.9) 56(84) bytes of data.
From 10.1.1.2 icmp_seq=1 Destination Host Unreachable

--- 10.1.1.9 ping statistics ---
4 packets transmitted, 1 received, +1 errors, 75% packet loss, time 3004ms
rtt min/avg/max/mdev = 0.050/0.050/0.050/0.000 ms
"""
BUSYBOX = """PING 10.1.1.1 (10.1.1.1): 56 data bytes

--- 10.1.1.1 ping statistics ---
2 packets transmitted, 2 packets received, 0% packet loss
round-trip min/avg/max = 0.071/0.080/0.090 ms
"""


def test_parse_ping_summaries():
    ok = parse_ping(IPUTILS_OK, source="netns1", address="10.1.1.1")
    assert (ok.sent, ok.received, ok.loss, ok.rtt_min, ok.rtt_avg, ok.rtt_max) == (3, 3, 0.0, 0.031, 0.045, 0.060)
    assert str(ok) == "ping 10.1.1.1 from netns1: 3/3 received, 0% loss, rtt min/avg/max 0.031/0.045/0.060 ms"
    lossy = parse_ping(IPUTILS_LOSS, source="root", address="10.1.1.9")
    assert (lossy.sent, lossy.received, lossy.loss, lossy.ok) == (4, 1, 75.0, True)
    busybox = parse_ping(BUSYBOX, source="x", address="10.1.1.1")
    assert (busybox.sent, busybox.received, busybox.rtt_max) == (2, 2, 0.090)
    failed = parse_ping("connect: Network is unreachable\n", source="x", address="10.9.9.9")
    assert not failed and failed.error == "connect: Network is unreachable" and "failed" in str(failed)


@pytest.fixture
def pair_lab():
    """The article's pair: veth0 10.1.1.2/24 here, veth1 10.1.1.1/24 in netns1."""
    with Lab() as lab:
        lab.netns("netns1")
        lab.connect("netns1", address="10.1.1.1/24", host_ifname="veth0", ifname="veth1", host_address="10.1.1.2/24")
        yield lab


def test_ping_both_ways_agrees_with_real_ping(pair_lab):
    there = ping(None, "10.1.1.1", count=2)
    back = ping("netns1", "10.1.1.2")
    assert there.ok and (there.sent, there.received, there.loss) == (2, 2, 0.0)
    assert back.ok and back.rtt_avg is not None and back.source == "netns1"
    assert sh("ip", "netns", "exec", "netns1", "ping", "-c", "1", "-W", "1", "10.1.1.2").returncode == 0
    assert isinstance(there, PingResult) and bool(there) is True


def test_ping_failure_is_a_result_not_an_exception(pair_lab):
    nobody = ping("netns1", "10.1.1.77", timeout=0.3)
    assert not nobody.ok and nobody.sent == 1 and nobody.received == 0 and nobody.loss == 100.0
    no_route = ping("netns1", "192.0.2.1", timeout=0.3)
    assert not no_route.ok and "unreachable" in str(no_route).lower()


def test_tcp_and_udp_probes_report_both_ends(pair_lab):
    tcp = probe("netns1", "10.1.1.2", 8080, server=None)
    assert tcp.ok and tcp.local[0] == "10.1.1.1" and tcp.seen_from[0] == "10.1.1.1" and not tcp.nat
    udp = probe(None, "10.1.1.1", 5353, server="netns1", proto="udp")
    assert udp.ok and udp.seen_from[0] == "10.1.1.2" and "delivered" in str(udp)


def test_probe_to_nothing_fails_cleanly(pair_lab):
    refused = probe(None, "10.1.1.1", 80, server="netns1", server_port=81, timeout=0.5)
    assert not refused.ok and "refused" in refused.error.lower()


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda: ping(None, "example.com"), InvalidAddressError),
        (lambda: ping(None, "10.1.1.1/24"), InvalidAddressError),
        (lambda: ping(None, "10.0.0.1", count=0), InvalidAddressError),
        (lambda: ping("no-such-ns", "10.0.0.1"), NamespaceNotFoundError),
        (lambda: probe(None, "10.0.0.1", 70000, server=None), InvalidAddressError),
        (lambda: probe(None, "10.0.0.1", 80, server=None, proto="icmp"), InvalidAddressError),
        (lambda: probe(None, "10.0.0.1", 80, server=None, timeout=-1), InvalidAddressError),
        (lambda: probe(None, "10.0.0.1", 80, server=None, timeout=0), InvalidAddressError),
        (lambda: probe(None, "10.0.0.1", 80, server=None, timeout="2"), InvalidAddressError),
        (lambda: probe(None, "10.0.0.1", 80, server=None, bind="abc"), InvalidAddressError),
        (lambda: probe(None, "10.0.0.1", 80, server=None, bind="::1"), InvalidAddressError),
    ],
)
def test_reach_bad_input(call, error):
    with pytest.raises(error) as err:
        call()
    assert err.value.hint


def test_probe_port_in_use(pair_lab):
    import socket

    from netlab import call

    held = call("netns1", socket.socket)
    try:
        held.bind(("0.0.0.0", 9999))
        held.listen(1)
        with pytest.raises(DeviceExistsError) as err:
            probe(None, "10.1.1.1", 9999, server="netns1")
        assert "9999" in str(err.value) and "netns1" in str(err.value)
    finally:
        held.close()


def test_ping_from_a_path_and_links_view(pair_lab):
    from netlab import netns

    result = ping(netns.path("netns1"), "10.1.1.2")
    assert result.ok
    assert [lk.name for lk in links.list("netns1")] == ["lo", "veth1"]
