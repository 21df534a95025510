"""Capture for real: packet sockets inside namespaces, cross-checked with tcpdump -r and scapy."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import sh
from scenes import article_veth, internet_scene, wait_until, wait_up

from netlab import probe
from netlab.capture import Capture, CaptureError, FilterError, Point, PointSpec, capture, parse_filter
from netlab.errors import DeviceNotFoundError, InvalidNameError, NamespaceNotFoundError
from netlab.view.packets import journeys, ladder, live, pcap_link, table

# The article's pair: both ends, in the order a ping crosses them.
VETH: list[PointSpec] = [("netns1", "veth1"), "veth0"]
NETLAB = str(Path(sys.executable).with_name("netlab"))


def in_user_namespace() -> bool:
    """Rootless: Debian's tcpdump cannot switch to its own uid in a user namespace, even to read."""
    return Path("/proc/self/uid_map").read_text().split() != ["0", "0", "4294967295"]


def tcpdump_read(path: Path, *options: str) -> list[str] | None:
    """``tcpdump -nr PATH``: its lines without the time stamp (the independent reader of our files).

    None where tcpdump cannot run: not installed, or rootless (Debian's tcpdump cannot switch to
    its own uid inside a user namespace, even to read a file); scapy still reads the files there.
    """
    if not shutil.which("tcpdump") or in_user_namespace():
        return None
    out = sh("tcpdump", "-nr", str(path), *options).stdout
    return [line.split(" ", 1)[1] for line in out.splitlines()]


def agrees_with_tcpdump(path: Path, expected: list[str], *options: str) -> bool:
    lines = tcpdump_read(path, *options)
    return lines is None or lines == expected


def ping(source: str | None, address: str) -> None:
    argv = ["ping", "-n", "-c", "1", "-W", "2", address]
    if source is not None:
        argv = ["ip", "netns", "exec", source, *argv]
    sh(*argv)


def seen(cap: Capture, point: str) -> list[tuple[str, str]]:
    return [(p.direction, p.what) for p in cap if p.point == point]


FIRST_PING_AT_VETH0 = [("out", "who-has"), ("in", "is-at"), ("out", "echo request"), ("in", "echo reply")]
FIRST_PING_AT_VETH1 = [("in", "who-has"), ("out", "is-at"), ("in", "echo request"), ("out", "echo reply")]


def test_article_veth_pair_arp_then_icmp_at_both_ends(tmp_path):
    with article_veth():
        wait_up(("netns1", "veth1"), (None, "veth0"))
        with capture(*VETH, proto=("arp", "icmp")) as cap:
            ping(None, "10.1.1.1")
        assert seen(cap, "veth0") == FIRST_PING_AT_VETH0
        assert seen(cap, "netns1:veth1") == FIRST_PING_AT_VETH1
        assert cap.dropped == 0 and cap.stats["veth0"].received >= 4
        veth0_mac = Path("/sys/class/net/veth0/address").read_text().strip()
        who_has = cap.where(point="veth0", what="who-has")[0]
        assert who_has.dst_mac == "ff:ff:ff:ff:ff:ff" and who_has.src_mac == veth0_mac
        assert who_has.summary == "ARP, Request who-has 10.1.1.1 tell 10.1.1.2, length 28"
        veth1_mac = sh("ip", "netns", "exec", "netns1", "cat", "/sys/class/net/veth1/address").stdout.strip()
        assert cap.where(point="veth0", what="is-at")[0].summary.endswith(f"is-at {veth1_mac}, length 28")
        request = cap.where(point="netns1:veth1", what="echo request")[0]
        assert (request.src, request.dst, request.protocol) == ("10.1.1.2", "10.1.1.1", "ICMP")
        # One clock: every packet at veth0 went out before its copy came in at veth1, and the times grow.
        times = [p.timestamp for p in cap]
        assert times == sorted(times) and all(p.time >= 0 for p in cap)

        # The pcap, read back by tcpdump and by scapy.
        pcap = cap.save(tmp_path / "ping.pcap")
        from scapy.layers.inet import ICMP, IP
        from scapy.layers.l2 import ARP
        from scapy.utils import rdpcap

        frames = rdpcap(str(pcap))
        assert len(frames) == 8
        assert [f[ARP].op for f in frames if ARP in f] == [1, 1, 2, 2]
        assert [(f[IP].src, f[ICMP].type) for f in frames if ICMP in f] == [("10.1.1.2", 8)] * 2 + [("10.1.1.1", 0)] * 2
        assert cap[0].scapy[ARP].pdst == "10.1.1.1"
        pcapng = cap.save(tmp_path / "ping.pcapng")
        assert len(rdpcap(str(pcapng))) == 8
        assert agrees_with_tcpdump(pcap, [p.summary for p in cap])
        assert agrees_with_tcpdump(pcapng, [p.summary for p in cap])
        assert agrees_with_tcpdump(pcap, [p.summary for p in cap if p.protocol == "ARP"], "arp")

        # The second ping: the kernel remembers the MAC (ip neigh), so no ARP this time.
        neighbours = sh("ip", "neigh", "show", "10.1.1.1").stdout
        assert "lladdr" in neighbours
        with capture(*VETH, proto=("arp", "icmp")) as again:
            ping(None, "10.1.1.1")
        assert seen(again, "veth0") == FIRST_PING_AT_VETH0[2:]
        assert seen(again, "netns1:veth1") == FIRST_PING_AT_VETH1[2:]


def test_table_and_ladder_of_the_veth_pair(tmp_path):
    with article_veth():
        wait_up(("netns1", "veth1"), (None, "veth0"))
        with capture(*VETH, proto=("arp", "icmp")) as cap:
            ping("netns1", "10.1.1.2")
    text = str(table(cap))
    assert text.splitlines()[0].split() == ["#", "time", "point", "dir", "src", "MAC", "dst", "MAC", "summary"]
    assert "ARP, Request who-has 10.1.1.2 tell 10.1.1.1" in text and len(text.splitlines()) == 9
    markup = table(cap, macs=False)._repr_html_()
    assert markup.count("<tr>") == 9 and "ICMP echo reply" in markup and "MAC" not in markup
    # The ladder: each of the 4 packets crossed from veth1 to veth0 or back, one arrow each.
    trips = journeys(cap)
    assert [j.points for j in trips] == [
        ["netns1:veth1", "veth0"],
        ["veth0", "netns1:veth1"],
        ["netns1:veth1", "veth0"],
        ["veth0", "netns1:veth1"],
    ]
    figure = ladder(cap, path=tmp_path / "ladder.png")
    words = [t.get_text() for t in figure.findobj(lambda a: hasattr(a, "get_text"))]
    assert "netns1:veth1" in words and "veth0" in words
    assert "ARP who-has 10.1.1.2?\ntell 10.1.1.1" in words
    assert (tmp_path / "ladder.png").read_bytes()[:4] == b"\x89PNG"


@pytest.fixture
def internet():
    """Notebook 03's scene (``scenes.internet_scene``)."""
    with internet_scene() as lab:
        yield lab


def test_masquerade_seen_at_two_points(internet, tmp_path):
    ping("c1", "203.0.113.1")  # learn the MACs first, so the capture holds the echo only
    with capture(("c1", "eth0"), "br0", "uplink", ("internet", "eth0"), proto="icmp") as cap:
        ping("c1", "203.0.113.1")
    request = [(p.point, p.src, p.dst) for p in cap if p.what == "echo request"]
    assert request == [
        ("c1:eth0", "10.0.0.2", "203.0.113.1"),
        ("br0", "10.0.0.2", "203.0.113.1"),
        ("uplink", "203.0.113.2", "203.0.113.1"),  # rewritten on the way out
        ("internet:eth0", "203.0.113.2", "203.0.113.1"),
    ]
    reply = [(p.point, p.src, p.dst) for p in cap if p.what == "echo reply"]
    assert reply == [
        ("internet:eth0", "203.0.113.1", "203.0.113.2"),
        ("uplink", "203.0.113.1", "203.0.113.2"),
        ("br0", "203.0.113.1", "10.0.0.2"),  # and back again by connection tracking
        ("c1:eth0", "203.0.113.1", "10.0.0.2"),
    ]
    trips = journeys(cap)
    assert [len(j.sightings) for j in trips] == [4, 4]  # one packet each way, followed through NAT
    figure = ladder(cap)
    words = {t.get_text() for t in figure.findobj(lambda a: hasattr(a, "get_text"))}
    assert "10.0.0.2 → 203.0.113.1\nICMP echo request" in words
    assert "203.0.113.2 → 203.0.113.1\nICMP echo request" in words
    outside = [p.summary for p in cap if p.src == "203.0.113.2"]
    assert agrees_with_tcpdump(cap.save(tmp_path / "nat.pcap"), outside, "src", "host", "203.0.113.2")

    from netlab.teach.packet_checks import nat_reply_captured

    assert not nat_reply_captured(None, inside="10.0.0.2", outside="203.0.113.2")  # nothing captured yet
    verdict = nat_reply_captured(cap, inside="10.0.0.2", outside="203.0.113.2")
    assert verdict, str(verdict)
    inside_only = capture(("c1", "eth0"), proto="icmp", count=2)
    ping("c1", "203.0.113.1")
    inside_only.wait()
    verdict = nat_reply_captured(inside_only, inside="10.0.0.2", outside="203.0.113.2")
    assert not verdict and "uplink" in verdict.hint


def test_published_port_dnat_seen_at_two_points(internet):
    internet.publish(8080, to="10.0.0.2:80")
    ping("internet", "203.0.113.2")  # ARP out of the way
    with capture(("internet", "eth0"), ("c1", "eth0"), proto="tcp") as cap:
        result = probe("internet", "203.0.113.2", 8080, server="c1", server_port=80)
    assert result.ok and result.seen_from[0] == "203.0.113.1"
    syn = [(p.point, p.src, p.dst, p.dport) for p in cap if p.what == "SYN"]
    assert syn == [
        ("internet:eth0", "203.0.113.1", "203.0.113.2", 8080),
        ("c1:eth0", "203.0.113.1", "10.0.0.2", 80),  # the destination rewritten: DNAT
    ]
    syn_ack = [(p.point, p.src, p.sport) for p in cap if p.what == "SYN-ACK"]
    assert syn_ack == [("c1:eth0", "10.0.0.2", 80), ("internet:eth0", "203.0.113.2", 8080)]
    assert journeys(cap)[0].points == ["internet:eth0", "c1:eth0"]


def test_count_timeout_stop_and_filters():
    with article_veth():
        wait_up(("netns1", "veth1"), (None, "veth0"))
        cap = capture("veth1", netns="netns1", count=2, filter="icmp and host 10.1.1.2")
        ping(None, "10.1.1.1")
        assert cap.wait(timeout=10) and not cap.running
        assert [p.what for p in cap] == ["echo request", "echo reply"]
        quiet = capture("veth0", filter="udp and port 9", timeout=0.2)
        ping(None, "10.1.1.1")
        assert quiet.wait() and len(quiet) == 0
        manual = capture(("netns1", "veth1"), proto="arp", start=False)
        assert repr(manual).endswith("not started>")
        manual.start()
        sh("ip", "neigh", "flush", "dev", "veth0")
        ping(None, "10.1.1.1")
        manual.stop().stop()  # twice is fine
        assert [p.what for p in manual][:2] == ["who-has", "is-at"]
    assert parse_filter("arp or icmp and host 10.0.0.1").clauses == (
        (("proto", "arp"),),
        (("proto", "icmp"), ("host", "10.0.0.1")),
    )
    assert parse_filter("tcp && src host 10.0.0.2 && port 80").clauses == (
        (("proto", "tcp"), ("src", "10.0.0.2"), ("port", 80)),
    )


@pytest.mark.parametrize(
    ("make", "error", "words"),
    [
        (lambda: capture("veth0", netns="nope"), NamespaceNotFoundError, "namespace 'nope' does not exist"),
        (lambda: capture("nope0"), DeviceNotFoundError, "no interface 'nope0' in the current namespace"),
        (lambda: capture("bad name"), InvalidNameError, "invalid interface name"),
        (lambda: capture("lo", netns=999_999_999), NamespaceNotFoundError, "no process with pid"),
        (lambda: capture(), CaptureError, "no capture point"),
        (lambda: capture(42), CaptureError, "cannot capture on 42"),
        (lambda: capture("lo", "lo"), CaptureError, "capture points repeat"),
        (lambda: capture("lo", count=0), CaptureError, "count must be a positive"),
        (lambda: capture("lo", timeout=-1), CaptureError, "timeout must be a positive"),
        (lambda: capture("lo", proto="smtp"), FilterError, "unknown protocol 'smtp'"),
        (lambda: capture("lo", host="10.0.0.300"), FilterError, "not an IP address"),
        (lambda: capture("lo", port=70000), FilterError, "not a port number"),
        (lambda: capture("lo", filter="icmp or or"), FilterError, "cannot read the filter"),
        (lambda: capture("lo", filter="icmp", proto="arp"), CaptureError, "either filter= or proto"),
        (lambda: capture("lo", buffer=0), CaptureError, "buffer must be 1 to 1024 MiB"),
    ],
)
def test_bad_input_is_one_clear_error(make, error, words):
    with pytest.raises(error) as caught:
        make()
    assert words in str(caught.value) and caught.value.hint


def test_missing_interface_names_the_ones_there(ns):
    with pytest.raises(DeviceNotFoundError) as caught:
        capture(Point("eth0", ns))
    assert caught.value.hint.startswith("its interfaces are lo;") and f"ip -n {ns}" not in caught.value.hint
    assert f"ip netns exec {ns} ip -br link" in caught.value.hint


def test_cli_is_tcpdump_for_a_namespace(tmp_path):
    with article_veth():
        wait_up(("netns1", "veth1"), (None, "veth0"))
        out = tmp_path / "cli.pcap"
        proc = subprocess.Popen(
            [NETLAB, "capture", "-n", "netns1", "veth1", "-c", "2", "-w", str(out), "icmp"],
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert "capturing on netns1:veth1" in proc.stderr.readline()  # listening: now ping
            ping(None, "10.1.1.1")
            assert proc.wait(timeout=10) == 0
        finally:
            proc.kill()
            proc.wait()
        assert "2 packets captured, 0 dropped" in proc.stderr.read()
        assert len(out.read_bytes()) == 24 + 2 * (16 + 98)  # pcap header, 2 x (record header + frame)
        printing = subprocess.Popen(
            [NETLAB, "capture", "-n", "netns1", "veth1", "-c", "1", "arp"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            printing.stderr.readline()
            sh("ip", "neigh", "flush", "dev", "veth0")
            ping(None, "10.1.1.1")
            lines = printing.communicate(timeout=10)[0].splitlines()
        finally:
            printing.kill()
            printing.wait()
        assert lines[0].endswith("in  ARP, Request who-has 10.1.1.1 tell 10.1.1.2, length 28")
        for argv, message in [
            (["-n", "nope", "eth0"], "netlab: namespace 'nope' does not exist"),
            (["-n", "netns1", "eth9"], "netlab: no interface 'eth9' in namespace 'netns1'"),
            (["lo", "icmp", "or"], "netlab: cannot read the filter 'icmp or' at 'or'"),
        ]:
            result = sh(NETLAB, "capture", *argv, check=False)
            assert result.returncode == 1 and result.stderr.startswith(message), result.stderr
            assert "Traceback" not in result.stderr and "hint:" in result.stderr


def test_live_view_grows_and_offers_the_pcap():
    pytest.importorskip("ipywidgets")
    with article_veth():
        wait_up(("netns1", "veth1"), (None, "veth0"))
        cap = capture(*VETH, proto="icmp", start=False)
        view = live(cap)
        assert "no packets" in view.table.value
        cap.start()
        ping(None, "10.1.1.1")
        cap.stop()
        view._watcher.join(timeout=10)
    assert view.table.value.count("<tr>") == 5 and "echo reply" in view.table.value
    assert "stopped" in view.status.value and view.stop_button.disabled
    href = view.link.value.split("href='", 1)[1].split("'", 1)[0]
    assert base64.b64decode(href.split(",", 1)[1])[:4] == bytes.fromhex("d4c3b2a1")  # pcap magic, little-endian
    assert "4 packets" in pcap_link(list(cap))


def test_capture_by_pid_and_by_path():
    with article_veth():
        wait_up(("netns1", "veth1"), (None, "veth0"))
        holder = subprocess.Popen(["ip", "netns", "exec", "netns1", "sleep", "30"])
        try:
            inode = os.stat("/run/netns/netns1").st_ino
            wait_until(lambda: os.stat(f"/proc/{holder.pid}/ns/net").st_ino == inode, what="sleep to enter netns1")
            points = [Point("veth1", holder.pid), Point("veth1", Path("/run/netns/netns1"), label="by path")]
            with capture(*points, proto="icmp") as cap:
                ping(None, "10.1.1.1")
        finally:
            holder.kill()
            holder.wait()
    assert sorted(p.point for p in cap) == ["by path"] * 2 + [f"pid {holder.pid}:veth1"] * 2
    assert {p.what for p in cap} == {"echo request", "echo reply"}


def test_tcpdump_reads_our_pcap_and_pcapng(tmp_path):
    if not shutil.which("tcpdump") or in_user_namespace():
        pytest.skip("tcpdump cannot run here (not installed, or rootless): the other tests cross-check with scapy")
    with capture("lo", proto="icmp") as cap:  # loopback: each packet is seen going out and coming in
        ping(None, "127.0.0.1")
    assert [(p.direction, p.what) for p in cap] == [
        ("out", "echo request"),
        ("in", "echo request"),
        ("out", "echo reply"),
        ("in", "echo reply"),
    ]
    for name in ("lo.pcap", "lo.pcapng"):
        assert tcpdump_read(cap.save(tmp_path / name)) == [p.summary for p in cap]


def test_an_interface_that_goes_away_ends_its_capture():
    with article_veth():
        wait_up(("netns1", "veth1"), (None, "veth0"))
        cap = capture("veth0")
        sh("ip", "link", "delete", "veth0")  # and with it veth1, its peer
        assert cap.wait(timeout=10) and not cap.running
    assert cap.stats["veth0"].error == "Network is down"
