"""netlab capture against tcpdump, side by side on the same traffic in one run (as root, in a sandbox).

    ./scripts/bench   (or, inside `netlab sandbox`:  python bench/bench_capture.py [SECONDS])

Two namespaces, bench-a (10.9.0.1) and bench-b (10.9.0.2), joined by a veth pair a0/b0. For each
traffic below, `tcpdump -w FILE FILTER` and `netlab capture -w FILE FILTER` capture on a0 at the
same time (the same frames), and each is stopped as a learner would (SIGINT, SIGTERM). For each:
packets written, packets the kernel dropped, CPU seconds (its rusage), peak memory (VmHWM),
and the headline: netlab's figures as ratios to tcpdump's.

1. `ping -f` from bench-a for SECONDS (default 4), filter `icmp`: netlab reads a TPACKET_V3 ring
   (blocks of frames, numpy over each block); then again with `-c` (a count: netlab then reads a
   TPACKET_V2 ring, runs of slots), to compare the two rings on the same flood.
2. A TCP download of 200 MB from bench-b over the pair (GSO frames up to 64 KiB), filter `tcp`;
   netlab with `-s 65535` so that it keeps the frames whole, as tcpdump does.

The headline, last: for each, netlab's CPU per packet, packets, drops and peak RSS as ratios to
tcpdump's (CPU per packet also without netlab's start-up: Python and netlab's imports, measured by
an idle capture, and for the floods numpy's import, paid once when a flood comes; the download's
blocks hold few large frames, read without numpy).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from netlab.sandbox import in_sandbox

NETLAB = str(Path(sys.executable).with_name("netlab"))
SERVE = """
import socket
s = socket.create_server(("10.9.0.2", 8000))
print("listening", flush=True)
c, _ = s.accept()
block = b"x" * (1 << 20)
for _ in range(200):
    c.sendall(block)
c.close()
"""
FETCH = """
import socket
c = socket.create_connection(("10.9.0.2", 8000))
while c.recv(1 << 20):
    pass
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
    )
    for _ in range(100):  # until the link watcher has the pair up (ARP resolved by a first ping)
        if subprocess.run(["ip", "netns", "exec", "bench-a", "ping", "-c1", "-W1", "10.9.0.2"]).returncode == 0:
            return
    sys.exit("the veth pair did not come up")


def teardown() -> None:
    subprocess.run(["ip", "netns", "delete", "bench-a"], capture_output=True)
    subprocess.run(["ip", "netns", "delete", "bench-b"], capture_output=True)


@dataclass
class Run:
    """One capturer's figures."""

    written: int  # records in its file
    dropped: int  # the kernel's count, as the capturer reported it
    cpu: float  # seconds, user + system
    rss_mb: float  # peak resident memory

    @property
    def cpu_per_packet(self) -> float:
        return self.cpu / max(self.written, 1)


def records(path: Path) -> int:
    """How many records a pcap file holds (read by hand: header, then length-prefixed records)."""
    data, count, offset = path.read_bytes(), 0, 24
    while offset + 16 <= len(data):
        offset += 16 + struct.unpack_from("<I", data, offset + 8)[0]
        count += 1
    return count


def start(argv: list[str], ready: str) -> subprocess.Popen:
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    line = proc.stderr.readline()
    if ready not in line:
        sys.exit(f"{argv[0]} did not start: {line}{proc.stderr.read()}")
    return proc


def finish(proc: subprocess.Popen, signum: int, path: Path, dropped: str) -> Run:
    """Stop it with ``signum``, reap it: its rusage, its peak memory, and the drop count it printed."""
    peak = high_water_mb(proc.pid)
    proc.send_signal(signum)
    assert proc.stderr is not None
    text = proc.stderr.read()
    _pid, _status, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0
    found = re.search(dropped, text)
    if found is None:
        sys.exit(f"no drop count in: {text}")
    return Run(records(path), int(found.group(1)), usage.ru_utime + usage.ru_stime, peak)


def high_water_mb(pid: int) -> float:
    """Peak resident memory so far (``VmHWM``, reset by exec; wait4's ru_maxrss would also count the
    memory of this process when it forked the capturer)."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1]) / 1024


def start_up() -> Run:
    """netlab capture started and stopped with no traffic: the CPU of Python and netlab's imports."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "idle.pcap"
        proc = start([NETLAB, "capture", "-n", "bench-a", "a0", "-w", str(path), "udp port 7"], "capturing")
        return finish(proc, signal.SIGTERM, path, r"(\d+) dropped by the kernel")


def numpy_import() -> float:
    """CPU seconds that ``import numpy`` adds to a Python process: paid once, by a capture that sees a flood."""

    def cpu(code: str) -> float:
        proc = subprocess.Popen([sys.executable, "-c", code])
        usage = os.wait4(proc.pid, 0)[2]
        proc.returncode = 0
        return usage.ru_utime + usage.ru_stime

    return max(0.0, min(cpu("import numpy") for _ in range(3)) - min(cpu("pass") for _ in range(3)))


def side_by_side(
    title: str, traffic: list[str], words: list[str], netlab_options: list[str], idle: Run
) -> tuple[Run, Run]:
    folder = Path(tempfile.mkdtemp())
    try:
        ours, theirs = folder / "netlab.pcap", folder / "tcpdump.pcap"
        tcpdump = start(
            ["ip", "netns", "exec", "bench-a", "tcpdump", "-ni", "a0", "-w", str(theirs), *words], "listening"
        )
        netlab = start(
            [NETLAB, "capture", "-n", "bench-a", "a0", *netlab_options, "-w", str(ours), *words], "capturing"
        )
        began = time.perf_counter()
        subprocess.run(traffic, check=True, capture_output=True)
        took = time.perf_counter() - began
        them = finish(tcpdump, signal.SIGINT, theirs, r"(\d+) packets? dropped by kernel")
        us = finish(netlab, signal.SIGTERM, ours, r"(\d+) dropped by the kernel")
    finally:
        shutil.rmtree(folder)
    print(f"{title} ({took:.1f} s), captured on a0 with `{' '.join(words)}`, -w")
    print(f"   {'':8} {'written':>10} {'dropped':>10} {'CPU s':>7} {'µs CPU/packet':>14} {'peak RSS MB':>12}")
    for name, run in (("tcpdump", them), ("netlab", us)):
        print(
            f"   {name:8} {run.written:>10,} {run.dropped:>10,} {run.cpu:7.2f} "
            f"{run.cpu_per_packet * 1e6:14.2f} {run.rss_mb:12.1f}"
        )
    print(f"   netlab/tcpdump: {ratios(us, them, idle)}")
    return them, us


def ratios(us: Run, them: Run, idle: Run) -> str:
    net = max(us.cpu - idle.cpu, 0) / max(us.written, 1)  # without the start-up: Python, imports, numpy
    return (
        f"CPU per packet {us.cpu_per_packet / max(them.cpu_per_packet, 1e-12):.2f}x "
        f"({net / max(them.cpu_per_packet, 1e-12):.2f}x without netlab's start-up), "
        f"packets {us.written / max(them.written, 1):.3f}x, drops {us.dropped:,} vs {them.dropped:,}, "
        f"peak RSS {us.rss_mb / max(them.rss_mb, 1e-9):.1f}x"
    )


def main(seconds: int = 4) -> None:
    if not in_sandbox() or os.getuid() != 0:
        sys.exit("run the benchmark as root inside `netlab sandbox` (tcpdump cannot run rootless)")
    teardown()
    build()
    try:
        idle, numpy = start_up(), numpy_import()
        print(f"0. netlab capture started and stopped, no traffic: {idle.cpu:.2f} s CPU, {idle.rss_mb:.1f} MB")
        print(f"   import numpy (once a flood comes): {numpy:.2f} s CPU")
        download_idle, idle = idle, Run(idle.written, idle.dropped, idle.cpu + numpy, idle.rss_mb)
        flood = ["ip", "netns", "exec", "bench-a", "ping", "-f", "-q", "-w", str(seconds), "10.9.0.2"]
        headline = {f"ping -f {seconds} s": side_by_side(f"1. ping -f for {seconds} s", flood, ["icmp"], [], idle)}
        title = f"1b. ping -f for {seconds} s, netlab with -c (a TPACKET_V2 ring)"
        headline[f"ping -f {seconds} s, V2"] = side_by_side(title, flood, ["icmp"], ["-c", "2000000000"], idle)
        server = subprocess.Popen(
            ["ip", "netns", "exec", "bench-b", sys.executable, "-c", SERVE], stdout=subprocess.PIPE, text=True
        )
        try:
            assert server.stdout is not None and server.stdout.readline().strip() == "listening"
            fetch = ["ip", "netns", "exec", "bench-a", sys.executable, "-c", FETCH]
            headline["200 MB TCP download"] = side_by_side(
                "2. a 200 MB TCP download", fetch, ["tcp"], ["-s", "65535"], download_idle
            )
        finally:
            server.wait(timeout=60)
        print("\nheadline: netlab as a multiple of tcpdump, side by side in this run")
        for name, (them, us) in headline.items():
            print(f"   {name:22} {ratios(us, them, download_idle if 'TCP' in name else idle)}")
    finally:
        teardown()


RESULT = Path(__file__).resolve().parent.parent / "docs" / "bench-capture.md"


class _Tee:
    """What the bench prints goes to the screen and into the record too."""

    def __init__(self, screen):
        self.screen, self.lines = screen, []

    def write(self, text: str) -> int:
        self.lines.append(text)
        return self.screen.write(text)

    def flush(self) -> None:
        self.screen.flush()


def record(printed: str, seconds: int) -> None:
    """docs/bench-capture.md: this run's figures, the commit they ran on and whether the tree had changes."""
    repo = RESULT.parent.parent

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True).stdout.strip()

    changed = [line for line in git("status", "--porcelain").splitlines() if not line.endswith(RESULT.name)]
    tree = "as committed" if not changed else f"**with uncommitted changes** to {len(changed)} file(s)"
    RESULT.write_text(
        "# The last run of bench/bench_capture.py\n\n"
        "<!-- Written by bench/bench_capture.py at the end of each run: do not edit; run ./scripts/bench. -->\n\n"
        f"- **When:** {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, floods of {seconds} s\n"
        f"- **Commit:** `{git('rev-parse', 'HEAD')}`, {tree}\n"
        f"- **Machine:** Linux {os.uname().release}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
        " at the end (other work on the machine shows in both columns, not only in netlab's)\n\n"
        f"```\n{printed.strip()}\n```\n",
        encoding="utf-8",
    )
    print(f"written: {RESULT.relative_to(repo)}")


if __name__ == "__main__":
    length = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    tee = _Tee(sys.stdout)
    sys.stdout = tee
    try:
        main(length)
    finally:
        sys.stdout = tee.screen
    record("".join(tee.lines), length)
