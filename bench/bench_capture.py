"""Capture speed against tcpdump, and drops at a ping flood, in one run (as root, in a sandbox).

    ./scripts/bench   (or, inside `netlab sandbox`:  python bench/bench_capture.py [DATAGRAMS])

Two namespaces, bench-a (10.9.0.1) and bench-b (10.9.0.2), joined by a veth pair a0/b0.

1. Throughput. bench-a sends DATAGRAMS small UDP datagrams to bench-b as fast as it can, while
   `tcpdump -w FILE` and netlab's capture both capture on a0 (the same frames, at the same
   time). For each: frames captured, frames the kernel dropped (its ring or buffer was full),
   CPU seconds spent, and so frames captured and dissected per CPU second; netlab's figures
   are also given as ratios to tcpdump's. scapy's full dissection is timed on the same frames.
2. A ping flood. `ping -f` for 2 s from bench-a to bench-b, captured at both ends of the pair;
   every echo request and reply must be there, and the kernel's drop counters
   (PACKET_STATISTICS) must read 0.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from netlab.capture import capture
from netlab.sandbox import in_sandbox

SENDER = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
data = b"x" * 32
for _ in range(int(sys.argv[1])):
    s.sendto(data, ("10.9.0.2", 9))
"""


def sh(*commands: str) -> None:
    for command in commands:
        subprocess.run(command, shell=True, check=True)


def build() -> None:
    sh(
        "ip netns add bench-a",
        "ip netns add bench-b",
        "ip link add a0 netns bench-a type veth peer name b0 netns bench-b",
        "ip -n bench-a addr add 10.9.0.1/24 dev a0",
        "ip -n bench-b addr add 10.9.0.2/24 dev b0",
        "ip -n bench-a link set a0 up",
        "ip -n bench-b link set b0 up",
        # No ICMP "port unreachable" back for every datagram (they are rate-limited anyway).
        "ip netns exec bench-b sysctl -qw net.ipv4.icmp_ratelimit=1000000",
    )
    for _ in range(100):  # until the link watcher has the pair up (ARP resolved by a first ping)
        if subprocess.run(["ip", "netns", "exec", "bench-a", "ping", "-c1", "-W1", "10.9.0.2"]).returncode == 0:
            return
    sys.exit("the veth pair did not come up")


def teardown() -> None:
    subprocess.run(["ip", "netns", "delete", "bench-a"], capture_output=True)
    subprocess.run(["ip", "netns", "delete", "bench-b"], capture_output=True)


def stop(proc: subprocess.Popen) -> tuple[str, float]:
    """SIGINT (tcpdump then prints its counts), reap it; its stderr and CPU seconds (rusage)."""
    proc.send_signal(signal.SIGINT)
    assert proc.stderr is not None
    text = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return text, usage.ru_utime + usage.ru_stime


def count(pattern: str, text: str) -> int:
    found = re.search(pattern, text)
    if found is None:
        sys.exit(f"no {pattern!r} in: {text}")
    return int(found.group(1))


def throughput(datagrams: int) -> None:
    out = Path(tempfile.mkdtemp()) / "tcpdump.pcap"
    tcpdump = subprocess.Popen(
        ["ip", "netns", "exec", "bench-a", "tcpdump", "-i", "a0", "-n", "-w", str(out), "-B", "8192"],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert tcpdump.stderr is not None
    tcpdump.stderr.readline()  # "listening on a0 ...": it captures from now on
    cap = capture(("bench-a", "a0"))
    cpu = time.process_time()
    start = time.perf_counter()
    subprocess.run(["ip", "netns", "exec", "bench-a", sys.executable, "-c", SENDER, str(datagrams)], check=True)
    sent_in = time.perf_counter() - start
    cap.stop()
    capture_cpu = time.process_time() - cpu  # the reader thread: the rest of this process waited
    report, tcpdump_cpu = stop(tcpdump)
    shutil.rmtree(out.parent)  # tcpdump's file: only its counts matter
    captured = count(r"(\d+) packets? captured", report)
    dropped = count(r"(\d+) packets? dropped by kernel", report)
    packets = cap.packets
    cpu = time.process_time()
    for packet in packets:
        packet.fields  # noqa: B018  netlab.plumbing.frames reads the headers and writes the summary
    fields_cpu = time.process_time() - cpu
    from scapy.layers.l2 import Ether

    cpu = time.process_time()
    for packet in packets:
        Ether(packet.frame)
    scapy_cpu = time.process_time() - cpu

    got = len(packets)
    print(
        f"1. {datagrams:,} UDP datagrams sent in {sent_in:.2f} s ({datagrams / sent_in:,.0f} frames/s), captured on a0"
    )
    print(f"   {'':34} {'captured':>9} {'dropped':>8} {'CPU s':>6} {'frames per CPU s':>17}")
    rows = [
        ("tcpdump -w FILE", captured, dropped, tcpdump_cpu),
        ("netlab capture (frames kept)", got, cap.dropped, capture_cpu),
        ("  + netlab.plumbing.frames dissection", got, None, capture_cpu + fields_cpu),
        ("  + scapy Ether(frame) instead", got, None, capture_cpu + scapy_cpu),
    ]
    for label, frames, lost, seconds in rows:
        print(
            f"   {label:34} {frames:>9,} {'' if lost is None else f'{lost:,}':>8} {seconds:6.2f} "
            f"{frames / max(seconds, 1e-9):>17,.0f}"
        )
    rate = captured / max(tcpdump_cpu, 1e-9)
    print(
        f"   netlab/tcpdump: frames captured {got / max(captured, 1):.2f}; frames per CPU second: capture "
        f"{got / max(capture_cpu, 1e-9) / rate:.3f}, "
        f"with dissection {got / max(capture_cpu + fields_cpu, 1e-9) / rate:.3f}"
    )


def flood(seconds: int = 2, buffer: int = 16) -> None:
    with capture(("bench-a", "a0"), ("bench-b", "b0"), buffer=buffer) as cap:  # no filter: frames read later
        ping = subprocess.run(
            ["ip", "netns", "exec", "bench-a", "ping", "-f", "-q", "-w", str(seconds), "10.9.0.2"],
            capture_output=True,
            text=True,
        )
    sent = count(r"(\d+) packets transmitted", ping.stdout)
    received = count(r"(\d+) received", ping.stdout)
    print(
        f"2. ping -f for {seconds} s: {sent:,} requests, {received:,} replies ({sent / seconds:,.0f} requests/s), "
        f"captured with a {buffer} MiB ring at each end"
    )
    for point, stats in cap.stats.items():
        at = [p for p in cap if p.point == point]
        requests = sum(p.what == "echo request" for p in at)
        replies = sum(p.what == "echo reply" for p in at)
        ok = requests >= sent and replies >= received and stats.dropped == 0  # ping stops with some in flight
        print(
            f"   {point:10} captured {requests:,} requests + {replies:,} replies; kernel: {stats.received:,} "
            f"offered, {stats.dropped} dropped  {'ok: nothing missing' if ok else 'MISSING FRAMES'}"
        )


def main(datagrams: int = 200_000) -> None:
    if not in_sandbox() or os.getuid() != 0:
        sys.exit("run the benchmark as root inside `netlab sandbox` (tcpdump cannot run rootless)")
    teardown()
    build()
    try:
        throughput(datagrams)
        flood()
        flood(buffer=64)
    finally:
        teardown()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)
