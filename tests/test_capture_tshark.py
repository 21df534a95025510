"""Every capture the lessons show, dissected again by Wireshark's own reader (tshark): the same packets.

netlab reads frames with its own small parser (``netlab.plumbing.frames``); tshark is the reference
dissector. For lesson 02's ARP-then-ping at both ends of the pair and lesson 03's masquerade at four
points, both must agree on each packet's protocol, its addresses and (ICMP) its type.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import sh
from scenes import article_veth, internet_scene, wait_up

from netlab.capture import Capture, capture

pytestmark = pytest.mark.skipif(not shutil.which("tshark"), reason="tshark is not installed")

FIELDS = ("_ws.col.Protocol", "arp.src.proto_ipv4", "arp.dst.proto_ipv4", "ip.src", "ip.dst", "icmp.type")
ICMP_TYPES = {"echo request": "8", "echo reply": "0"}


def tshark(path: Path) -> list[tuple[str, ...]]:
    """Each packet of the file as tshark dissects it: (protocol, source, destination, ICMP type)."""
    argv = ["tshark", "-n", "-r", str(path), "-T", "fields", "-E", "separator=\t"]
    for field in FIELDS:
        argv += ["-e", field]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        protocol, arp_src, arp_dst, ip_src, ip_dst, icmp_type = (line.split("\t") + [""] * len(FIELDS))[: len(FIELDS)]
        rows.append((protocol, arp_src or ip_src, arp_dst or ip_dst, icmp_type))
    return rows


def ours(cap: Capture) -> list[tuple[str, ...]]:
    """The same, as netlab read them."""
    return [(p.protocol, p.src, p.dst, ICMP_TYPES.get(p.what, "")) for p in cap]


def test_lesson_02_arp_then_ping_reads_the_same_in_tshark(tmp_path):
    with article_veth():
        wait_up(("netns1", "veth1"), (None, "veth0"))
        with capture(("netns1", "veth1"), "veth0", proto=("arp", "icmp")) as cap:
            sh("ping", "-c", "1", "-W", "2", "10.1.1.1")
    rows = tshark(cap.save(tmp_path / "arp-then-ping.pcap"))
    assert [row[0] for row in rows].count("ARP") == 4 and [row[0] for row in rows].count("ICMP") == 4, rows
    assert rows == ours(cap)


def test_lesson_03_masquerade_reads_the_same_in_tshark(tmp_path):
    with internet_scene():
        _masquerade_seen_by_both(tmp_path)


def _masquerade_seen_by_both(tmp_path: Path) -> None:
    sh("ip", "netns", "exec", "c1", "ping", "-c", "1", "-W", "2", "203.0.113.1")  # the MACs, learned first
    with capture(("c1", "eth0"), "br0", "uplink", ("internet", "eth0"), proto="icmp") as cap:
        sh("ip", "netns", "exec", "c1", "ping", "-c", "1", "-W", "2", "203.0.113.1")
    rows = tshark(cap.save(tmp_path / "masquerade.pcap"))
    assert ("ICMP", "203.0.113.2", "203.0.113.1", "8") in rows  # the request, rewritten on the way out
    assert ("ICMP", "10.0.0.2", "203.0.113.1", "8") in rows  # ... as it left c1
    assert rows == ours(cap)
