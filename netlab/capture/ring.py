"""A packet socket: how tcpdump (through libpcap) gets a copy of every frame of an interface.

Four steps, each a system call, done by netlab as libpcap does them::

    fd = socket(AF_PACKET, SOCK_RAW, 0)              in the thread that entered the namespace: the
                                                     socket belongs to that namespace for good
    setsockopt(fd, SOL_PACKET, PACKET_RX_RING, ...)  a ring of memory blocks, shared with the kernel
    ring = mmap(fd)                                  through mmap: no copy, no system call per frame
    bind(fd, ("veth1", ETH_P_ALL))                   from now on: every frame veth1 sends or receives

The ring (``TPACKET_V2``) is a row of slots. The kernel copies each frame into the next free
slot behind a small header (``struct tpacket2_hdr``): a status word, the frame's length, where
the frame starts, the time the kernel saw it (seconds and nanoseconds), and then a ``struct
sockaddr_ll`` whose ``sll_pkttype`` tells a frame sent (``PACKET_OUTGOING``) from one received.
It sets the status to "user"; the reader copies the frame out and sets it back to "kernel". When
the reader falls behind and every slot is full, the kernel drops frames and counts them
(``PACKET_STATISTICS``): the "dropped by kernel" that tcpdump prints when it stops.

libpcap prefers ``TPACKET_V3``, which packs frames one after another into big blocks (1 MiB
here) and hands a block over when it is full or after a timeout (50 ms here): one wake-up for
thousands of frames, read in one go (``runs.py``). On some kernels that timeout fires once and then
no more, so a half-filled block, the last packets of a ping, would wait until more traffic fills
it. netlab uses ``TPACKET_V2``, where every frame is readable at once, whenever someone waits for
each frame (a live view, a count); ``TPACKET_V3`` (``blocks=True``) for a capture to a file. Its
end loses nothing: ``unhook()`` binds the socket to protocol 0, which detaches it from the
interface and waits until no frame is still being copied in, and then the block the kernel was
filling is read too. (tcpdump on such a kernel loses those last frames: they wait in a block that
is never handed over.)

A slot has room for a frame of ``slot - 66`` bytes (the header and address come first); a longer
frame is cut to that, and ``tp_snaplen`` says so. Over a veth, TCP hands the kernel segments of up
to 64 KiB at once (GSO), which cross as single frames: the default slot (2048: frames of up to
1982 bytes) cuts them, ``snaplen=65535`` keeps them whole with fewer, larger slots. ``snaplen``
is what the socket really keeps; a capture file's header must say that number.

Two ``ioctl`` calls on the socket ask its own namespace about the interface (``state()``):
``SIOCGIFINDEX`` (is it still there?) and ``SIOCGIFFLAGS`` (is it up?). When it goes down, the
kernel stops passing frames and leaves ``ENETDOWN`` on the socket; when it comes up again, frames
flow again; when it is deleted, nothing will come any more.

A busy reader takes many frames at once (``take()``, ``runs.py``): a run of filled slots, or a
block, read by numpy as arrays; no Python object is made per frame, and a capture file gets them
in one write (``netlab.plumbing.pcap``).

The kernel stamps each frame when it hands it to the socket, if it has no earlier stamp, so
frames seen by sockets on different interfaces and namespaces share one clock (``CLOCK_REALTIME``,
the clock of ``time.time()``).
"""

from __future__ import annotations

import errno
import fcntl
import mmap
import socket
import struct
from typing import Any

from netlab.capture import runs
from netlab.capture.options import no_interface
from netlab.capture.runs import Run
from netlab.enter import call
from netlab.errors import NetlabError, permission_error
from netlab.plumbing import bpf
from netlab.plumbing.i18n import _
from netlab.targets import Target, in_words

__all__ = ["PacketSocket"]

ETH_P_ALL = 0x0003  # every protocol
SOL_PACKET = 263
PACKET_RX_RING = 5
PACKET_STATISTICS = 6  # struct tpacket_stats { unsigned tp_packets, tp_drops; }
PACKET_VERSION = 10
TPACKET_V2, TPACKET_V3 = 1, 2
TP_STATUS_KERNEL, TP_STATUS_USER = 0, 1
HEADER = struct.Struct("IIIHHII")  # tp_status, tp_len, tp_snaplen, tp_mac, tp_net, tp_sec, tp_nsec
PKTTYPE = 32 + 10  # sockaddr_ll follows the 32-byte tpacket2_hdr; sll_pkttype is its 11th byte

MAC_OFFSET = 66  # where an Ethernet frame starts in its slot: TPACKET_ALIGN(52 + 16) - 14
SLOT_BYTES = 1 << 11  # by default a frame of up to 2048 - 66 = 1982 bytes; longer ones are cut
BLOCK_BYTES = 1 << 16  # the ring is allocated in blocks of pages
PAGE_BYTES = mmap.PAGESIZE
RING_BYTES = 16 << 20  # by default 8192 slots: room for a burst while the reader is busy
V3_BLOCK_BYTES = 1 << 20  # TPACKET_V3: the kernel hands over a block when full (6000 pings) ...
V3_TIMEOUT_MS = 50  # ... or this long after its first frame
SIOCGIFFLAGS, SIOCGIFINDEX, IFF_UP = 0x8913, 0x8933, 0x1
IFREQ = struct.Struct("16si20x")  # struct ifreq: a name, then an int (flags or index), padded to 40


def slot_bytes(snaplen: int | None) -> int:
    """The slot that holds a frame of ``snaplen`` bytes whole (16-byte aligned; 2048 at least)."""
    if snaplen is None:
        return SLOT_BYTES
    return max(SLOT_BYTES, -(-(MAC_OFFSET + snaplen) // 16) * 16)


class PacketSocket:
    """An ``AF_PACKET`` socket with a receive ring, on ``iface`` in namespace ``netns``."""

    def __init__(
        self,
        iface: str,
        *,
        netns: Target = None,
        ring_bytes: int = RING_BYTES,
        snaplen: int | None = None,
        program: bytes | None = None,
        blocks: bool = False,
    ) -> None:
        """``program``: a BPF filter (``netlab.plumbing.bpf``), given before bind: no frame slips past.
        ``blocks``: a ``TPACKET_V3`` ring, read a block at a time with ``take()`` (a capture to a file)."""
        self.iface, self.netns, self.blocks = iface, netns, blocks
        self.frame_bytes = slot_bytes(snaplen)
        self.block_bytes = max(BLOCK_BYTES, -(-self.frame_bytes // PAGE_BYTES) * PAGE_BYTES)
        if blocks:  # at least two of the longest frames in a block
            self.block_bytes = max(V3_BLOCK_BYTES, -(-2 * self.frame_bytes // PAGE_BYTES) * PAGE_BYTES)
        count = max(2 if blocks else 1, ring_bytes // self.block_bytes)
        per_block = self.block_bytes // self.frame_bytes
        self.size = count * self.block_bytes
        # Slots never straddle two blocks: slot i of block b starts at b * block + i * frame.
        self.offsets = [b * self.block_bytes + i * self.frame_bytes for b in range(count) for i in range(per_block)]
        self.snaplen = self.frame_bytes - MAC_OFFSET  # what the kernel really keeps of each frame
        self.ifindex = 0
        self.ring: mmap.mmap | None = None
        self.views: Any = None  # numpy's views of the ring (runs.py), dropped before it is unmapped
        self.slot = self.block = 0  # the next slot (V2) or block (V3) to read
        self.received = self.dropped = self.delivered = 0
        try:
            # Protocol 0: the socket takes nothing until bind names the interface and ETH_P_ALL.
            self.sock = call(netns, socket.socket, socket.AF_PACKET, socket.SOCK_RAW, 0)
        except PermissionError as exc:
            if isinstance(exc, NetlabError):
                raise
            raise permission_error(_("open a packet socket in {where}").format(where=in_words(netns)), exc) from exc
        try:
            self.sock.setsockopt(SOL_PACKET, PACKET_VERSION, TPACKET_V3 if blocks else TPACKET_V2)
            request = struct.pack("4I", self.block_bytes, count, self.frame_bytes, len(self.offsets))
            if blocks:  # tpacket_req3: then the block timeout, no private area, no features
                request += struct.pack("3I", V3_TIMEOUT_MS, 0, 0)
            self.sock.setsockopt(SOL_PACKET, PACKET_RX_RING, request)
            self.ring = mmap.mmap(self.sock.fileno(), self.size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
            if program is None and blocks:  # a block keeps frames whole: cut them as a slot would
                program = bpf.keep_all(self.snaplen)
            if program is not None:
                bpf.attach(self.sock, program)
            self.sock.bind((iface, ETH_P_ALL))  # the name is looked up in the socket's own namespace
            self.ifindex = self._ifreq(SIOCGIFINDEX)
        except OSError as exc:
            self.close()
            if exc.errno == errno.ENODEV:  # it went away since check_points() saw it
                names = [name for _index, name in call(netns, socket.if_nameindex)]
                raise no_interface(iface, netns, names) from None
            raise

    def fileno(self) -> int:
        return self.sock.fileno()

    def read(self, limit: int | None = None) -> list[tuple[float, bytes, bool, int]]:
        """The frames waiting in the ring, oldest first: (time, frame, sent?, length on the wire)."""
        ring = self.ring
        assert ring is not None, "the socket is closed"
        if self.blocks:  # V3: a block at a time, one by one
            block = self.take(0)
            return block.tuples() if isinstance(block, Run) else block or []
        offsets, slot = self.offsets, self.slot
        slots = len(offsets)
        taken: list[tuple[float, bytes, bool, int]] = []
        unpack, release, outgoing = HEADER.unpack_from, struct.Struct("I").pack_into, socket.PACKET_OUTGOING
        left = -1 if limit is None else limit
        while left:
            offset = offsets[slot]
            status, length, snaplen, mac, _net, seconds, nanos = unpack(ring, offset)
            if not status & TP_STATUS_USER:
                break  # the kernel has not filled this slot yet: nothing more for now
            start = offset + mac
            sent = ring[offset + PKTTYPE] == outgoing
            taken.append((seconds + nanos // 1000 * 1e-6, ring[start : start + snaplen], sent, length))
            release(ring, offset, TP_STATUS_KERNEL)  # hand the slot back to the kernel
            slot = slot + 1 if slot + 1 < slots else 0
            left -= 1
        self.slot = slot
        self.delivered += len(taken)
        return taken

    def waiting(self, count: int) -> bool:
        """At least ``count`` frames are waiting (the slot ``count - 1`` ahead is filled)."""
        assert self.ring is not None, "the socket is closed"
        if self.blocks:
            return True  # a block holds many
        offset = self.offsets[(self.slot + count - 1) % len(self.offsets)]
        return bool(HEADER.unpack_from(self.ring, offset)[0] & TP_STATUS_USER)

    def take(self, limit: int) -> Run | list[tuple[float, bytes, bool, int]] | None:
        """Many frames at once (``runs.py``; needs numpy): a run of at most ``limit`` filled slots,
        or the next block the kernel handed over; None when there is nothing new."""
        return runs.take_block(self) if self.blocks else runs.take_slots(self, limit)

    def unhook(self) -> None:
        """Take no more frames: ``bind(fd, (iface, 0))`` unhooks the socket from the interface and
        waits until the kernel is done with every frame it was copying in (``synchronize_net()``)."""
        try:
            self.sock.bind((self.iface, 0))
        except OSError:
            pass  # the interface is gone: nothing comes any more anyway

    def _ifreq(self, request: int) -> int:
        """Ask the socket's own namespace about its interface (``SIOCGIFINDEX``, ``SIOCGIFFLAGS``)."""
        answer = fcntl.ioctl(self.sock.fileno(), request, IFREQ.pack(self.iface.encode(), 0))
        return int(IFREQ.unpack(answer)[1])

    def state(self) -> str:
        """The interface now: "up", "down" (the kernel passes it no frames), or "gone" (deleted)."""
        try:
            if self._ifreq(SIOCGIFINDEX) != self.ifindex:
                return "gone"  # another interface took the name
            return "up" if self._ifreq(SIOCGIFFLAGS) & IFF_UP else "down"
        except OSError:
            return "gone"  # ENODEV: no such interface, or its namespace is gone

    def error(self) -> int:
        """The error the kernel left on the socket (ENETDOWN: the interface went down), now cleared."""
        return self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)

    def statistics(self) -> tuple[int, int]:
        """(frames offered, frames dropped) since the last call: the kernel resets them on read."""
        received, dropped = struct.unpack("II", self.sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
        self.received += received
        self.dropped += dropped
        return received, dropped

    def pending(self) -> int:
        """Frames the kernel has put in the ring that were not read yet."""
        self.statistics()
        return self.received - self.dropped - self.delivered

    def close(self) -> None:
        """Unmap the ring and close the socket (its namespace may then be freed)."""
        self.views = None  # numpy's views first: an mmap with views into it cannot close
        if self.ring is not None:
            self.ring.close()
            self.ring = None
        self.sock.close()
