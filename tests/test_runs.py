"""A flood read in runs (``netlab/capture/runs.py``): the file, the count and the window are exact.

A capture to a file that nobody watches frame by frame reads whole blocks (TPACKET_V3) or runs of
slots (TPACKET_V2, when it has a count) with numpy, and writes their records at once. Each test
floods the article's veth pair and reads the result back with scapy, an independent reader.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from conftest import sh
from scenes import article_veth
from test_capture import wait_up

from netlab.capture import capture

pytest.importorskip("numpy")


def flood(echoes: int = 20_000) -> None:
    """ping -f: as fast as the replies come, a few seconds; a number of echoes, not a time, so that the
    file scapy reads back stays a few tens of thousands of frames on a fast machine too."""
    sh("ping", "-f", "-q", "-c", str(echoes), "-w", "20", "10.1.1.1")


def frames_in(path: Path) -> list[tuple[bytes, float]]:
    """Each frame of a pcap file and its time, read by scapy without dissecting (an independent reader)."""
    from scapy.utils import RawPcapReader

    with RawPcapReader(str(path)) as reader:
        return [(data, meta.sec + meta.usec / 1e6) for data, meta in reader]


def pcapng_blocks(path: Path) -> list[tuple[int, bytes]]:
    """A pcapng file walked by hand: (type, body) per block; each length must agree at both ends."""
    data, at, blocks = path.read_bytes(), 0, []
    while at < len(data):
        kind, length = struct.unpack_from("<II", data, at)
        assert length % 4 == 0 and at + length <= len(data), "a block cut short"
        assert struct.unpack_from("<I", data, at + length - 4)[0] == length, "lengths disagree"
        blocks.append((kind, data[at + 8 : at + length - 4]))
        at += length
    return blocks


def test_a_flood_to_pcapng_is_whole_with_directions(tmp_path):
    out = tmp_path / "flood.pcapng"
    with article_veth():
        wait_up(("netns1", "veth1"), (None, "veth0"))
        with capture("veth0", proto="icmp", write=out, window=0) as cap:
            flood()
    packets = [body for kind, body in pcapng_blocks(out) if kind == 6]  # enhanced packet blocks
    assert len(packets) == len(cap) > 1000
    directions = []
    for body in packets:
        _interface, _high, _low, kept, wire = struct.unpack_from("<IIIII", body)
        assert kept == wire == 98  # ping's 56 bytes, whole
        frame = body[20 : 20 + kept]
        assert frame[12:14] == b"\x08\x00" and frame[23] == 1  # IPv4, ICMP
        code, size, flags = struct.unpack_from("<HHI", body, 20 + (kept + 3) // 4 * 4)
        assert (code, size) == (2, 4)  # epb_flags
        directions.append((frame[34], flags & 3))  # ICMP type, direction (1 in, 2 out)
    assert set(directions) == {(8, 2), (0, 1)}  # requests went out of veth0, replies came in

    from scapy.utils import RawPcapNgReader

    with RawPcapNgReader(str(out)) as reader:
        assert sum(1 for _frame in reader) == len(cap)


def test_the_window_keeps_the_latest_frames_of_the_file(tmp_path):
    out = tmp_path / "flood.pcap"
    with article_veth():
        wait_up(("netns1", "veth1"), (None, "veth0"))
        with capture("veth0", proto="icmp", write=out, window=500) as cap:
            flood()
    written = frames_in(out)
    assert len(written) == len(cap) > 1000
    assert len(cap.packets) == 500 and cap.window.left_out == len(cap) - 500
    # The same frames, in the same order (one point: the kernel's order), the same times.
    assert [p.frame for p in cap] == [frame for frame, _time in written[-500:]]
    # (The file keeps microseconds, cut as libpcap cuts them; a Packet keeps the nanoseconds.)
    assert all(0 <= p.timestamp - time < 2e-6 for p, (_frame, time) in zip(cap, written[-500:], strict=True))


def test_a_count_during_a_flood_is_exact(tmp_path):
    """With a count the ring is TPACKET_V2, read in runs: exactly that many, in the file too."""
    out = tmp_path / "count.pcap"
    with article_veth():
        wait_up(("netns1", "veth1"), (None, "veth0"))
        cap = capture("veth0", proto="icmp", write=out, count=3000, window=10)
        try:
            flood(5_000)
            assert cap.wait(20)
        finally:
            cap.stop()
    assert len(cap) == 3000 and len(frames_in(out)) == 3000
    assert cap.ended == "stopped after 3000 packets"
    assert [p.what for p in cap][-2:] in (["echo request", "echo reply"], ["echo reply", "echo request"])


def test_the_window_keeps_the_latest_whether_frames_came_in_runs_or_one_by_one():
    """A flood's blocks come as runs (numpy), a small block frame by frame: the window keeps the
    latest ``size`` by arrival, whatever their mix, and counts the rest."""
    import numpy as np

    from netlab.capture.records import Window
    from netlab.capture.runs import Run

    def run(*seconds: int) -> Run:
        count = len(seconds)
        sizes = np.full(count, 60, np.uint32)
        rows = np.zeros((count, 60), np.uint8)
        return Run(rows, sizes, sizes, np.array(seconds, np.uint32), np.zeros(count, np.uint32), np.zeros(count, bool))

    window = Window(5)
    window.add_run("a", 0.0, run(1, 2, 3, 4))
    window.add_frames("a", 0.0, [(5.0, bytes(60), False, 60), (6.0, bytes(60), True, 60)])
    window.add_run("a", 0.0, run(7, 8))
    assert (len(window), window.seen, window.left_out) == (5, 8, 3)
    assert [p.timestamp for p in window.packets()] == [4.0, 5.0, 6.0, 7.0, 8.0]
    assert [p.direction for p in window.packets()] == ["in", "in", "out", "in", "in"]


def test_without_numpy_a_flood_is_read_frame_by_frame_and_whole(tmp_path, monkeypatch):
    """Where numpy is missing, the same blocks are walked frame by frame in Python: same file."""
    from netlab.capture import runs

    monkeypatch.setattr(runs, "_numpy", [])
    monkeypatch.setattr(runs, "has_numpy", lambda: False)
    out = tmp_path / "flood.pcap"
    with article_veth():
        wait_up(("netns1", "veth1"), (None, "veth0"))
        with capture("veth0", proto="icmp", write=out, window=0) as cap:
            flood(5_000)
    assert runs.numpy_now() is None
    written = frames_in(out)
    assert len(written) == len(cap) > 1000
    assert {len(frame) for frame, _time in written} == {98}
