"""What a capture holds: a ``Packet`` per frame, read when first looked at, and a bounded window.

A capture that runs for minutes sees millions of frames; it cannot keep them all in memory. It
writes every frame to its file (``write=``) as it comes, and keeps only the latest ``window``
packets here, for tables and ladders. ``Window`` counts both: the packets it holds, and those
it let go (they are in the file). ``Stats`` is the kernel's own count for one capture point.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from netlab.plumbing import frames

__all__ = ["FIELDS", "Packet", "Stats", "Window"]


class Packet:
    """One frame seen at one capture point, read (``netlab.plumbing.frames``) when first looked at.

    Fields: ``time`` (seconds since the capture started), ``timestamp`` (seconds since 1970),
    ``point`` ("netns1:veth1"), ``direction`` ("out": sent through the interface, "in":
    received), ``src_mac``, ``dst_mac``, ``protocol`` ("ARP", "ICMP", "TCP", ...), ``src`` and
    ``dst`` (IP addresses; ARP: sender and target), ``sport``, ``dport``, ``what`` ("who-has",
    "is-at", "echo request", "SYN", ...), ``summary`` (a line in tcpdump's words), ``length``
    (on the wire), ``frame`` (the bytes captured); ``scapy`` dissects every field of every layer.
    """

    __slots__ = ("_fields", "_scapy", "frame", "length", "outgoing", "point", "time", "timestamp")

    def __init__(self, point: str, timestamp: float, time: float, frame: bytes, outgoing: bool, length: int):
        self.point, self.timestamp, self.time = point, timestamp, time
        self.frame, self.outgoing, self.length = frame, outgoing, length
        self._fields: frames.Fields | None = None
        self._scapy: Any = None

    @property
    def fields(self) -> frames.Fields:
        """The headers read from the frame (``netlab.plumbing.frames.dissect``), read once."""
        if self._fields is None:
            self._fields = frames.dissect(self.frame)
        return self._fields

    direction = property(lambda self: "out" if self.outgoing else "in")
    src_mac = property(lambda self: self.fields.src_mac)
    dst_mac = property(lambda self: self.fields.dst_mac)
    protocol = property(lambda self: self.fields.protocol)
    src = property(lambda self: self.fields.src)
    dst = property(lambda self: self.fields.dst)
    sport = property(lambda self: self.fields.sport)
    dport = property(lambda self: self.fields.dport)
    what = property(lambda self: self.fields.what)
    summary = property(lambda self: self.fields.summary)
    key = property(lambda self: self.fields.key)  # the same packet, seen at another point, has the same key

    @property
    def scapy(self) -> Any:
        """The frame dissected by scapy: ``packet.scapy.show()`` prints every field of every layer."""
        if self._scapy is None:
            from scapy.layers.l2 import Ether

            self._scapy = Ether(self.frame)
        return self._scapy

    def __str__(self) -> str:
        return f"{self.time:9.6f}  {self.point:<13} {self.direction:<4} {self.summary}"

    def __repr__(self) -> str:
        return f"<Packet {self.time:.6f} {self.point} {self.direction}: {self.summary}>"

    def line(self) -> str:
        """As ``tcpdump -n`` prints it, with the direction: ``13:15:01.570388 out IP ...``."""
        seconds, micro = divmod(round(self.timestamp * 1_000_000), 1_000_000)
        return f"{time.strftime('%H:%M:%S', time.localtime(seconds))}.{micro:06d} {self.direction:<3} {self.summary}"


FIELDS = (
    *("time", "timestamp", "point", "direction", "src_mac", "dst_mac", "protocol", "src", "dst"),
    *("sport", "dport", "what", "summary", "length", "frame"),
)


@dataclass
class Stats:
    """The kernel's count for one point (``PACKET_STATISTICS``): frames it queued, and dropped."""

    received: int = 0  # every frame the socket was offered, dropped ones included
    dropped: int = 0  # the socket's queue was full: the reader fell behind
    error: str = ""  # the interface went away, say


Entry = Packet | tuple[str, float, float, bytes, bool, int]  # a Packet, or what makes one (read later)


class Window:
    """The latest ``size`` packets of a capture, in time order when read; the rest are counted.

    A flood comes in runs (``runs.Run``: numpy columns); the window keeps the tail of the latest
    runs as they are, and makes tuples of them (then Packets) only when it is read."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.seen = 0  # every packet the capture kept, in the window or not
        self._entries: deque[Entry] = deque(maxlen=size)
        self._runs: deque[tuple[str, float, Any]] = deque()  # (label, start, frames), not read yet
        self._in_runs = 0  # frames in those
        self._sorted = True

    def add(self, packet: Packet) -> None:
        if self._runs:
            self._unpack_runs()  # the older frames first: the window lets go of the oldest
        self._entries.append(packet)
        self.seen += 1
        self._sorted = False

    def add_frames(self, label: str, start: float, batch: list[tuple[float, bytes, bool, int]]) -> None:
        """Frames nobody has looked at yet: kept as tuples, made into Packets when read."""
        self.seen += len(batch)
        if self.size:
            self._queue(label, start, batch[-self.size :])

    def add_run(self, label: str, start: float, run: Any) -> None:
        """A run of frames (numpy columns): its tail kept as it is, made into Packets when read."""
        self.seen += len(run)
        if self.size:
            if len(run) > self.size:
                run = run.select(slice(len(run) - self.size, None))
                run.rows = run.rows.copy()  # not a view: the whole run's rows would stay alive
            self._queue(label, start, run)

    def _queue(self, label: str, start: float, queued: Any) -> None:
        """Frames (a run, or a list of tuples) in arrival order; older ones let go whole."""
        self._runs.append((label, start, queued))
        self._in_runs += len(queued)
        while self._in_runs - len(self._runs[0][2]) >= self.size:
            self._in_runs -= len(self._runs.popleft()[2])
        self._sorted = False

    def _unpack_runs(self) -> None:
        """The queued frames as tuples in the window (the latest ``size`` of them)."""
        skip = max(0, self._in_runs - self.size)
        for label, start, queued in self._runs:
            if skip >= len(queued):
                skip -= len(queued)
                continue
            tuples = queued[skip:] if isinstance(queued, list) else queued.select(slice(skip, None)).tuples()
            skip = 0
            self._entries.extend((label, s, s - start, f, out, wire) for s, f, out, wire in tuples)
        self._runs.clear()
        self._in_runs = 0

    def __len__(self) -> int:
        return min(self.size, len(self._entries) + self._in_runs)

    @property
    def left_out(self) -> int:
        """Packets the window let go to keep its size (they are in the capture's file, if any)."""
        return self.seen - len(self)

    def packets(self) -> list[Packet]:
        """The packets held, oldest first (the points' frames interleaved on the kernel's clock)."""
        if not self._sorted:
            self._unpack_runs()
            made = [e if isinstance(e, Packet) else Packet(*e) for e in self._entries]
            made.sort(key=lambda p: p.timestamp)
            self._entries = deque(made, maxlen=self.size)
            self._sorted = True
        return list(self._entries)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[Packet]:
        return iter(self.packets())
