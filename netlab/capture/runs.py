"""A flood read in runs: many frames of a ring at once, as numpy columns, no Python object per frame.

``ring.py`` reads a frame at a time: a header unpacked, a ``bytes`` copied, a tuple made, about two
microseconds of Python each. A flood (``ping -f``: a hundred thousand frames a second) would keep a
core busy. When nobody looks at each frame as it comes (a capture to a file, read later), netlab
takes a whole *run* of frames at once:

    TPACKET_V2 (slots)    the filled slots from the reader's place on (a binary search over their
                          status words finds the end), their headers read by numpy as one (n, 6)
                          array, their frames copied out as the rows of one (n, width) array, then
                          handed back by zeroing their status words
    TPACKET_V3 (blocks)   a block the kernel has handed over holds ``num_pkts`` frames, each behind a
                          ``struct tpacket3_hdr`` whose ``tp_next_offset`` leads to the next; in a
                          flood they are all the same size, so they lie at one stride and numpy reads
                          them as a strided array; a block of mixed sizes is walked frame by frame

``Run`` holds the columns; ``netlab.plumbing.pcap.PcapWriter.write_run`` makes the records of a
whole run as one array and writes it at once. numpy is imported only when a flood comes.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

PacketSocket = Any  # a ring.PacketSocket (not imported: ring.py imports this module)

__all__ = ["Frame", "Run", "has_numpy", "numpy_now", "take_block", "take_slots"]

TP_STATUS_KERNEL, TP_STATUS_USER = 0, 1
FEW = 64  # a block of fewer frames is read one by one (numpy is for floods)
RUN_BYTES = 8 << 20  # at most this much frame data copied out of a V2 ring in one run
V2_PKTTYPE = 32 + 10  # sockaddr_ll follows the 32-byte tpacket2_hdr; sll_pkttype is its 11th byte
V3_PKTTYPE = 48 + 10  # ... the 48-byte tpacket3_hdr
BLOCK = struct.Struct("IIII")  # tpacket_block_desc at 8: block_status, num_pkts, offset_to_first_pkt, blk_len
FRAME3 = struct.Struct("IIIIIIH")  # tp_next_offset, tp_sec, tp_nsec, tp_snaplen, tp_len, tp_status, tp_mac
Frame = tuple[float, bytes, bool, int]  # (time, frame, sent?, length on the wire), as ring.read() gives


def has_numpy() -> bool:
    """numpy is installed (matplotlib brings it): a flood is then read in runs."""
    import importlib.util

    return importlib.util.find_spec("numpy") is not None


_numpy: list[Any] = []  # numpy, once imported
_loader: list[threading.Thread] = []


def numpy_now() -> Any:
    """numpy if it is imported; else None for now, and it is imported in the background (0.1 to
    0.3 s of CPU: a quiet capture never pays it, a flood goes on one frame at a time meanwhile)."""
    if _numpy or not has_numpy():
        return _numpy[0] if _numpy else None
    if not _loader:

        def load() -> None:
            import numpy

            _numpy.append(numpy)

        _loader.append(threading.Thread(target=load, name="netlab-numpy", daemon=True))
        _loader[0].start()
    return None


@dataclass
class Run:
    """Frames taken from a ring at once, as columns: frame ``i`` is ``rows[i, :snap[i]]``."""

    rows: Any  # uint8 (n, width): the frames, each padded to the longest (the padding is noise)
    snap: Any  # uint32: bytes captured of each frame
    wire: Any  # uint32: its length on the wire
    sec: Any  # uint32: the kernel's time stamp, seconds since 1970
    nsec: Any  # uint32: and nanoseconds
    outgoing: Any  # bool: sent through the interface (PACKET_OUTGOING), else received

    def __len__(self) -> int:
        return len(self.snap)

    def select(self, keep: Any) -> Run:
        """The frames where ``keep`` (a boolean array or a slice) is true, as a new run."""
        columns = (self.rows, self.snap, self.wire, self.sec, self.nsec, self.outgoing)
        return Run(*(column[keep] for column in columns))

    def vetted(self, ethertype: bytes, keep: Callable[[bytes], bool]) -> Run:
        """The run without the frames of this EtherType (bytes 12-13) that ``keep`` refuses."""
        if self.rows.shape[1] < 14:
            return self
        marked = (self.rows[:, 12] == ethertype[0]) & (self.rows[:, 13] == ethertype[1])
        if not marked.any():
            return self
        chosen = ~marked
        for i in marked.nonzero()[0]:
            chosen[i] = keep(self.rows[i, : self.snap[i]].tobytes())
        return self.select(chosen)

    def stamps(self) -> Any:
        """Seconds since 1970, as floats (what a ``Packet`` holds), to the microsecond as pcap files keep them."""
        return self.sec + self.nsec // 1000 * 1e-6

    def tuples(self) -> list[Frame]:
        """The frames as ``ring.read()`` gives them, made one by one (for the few a window keeps)."""
        stamps = self.stamps().tolist()
        snaps, wires, out = self.snap.tolist(), self.wire.tolist(), self.outgoing.tolist()
        return [(stamps[i], self.rows[i, : snaps[i]].tobytes(), out[i], wires[i]) for i in range(len(snaps))]


class _Views:
    """The ring as numpy sees it, made once per socket and dropped before the ring is unmapped."""

    def __init__(self, np: Any, sock: PacketSocket) -> None:
        assert sock.ring is not None
        self.np = np
        self.u8 = np.frombuffer(sock.ring, np.uint8)
        self.u32 = np.frombuffer(sock.ring, np.uint32)
        blocks = sock.size // sock.block_bytes
        self.per_block = sock.block_bytes // sock.frame_bytes
        shape, strides = (blocks, self.per_block), (sock.block_bytes, sock.frame_bytes)
        as_strided = np.lib.stride_tricks.as_strided
        self.slots = as_strided(self.u8, (*shape, sock.frame_bytes), (*strides, 1))  # V2: [block, place]
        self.heads = as_strided(self.u32, (*shape, 6), (*strides, 4))  # its first six words


def _views(sock: PacketSocket, np: Any) -> _Views:
    if sock.views is None:
        sock.views = _Views(np, sock)
    return sock.views


def _filled(sock: PacketSocket, first: int, most: int) -> int:
    """How many V2 slots from ``first`` on are filled (1 to ``most``): the kernel fills them in order,
    so a binary search over a dozen status words finds the end, without touching the slots the
    kernel is about to write (each such read moves a cache line between two cores)."""
    ring, offsets, low, high = sock.ring, sock.offsets, 1, most
    assert ring is not None
    while low < high:
        middle = (low + high + 1) // 2
        if struct.unpack_from("I", ring, offsets[first + middle - 1])[0] & TP_STATUS_USER:
            low = middle
        else:
            high = middle - 1
    return low


def take_slots(sock: PacketSocket, limit: int) -> Run | list[Frame] | None:
    """TPACKET_V2: the next run of filled slots, at most ``limit`` (it stops at the ring's end),
    handed back to the kernel; None if the next slot is not filled. (One by one until numpy is in.)"""
    assert sock.ring is not None, "the socket is closed"
    first = sock.slot
    if not struct.unpack_from("I", sock.ring, sock.offsets[first])[0] & TP_STATUS_USER:
        return None  # nothing new: one read, no numpy
    np = numpy_now()
    if np is None:
        return sock.read(limit)
    view = _views(sock, np)
    count = _filled(sock, first, min(limit, len(sock.offsets) - first))
    block, place = np.divmod(np.arange(first, first + count), view.per_block)
    heads = view.heads[block, place]  # (n, 6): status, len, snaplen, mac | net << 16, sec, nsec
    ready = (heads[:, 0] & TP_STATUS_USER).astype(bool)
    count = count if ready.all() else int(ready.argmin())  # a slot the kernel is still filling
    mac = heads[:count, 3] & 0xFFFF
    if (mac != mac[0]).any():
        count = int((mac == mac[0]).argmin())  # one offset per run: frames of one link type
    count = max(1, min(count, RUN_BYTES // max(1, int(heads[:count, 2].max()))))
    heads, block, place = heads[:count], block[:count], place[:count]
    width, start = int(heads[:, 2].max()), int(mac[0])
    rows = view.slots[block, place, start : start + width]  # a copy: the slots can go back
    outgoing = view.slots[block, place, V2_PKTTYPE] == socket.PACKET_OUTGOING
    view.heads[block, place, 0] = TP_STATUS_KERNEL  # hand the run back to the kernel
    sock.slot = (first + count) % len(sock.offsets)
    sock.delivered += count
    return Run(rows, heads[:, 2], heads[:, 1], heads[:, 4], heads[:, 5], outgoing)


def take_block(sock: PacketSocket, *, still_open: bool = False) -> Run | list[Frame] | None:
    """TPACKET_V3: the frames of the next block the kernel handed over, the block handed back; None
    if it has not. ``still_open``: also a block the kernel is still filling (only once the socket is
    unhooked: no frame can be half-copied into it then). A block of one stride gives a ``Run``, a
    block of mixed sizes the frames one by one."""
    ring = sock.ring
    assert ring is not None, "the socket is closed"
    base = sock.block * sock.block_bytes
    status, count, first, _length = BLOCK.unpack_from(ring, base + 8)
    if not count or not (status & TP_STATUS_USER or still_open):
        return None
    taken = _block_frames(sock, base + first, count)
    struct.pack_into("I", ring, base + 12, 0)  # num_pkts: a stale count is never read again
    if status & TP_STATUS_USER:
        struct.pack_into("I", ring, base + 8, TP_STATUS_KERNEL)  # hand the block back
        sock.block = (sock.block + 1) % (sock.size // sock.block_bytes)
    sock.delivered += len(taken)
    return taken


def _block_frames(sock: PacketSocket, start: int, count: int) -> Run | list[Frame]:
    """The ``count`` frames from ``start`` on: at one stride (numpy), or walked one by one."""
    ring = sock.ring
    assert ring is not None
    stride, _sec, _nsec, _snap, _len, _status, mac = FRAME3.unpack_from(ring, start)
    if count < FEW or (not stride or start + (count - 1) * stride + FRAME3.size > len(ring)):
        return _walk(sock, start, count)
    np = numpy_now()
    if np is None:
        return _walk(sock, start, count)

    def strided(shape: tuple[int, ...], dtype: Any, at: int, step: int = 1) -> Any:
        """The ring's bytes from ``at`` on, a frame every ``stride`` bytes (a view, no copy)."""
        return np.ndarray(shape, dtype, buffer=ring, offset=at, strides=(stride, step)[: len(shape)])

    heads = strided((count, 7), np.uint32, start, 4).copy()  # next, sec, nsec, snap, len, status, mac
    if not ((heads[:-1, 0] == stride).all() and ((heads[:, 6] & 0xFFFF) == mac).all()):
        return _walk(sock, start, count)  # frames of mixed sizes
    snap = np.minimum(heads[:, 3], sock.snaplen)
    rows = strided((count, int(snap.max())), np.uint8, start + mac).copy()
    outgoing = strided((count,), np.uint8, start + V3_PKTTYPE) == socket.PACKET_OUTGOING
    return Run(rows, snap, heads[:, 4], heads[:, 1], heads[:, 2], outgoing)


def _walk(sock: PacketSocket, at: int, count: int) -> list[Frame]:
    """The frames of a block of mixed sizes, one by one (a TCP download: large frames and ACKs)."""
    ring, snaplen, taken = sock.ring, sock.snaplen, []
    assert ring is not None
    unpack, outgoing = FRAME3.unpack_from, socket.PACKET_OUTGOING
    for _ in range(count):
        step, seconds, nanos, snap, length, _status, mac = unpack(ring, at)
        start = at + mac
        frame = ring[start : start + min(snap, snaplen)]
        taken.append((seconds + nanos // 1000 * 1e-6, frame, ring[at + V3_PKTTYPE] == outgoing, length))
        at += step
    return taken
