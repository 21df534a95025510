"""Filters compiled to classic BPF (netlab/plumbing/bpf.py), run on scapy's frames, beside tcpdump's, in the kernel."""

from __future__ import annotations

import shutil
import socket
import struct
import subprocess

import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP, IPOption
from scapy.layers.inet6 import ICMPv6EchoRequest, ICMPv6MLReport2, IPv6, IPv6ExtHdrHopByHop
from scapy.layers.l2 import ARP, Dot1Q, Ether
from scapy.packet import Packet

from netlab.plumbing.bpf import KEEP, attach, compile_filter, keep_all
from netlab.plumbing.frames import dissect, parse_filter

# Every MAC and address is given: scapy would otherwise look them up on this machine's network.
A_MAC, B_MAC = "02:00:00:00:00:0a", "02:00:00:00:00:0b"
TCPDUMP = shutil.which("tcpdump") or ""
INSTRUCTION = struct.Struct("HBBI")  # struct sock_filter: code, jt, jf, k


def eth(*layers: Packet | bytes, dst: str = B_MAC) -> bytes:
    """A frame from A_MAC to ``dst`` with these layers on top, as scapy builds it."""
    frame: Packet = Ether(src=A_MAC, dst=dst)
    for layer in layers:
        frame = frame / layer
    return bytes(frame)


FRAMES = {
    "icmp": eth(IP(src="10.0.0.1", dst="10.0.0.2"), ICMP(id=1, seq=1), b"x" * 56),
    "icmp-reply": eth(IP(src="10.0.0.2", dst="10.0.0.1"), ICMP(type=0, id=1, seq=1), b"x" * 56),
    "arp": eth(
        ARP(op=1, hwsrc=A_MAC, psrc="10.0.0.1", hwdst="00:00:00:00:00:00", pdst="10.0.0.2"), dst="ff:ff:ff:ff:ff:ff"
    ),
    "tcp-80": eth(IP(src="10.0.0.1", dst="10.0.0.2"), TCP(sport=40000, dport=80, flags="S")),
    "tcp-from-80-ip-options": eth(  # a 24-byte IP header: the ports are 4 bytes further on
        IP(src="10.0.0.3", dst="10.0.0.1", options=[IPOption(b"\x01\x01\x01\x00")]), TCP(sport=80, dport=5555)
    ),
    "tcp-22": eth(IP(src="10.0.0.1", dst="10.0.0.9"), TCP(sport=40001, dport=22, flags="S")),
    "udp-53": eth(IP(src="10.0.0.2", dst="10.0.0.1"), UDP(sport=53, dport=40002), b"answer"),
    "udp-other": eth(IP(src="10.0.0.9", dst="10.0.0.8"), UDP(sport=1000, dport=2000), b"x"),
    "icmp6": eth(IPv6(src="fd00::1", dst="fd00::2"), ICMPv6EchoRequest(id=2, seq=1)),
    "tcp6-from-80": eth(IPv6(src="fd00::2", dst="fd00::1"), TCP(sport=80, dport=40003, flags="SA")),
    "udp6-53": eth(IPv6(src="fd00::1", dst="fd00::3"), UDP(sport=40004, dport=53), b"query"),
    "lldp": bytes.fromhex("0180c200000e 02000000000a 88cc") + bytes(46),
}
# An MLDv2 report has a hop-by-hop header before its ICMPv6: netlab looks behind it, tcpdump's icmp6 does not.
MLD = eth(IPv6(src="fe80::1", dst="ff02::16"), IPv6ExtHdrHopByHop(), ICMPv6MLReport2(), dst="33:33:00:00:00:16")


def run(program: bytes, frame: bytes) -> int:
    """What the kernel's classic BPF machine returns for this frame: bytes to keep, 0 to drop.

    Only the instructions these programs use: loads (absolute, indexed, ``ldx 4*([k]&0xf)``), the
    jumps ``ja``, ``jeq``, ``jgt``, ``jset``, and ``ret #k``. A load past the end of the frame drops it.
    """
    code = [INSTRUCTION.unpack_from(program, at) for at in range(0, len(program), INSTRUCTION.size)]
    a = x = pc = 0
    while True:
        assert 0 <= pc < len(code), f"the program runs off its end at {pc}"
        op, jt, jf, k = code[pc]
        pc += 1
        if op in (0x20, 0x28, 0x30, 0x40, 0x48, 0x50):  # ld, ldh, ldb: [k] or [x + k]
            at, size = (k if op < 0x40 else x + k), {0x00: 4, 0x08: 2, 0x10: 1}[op & 0x18]
            if at + size > len(frame):
                return 0
            a = int.from_bytes(frame[at : at + size], "big")
        elif op == 0xB1:  # ldx 4*([k]&0xf)
            if k >= len(frame):
                return 0
            x = (frame[k] & 0x0F) * 4
        elif op == 0x05:
            pc += k
        elif op in (0x15, 0x25, 0x45):  # jeq, jgt, jset
            taken = a == k if op == 0x15 else a > k if op == 0x25 else bool(a & k)
            pc += jt if taken else jf
        elif op == 0x06:
            return k
        else:
            raise AssertionError(f"instruction {op:#x} is not one this interpreter knows")


def compiled(words: str, keep: int = KEEP) -> bytes:
    program = compile_filter(parse_filter(words).clauses, keep=keep)
    assert program is not None
    return program


def tcpdump_program(words: str) -> bytes:
    """The program tcpdump compiles for the same words (``tcpdump -dd``: no interface is opened)."""
    result = subprocess.run([TCPDUMP, "-dd", "-y", "EN10MB", words], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    rows = [line.strip(" {},").split(",") for line in result.stdout.splitlines() if line.strip()]
    return b"".join(INSTRUCTION.pack(*(int(value, 0) for value in row)) for row in rows)


def kept(program: bytes, frames: dict[str, bytes]) -> set[str]:
    return {name for name, frame in frames.items() if run(program, frame)}


# -- what a program keeps -------------------------------------------------------------------------

SAME_AS_TCPDUMP = [
    "icmp",
    "arp",
    "tcp",
    "udp",
    "ip",
    "ip6",
    "icmp6",
    "port 80",
    "tcp port 80",
    "udp port 53",
    "port 53 or port 22",
    "host 10.0.0.2",
    "src host 10.0.0.1",
    "dst 10.0.0.1",
    "host fd00::2",
    "icmp and host 10.0.0.2",
    "arp or icmp",
    "udp and port 53 or icmp6",
]


@pytest.mark.skipif(not TCPDUMP, reason="tcpdump is not installed")
@pytest.mark.parametrize("words", SAME_AS_TCPDUMP)
def test_the_program_keeps_the_frames_tcpdumps_own_program_keeps(words):
    ours = kept(compiled(words), FRAMES)
    assert ours == kept(tcpdump_program(words), FRAMES)
    assert ours and ours != set(FRAMES)  # each filter keeps some frames and drops others


@pytest.mark.parametrize(
    "words",
    [
        *SAME_AS_TCPDUMP,
        "tcp or udp and port 53",
        "ip6 and port 53",
        "arp and port 80",
        "host 10.0.0.2 and host fd00::2",
    ],
)
def test_the_program_keeps_exactly_the_frames_the_python_filter_keeps(words):
    """The kernel's copy of a filter: a capture to a file trusts it and never looks at the frames again."""
    match, frames = parse_filter(words), {**FRAMES, "mld": MLD}
    assert kept(compiled(words), frames) == {name for name, frame in frames.items() if match(dissect(frame))}


def test_ports_are_read_behind_the_ip_header_however_long_it_is():
    frame = FRAMES["tcp-from-80-ip-options"]
    assert Ether(frame)[IP].ihl == 6
    assert run(compiled("port 80"), frame) == KEEP
    assert run(compiled("port 5555"), frame) == KEEP
    assert run(compiled("port 1"), frame) == 0  # the IP option's bytes (01 01 01 00) where a 20-byte header ends


def test_a_frame_with_a_vlan_tag_is_let_through_for_netlab_to_read_itself():
    tagged = eth(Dot1Q(vlan=7), IP(src="10.0.0.1", dst="10.0.0.2"), ICMP())
    assert run(compiled("arp"), tagged) == KEEP
    assert run(compiled("host 10.0.0.2 and host fd00::2"), tagged) == KEEP  # nothing untagged can match this
    assert kept(compiled("host 10.0.0.2 and host fd00::2"), FRAMES) == set()
    assert parse_filter("icmp")(dissect(tagged)) and not parse_filter("arp")(dissect(tagged))  # netlab decides


def test_a_frame_cut_short_is_dropped_not_read_past_its_end():
    ping = FRAMES["icmp"]
    assert run(compiled("icmp"), ping[:24]) == KEEP  # the protocol byte is at 23
    assert run(compiled("icmp"), ping[:23]) == 0
    assert run(compiled("host 10.0.0.2"), ping[:33]) == 0  # the destination ends at 34
    assert run(compiled("port 80"), FRAMES["tcp-80"][:37]) == 0  # the destination port ends at 38


@pytest.mark.parametrize("clauses", [((),), ((("proto", "icmp"),), ()), parse_filter("").clauses])
def test_a_filter_that_keeps_every_frame_needs_no_program(clauses):
    assert compile_filter(clauses) is None


def test_keep_is_the_length_every_accepting_return_gives():
    for words in ("icmp", "port 80", "host fd00::2 or arp"):
        program = compiled(words, keep=96)
        returns = {k for op, _jt, _jf, k in INSTRUCTION.iter_unpack(program) if op == 0x06}
        assert returns == {0, 96}
        assert {run(program, frame) for frame in FRAMES.values()} == {0, 96}
    assert keep_all(96) == INSTRUCTION.pack(0x06, 0, 0, 96)
    assert {run(keep_all(96), frame) for frame in FRAMES.values()} == {96}


@pytest.mark.parametrize("words", ["icmp", "port 80 or host fd00::2", "arp or icmp6 and src 10.0.0.1", "udp port 53"])
def test_every_jump_lands_inside_the_program_and_the_program_ends_in_a_return(words):
    """What the kernel checks before it takes a program (``bpf_check_classic``): jumps forward, inside."""
    code = list(INSTRUCTION.iter_unpack(compiled(words)))
    assert code[-1][0] == 0x06
    for at, (op, jt, jf, k) in enumerate(code):
        targets = [at + 1 + k] if op == 0x05 else [at + 1 + jt, at + 1 + jf] if op in (0x15, 0x25, 0x45) else []
        assert all(target < len(code) for target in targets), (at, op, jt, jf, k)
        if op not in (0x05, 0x15, 0x25, 0x45):
            assert (jt, jf) == (0, 0), (at, op)


# -- the kernel runs it ---------------------------------------------------------------------------


def _through_the_kernel(program: bytes, frames: list[bytes]) -> list[bytes | None]:
    """Each frame sent over a Unix datagram socket pair whose receiving end has the filter attached:
    the kernel runs socket filters on any socket, so what arrives is what it kept (cut to ``ret``)."""
    sender, receiver = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    with sender, receiver:
        attach(receiver, program)
        receiver.setblocking(False)
        arrived: list[bytes | None] = []
        for frame in frames:
            sender.send(frame)
            try:
                arrived.append(receiver.recv(65536))
            except BlockingIOError:
                arrived.append(None)
        return arrived


def test_the_kernel_takes_the_program_and_keeps_the_same_frames_cut_to_keep():
    program = compiled("icmp or tcp port 80", keep=40)
    frames = [*FRAMES.values(), FRAMES["icmp"][:20], FRAMES["tcp-80"][:14]]
    expected = [frame[:40] if run(program, frame) else None for frame in frames]
    assert _through_the_kernel(program, frames) == expected
    assert sum(frame is not None for frame in expected) == 5  # two pings, three TCP segments to or from port 80


def test_the_kernel_takes_keep_all_and_cuts_every_frame_to_its_length():
    frames = list(FRAMES.values())
    assert _through_the_kernel(keep_all(20), frames) == [frame[:20] for frame in frames]


# -- long filters, extension headers ------------------------------------------------------------


def test_a_filter_of_six_ports_compiles_to_a_program_the_kernel_takes():
    words = " or ".join(f"port {port}" for port in (22, 53, 80, 443, 8080, 8443))
    parse_filter(words)  # netlab reads these words
    program = compiled(words)
    assert kept(program, FRAMES) == {"tcp-80", "tcp-from-80-ip-options", "tcp-22", "udp-53", "tcp6-from-80", "udp6-53"}
    assert _through_the_kernel(program, [FRAMES["udp-53"]]) == [FRAMES["udp-53"]]


def test_a_port_behind_an_ipv6_hop_by_hop_header_is_kept_as_the_python_filter_keeps_it():
    frame = eth(IPv6(src="fd00::1", dst="fd00::2"), IPv6ExtHdrHopByHop(), UDP(sport=40000, dport=53))
    assert parse_filter("port 53")(dissect(frame))
    assert parse_filter("udp")(dissect(frame)) and run(compiled("udp"), frame) == KEEP  # the protocol is found
    assert run(compiled("port 53"), frame) == KEEP


@pytest.mark.skipif(not TCPDUMP, reason="tcpdump is not installed")
@pytest.mark.parametrize("words", ["arp or icmp and host 10.0.0.9", "icmp and host 10.0.0.9 or udp port 53"])
def test_words_mixing_or_and_and_are_echoed_as_tcpdump_reads_the_same_filter(words):
    """netlab binds ``and`` tighter (documented); the ``tcpdump -ni IFACE TEXT`` it echoes keeps the same frames."""
    text = parse_filter(words).text
    assert "(" in text and kept(compiled(words), FRAMES) == kept(tcpdump_program(text), FRAMES)


def test_a_filter_too_long_for_classic_bpf_is_left_to_netlab_not_refused():
    """A conditional jump reaches 255 instructions: past that, no kernel program, netlab filters every frame."""
    words = " and ".join(["icmp"] + [f"host 10.0.{i // 250}.{i % 250 + 1}" for i in range(120)])
    match = parse_filter(words)
    assert compile_filter(match.clauses) is None and not match(dissect(FRAMES["icmp"]))
    assert compile_filter(parse_filter("icmp and host 10.0.0.1").clauses) is not None
