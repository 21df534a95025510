"""A capture session: its points and reader thread, its file, its window of packets, and how it ends.

``capture()`` opens one packet socket per point (``ring.py``), then one reader thread copies the
frames out of the rings: to the ``write=`` file as they come, and into a bounded window of
``Packet`` records (``records.py``) for tables and ladders. The package's docstring
(``netlab/capture/__init__.py``) tells the whole story.
"""

from __future__ import annotations

import errno
import os
import select
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from netlab.capture.options import CaptureError, Point, PointSpec, as_point, check_options, check_points, target_of
from netlab.capture.records import FIELDS, Packet, Stats, Window
from netlab.capture.ring import MAC_OFFSET, PacketSocket, slot_bytes
from netlab.capture.runs import Frame, Run, numpy_now, take_block
from netlab.errors import reason
from netlab.plumbing import frames
from netlab.plumbing.bpf import compile_filter
from netlab.plumbing.commands import emit, in_netns
from netlab.plumbing.frames import Filter, FilterError, keyword_filter, parse_filter
from netlab.plumbing.i18n import _
from netlab.plumbing.pcap import PcapFileError, PcapWriter, check_target
from netlab.targets import Target

__all__ = [
    "Capture",
    "CaptureError",
    "Filter",
    "FilterError",
    "Packet",
    "PcapFileError",
    "Point",
    "PointSpec",
    "Stats",
    "capture",
    "parse_filter",
    "target_of",
]


# -- the capture -----------------------------------------------------------------------------

WINDOW = 10_000  # packets a capture holds in memory by default; all of them go to its file
VLAN = b"\x81\x00"  # an 802.1Q tag: the kernel's filter lets these through, netlab reads them
BATCH = 256  # frames taken from the ring at a time: a flood never piles up in memory
RUN = 4096  # frames taken at once as numpy columns (runs.Run), when no one looks at each
FLOOD = 64  # this many frames waiting: a flood, read in runs (and let gather between reads)
GATHER = 0.02  # seconds, at most, that a flood is let gather in the ring between two reads


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
        write: str | os.PathLike[str] | None = None,
        window: int = WINDOW,
        snaplen: int | None = None,
    ) -> None:
        check_options(points, count=count, timeout=timeout, buffer=buffer, window=window, snaplen=snaplen)
        self.points = list(points)
        self.count, self.timeout, self.buffer, self.snaplen = count, timeout, buffer, snaplen
        self.match = match or Filter()
        # The kernel filters, and keeps the snaplen of each frame: frames arrive matched, and cut.
        self._program = compile_filter(self.match.clauses, keep=slot_bytes(snaplen) - MAC_OFFSET)
        # Nobody needs a frame's headers as it comes: a flood is read and written in runs (numpy).
        self._bulk = self._program is not None or self.match.clauses == ((),)
        self.path = None if write is None else check_target(write)  # before anything is captured
        self.window = Window(window)
        self.stats = {p.label: Stats() for p in self.points}
        self.started: float | None = None  # seconds since 1970 (time.time())
        self.ended = ""  # why the capture ended, in words: "stopped after 4 packets", ...
        self.notes: list[str] = []  # what it said while running: "veth1 is down: waiting ..."
        self._start = 0.0
        self._listeners: list[Callable[[Packet], None]] = []
        self._sockets: dict[int, tuple[PacketSocket, Point]] = {}
        self._writer: PcapWriter | None = None
        self._interface = {p.label: i for i, p in enumerate(self.points)}  # pcapng interface numbers
        self._waiting: set[str] = set()  # points said to be down
        self._wake_r, self._wake_w = -1, -1
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        self._lock = threading.Lock()

    # the life of a capture: start, (wait), stop

    def start(self) -> Capture:
        """Open a socket at every point and the file, then read them all in a background thread."""
        if self._thread is not None:
            raise CaptureError(_("this capture has already started"), hint=_("make a new one with capture(...)"))
        check_points(self.points)  # each namespace, each interface in it: before any socket or thread
        if self._bulk and self.path is not None and not self._blocks():
            numpy_now()  # a count to a file: slots (V2) fill fast in a flood, have numpy ready by then
        self.started = self._start = time.time()
        try:
            for point in self.points:
                sock = PacketSocket(
                    point.iface,
                    netns=point.netns,
                    ring_bytes=self.buffer << 20,
                    snaplen=self.snaplen,
                    program=self._program,
                    blocks=self._blocks(),
                )
                self._sockets[sock.fileno()] = (sock, point)
                self.snaplen = sock.snaplen  # the one really applied: into the file's header
            if self.path is not None:
                labels = [p.label for p in self.points]
                self._writer = PcapWriter.open(self.path, interfaces=labels, snaplen=self.snaplen or 0)
        except BaseException:
            self._close()
            raise
        for point in self.points:
            emit(point.command + ([self.match.text] if self.match.text else []))
        for sock, point in self._sockets.values():
            if sock.state() == "down":
                sock.error()  # bind left ENETDOWN on the socket: said here, once
                self._down(point)
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._read, name="netlab-capture", daemon=True)
        self._thread.start()
        return self

    def _blocks(self) -> bool:
        """A ``TPACKET_V3`` ring (``runs.py``) when frames go to a file and nobody waits for each
        (no live view, no count): the end finds every frame even where the block timer stalls."""
        return self._bulk and self.path is not None and self.count is None and not self._listeners

    def stop(self, *, why: str | None = None) -> Capture:
        """Take what is queued already, close the sockets and the file (safe to call twice).

        ``why`` is how it ended, in words (default "stopped"), unless it had ended already."""
        if self._thread is None:
            return self
        self._end(why or _("stopped"))
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
        most ``timeout`` seconds here; True if it has ended. An interrupt stops it, then goes on."""
        try:
            ended = self._done.wait(timeout)
        except KeyboardInterrupt:  # Ctrl-C, or the notebook's interrupt: SIGINT
            self.stop(why=_("stopped by {signal}").format(signal="SIGINT"))
            raise
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

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        if kind is None:
            self.stop(why=_("stopped at the end of the with block"))
        else:
            self.stop(why=_("stopped: the with block raised {error}").format(error=kind.__name__))

    def _end(self, why: str) -> None:
        """Say why the capture ended: the first reason given is the one kept."""
        with self._lock:
            self.ended = self.ended or why

    def _say(self, note: str) -> None:
        self.notes.append(note)
        print(_("netlab: {note}").format(note=note), file=sys.stderr, flush=True)

    def _down(self, point: Point) -> None:
        """The interface is down: the kernel passes the socket nothing until it is up. Say so once."""
        if point.label not in self._waiting:
            self._waiting.add(point.label)
            command = " ".join(in_netns(point.netns, ["ip", "link", "set", point.iface, "up"]))
            self._say(
                _("{point} is down: waiting for it to come up ({command})").format(point=point.label, command=command)
            )

    # reading, in the reader thread

    def _read(self) -> None:
        try:
            self._loop()
            for fd in list(self._sockets):  # what arrived before the end, at every point
                self._last(fd)
        except OSError as exc:  # the file: a full disk, say
            self._end(_("stopped: cannot write {path} ({reason})").format(path=self.path, reason=reason(exc)))
        finally:
            self._close()
            self._done.set()

    def _loop(self) -> None:
        poller = select.poll()
        for fd in self._sockets:
            poller.register(fd, select.POLLIN)
        poller.register(self._wake_r, select.POLLIN)
        wake = select.poll()
        wake.register(self._wake_r, select.POLLIN)
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        pause, flushed, read = 0, time.monotonic(), time.monotonic()
        while self._sockets:
            if self._full():
                return self._end(_("stopped after {count} packets").format(count=self.count))
            if pause and wake.poll(pause):  # a flood: let frames gather in the ring, then read many
                return
            wait = None if deadline is None else max(0, int((deadline - time.monotonic()) * 1000))
            events = poller.poll(1000 if wait is None else min(wait, 1000))
            if any(fd == self._wake_r for fd, _event in events):
                return
            if deadline and time.monotonic() >= deadline:
                return self._end(_("stopped after the timeout of {seconds} s").format(seconds=self.timeout))
            got = 0
            for fd, event in events:
                got += self._drain(fd)
                if event & (select.POLLERR | select.POLLHUP | select.POLLNVAL) and self._trouble(fd):
                    poller.unregister(fd)
            pause, read = self._pause(got, time.monotonic() - read), time.monotonic()
            if self._writer is not None and time.monotonic() - flushed >= 1:  # a reader of the file sees them
                self._writer.flush()
                flushed = time.monotonic()

    def _pause(self, got: int, took: float) -> int:
        """Milliseconds to let a flood gather before the next read: the time its rate takes to fill
        a quarter of the smallest ring (at most ``GATHER``); 0 when few frames came."""
        if got < FLOOD or not self._sockets:
            return 0
        slots = [len(sock.offsets) for sock, _point in self._sockets.values() if not sock.blocks]
        if not slots:
            return 0  # V3: the kernel wakes the reader a block at a time
        room = min(slots) / 4
        return max(1, int(1000 * min(GATHER, room * took / got)))

    def _trouble(self, fd: int) -> bool:
        """The kernel flagged the socket (ENETDOWN): the interface went down, or away. True: away."""
        sock, point = self._sockets[fd]
        error = sock.error()  # reading the error clears it
        code, state = error or errno.ENETDOWN, sock.state()
        if state == "down":
            if error == errno.ENETDOWN:  # it went down now, so it was up (its frames may come later)
                self._waiting.discard(point.label)
            self._down(point)  # the kernel passes frames again once it is up
        elif state == "up":
            self._waiting.discard(point.label)
        else:
            why = _("{point} went away ({reason})").format(point=point.label, reason=reason(code))
            if sock.blocks:
                self._last(fd)  # the frames still in the block the kernel was filling
            self._close_one(fd, error=code)
            self._say(why) if self._sockets else self._end(why)
        return state == "gone"

    def _last(self, fd: int) -> None:
        """Read every frame the kernel had taken for this socket by now (its count says how many)."""
        sock = self._sockets[fd][0]
        if sock.blocks:  # unhooked, nothing half-copied: the blocks handed over, then the open one
            sock.unhook()
            self._drain(fd)
            if not self._full():
                self._take_many(self._sockets[fd][1], take_block(sock, still_open=True), 1 << 30)
            return
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
        return self.count is not None and self.window.seen >= self.count

    def _drain(self, fd: int) -> int:
        """Take the frames waiting at one point, a batch (or run) at a time; return how many."""
        sock, point = self._sockets[fd]
        bulk = self._bulk and not self._listeners and sock.waiting(FLOOD)
        got = 0
        while not self._full():
            most = (1 << 30 if sock.blocks else RUN) if bulk else BATCH  # a V3 block is taken whole
            limit = most if self.count is None else min(most, self.count - self.window.seen)
            if bulk:
                taken = self._take_many(point, sock.take(limit), limit)
            else:
                batch = sock.read(limit)
                taken = len(batch)
                if batch:
                    self._take(point, batch)
            if taken:
                self._waiting.discard(point.label)  # frames: it is up (say so again if it goes down)
            got += taken
            if not taken or (not bulk and not sock.blocks and taken < limit):
                break  # (a V3 block may hold fewer than limit frames: read until none is left)
        return got

    def _take_many(self, point: Point, taken: Run | list[Frame] | None, limit: int) -> int:
        """What ``take()`` gave (a run, frames one by one, or nothing), at most ``limit`` of it."""
        if not taken:
            return 0
        if len(taken) > limit:  # a V3 block holds more than the count wants
            taken = taken.select(slice(0, limit)) if isinstance(taken, Run) else taken[:limit]
        if isinstance(taken, Run):
            return self._take_run(point, taken)
        self._take(point, taken)
        return len(taken)

    def _take_run(self, point: Point, run: Run) -> int:
        """A run of frames, as numpy columns: to the file in one write, its tail to the window."""
        count = len(run)
        if self._program is not None:  # the kernel let frames with a VLAN tag by: netlab reads them
            run = run.vetted(VLAN, lambda frame: self.match(frames.dissect(frame)))
        if self._writer is not None and len(run):
            self._writer.write_run(run, self._interface[point.label])
        with self._lock:
            self.window.add_run(point.label, self._start, run)
        return count

    def _take(self, point: Point, batch: list[tuple[float, bytes, bool, int]]) -> None:
        """Frames from one point: those that match to the file, and to the window."""
        writer, interface = self._writer, self._interface[point.label]
        if not self._listeners and (self._program is not None or self.match.clauses == ((),)):
            # The kernel has filtered (but for frames with a VLAN tag) and nobody looks now: keep the bytes.
            if self._program is not None:
                batch = [f for f in batch if f[1][12:14] != VLAN or self.match(frames.dissect(f[1]))]
            if writer is not None:
                writer.write_batch(batch, interface)
            with self._lock:
                self.window.add_frames(point.label, self._start, batch)
            return
        for stamp, frame, outgoing, wire in batch:  # a filter or a live view: read the headers now
            packet = Packet(point.label, stamp, stamp - self._start, frame, outgoing, wire)
            if not self.match(packet.fields):
                continue
            if writer is not None:
                writer.write(stamp, frame, wire, interface, outgoing)
            with self._lock:
                self.window.add(packet)
            for listener in self._listeners:
                try:
                    listener(packet)
                except Exception:  # a broken view must not stop the capture
                    pass
            if self._full():
                return

    def _close_one(self, fd: int, *, error: int = 0) -> None:
        sock, point = self._sockets.pop(fd)
        stats = self.stats[point.label]
        if error:  # ENETDOWN: the interface, or its namespace, went away
            stats.error = reason(error)
        try:
            sock.statistics()
        except OSError:
            pass
        stats.received, stats.dropped = sock.received, sock.dropped
        sock.close()

    def _close(self) -> None:
        for fd in list(self._sockets):
            self._close_one(fd)
        if self._writer is not None:
            try:
                self._writer.close()  # its last records to the disk
            except OSError as exc:
                self._end(_("stopped: cannot write {path} ({reason})").format(path=self.path, reason=reason(exc)))
            self._writer = None

    # what was captured

    @property
    def packets(self) -> list[Packet]:
        """The packets in the window (the latest ``window``), in time order, all points on one clock."""
        with self._lock:
            return self.window.packets()

    def __len__(self) -> int:
        """Every packet captured (and written to the file), in the window or not."""
        return self.window.seen

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

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the window's packets to ``path``: pcapng if it ends in ``.pcapng`` (one interface
        per point, with directions), else pcap. Wireshark and ``tcpdump -r`` read both. (All the
        packets of a long capture: ``write=`` streams them to a file while it runs.)"""
        labels = [p.label for p in self.points]
        writer = PcapWriter.open(check_target(path), interfaces=labels, snaplen=self.snaplen or 262144)
        try:
            for p in self:
                writer.write(p.timestamp, p.frame, p.length, labels.index(p.point), p.outgoing)
        finally:
            writer.close()
        return Path(path)

    def pcap(self) -> bytes:
        """The window's packets as the bytes of a pcap file (what ``save`` writes)."""
        import io

        out = io.BytesIO()
        frames.write_pcap(out, ((p.timestamp, p.frame, p.length) for p in self), snaplen=self.snaplen or 262144)
        return out.getvalue()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped" if self._thread else "not started"
        where = ", ".join(p.label for p in self.points)
        held = f" ({len(self.window)} in the window)" if self.window.left_out else ""
        return f"<Capture on {where}: {len(self)} packets{held}, {state}>"

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self) or _("(no packets)")


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
    write: str | os.PathLike[str] | None = None,
    window: int = WINDOW,
    snaplen: int | None = None,
) -> Capture:
    """Capture at ``points`` (interface names in ``netns``, or ``(target, interface)`` pairs).

    ``capture("veth1", netns="netns1", count=4)`` is ``ip netns exec netns1 tcpdump -ni veth1 -c 4``.
    Keep packets matching ``proto`` (one name or several: ``("arp", "icmp")``), ``host`` and
    ``port``, or a tcpdump-like ``filter`` string. Started at once unless ``start=False``; use it
    in a ``with`` block, or call ``stop()`` / ``wait()``. ``buffer``: MiB of ring per point
    (tcpdump's ``-B``); more lets a long flood wait for a busy reader without drops.

    ``write="ping.pcap"`` (tcpdump's ``-w``) writes every packet to that file as it comes (pcapng
    if the name ends in ``.pcapng``); the capture itself holds the latest ``window`` packets.
    ``snaplen``: bytes kept of each frame (tcpdump's ``-s``); by default 1982, enough for any
    frame of a 1500-byte MTU. A TCP download over a veth sends frames of up to 64 KiB at once
    (GSO): ``snaplen=65535`` keeps them whole, with fewer, larger slots in the ring. The file's
    header says the snaplen applied.
    """
    if filter is not None and (proto, host, port) != (None, None, None):
        raise CaptureError(_("give either filter= or proto/host/port, not both"), hint="filter='icmp and port 80'")
    match = parse_filter(filter) if filter is not None else keyword_filter(proto, host, port)
    specs = [as_point(spec, netns) for spec in points]
    cap = Capture(
        specs, count=count, timeout=timeout, match=match, buffer=buffer, write=write, window=window, snaplen=snaplen
    )
    for listener in [on_packet] if callable(on_packet) else on_packet:
        cap.on_packet(listener)
    return cap.start() if start else cap
