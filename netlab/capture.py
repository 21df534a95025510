"""See the packets: capture on any interface of any namespace, like ``tcpdump``.

``ip netns exec netns1 tcpdump -ni veth1`` shows every frame that crosses ``veth1`` inside
``netns1``. tcpdump does it with a *packet socket*, and so does netlab, in three steps::

    1. setns(/run/netns/netns1)                 a thread enters the namespace
    2. socket(AF_PACKET) + bind("veth1")        a socket that gets a copy of every frame veth1
                                                sends or receives (``netlab.packetsocket``)
    3. read the frames                          each with the time the kernel saw it, and
                                                whether it went out or came in

A socket belongs to the namespace of the thread that created it, for its whole life, even when
another thread reads it: so netlab opens the socket in its namespace worker thread (see
``netlab.plumbing.threads``; your own thread never moves), and one reader thread collects the frames of
all capture points. The kernel stamps every frame on one clock, so the frames of several points
line up in time. This works as root and in the rootless sandbox (root of its user namespace has
``CAP_NET_RAW`` there), where Debian's tcpdump cannot start. Each frame is read with
``netlab.plumbing.frames`` (a tcpdump-like summary), and with scapy when you ask for ``packet.scapy``.

    >>> from netlab.capture import capture
    >>> with capture(("netns1", "veth1"), "veth0", proto=("arp", "icmp")) as cap:
    ...     netlab.ping(None, "10.1.1.1")
    >>> for packet in cap:
    ...     print(packet)                                 # seconds since the capture started
     0.041902  veth0         out  ARP, Request who-has 10.1.1.1 tell 10.1.1.2, length 28
     0.041908  netns1:veth1  in   ARP, Request who-has 10.1.1.1 tell 10.1.1.2, length 28
     ...
    >>> cap.save("ping.pcap")                             # for Wireshark or tcpdump -r

A capture point is an interface name (in the caller's namespace, or ``netns=``), a pair
``(target, interface)`` with any target of ``netlab.targets``, or a ``Point``. A capture ends
after ``count`` packets, after ``timeout`` seconds, or at ``stop()`` (the end of a ``with``
block), whichever comes first. Filters are simple: ``proto``, ``host``, ``port`` keywords, or a
tcpdump-like ``filter="icmp and host 10.0.0.2"`` (see ``parse_filter``).

Keep a capture short: its socket holds its namespace alive (like any socket; see lesson 04), so
a namespace deleted while a capture runs lives on, devices and all, until the capture stops.
"""

from __future__ import annotations

import os
import select
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netlab.errors import NetlabError, reason
from netlab.names import check_ifname
from netlab.packetsocket import PacketSocket
from netlab.plumbing import frames
from netlab.plumbing.commands import emit, in_netns
from netlab.plumbing.frames import Filter, FilterError, keyword_filter, parse_filter
from netlab.plumbing.i18n import _
from netlab.targets import NEW, Target, in_words

__all__ = [
    "Capture",
    "CaptureError",
    "Filter",
    "FilterError",
    "Packet",
    "Point",
    "PointSpec",
    "Stats",
    "capture",
    "parse_filter",
    "target_of",
]


class CaptureError(NetlabError, ValueError):
    """A capture option netlab cannot use: a filter, count, timeout or capture point."""


@dataclass(frozen=True)
class Point:
    """Where to capture: interface ``iface`` in namespace ``netns`` (any target, None = here)."""

    iface: str
    netns: Target = None
    label: str = ""

    def __post_init__(self) -> None:
        check_ifname(self.iface)
        if self.netns is NEW:
            raise CaptureError(_("cannot capture in a new namespace"), hint=_("name an existing one, a Path or a pid"))
        if not self.label:
            object.__setattr__(self, "label", _label(self.netns, self.iface))

    @property
    def where(self) -> str:
        """The namespace in words: ``namespace 'netns1'``."""
        return in_words(self.netns)

    @property
    def command(self) -> list[str]:
        """What you would type: ``ip netns exec netns1 tcpdump -ni veth1``."""
        return in_netns(self.netns, ["tcpdump", "-ni", self.iface])


PointSpec = str | tuple[Target, str] | Point


def _label(target: Target, iface: str) -> str:
    if target is None:
        return iface
    if isinstance(target, str):
        return f"{target}:{iface}"
    if isinstance(target, int):
        return f"pid {target}:{iface}"
    return f"{Path(os.fspath(target)).name}:{iface}"  # type: ignore[arg-type]


def _point(spec: PointSpec, netns: Target) -> Point:
    if isinstance(spec, Point):
        return spec
    if isinstance(spec, str):
        return Point(spec, netns)
    if isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[1], str):
        return Point(spec[1], spec[0])
    raise CaptureError(
        _("cannot capture on {spec!r}").format(spec=spec),
        hint=_("name an interface ('veth0'), or a pair (namespace, interface): ('netns1', 'veth1')"),
        subject=spec,
    )


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


# -- the capture -----------------------------------------------------------------------------


@dataclass
class Stats:
    """The kernel's count for one point (``PACKET_STATISTICS``): frames it queued, and dropped."""

    received: int = 0  # every frame the socket was offered, dropped ones included
    dropped: int = 0  # the socket's queue was full: the reader fell behind
    error: str = ""  # the interface went away, say


class Capture:
    """Frames from one or more capture points, on one clock; see the module docstring."""

    def __init__(
        self,
        points: Sequence[Point],
        *,
        count: int | None = None,
        timeout: float | None = None,
        match: Filter | None = None,
        buffer: int = 16,
    ) -> None:
        if not points:
            raise CaptureError(_("no capture point"), hint=_("name an interface, e.g. capture('veth0')"))
        labels = [p.label for p in points]
        if len(set(labels)) != len(labels):
            raise CaptureError(
                _("capture points repeat: {labels}").format(labels=labels),
                hint=_("name each (namespace, interface) once"),
            )
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
            raise CaptureError(
                _("count must be a positive whole number, not {count!r}").format(count=count), hint=_("e.g. count=4")
            )
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
            raise CaptureError(
                _("timeout must be a positive number of seconds, not {timeout!r}").format(timeout=timeout),
                hint="timeout=2",
            )
        self.points = list(points)
        if isinstance(buffer, bool) or not isinstance(buffer, int) or not 1 <= buffer <= 1024:
            raise CaptureError(
                _("buffer must be 1 to 1024 MiB, not {buffer!r}").format(buffer=buffer),
                hint=_("buffer=64 for a long flood"),
            )
        self.count, self.timeout, self.buffer = count, timeout, buffer
        self.match = match or Filter()
        self._packets: list[Packet] = []  # growing while the capture runs; sorted when read
        self._batches: list[tuple[str, list[tuple[float, bytes, bool, int]]]] = []  # frames not read yet
        self._sorted, self._kept, self._start = True, 0, 0.0
        self.stats = {p.label: Stats() for p in self.points}
        self.started: float | None = None  # seconds since 1970 (time.time())
        self._listeners: list[Callable[[Packet], None]] = []
        self._sockets: dict[int, tuple[PacketSocket, Point]] = {}
        self._wake_r, self._wake_w = -1, -1
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        self._lock = threading.Lock()

    # the life of a capture: start, (wait), stop

    def start(self) -> Capture:
        """Open a socket at every point, then read them all in a background thread."""
        if self._thread is not None:
            raise CaptureError(_("this capture has already started"), hint=_("make a new one with capture(...)"))
        self.started = self._start = time.time()
        try:
            for point in self.points:
                sock = PacketSocket(point.iface, netns=point.netns, ring_bytes=self.buffer << 20)
                self._sockets[sock.fileno()] = (sock, point)
        except BaseException:
            self._close()
            raise
        for point in self.points:
            emit(point.command + ([self.match.text] if self.match.text else []))
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._read, name="netlab-capture", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> Capture:
        """Take what is queued already, then close the sockets (safe to call twice)."""
        if self._thread is None:
            return self
        with self._lock:
            if self._wake_w >= 0:
                os.write(self._wake_w, b"x")  # wakes the reader; it drains, closes its sockets, ends
        if threading.current_thread() is self._thread:
            return self  # called by a listener: the reader ends when the listener returns
        self._thread.join()
        with self._lock:
            for fd in (self._wake_r, self._wake_w):
                if fd >= 0:
                    os.close(fd)
            self._wake_r = self._wake_w = -1
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the capture ends (``count``, ``timeout``, or ``stop()`` from elsewhere), at
        most ``timeout`` seconds here; True if it has ended."""
        ended = self._done.wait(timeout)
        if ended:
            self.stop()
        return ended

    @property
    def running(self) -> bool:
        return self._thread is not None and not self._done.is_set()

    def on_packet(self, listener: Callable[[Packet], None]) -> None:
        """Call ``listener(packet)`` for every packet kept, from the reader thread (keep it quick)."""
        self._listeners.append(listener)

    def __enter__(self) -> Capture:
        return self if self._thread is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # reading, in the reader thread

    def _read(self) -> None:
        poller = select.poll()
        for fd in self._sockets:
            poller.register(fd, select.POLLIN)
        poller.register(self._wake_r, select.POLLIN)
        wake = select.poll()
        wake.register(self._wake_r, select.POLLIN)
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        flood = False
        try:
            while self._sockets and not self._full():
                if flood and wake.poll(1):  # a flood: let frames gather for a millisecond, then read many
                    break
                wait = None if deadline is None else max(0, int((deadline - time.monotonic()) * 1000))
                events = poller.poll(wait)
                if any(fd == self._wake_r for fd, _event in events) or (deadline and time.monotonic() >= deadline):
                    break
                got = 0
                for fd, event in events:
                    got += self._drain(fd)
                    if event & (select.POLLERR | select.POLLHUP | select.POLLNVAL):
                        poller.unregister(fd)
                        self._close_one(fd, gone=True)
                flood = 64 <= got < 1024  # many frames, yet far from a full ring (8192): gather, read in bulk
            for fd in list(self._sockets):  # what arrived before the end, at every point
                self._last(fd)
        finally:
            self._close()
            self._done.set()

    def _last(self, fd: int) -> None:
        """Read every frame the kernel had taken for this socket by now (its count says how many)."""
        sock = self._sockets[fd][0]
        try:
            want, before = sock.pending(), sock.delivered
        except OSError:  # the interface went away
            return
        waiter = select.poll()
        waiter.register(fd, select.POLLIN)
        deadline = time.monotonic() + 1
        while not self._full():
            self._drain(fd)
            if sock.delivered - before >= want or time.monotonic() > deadline:
                return
            waiter.poll(1)  # a frame the kernel is still copying

    def _full(self) -> bool:
        return self.count is not None and self._kept >= self.count

    def _drain(self, fd: int) -> int:
        """Take the frames waiting at one point; return how many there were."""
        sock, point = self._sockets[fd]
        batch = sock.read(None if self.count is None else self.count - self._kept)
        if not batch:
            return 0
        if self.match.clauses == ((),) and not self._listeners:  # nothing to look at now: keep the bytes
            with self._lock:
                self._batches.append((point.label, batch))
                self._kept += len(batch)
            return len(batch)
        for stamp, frame, outgoing, wire in batch:  # a filter or a live view: read the headers now
            packet = Packet(point.label, stamp, stamp - self._start, frame, outgoing, wire)
            if self.match(packet.fields):
                with self._lock:
                    self._packets.append(packet)
                    self._sorted = False
                    self._kept += 1
                for listener in self._listeners:
                    try:
                        listener(packet)
                    except Exception:  # a broken view must not stop the capture
                        pass
                if self._full():
                    break
        return len(batch)

    def _close_one(self, fd: int, *, gone: bool = False) -> None:
        sock, point = self._sockets.pop(fd)
        stats = self.stats[point.label]
        try:
            if gone:  # ENETDOWN: the interface, or its namespace, went away
                stats.error = reason(sock.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) or 100)
            sock.statistics()
        except OSError:
            pass
        stats.received, stats.dropped = sock.received, sock.dropped
        sock.close()

    def _close(self) -> None:
        for fd in list(self._sockets):
            self._close_one(fd)

    # what was captured

    @property
    def packets(self) -> list[Packet]:
        """The packets so far, in time order (all points on one clock)."""
        with self._lock:
            for label, batch in self._batches:
                self._packets += [Packet(label, s, s - self._start, f, out, wire) for s, f, out, wire in batch]
                self._sorted = False
            self._batches.clear()
            if not self._sorted:
                self._packets.sort(key=lambda p: p.timestamp)
                self._sorted = True
            return list(self._packets)

    def __len__(self) -> int:
        return self._kept

    def __iter__(self) -> Iterator[Packet]:
        return iter(self.packets)

    def __getitem__(self, index: int) -> Packet:
        return self.packets[index]

    def where(self, **fields: Any) -> list[Packet]:
        """The packets whose fields have these values: ``cap.where(point="veth0", what="is-at")``."""
        for name in fields:
            if name not in FIELDS:
                raise CaptureError(
                    _("a packet has no field {name!r}").format(name=name),
                    hint=_("one of {names}").format(names=", ".join(FIELDS)),
                )
        return [p for p in self if all(getattr(p, k) == v for k, v in fields.items())]

    @property
    def dropped(self) -> int:
        """Frames the kernel dropped because the reader fell behind (all points)."""
        return sum(s.dropped for s in self.stats.values())

    def save(self, path: str | os.PathLike) -> Path:
        """Write the packets to ``path``: pcapng if it ends in ``.pcapng`` (one interface per point,
        with directions), else pcap. Wireshark and ``tcpdump -r`` read both."""
        path = Path(path)
        packets = list(self)
        labels = [p.label for p in self.points]
        with path.open("wb") as out:
            if path.suffix == ".pcapng":
                rows = ((p.timestamp, p.frame, p.length, labels.index(p.point), p.direction == "out") for p in packets)
                frames.write_pcapng(out, rows, labels)
            else:
                frames.write_pcap(out, ((p.timestamp, p.frame, p.length) for p in packets))
        return path

    def pcap(self) -> bytes:
        """The packets as the bytes of a pcap file (what ``save`` writes)."""
        import io

        out = io.BytesIO()
        frames.write_pcap(out, ((p.timestamp, p.frame, p.length) for p in self))
        return out.getvalue()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped" if self._thread else "not started"
        where = ", ".join(p.label for p in self.points)
        return f"<Capture on {where}: {len(self)} packets, {state}>"

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self) or _("(no packets)")


def target_of(text: str | None) -> Target:
    """A namespace as typed on a command line: a name, a path (with ``/``) or a pid (digits)."""
    if text is None:
        return None
    if text.isdigit():
        return int(text)
    return Path(text) if "/" in text else text


def capture(
    *points: PointSpec,
    netns: Target = None,
    count: int | None = None,
    timeout: float | None = None,
    proto: str | Sequence[str] | None = None,
    host: str | None = None,
    port: int | None = None,
    filter: str | None = None,
    start: bool = True,
    on_packet: Callable[[Packet], None] | Iterable[Callable[[Packet], None]] = (),
    buffer: int = 16,
) -> Capture:
    """Capture at ``points`` (interface names in ``netns``, or ``(target, interface)`` pairs).

    ``capture("veth1", netns="netns1", count=4)`` is ``ip netns exec netns1 tcpdump -ni veth1 -c 4``.
    Keep packets matching ``proto`` (one name or several: ``("arp", "icmp")``), ``host`` and
    ``port``, or a tcpdump-like ``filter`` string. Started at once unless ``start=False``; use it
    in a ``with`` block, or call ``stop()`` / ``wait()``. ``buffer``: MiB of ring per point
    (tcpdump's ``-B``); more lets a long flood wait for a busy reader without drops.
    """
    if filter is not None and (proto, host, port) != (None, None, None):
        raise CaptureError(_("give either filter= or proto/host/port, not both"), hint="filter='icmp and port 80'")
    match = parse_filter(filter) if filter is not None else keyword_filter(proto, host, port)
    specs = [_point(spec, netns) for spec in points]
    cap = Capture(specs, count=count, timeout=timeout, match=match, buffer=buffer)
    for listener in [on_packet] if callable(on_packet) else on_packet:
        cap.on_packet(listener)
    return cap.start() if start else cap
