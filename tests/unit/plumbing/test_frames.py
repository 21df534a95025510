"""Walking a frame's headers (netlab/plumbing/frames.py) on scapy's frames, and the filters over what it finds."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP, IPOption
from scapy.layers.inet6 import ICMPv6EchoRequest, ICMPv6MLReport2, ICMPv6ND_NS, IPv6, IPv6ExtHdrHopByHop
from scapy.layers.l2 import ARP, Dot1Q, Ether
from scapy.packet import Packet, Padding

from netlab.errors import NetlabError
from netlab.plumbing.frames import FilterError, dissect, keyword_filter, mac_text, parse_filter
from netlab.plumbing.pcap import write_pcap

# Every MAC and address is given: scapy would otherwise look them up on this machine's network.
A_MAC, B_MAC = "02:00:00:00:00:0a", "02:00:00:00:00:0b"
TCPDUMP = shutil.which("tcpdump") or ""


def eth(*layers: Packet | bytes, dst: str = B_MAC) -> bytes:
    """A frame from A_MAC to ``dst`` with these layers on top, as scapy builds it."""
    frame: Packet = Ether(src=A_MAC, dst=dst)
    for layer in layers:
        frame = frame / layer
    return bytes(frame)


def echo(src: str = "10.0.0.1", dst: str = "10.0.0.2", *, ident: int = 7, seq: int = 1, ttl: int = 64) -> bytes:
    return eth(IP(src=src, dst=dst, id=4242, ttl=ttl), ICMP(id=ident, seq=seq), b"x" * 56)


def who_has(target: str = "10.0.0.2", sender: str = "10.0.0.1") -> bytes:
    arp = ARP(op=1, hwsrc=A_MAC, psrc=sender, hwdst="00:00:00:00:00:00", pdst=target)
    return eth(arp, dst="ff:ff:ff:ff:ff:ff")


def is_at() -> bytes:
    return eth(ARP(op=2, hwsrc=B_MAC, psrc="10.0.0.2", hwdst=A_MAC, pdst="10.0.0.1"), dst=A_MAC)


def tcp(flags: str = "S", *, sport: int = 40000, dport: int = 80, data: bytes = b"", src: str = "10.0.0.1") -> bytes:
    return eth(IP(src=src, dst="10.0.0.2", id=99), TCP(sport=sport, dport=dport, flags=flags, seq=1000, ack=5), data)


def udp(sport: int = 5000, dport: int = 53, data: bytes = b"abcd") -> bytes:
    return eth(IP(src="10.0.0.1", dst="10.0.0.2", id=5), UDP(sport=sport, dport=dport), data)


def echo6() -> bytes:
    return eth(IPv6(src="fd00::1", dst="fd00::2"), ICMPv6EchoRequest(id=3, seq=4, data=b"y" * 8))


def solicit() -> bytes:
    return eth(IPv6(src="fe80::1", dst="ff02::1:ff00:2"), ICMPv6ND_NS(tgt="fe80::2"), dst="33:33:ff:00:00:02")


def tcp6() -> bytes:
    return eth(IPv6(src="fd00::1", dst="fd00::2"), TCP(sport=40001, dport=443, flags="S", seq=9))


def mld_report() -> bytes:
    """An MLDv2 report: a hop-by-hop options header comes before the ICMPv6 message."""
    packet = IPv6(src="fe80::1", dst="ff02::16") / IPv6ExtHdrHopByHop() / ICMPv6MLReport2()
    return eth(packet, dst="33:33:00:00:00:16")


# -- reading a frame ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [echo, who_has, is_at, lambda: tcp("PA", data=b"hello"), udp, echo6, solicit, tcp6, mld_report],
    ids=["icmp", "arp-request", "arp-reply", "tcp", "udp", "icmp6", "neighbor-solicitation", "tcp6", "mld"],
)
def test_the_fields_are_what_scapy_reads_in_the_same_bytes(make):
    frame = make()
    fields, scapy = dissect(frame), Ether(frame)
    assert (fields.src_mac, fields.dst_mac) == (scapy.src, scapy.dst)
    if ARP in scapy:
        assert (fields.protocol, fields.src, fields.dst) == ("ARP", scapy[ARP].psrc, scapy[ARP].pdst)
        assert fields.what == {1: "who-has", 2: "is-at"}[scapy[ARP].op]
        return
    network = scapy[IP] if IP in scapy else scapy[IPv6]
    assert (fields.src, fields.dst) == (network.src, network.dst)
    for layer, name in ((TCP, "TCP"), (UDP, "UDP")):
        if layer in scapy:
            assert (fields.protocol, fields.sport, fields.dport) == (name, scapy[layer].sport, scapy[layer].dport)
            return
    assert fields.protocol == ("ICMP" if ICMP in scapy else "ICMPv6")
    assert fields.sport is None and fields.dport is None


@pytest.mark.skipif(not TCPDUMP, reason="tcpdump is not installed")
def test_the_summary_is_the_line_tcpdump_prints_for_the_same_frame(tmp_path):
    frames = [echo(), eth(IP(src="10.0.0.2", dst="10.0.0.1"), ICMP(type=0, id=7, seq=1), b"x" * 56)]
    frames += [who_has(), is_at(), udp(dport=9999), echo6(), solicit()]  # 9999: no port tcpdump decodes further
    out = tmp_path / "kinds.pcap"
    with out.open("wb") as file:
        write_pcap(file, [(1.0 + n, frame, len(frame)) for n, frame in enumerate(frames)])
    result = subprocess.run([TCPDUMP, "-r", str(out), "-nn", "-t"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert [dissect(frame).summary for frame in frames] == result.stdout.splitlines()


@pytest.mark.skipif(not TCPDUMP, reason="tcpdump is not installed")
def test_tcp_flags_are_listed_in_tcpdumps_order(tmp_path):
    frames = [tcp(flags) for flags in ("S", "SA", "FPA", "RA", "AU", "AE", "PAE", "SF")]
    out = tmp_path / "flags.pcap"
    with out.open("wb") as file:
        write_pcap(file, [(1.0, frame, len(frame)) for frame in frames])
    result = subprocess.run([TCPDUMP, "-r", str(out), "-nn", "-t"], capture_output=True, text=True, timeout=60)
    theirs = re.findall(r"Flags \[([^\]]*)\]", result.stdout)
    assert len(theirs) == len(frames), result.stdout
    assert [re.search(r"Flags \[([^\]]*)\]", dissect(f).summary)[1] for f in frames] == theirs  # type: ignore[index]


@pytest.mark.parametrize(
    ("flags", "data", "what"),
    [("S", b"", "SYN"), ("SA", b"", "SYN-ACK"), ("A", b"", "ACK"), ("PA", b"GET /", "data"), ("FA", b"", "FIN")]
    + [("FPA", b"bye", "FIN"), ("R", b"", "RST"), ("RA", b"", "RST")],
)
def test_a_tcp_segment_is_named_by_its_role_and_counts_only_its_data(flags, data, what):
    fields = dissect(tcp(flags, data=data))
    assert fields.what == what
    assert fields.summary.endswith(f", length {len(data)}")
    assert (", ack 5" in fields.summary) == ("A" in flags)  # tcpdump shows ack only with the ACK flag


def test_ethernet_padding_after_the_ip_packet_is_not_counted():
    """A short frame is padded to Ethernet's 60 bytes; the IP total length says where the packet ends."""
    frame = eth(IP(src="10.0.0.1", dst="10.0.0.2"), UDP(sport=1, dport=2), b"ab", Padding(b"\0" * 16))
    assert len(frame) == 60
    fields = dissect(frame)
    assert fields.summary == "IP 10.0.0.1.1 > 10.0.0.2.2: UDP, length 2"
    assert fields.key == dissect(eth(IP(src="10.0.0.1", dst="10.0.0.2"), UDP(sport=1, dport=2), b"ab")).key


def test_ports_are_read_after_ip_options():
    frame = eth(IP(src="10.0.0.1", dst="10.0.0.2", options=[IPOption(b"\x01\x01\x01\x00")]), UDP(sport=7, dport=9))
    assert Ether(frame)[IP].ihl == 6
    assert (dissect(frame).sport, dissect(frame).dport) == (7, 9)


def test_a_vlan_tag_is_stepped_over_to_the_packet_inside():
    tagged = eth(Dot1Q(vlan=5), IP(src="10.0.0.1", dst="10.0.0.2", id=4242, ttl=64), ICMP(id=7, seq=1), b"x" * 56)
    assert Ether(tagged)[Dot1Q].vlan == 5
    assert dissect(tagged)._replace(key=b"") == dissect(echo())._replace(key=b"")
    assert dissect(tagged).key == dissect(echo()).key


def test_a_hop_by_hop_header_is_stepped_over_to_the_icmpv6_inside():
    fields = dissect(mld_report())
    assert (fields.protocol, fields.what) == ("ICMPv6", "multicast listener report v2")
    assert fields.summary == "IP6 fe80::1 > ff02::16: ICMP6, multicast listener report v2, length 8"


def test_a_frame_of_another_ethertype_is_named_by_its_number():
    lldp = bytes.fromhex("0180c200000e") + bytes.fromhex("02000000000a") + b"\x88\xcc" + bytes(46)
    fields = dissect(lldp)
    assert (fields.protocol, fields.src, fields.summary) == ("0x88cc", None, "ethertype 0x88cc, length 60")
    assert fields.src_mac == "02:00:00:00:00:0a" == mac_text(lldp[6:12])


@pytest.mark.parametrize(
    ("cut", "protocol", "summary"),
    [
        (echo()[:13], "short", "truncated frame, length 13"),
        (echo()[: 14 + 19], "IPv4", "IP truncated, length 19"),
        (echo6()[: 14 + 39], "IPv6", "IP6 truncated, length 39"),
        (who_has()[: 14 + 27], "ARP", "ARP, truncated, length 27"),
        (echo()[: 14 + 20 + 3], "IPv4", "IP 10.0.0.1 > 10.0.0.2: ip-proto-1"),  # 3 bytes of ICMP: no type and code
    ],
    ids=["ethernet", "ipv4", "ipv6", "arp", "icmp"],
)
def test_a_truncated_frame_is_read_as_far_as_it_goes(cut, protocol, summary):
    fields = dissect(cut)
    assert (fields.protocol, fields.summary) == (protocol, summary)
    if "ip-proto" in summary:  # the IP header was whole: its addresses are read
        assert (fields.src, fields.dst) == ("10.0.0.1", "10.0.0.2")


def test_the_key_finds_one_packet_on_both_sides_of_nat():
    """Masquerade rewrites the source, the TTL and the checksums, and may remap an echo's id or a port."""
    inside, outside = echo("10.1.1.2", "8.8.8.8", ident=7), echo("203.0.113.2", "8.8.8.8", ident=9000, ttl=63)
    assert dissect(inside).key == dissect(outside).key
    assert dissect(inside).key != dissect(echo("10.1.1.2", "8.8.8.8", ident=7, seq=2)).key
    assert (
        dissect(tcp("PA", sport=40000, data=b"x")).key == dissect(tcp("PA", sport=61000, data=b"x", src="1.2.3.4")).key
    )
    assert dissect(tcp("PA", data=b"x")).key != dissect(tcp("PA", data=b"y")).key
    assert dissect(udp(sport=5000)).key == dissect(udp(sport=6000)).key != dissect(udp(data=b"other")).key


# -- filters --------------------------------------------------------------------------------------

CORPUS = {
    "icmp": echo(),
    "arp": who_has(),
    "tcp": tcp(),
    "udp": udp(),
    "icmp6": echo6(),
    "tcp6": tcp6(),
}


def test_brackets_may_hold_terms_joined_by_and():
    echoed = "arp or (icmp and host 10.0.0.9)"  # what a capture echoes for "arp or icmp and host 10.0.0.9"
    assert parse_filter(echoed).clauses == parse_filter("arp or icmp and host 10.0.0.9").clauses
    assert parse_filter("tcp && (port 80) || arp").text == "(tcp and port 80) or arp"


@pytest.mark.parametrize(
    ("words", "kept"),
    [
        ("", set(CORPUS)),
        ("icmp", {"icmp"}),
        ("ip", {"icmp", "tcp", "udp"}),
        ("ip6", {"icmp6", "tcp6"}),
        ("icmp6", {"icmp6"}),
        ("tcp", {"tcp", "tcp6"}),
        ("port 53", {"udp"}),
        ("host 10.0.0.2", {"icmp", "arp", "tcp", "udp"}),  # an ARP request names 10.0.0.2 as its target
        ("src host 10.0.0.2", set()),
        ("dst 10.0.0.2", {"icmp", "arp", "tcp", "udp"}),
        ("host FD00::2", {"icmp6", "tcp6"}),  # any way of writing the address
        ("arp or icmp and host 10.0.0.9", {"arp"}),  # and binds tighter than or
        ("udp || TCP && port 80", {"udp", "tcp"}),
        ("tcp port 443", {"tcp6"}),  # two terms side by side: both must match
    ],
)
def test_a_filter_keeps_the_frames_whose_fields_match(words, kept):
    match = parse_filter(words)
    assert {name for name, frame in CORPUS.items() if match(dissect(frame))} == kept
    assert parse_filter(match.text).clauses == match.clauses  # the words it echoes mean the same
    assert match.text == match.text.lower() and "&&" not in match.text  # ... in the words tcpdump reads


@pytest.mark.parametrize(
    ("words", "message"),
    [
        ("icmp or or", "cannot read the filter 'icmp or or' at 'or'"),
        ("icmp and", "cannot read the filter 'icmp and' at 'and'"),
        ("not icmp", "cannot read the filter 'not icmp' at 'not'"),
        ("host", "cannot read the filter 'host' at 'host'"),
        ("(arp or icmp)", "cannot read the filter '(arp or icmp)' at 'or'"),  # brackets hold an and, not an or
        ("tcp and (port 80", "cannot read the filter 'tcp and (port 80' at '('"),
        ("arp (icmp)", "cannot read the filter 'arp (icmp)' at '('"),
        ("icmp)", "cannot read the filter 'icmp)' at ')'"),
        ("src host", "'host' is not an IP address"),
        ("host 10.1.1", "'10.1.1' is not an IP address"),
        ("port 70000", "70000 is not a port number"),
        ("port -1", "'-1' is not a port number"),
        ("icmp\nor arp arp?", "cannot read the filter 'icmp\\nor arp arp?' at 'arp?'"),
    ],
)
def test_a_filter_that_does_not_parse_is_one_line_with_a_hint(words, message):
    with pytest.raises(FilterError) as caught:
        parse_filter(words)
    error = caught.value
    assert isinstance(error, NetlabError) and isinstance(error, ValueError)
    assert error.message == message and "\n" not in error.message
    assert error.hint and "\n" not in error.hint
    assert str(error) == f"{message}\n  hint: {error.hint}"


def test_a_port_written_in_superscript_digits_is_refused_with_a_hint():
    with pytest.raises(FilterError) as caught:
        parse_filter("port ²")
    assert caught.value.hint


def test_keyword_filter_keeps_what_the_same_words_keep_and_shows_them_as_tcpdump_would():
    match = keyword_filter(["icmp", "arp"], "10.0.0.2", None)
    assert match.text == "(icmp or arp) and host 10.0.0.2"
    same = parse_filter("icmp and host 10.0.0.2 or arp and host 10.0.0.2")
    frames = [*CORPUS.values(), echo("10.0.0.1", "10.0.0.9"), who_has("10.0.0.9")]
    assert [match(dissect(f)) for f in frames] == [same(dissect(f)) for f in frames]
    assert sum(match(dissect(f)) for f in frames) == 2
    assert keyword_filter("udp", None, 53).text == "udp and port 53"
    assert keyword_filter(None, None, None).text == "" and keyword_filter(None, None, None)(dissect(b""))
    if TCPDUMP:  # the text is shown as the filter of a tcpdump command: tcpdump reads it
        result = subprocess.run([TCPDUMP, "-d", "-y", "EN10MB", match.text], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr


@pytest.mark.skipif(not TCPDUMP, reason="tcpdump is not installed")
def test_the_words_a_filter_shows_are_a_filter_tcpdump_reads():
    """A capture echoes ``tcpdump -ni veth0 TEXT`` as what you would type for the same capture."""
    texts = [parse_filter("ICMP").text, keyword_filter("ARP", "10.0.0.2", None).text]
    for text in texts:
        result = subprocess.run([TCPDUMP, "-d", "-y", "EN10MB", text], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, f"{text!r}: {result.stderr}"


@pytest.mark.parametrize(
    ("proto", "host", "port", "message"),
    [
        ("smtp", None, None, "unknown protocol 'smtp'"),
        (["icmp", 6], None, None, "unknown protocol 6"),
        (None, "localhost", None, "'localhost' is not an IP address"),
        (None, None, True, "True is not a port number"),
        (None, None, 65536, "65536 is not a port number"),
    ],
)
def test_keyword_filter_refuses_bad_words_in_one_line_with_a_hint(proto, host, port, message):
    with pytest.raises(FilterError) as caught:
        keyword_filter(proto, host, port)
    assert caught.value.message == message and caught.value.hint and "\n" not in caught.value.hint
