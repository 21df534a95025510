"""A Packet read when first looked at, and the bounded window of them (netlab/capture/records.py), on scapy's frames."""

from __future__ import annotations

import gc
import weakref

import pytest
from scapy.layers.inet import ICMP, IP, TCP
from scapy.layers.l2 import ARP, Ether

from netlab.capture.records import FIELDS, Packet, Window
from netlab.plumbing import frames

# Every MAC and address is given: scapy would otherwise look them up on this machine's network.
NETNS1_MAC, ROOT_MAC = "02:00:00:00:00:01", "02:00:00:00:00:02"


def echo(seq: int) -> bytes:
    """An ICMP echo request from 10.1.1.2 to 10.1.1.1, as scapy builds it."""
    ether = Ether(src=ROOT_MAC, dst=NETNS1_MAC)
    return bytes(ether / IP(src="10.1.1.2", dst="10.1.1.1") / ICMP(id=7, seq=seq) / (b"x" * 56))


def who_has() -> bytes:
    """An ARP request, broadcast: who has 10.1.1.1, tell 10.1.1.2."""
    ether = Ether(src=ROOT_MAC, dst="ff:ff:ff:ff:ff:ff")
    return bytes(ether / ARP(op=1, hwsrc=ROOT_MAC, psrc="10.1.1.2", hwdst="00:00:00:00:00:00", pdst="10.1.1.1"))


def syn() -> bytes:
    """A TCP SYN from 10.1.1.2:40000 to 10.1.1.1:80."""
    ether = Ether(src=ROOT_MAC, dst=NETNS1_MAC)
    return bytes(ether / IP(src="10.1.1.2", dst="10.1.1.1") / TCP(sport=40000, dport=80, flags="S"))


def packet(frame: bytes, timestamp: float = 1e9, *, point: str = "veth0", outgoing: bool = True) -> Packet:
    return Packet(point, timestamp, timestamp - 1e9, frame, outgoing, len(frame))


@pytest.fixture
def dissected(monkeypatch) -> list[bytes]:
    """Every frame netlab's reader walks (the real ``frames.dissect``, each call noted)."""
    walked: list[bytes] = []
    real = frames.dissect

    def noted(frame: bytes) -> frames.Fields:
        walked.append(frame)
        return real(frame)

    monkeypatch.setattr(frames, "dissect", noted)
    return walked


# -- a packet -------------------------------------------------------------------------------------


def test_a_packet_reads_its_frame_when_first_looked_at_and_only_once(dissected):
    ping = packet(echo(1))
    assert (ping.point, ping.direction, ping.length) == ("veth0", "out", 98)  # none of these needs the headers
    assert dissected == []
    assert ping.protocol == "ICMP"
    assert (ping.src, ping.dst, ping.what) == ("10.1.1.2", "10.1.1.1", "echo request")
    assert dissected == [echo(1)]  # one walk, for all the fields


@pytest.mark.parametrize("make", [lambda: echo(1), who_has, syn], ids=["icmp", "arp", "tcp"])
def test_the_fields_say_what_scapy_reads_in_the_same_bytes(make):
    frame = make()
    seen, scapy = packet(frame), Ether(frame)
    assert (seen.src_mac, seen.dst_mac) == (scapy.src, scapy.dst)
    if ARP in scapy:
        assert (seen.protocol, seen.what) == ("ARP", "who-has")
        assert (seen.src, seen.dst) == (scapy[ARP].psrc, scapy[ARP].pdst)
    else:
        assert (seen.src, seen.dst) == (scapy[IP].src, scapy[IP].dst)
    if TCP in scapy:
        assert (seen.protocol, seen.sport, seen.dport, seen.what) == ("TCP", 40000, 80, "SYN")


def test_the_scapy_view_is_the_same_frame_dissected_once():
    ping = packet(echo(3))
    first = ping.scapy
    assert first is ping.scapy
    assert bytes(first) == echo(3)
    assert (first[ICMP].id, first[ICMP].seq) == (7, 3)


def test_every_field_a_table_names_can_be_read():
    arp = packet(who_has(), outgoing=False)
    row = {name: getattr(arp, name) for name in FIELDS}
    assert row["direction"] == "in" and row["frame"] == who_has() and row["length"] == len(who_has())
    assert row["summary"] == "ARP, Request who-has 10.1.1.1 tell 10.1.1.2, length 28"
    assert row["sport"] is None and row["dport"] is None  # ARP has no ports


def test_a_packet_prints_its_time_point_direction_and_summary():
    ping = Packet("netns1:veth1", 1e9 + 0.25, 0.041902, echo(1), False, 98)
    summary = "IP 10.1.1.2 > 10.1.1.1: ICMP echo request, id 7, seq 1, length 64"
    assert str(ping) == f" 0.041902  netns1:veth1  in   {summary}"
    assert repr(ping) == f"<Packet 0.041902 netns1:veth1 in: {summary}>"


def test_line_is_tcpdumps_clock_time_to_the_microsecond(utc):
    assert packet(syn(), 1e9 + 0.570388).line() == (
        "01:46:40.570388 out IP 10.1.1.2.40000 > 10.1.1.1.80: Flags [S], seq 0, length 0"
    )
    # A hair before the next second rounds up into it: never ".1000000".
    assert packet(syn(), 1e9 + 0.9999996).line().startswith("01:46:41.000000 out ")


# -- the window -----------------------------------------------------------------------------------


def test_the_window_keeps_the_latest_packets_and_counts_those_it_let_go():
    window = Window(3)
    for n in range(10):
        window.add(packet(echo(n), 1e9 + n))
        assert len(window) == min(n + 1, 3)
    assert (len(window), window.seen, window.left_out) == (3, 10, 7)
    assert [p.scapy[ICMP].seq for p in window] == [7, 8, 9]


def test_packets_come_out_in_time_order_whichever_point_handed_them_in_first():
    window = Window(10)
    window.add(packet(echo(2), 1e9 + 2, point="netns1:veth1"))
    window.add(packet(echo(1), 1e9 + 1, point="veth0"))
    window.add(packet(echo(3), 1e9 + 3, point="veth0"))
    assert [(p.point, p.timestamp) for p in window.packets()] == [
        ("veth0", 1e9 + 1),
        ("netns1:veth1", 1e9 + 2),
        ("veth0", 1e9 + 3),
    ]


def test_frames_nobody_looked_at_become_packets_only_when_read_and_are_walked_only_when_looked_at(dissected):
    window = Window(5)
    start = 1e9
    window.add_frames("netns1:veth1", start, [(start + n, echo(n), n % 2 == 0, 98) for n in range(50)])
    assert (len(window), window.seen, window.left_out) == (5, 50, 45)
    held = window.packets()
    assert [(p.point, p.time, p.direction) for p in held] == [
        ("netns1:veth1", float(n), "out" if n % 2 == 0 else "in") for n in range(45, 50)
    ]
    assert dissected == []  # made into Packets, not read yet
    assert [p.scapy[ICMP].seq for p in held] == [45, 46, 47, 48, 49]
    assert [p.what for p in window.packets()] == ["echo request"] * 5
    assert dissected == [echo(n) for n in range(45, 50)]  # the five kept, not the fifty
    assert all(a is b for a, b in zip(held, window.packets(), strict=True))  # read once, kept as Packets


def test_the_bound_holds_across_batches_and_single_packets():
    window = Window(4)
    for batch in range(3):
        window.add_frames("veth0", 1e9, [(1e9 + 3 * batch + n, echo(3 * batch + n), True, 98) for n in range(3)])
        assert len(window) == min(3 * (batch + 1), 4)
    assert (len(window), window.seen, window.left_out) == (4, 9, 5)
    window.add(packet(echo(9), 1e9 + 9))  # the batches' older frames are let go first
    assert (len(window), window.seen, window.left_out) == (4, 10, 6)
    assert [p.scapy[ICMP].seq for p in window] == [6, 7, 8, 9]


def test_a_window_of_zero_keeps_nothing_and_counts_everything():
    window = Window(0)
    window.add(packet(echo(1)))
    window.add_frames("veth0", 1e9, [(1e9 + n, echo(n), True, 98) for n in range(4)])
    assert (len(window), window.seen, window.left_out, window.packets()) == (0, 5, 5, [])


def test_a_run_longer_than_the_window_does_not_keep_the_whole_run_alive():
    np = pytest.importorskip("numpy")
    from netlab.capture.runs import Run

    sent = [echo(n) for n in range(20)]
    rows = np.frombuffer(b"".join(sent), np.uint8).reshape(20, 98).copy()
    sizes = np.full(20, 98, np.uint32)
    seconds = np.arange(20, dtype=np.uint32) + 1_000_000_000
    run = Run(rows, sizes, sizes.copy(), seconds, np.zeros(20, np.uint32), np.zeros(20, bool))
    whole = weakref.ref(rows)
    window = Window(3)
    window.add_run("veth0", 1e9, run)
    del run, rows
    gc.collect()
    assert whole() is None  # the window holds a copy of its three rows, not a view of all twenty
    assert (len(window), window.left_out) == (3, 17)
    assert [p.frame for p in window] == sent[-3:]
