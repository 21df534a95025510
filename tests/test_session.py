"""A capture a learner can leave running: streamed to its file, ended any way, whole or honest frames.

Each test stops a real capture in one of the ways a learner does (a signal, -c, a timeout, the
interface going away or down, an exception) and reads the file back with scapy (and tcpdump
where it can run): complete, valid, and the summary says why it ended.
"""

from __future__ import annotations

import shutil
import signal
import struct
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from conftest import sh
from scenes import article_veth, wait_until
from test_capture import NETLAB, in_user_namespace, ping, wait_up

from netlab.capture import PcapFileError, capture


def records(path: Path) -> tuple[int, list[tuple[int, int]]]:
    """A pcap file read by hand: the header's snaplen, and (kept, wire) per record; all must be whole."""
    data = path.read_bytes()
    magic, _major, _minor, _zone, _sigfigs, snaplen, link = struct.unpack_from("<IHHiIII", data)
    assert (magic, link) == (0xA1B2C3D4, 1)
    found, offset = [], 24
    while offset < len(data):
        _s, _us, kept, wire = struct.unpack_from("<IIII", data, offset)
        offset += 16 + kept
        assert offset <= len(data), "a record cut short"
        found.append((kept, wire))
    return snaplen, found


def icmp_in(path: Path) -> list[int]:
    """ICMP types in the file, as scapy reads it (an independent reader)."""
    from scapy.layers.inet import ICMP
    from scapy.utils import rdpcap

    return [frame[ICMP].type for frame in rdpcap(str(path)) if ICMP in frame]


def start_cli(*argv: str) -> subprocess.Popen:
    """``netlab capture ...`` in the background, once it says it is capturing."""
    proc = subprocess.Popen([NETLAB, "capture", *argv], stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    assert "capturing on" in proc.stderr.readline()
    return proc


def finish(proc: subprocess.Popen) -> str:
    """Its exit status must be 0; its stderr, without a traceback."""
    try:
        _out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_every_signal_keeps_the_file_and_says_why(tmp_path, signum):
    with article_veth():
        wait_up(("netns1", "veth1"), (None, "veth0"))
        out = tmp_path / "stop.pcap"
        proc = start_cli("-n", "netns1", "veth1", "-w", str(out), "icmp")
        ping(None, "10.1.1.1")
        ping(None, "10.1.1.1")
        proc.send_signal(signum)
        err = finish(proc)
    assert f"4 packets captured, 0 dropped by the kernel; stopped by {signal.Signals(signum).name}" in err
    assert icmp_in(out) == [8, 0, 8, 0]


def test_count_and_timeout_say_why_and_keep_the_file(tmp_path):
    with article_veth():
        wait_up(("netns1", "veth1"), (None, "veth0"))
        out = tmp_path / "count.pcapng"
        proc = start_cli("-n", "netns1", "veth1", "-c", "2", "-w", str(out), "icmp")
        ping(None, "10.1.1.1")
        assert "2 packets captured, 0 dropped by the kernel; stopped after 2 packets" in finish(proc)
        assert icmp_in(out) == [8, 0]
        quiet = capture("veth0", filter="udp and port 9", timeout=0.3, write=tmp_path / "quiet.pcap")
        assert quiet.wait(timeout=10)
    assert quiet.ended == "stopped after the timeout of 0.3 s"
    assert records(tmp_path / "quiet.pcap")[1] == []  # nothing arrived, and the file is a valid, empty capture


def test_the_file_grows_while_the_capture_runs_and_the_window_is_bounded(tmp_path):
    with article_veth():
        wait_up(("netns1", "veth1"), (None, "veth0"))
        out = tmp_path / "stream.pcap"
        cap = capture("veth0", proto="icmp", write=out, window=2)
        ping(None, "10.1.1.1")
        wait_until(lambda: len(records(out)[1]) == 2, what="the first two packets in the file, mid-capture")
        assert records(out)[1] == [(98, 98)] * 2
        assert cap.running
        for _ in range(2):
            ping(None, "10.1.1.1")
        cap.stop()
    assert len(cap) == 6 and len(cap.packets) == 2 and cap.window.left_out == 4
    assert [p.what for p in cap] == ["echo request", "echo reply"]  # the latest two
    assert icmp_in(out) == [8, 0] * 3  # and all six on disk
    assert cap.ended == "stopped"


def test_an_exception_in_the_with_block_keeps_the_file(tmp_path):
    with article_veth():
        wait_up(("netns1", "veth1"), (None, "veth0"))
        out = tmp_path / "raised.pcapng"
        with pytest.raises(ZeroDivisionError), capture("veth0", proto="icmp", write=out) as cap:
            ping(None, "10.1.1.1")
            1 / 0  # noqa: B018
    assert cap.ended == "stopped: the with block raised ZeroDivisionError" and not cap.running
    assert icmp_in(out) == [8, 0]


def test_an_interface_that_goes_away_ends_the_capture_with_a_valid_file(tmp_path):
    with article_veth():
        wait_up(("netns1", "veth1"), (None, "veth0"))
        out = tmp_path / "gone.pcap"
        proc = start_cli("veth0", "-w", str(out), "icmp")
        ping(None, "10.1.1.1")
        sh("ip", "link", "delete", "veth0")
        err = finish(proc)
    assert "2 packets captured, 0 dropped by the kernel; veth0 went away (Network is down)" in err
    assert icmp_in(out) == [8, 0]


def test_a_down_interface_is_waited_for_said_once(tmp_path):
    with article_veth():
        sh("ip", "link", "set", "veth0", "down")
        with capture("veth0", proto="icmp", write=tmp_path / "down.pcap") as cap:
            assert cap.running and cap.notes == ["veth0 is down: waiting for it to come up (ip link set veth0 up)"]
            sh("ip", "link", "set", "veth0", "up")
            wait_up(("netns1", "veth1"), (None, "veth0"))
            ping(None, "10.1.1.1")
            sh("ip", "link", "set", "veth0", "down")  # down mid-capture: it waits again, and says so
            wait_until(lambda: len(cap.notes) == 2, what="the capture to see veth0 go down")
            assert cap.running
            sh("ip", "link", "set", "veth0", "up")
            wait_up(("netns1", "veth1"), (None, "veth0"))
            ping(None, "10.1.1.1")
    assert [p.what for p in cap] == ["echo request", "echo reply"] * 2
    assert icmp_in(tmp_path / "down.pcap") == [8, 0, 8, 0]


@pytest.mark.parametrize(
    ("where", "words"),
    [
        ("/nonexistent-dir/x.pcap", "cannot write the capture to /nonexistent-dir/x.pcap: the folder /nonexistent-dir"),
        ("{tmp}", "cannot write the capture to {tmp}: it is a folder"),
        ("/dev/full", "cannot write the capture to /dev/full: it is a device or a pipe, not a file"),
    ],
)
def test_the_file_is_checked_before_capturing(tmp_path, where, words):
    where, words = where.format(tmp=tmp_path), words.format(tmp=tmp_path)
    result = subprocess.run([NETLAB, "capture", "lo", "-w", where], capture_output=True, text=True, timeout=20)
    assert result.returncode == 1 and result.stderr.startswith(f"netlab: {words}"), result.stderr
    assert "capturing on" not in result.stderr and "hint:" in result.stderr and "Traceback" not in result.stderr
    with pytest.raises(PcapFileError) as caught:
        capture("lo", write=where)
    assert words in str(caught.value) and caught.value.hint


def test_a_flood_written_to_a_file_stays_small(tmp_path):
    """A 3 s ping flood with -w: the file holds it, the process stays under 100 MB (it grew to 1-2 GB)."""
    with article_veth():
        wait_up(("netns1", "veth1"), (None, "veth0"))
        out = tmp_path / "flood.pcap"
        proc = start_cli("veth0", "-w", str(out), "icmp")
        flood = sh("ping", "-f", "-q", "-w", "3", "-s", "1400", "10.1.1.1")
        # The capture's own high-water mark (VmHWM, reset by exec): wait4's ru_maxrss would also
        # count the RSS the child inherited from this pytest process when it was forked.
        peak = high_water_kib(proc.pid)
        proc.send_signal(signal.SIGTERM)
        proc.wait()
        assert proc.stderr is not None
        err = proc.stderr.read()
    assert proc.returncode == 0, err
    captured = int(err.split("packets captured")[0].split()[-1])
    _snaplen, found = records(out)
    assert len(found) == captured and captured > 1000, flood.stdout
    assert peak < 100 * 1024, f"peak RSS {peak} KiB"


def high_water_kib(pid: int) -> int:
    """A live process's peak resident memory so far, in KiB (``VmHWM`` in /proc/PID/status)."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1])


def download(tmp_path: Path, size: int = 4 << 20) -> None:
    """A TCP download over the veth pair: netns1 serves ``size`` bytes, the root namespace reads them."""
    server = subprocess.Popen(
        ["ip", "netns", "exec", "netns1", sys.executable, "-c", SERVE, str(size)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "listening"
        got = subprocess.run([sys.executable, "-c", FETCH], capture_output=True, text=True, check=True).stdout
        assert int(got) == size
    finally:
        server.wait(timeout=20)


SERVE = """
import socket, sys
s = socket.create_server(("10.1.1.1", 8000))
print("listening", flush=True)
c, _ = s.accept()
c.sendall(b"x" * int(sys.argv[1]))
c.close()
"""
FETCH = """
import socket
c = socket.create_connection(("10.1.1.1", 8000))
n = 0
while chunk := c.recv(1 << 16):
    n += len(chunk)
print(n)
"""


def test_large_frames_are_whole_or_the_header_says_where_they_were_cut(tmp_path):
    with article_veth():
        wait_up(("netns1", "veth1"), (None, "veth0"))
        honest, whole = tmp_path / "default.pcap", tmp_path / "whole.pcap"
        tcpdump = None
        if not in_user_namespace() and shutil.which("tcpdump"):  # the cross-check, where tcpdump can run
            tcpdump = subprocess.Popen(
                ["tcpdump", "-ni", "veth0", "-w", str(tmp_path / "tcpdump.pcap"), "tcp"], stderr=subprocess.PIPE
            )
            assert tcpdump.stderr is not None and b"listening" in tcpdump.stderr.readline()
        try:
            with capture("veth0", proto="tcp", write=honest), capture("veth0", proto="tcp", write=whole, snaplen=65535):
                download(tmp_path)
        finally:
            if tcpdump is not None:
                tcpdump.send_signal(signal.SIGINT)
                tcpdump.wait(timeout=20)
    snaplen, cut = records(honest)
    assert snaplen == 1982 and all(kept == min(wire, 1982) for kept, wire in cut)
    assert max(wire for _kept, wire in cut) > 1982  # GSO: frames larger than the MTU did cross the veth
    snaplen, kept_whole = records(whole)
    assert snaplen >= 65535 and all(kept == wire for kept, wire in kept_whole)
    # The same frames (two CPUs, one sending ACKs, one receiving data, may fill two sockets in two orders).
    assert Counter(wire for _k, wire in kept_whole) == Counter(wire for _k, wire in cut)
    if tcpdump is not None:  # tcpdump kept the same frames, whole (its last ones may wait in a V3 block)
        seen_by_tcpdump = Counter(records(tmp_path / "tcpdump.pcap")[1])
        assert max(seen_by_tcpdump)[0] > 1982 and seen_by_tcpdump <= Counter(kept_whole)


FILTERS = [
    "icmp",
    "arp",
    "tcp and port 8000",
    "udp and host 10.1.1.1",
    "src 10.1.1.2",
    "dst host 10.1.1.2 or arp",
    "port 8000 or icmp",
    "ip6",
    "icmp6",
]


UDP_TO_10_1_1_1 = "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('10.1.1.1', 9))"


def test_the_kernel_filters_as_netlab_reads(tmp_path):
    """Each filter runs in the kernel (BPF): it keeps exactly what netlab's own reading of every frame keeps."""
    from netlab.capture import parse_filter

    with article_veth():
        wait_up(("netns1", "veth1"), (None, "veth0"))
        sh("ip", "neigh", "flush", "dev", "veth0")
        everything = capture("veth0", snaplen=65535)
        filtered = [capture("veth0", filter=words, snaplen=65535) for words in FILTERS]
        began = time.time()  # every socket is listening: compare what came from now on
        try:
            ping(None, "10.1.1.1")
            download(tmp_path, size=1 << 20)
            sh(sys.executable, "-c", UDP_TO_10_1_1_1)
            sh("ip", "netns", "exec", "netns1", "ping", "-6", "-c", "1", "-W", "2", "ff02::1%veth1", check=False)
        finally:
            ended = time.time()
            for cap in (everything, *filtered):
                cap.stop()

    def seen(packets):  # each socket stamps its own copy: compare the frames, not the times
        return sorted((p.direction, p.summary) for p in packets if began <= p.timestamp <= ended)

    for words, cap in zip(FILTERS, filtered, strict=True):
        expected = [p for p in everything if parse_filter(words)(p.fields)]
        assert seen(cap) == seen(expected), words
        assert cap.stats["veth0"].received == len(cap)  # the kernel handed the socket only these
        assert seen(cap) or words in ("ip6", "icmp6")  # IPv6 frames come if the kernel sends them
    assert {"ARP", "ICMP", "TCP"} <= {p.protocol for p in everything}
