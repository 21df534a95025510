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

(libpcap prefers ``TPACKET_V3``, which packs frames into big blocks and hands a block over when
it is full or after a timeout. On some kernels that timeout fires once and then no more, so a
half-filled block, the last packets of a ping, would wait until more traffic fills it: netlab
uses ``TPACKET_V2``, where every frame is readable at once.)

The kernel stamps each frame when it hands it to the socket, if it has no earlier stamp, so
frames seen by sockets on different interfaces and namespaces share one clock (``CLOCK_REALTIME``,
the clock of ``time.time()``).
"""

from __future__ import annotations

import errno
import mmap
import socket
import struct

from netlab.enter import call
from netlab.errors import DeviceNotFoundError, NetlabError, permission_error
from netlab.plumbing.commands import in_netns
from netlab.plumbing.i18n import _
from netlab.targets import Target, in_words

__all__ = ["PacketSocket"]

ETH_P_ALL = 0x0003  # every protocol
SOL_PACKET = 263
PACKET_RX_RING = 5
PACKET_STATISTICS = 6  # struct tpacket_stats { unsigned tp_packets, tp_drops; }
PACKET_VERSION = 10
TPACKET_V2 = 1
TP_STATUS_KERNEL, TP_STATUS_USER = 0, 1
HEADER = struct.Struct("IIIHHII")  # tp_status, tp_len, tp_snaplen, tp_mac, tp_net, tp_sec, tp_nsec
PKTTYPE = 32 + 10  # sockaddr_ll follows the 32-byte tpacket2_hdr; sll_pkttype is its 11th byte

SLOT_BYTES = 1 << 11  # header, address, and a frame of up to ~1950 bytes (longer ones are cut)
BLOCK_BYTES = 1 << 16  # the ring is allocated in blocks of pages
RING_BYTES = 16 << 20  # by default 8192 slots: room for a burst while the reader is busy


class PacketSocket:
    """An ``AF_PACKET`` socket with a receive ring, on ``iface`` in namespace ``netns``."""

    def __init__(self, iface: str, *, netns: Target = None, ring_bytes: int = RING_BYTES) -> None:
        self.iface, self.netns = iface, netns
        self.size = max(BLOCK_BYTES, ring_bytes // BLOCK_BYTES * BLOCK_BYTES)
        self.ring: mmap.mmap | None = None
        self.slot = 0  # the next slot to read
        self.received = self.dropped = self.delivered = 0
        try:
            # Protocol 0: the socket takes nothing until bind names the interface and ETH_P_ALL.
            self.sock = call(netns, socket.socket, socket.AF_PACKET, socket.SOCK_RAW, 0)
        except PermissionError as exc:
            if isinstance(exc, NetlabError):
                raise
            raise permission_error(_("open a packet socket in {where}").format(where=in_words(netns)), exc) from exc
        try:
            self.sock.setsockopt(SOL_PACKET, PACKET_VERSION, TPACKET_V2)
            slots = self.size // SLOT_BYTES
            request = struct.pack("4I", BLOCK_BYTES, self.size // BLOCK_BYTES, SLOT_BYTES, slots)
            self.sock.setsockopt(SOL_PACKET, PACKET_RX_RING, request)
            self.ring = mmap.mmap(self.sock.fileno(), self.size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
            self.sock.bind((iface, ETH_P_ALL))  # the name is looked up in the socket's own namespace
        except OSError as exc:
            self.close()
            if exc.errno == errno.ENODEV:
                names = sorted(name for _index, name in call(netns, socket.if_nameindex))
                raise DeviceNotFoundError(
                    _("no interface {iface!r} in {where}").format(iface=iface, where=in_words(netns)),
                    hint=_("its interfaces are {names}; list them with {command}").format(
                        names=", ".join(names), command=" ".join(in_netns(netns, ["ip", "-br", "link"]))
                    ),
                    subject=iface,
                    errno=errno.ENODEV,
                ) from None
            raise

    def fileno(self) -> int:
        return self.sock.fileno()

    def read(self, limit: int | None = None) -> list[tuple[float, bytes, bool, int]]:
        """The frames waiting in the ring, oldest first: (time, frame, sent?, length on the wire)."""
        ring = self.ring
        assert ring is not None, "the socket is closed"
        slots, slot = self.size // SLOT_BYTES, self.slot
        taken: list[tuple[float, bytes, bool, int]] = []
        unpack, release, outgoing = HEADER.unpack_from, struct.Struct("I").pack_into, socket.PACKET_OUTGOING
        left = -1 if limit is None else limit
        while left:
            offset = slot * SLOT_BYTES
            status, length, snaplen, mac, _net, seconds, nanos = unpack(ring, offset)
            if not status & TP_STATUS_USER:
                break  # the kernel has not filled this slot yet: nothing more for now
            start = offset + mac
            sent = ring[offset + PKTTYPE] == outgoing
            taken.append((seconds + nanos * 1e-9, ring[start : start + snaplen], sent, length))
            release(ring, offset, TP_STATUS_KERNEL)  # hand the slot back to the kernel
            slot = slot + 1 if slot + 1 < slots else 0
            left -= 1
        self.slot = slot
        self.delivered += len(taken)
        return taken

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
        if self.ring is not None:
            self.ring.close()
            self.ring = None
        self.sock.close()
