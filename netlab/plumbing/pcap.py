"""Writing frames to a pcap or pcapng file, one frame at a time, as they arrive (``tcpdump -w``).

A pcap file is a 24-byte header (a magic number, the version, the *snaplen*: the longest frame
the capture kept whole, and the link type), then for every frame 16 bytes (time in seconds and
microseconds, the length kept, the length on the wire) and the frame itself::

    d4 c3 b2 a1  02 00 04 00  ...  snaplen  01 00 00 00      header: little-endian, Ethernet
    seconds  micros  kept  wire  <kept bytes of the frame>   one record per frame

A record is complete the moment it is written, so a file cut after any record is still a
valid capture: ``PcapWriter`` writes each frame as it comes, never holding a list of them,
and ``flush()`` pushes the records to the disk (at the end, and now and then on the way).
pcapng adds one "interface" block per capture point and marks each frame in or out.

A flood is written without a Python object per frame (``write_run``): numpy builds the records of a
whole run of frames as the rows of one array, header then frame, each row cut to its record's length
(``rows[mask]``), and the lot goes to the file in one write.

``check_target(path)`` looks at where a file would go *before* anything is captured: a folder
that exists and can be written, and a name that is not a folder or a device.
"""

from __future__ import annotations

import errno
import os
import stat
import struct
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from netlab.errors import NetlabError, reason
from netlab.plumbing.i18n import _

__all__ = ["LINKTYPE_ETHERNET", "PcapFileError", "PcapWriter", "check_target", "write_pcap", "write_pcapng"]

LINKTYPE_ETHERNET = 1
PCAP_HEADER = struct.Struct("<IHHiIII")  # magic, version 2.4, zone, accuracy, snaplen, link type
RECORD = struct.Struct("<IIII")  # seconds, microseconds, length kept, length on the wire
BUFFER_BYTES = 1 << 20  # records gather in memory up to this much, then go to the disk in one write

Frame = tuple[float, bytes, int]  # (seconds since 1970, the frame as captured, its length on the wire)


class PcapFileError(NetlabError, OSError):
    """A capture file that cannot be written where it was asked for."""


def _refuse(path: Path, why: str, hint: str, code: int) -> PcapFileError:
    return PcapFileError(
        _("cannot write the capture to {path}: {why}").format(path=str(path), why=why),
        hint=hint,
        subject=str(path),
        errno=code,
    )


def check_target(path: str | os.PathLike[str]) -> Path:
    """``path`` if a capture file can be written there; else a ``PcapFileError`` saying why."""
    path = Path(path)
    folder = path.parent
    elsewhere = _("write it in an existing folder you may write to, e.g. /tmp/{name}").format(
        name=path.name or "x.pcap"
    )
    try:
        folder_exists = folder.is_dir()
        mode: int | None = path.stat().st_mode if folder_exists else None
    except FileNotFoundError:
        mode = None
    except PermissionError:  # a folder on the way that this user may not enter
        raise _refuse(path, reason(errno.EACCES), elsewhere, errno.EACCES) from None
    if not folder_exists:
        why = _("the folder {folder} does not exist").format(folder=str(folder))
        return_hint = _("create it first (mkdir -p {folder}), or {elsewhere}").format(
            folder=str(folder), elsewhere=elsewhere
        )
        raise _refuse(path, why, return_hint, errno.ENOENT)
    if mode is not None and stat.S_ISDIR(mode):
        raise _refuse(
            path,
            _("it is a folder"),
            _("name a file inside it, e.g. {path}/capture.pcap").format(path=str(path)),
            errno.EISDIR,
        )
    if mode is not None and not stat.S_ISREG(mode):
        raise _refuse(path, _("it is a device or a pipe, not a file"), elsewhere, errno.EINVAL)
    if not os.access(path if mode is not None else folder, os.W_OK):
        raise _refuse(path, reason(errno.EACCES), elsewhere, errno.EACCES)
    return path


def _pcap_header(snaplen: int) -> bytes:
    return PCAP_HEADER.pack(0xA1B2C3D4, 2, 4, 0, 0, snaplen, LINKTYPE_ETHERNET)


def _block(kind: int, body: bytes) -> bytes:
    """A pcapng block: type, total length, body padded to 4 bytes, total length again."""
    body += b"\0" * (-len(body) % 4)
    return struct.pack("<II", kind, len(body) + 12) + body + struct.pack("<I", len(body) + 12)


def _option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def _pcapng_header(interfaces: Sequence[str], snaplen: int) -> bytes:
    end = _option(0, b"")
    section = struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + _option(4, b"netlab") + end
    blocks = [_block(0x0A0D0D0A, section)]
    for name in interfaces:  # if_name (2) and if_tsresol (9): microseconds
        options = _option(2, name.encode()) + _option(9, bytes([6])) + end
        blocks.append(_block(0x00000001, struct.pack("<HHI", LINKTYPE_ETHERNET, 0, snaplen) + options))
    return b"".join(blocks)


_FLAGS = {
    True: _option(2, struct.pack("<I", 2)) + _option(0, b""),
    False: _option(2, struct.pack("<I", 1)) + _option(0, b""),
}


class PcapWriter:
    """Frames to ``out`` as they come: pcap, or pcapng (``ng=True``) with one interface per name."""

    def __init__(self, out: BinaryIO, *, interfaces: Sequence[str] = ("",), snaplen: int = 262144, ng: bool = False):
        self.out, self.ng, self.count = out, ng, 0
        out.write(_pcapng_header(interfaces, snaplen) if ng else _pcap_header(snaplen))
        out.flush()  # a valid (empty) capture file from the start

    def write(self, when: float, frame: bytes, wire: int, interface: int = 0, outbound: bool = False) -> None:
        """One frame: ``when`` (seconds since 1970, to the microsecond), its bytes, its length on the wire."""
        stamp = round(when * 1_000_000)
        if self.ng:
            head = struct.pack("<IIIII", interface, stamp >> 32, stamp & 0xFFFFFFFF, len(frame), wire)
            self.out.write(_block(0x00000006, head + frame + b"\0" * (-len(frame) % 4) + _FLAGS[outbound]))
        else:
            seconds, micro = divmod(stamp, 1_000_000)
            self.out.write(RECORD.pack(seconds, micro, len(frame), wire))
            self.out.write(frame)
        self.count += 1

    def write_batch(self, batch: Sequence[tuple[float, bytes, bool, int]], interface: int = 0) -> None:
        """Frames as a packet socket reads them, ``(time, frame, outbound, wire)``: one write for all."""
        if self.ng:
            for when, frame, outbound, wire in batch:
                self.write(when, frame, wire, interface, outbound)
            return
        pack, parts = RECORD.pack, list[bytes]()
        for when, frame, _outbound, wire in batch:
            seconds, micro = divmod(round(when * 1_000_000), 1_000_000)
            parts += (pack(seconds, micro, len(frame), wire), frame)
        self.out.write(b"".join(parts))
        self.count += len(batch)

    def write_run(self, run: Any, interface: int = 0) -> None:
        """A run of frames as numpy columns (``netlab.capture.runs.Run``): one array, one write."""
        import numpy as np

        count, width = run.rows.shape
        micros = run.nsec // 1000
        if self.ng:  # an enhanced packet block: 28 bytes, the frame padded to 4, flags, end, length
            padded = (run.snap + 3) // 4 * 4
            total = 28 + padded + 16
            out = np.zeros((count, 28 + ((width + 3) & ~3) + 16), np.uint8)
            stamp = run.sec.astype(np.uint64) * 1_000_000 + micros
            head = out[:, :28].view("<u4")
            head[:, 0], head[:, 1], head[:, 2] = 6, total, interface
            head[:, 3], head[:, 4] = stamp >> 32, stamp & 0xFFFFFFFF
            head[:, 5], head[:, 6] = run.snap, run.wire
            out[:, 28 : 28 + width] = np.where(np.arange(width) < run.snap[:, None], run.rows, 0)
            tail = np.zeros((count, 4), "<u4")  # if_flags (2), 4 bytes: 1 in, 2 out; end; length
            tail[:, 0], tail[:, 1], tail[:, 3] = 2 | 4 << 16, np.where(run.outgoing, 2, 1), total
            out[np.arange(count)[:, None], (28 + padded)[:, None] + np.arange(16)] = tail.view(np.uint8)
        else:
            total = 16 + run.snap
            out = np.empty((count, 16 + width), np.uint8)
            head = out[:, :16].view("<u4")
            head[:, 0], head[:, 1], head[:, 2], head[:, 3] = run.sec, micros, run.snap, run.wire
            out[:, 16:] = run.rows
        if (total < out.shape[1]).any():
            out = out[np.arange(out.shape[1]) < total[:, None]]  # each record cut to its length
        self.out.write(out.reshape(-1).data)
        self.count += count

    def flush(self) -> None:
        """Push what is written so far to the file: a reader then finds whole records."""
        self.out.flush()

    def close(self) -> None:
        self.out.close()

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, interfaces: Sequence[str], snaplen: int) -> PcapWriter:
        """A writer to the file ``path``: pcapng if its name ends in ``.pcapng``, else pcap."""
        path = Path(path)
        out = open(path, "wb", buffering=BUFFER_BYTES)  # noqa: SIM115  closed by close()
        return cls(out, interfaces=interfaces, snaplen=snaplen, ng=path.suffix == ".pcapng")


def write_pcap(out: BinaryIO, frames: Iterable[Frame], *, snaplen: int = 262144) -> int:
    """The classic pcap format (libpcap, ``tcpdump -w``): returns the number of frames written."""
    writer = PcapWriter(out, snaplen=snaplen)
    for when, frame, wire in frames:
        writer.write(when, frame, wire)
    return writer.count


def write_pcapng(
    out: BinaryIO,
    frames: Iterable[tuple[float, bytes, int, int, bool]],
    interfaces: list[str],
    *,
    snaplen: int = 262144,
) -> int:
    """pcapng: one interface block per name in ``interfaces``, then per frame an enhanced packet
    block ``(time, frame, length on the wire, interface number, outbound)``. Returns the count."""
    writer = PcapWriter(out, interfaces=interfaces, snaplen=snaplen, ng=True)
    for when, frame, wire, interface, outbound in frames:
        writer.write(when, frame, wire, interface, outbound)
    return writer.count
