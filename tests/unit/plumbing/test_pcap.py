"""Capture files as netlab writes them (netlab/plumbing/pcap.py), read back by scapy and tcpdump; where they may go."""

from __future__ import annotations

import errno
import io
import os
import pickle
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.l2 import ARP, Ether
from scapy.utils import RawPcapNgReader, RawPcapReader

from netlab.capture.runs import Run
from netlab.errors import NetlabError, reason
from netlab.plumbing.pcap import PcapFileError, PcapWriter, check_target, write_pcap, write_pcapng

# Every MAC and address is given: scapy would otherwise look them up on this machine's network.
A_MAC, B_MAC = "02:00:00:00:00:0a", "02:00:00:00:00:0b"
TCPDUMP = shutil.which("tcpdump") or ""
NOBODY = 65534


def echo(seq: int, size: int = 56) -> bytes:
    ether = Ether(src=A_MAC, dst=B_MAC)
    return bytes(ether / IP(src="10.0.0.1", dst="10.0.0.2") / ICMP(id=7, seq=seq) / (b"x" * size))


def who_has() -> bytes:
    arp = ARP(op=1, hwsrc=A_MAC, psrc="10.0.0.1", hwdst="00:00:00:00:00:00", pdst="10.0.0.2")
    return bytes(Ether(src=A_MAC, dst="ff:ff:ff:ff:ff:ff") / arp)


def odd() -> bytes:
    """A 47-byte frame: a record of it needs padding in pcapng."""
    return bytes(Ether(src=A_MAC, dst=B_MAC) / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1, dport=9) / b"abcde")


def tcpdump_lines(path: Path) -> list[str]:
    result = subprocess.run([TCPDUMP, "-r", str(path), "-nn", "-tt"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def pcapng_blocks(data: bytes) -> list[tuple[int, bytes]]:
    """(type, body) of each block; both copies of each block's length must agree."""
    at, blocks = 0, []
    while at < len(data):
        kind, length = struct.unpack_from("<II", data, at)
        assert length % 4 == 0 and at + length <= len(data), "a block cut short"
        assert struct.unpack_from("<I", data, at + length - 4)[0] == length, "the two lengths disagree"
        blocks.append((kind, data[at + 8 : at + length - 4]))
        at += length
    return blocks


# -- writing --------------------------------------------------------------------------------------


def test_a_pcap_file_is_read_back_by_scapy_with_its_times_and_lengths(tmp_path):
    frames = [(1700000000.25, echo(1), 98), (1700000000.5, who_has(), 42), (1700000001.75, echo(2)[:40], 98)]
    out = tmp_path / "ping.pcap"
    with out.open("wb") as file:
        assert write_pcap(file, frames, snaplen=4096) == 3
    assert out.read_bytes()[:8] == bytes.fromhex("d4c3b2a1 0200 0400")  # little-endian, version 2.4
    with RawPcapReader(str(out)) as reader:
        assert (reader.linktype, reader.snaplen) == (1, 4096)
        records = [(meta.sec, meta.usec, meta.caplen, meta.wirelen, data) for data, meta in reader]
    assert records == [
        (1700000000, 250000, 98, 98, echo(1)),
        (1700000000, 500000, 42, 42, who_has()),
        (1700000001, 750000, 40, 98, echo(2)[:40]),  # cut: 40 bytes kept of 98 on the wire
    ]


@pytest.mark.skipif(not TCPDUMP, reason="tcpdump is not installed")
def test_tcpdump_reads_the_pcap_file_frame_for_frame(tmp_path):
    out = tmp_path / "ping.pcap"
    with out.open("wb") as file:
        write_pcap(file, [(1700000000.25, echo(1), 98), (1700000000.5, who_has(), 42)])
    assert tcpdump_lines(out) == [
        "1700000000.250000 IP 10.0.0.1 > 10.0.0.2: ICMP echo request, id 7, seq 1, length 64",
        "1700000000.500000 ARP, Request who-has 10.0.0.2 tell 10.0.0.1, length 28",
    ]


def test_a_pcapng_file_names_each_interface_and_marks_each_frame_in_or_out(tmp_path):
    frames = [
        (1700000000.25, echo(1), 98, 0, True),
        (1700000000.5, odd(), 47, 1, False),
        (1700000001.0, echo(2)[:41], 98, 1, True),
    ]
    out = tmp_path / "two.pcapng"
    with out.open("wb") as file:
        assert write_pcapng(file, frames, ["veth0", "netns1:veth1"], snaplen=2048) == 3
    kinds = [kind for kind, _body in pcapng_blocks(out.read_bytes())]
    assert kinds == [0x0A0D0D0A, 1, 1, 6, 6, 6]  # section, two interfaces, three enhanced packet blocks
    reader = RawPcapNgReader(str(out))
    try:
        read: list[tuple[bytes, Any]] = list(reader)  # (frame, PacketMetadataNg)
        interfaces = reader.interfaces
    finally:
        reader.close()
    records = [(data, meta.ifname, meta.direction, meta.wirelen, meta.tshigh << 32 | meta.tslow) for data, meta in read]
    assert [(link, snaplen, options["name"], options["tsresol"]) for link, snaplen, options in interfaces] == [
        (1, 2048, b"veth0", 1_000_000),  # time stamps in microseconds
        (1, 2048, b"netns1:veth1", 1_000_000),
    ]
    assert (
        records
        == [
            (echo(1), b"veth0", 2, 98, 1700000000_250000),  # direction 2: out, 1: in
            (odd(), b"netns1:veth1", 1, 47, 1700000000_500000),
            (echo(2)[:41], b"netns1:veth1", 2, 98, 1700000001_000000),
        ]
    )
    if TCPDUMP:
        lines = tcpdump_lines(out)
        assert len(lines) == 3 and lines[0].startswith("1700000000.250000 IP 10.0.0.1 > 10.0.0.2: ICMP echo request")


@pytest.mark.parametrize("name", ["empty.pcap", "empty.pcapng"])
def test_a_capture_with_no_frame_yet_is_already_a_valid_file_on_the_disk(tmp_path, name):
    out = tmp_path / name
    writer = PcapWriter.open(out, interfaces=["veth0"], snaplen=262144)
    try:
        on_disk = out.read_bytes()  # before close: the header is flushed at once
        assert on_disk[:4] == (bytes.fromhex("0a0d0d0a") if name.endswith("ng") else bytes.fromhex("d4c3b2a1"))
        reader_class = RawPcapNgReader if name.endswith("ng") else RawPcapReader
        with reader_class(str(out)) as reader:
            assert list(reader) == []
        if TCPDUMP:
            assert tcpdump_lines(out) == []
    finally:
        writer.close()
    assert out.read_bytes() == on_disk


def test_flush_puts_every_whole_record_on_the_disk_for_another_reader(tmp_path):
    out = tmp_path / "live.pcap"
    writer = PcapWriter.open(out, interfaces=[""], snaplen=262144)
    try:
        writer.write(1.0, echo(1), 98)
        writer.write(2.0, echo(2), 98)
        writer.flush()
        with RawPcapReader(str(out)) as reader:  # the file is still open for writing
            assert [data for data, _meta in reader] == [echo(1), echo(2)]
        assert writer.count == 2
    finally:
        writer.close()


@pytest.mark.parametrize("ng", [False, True], ids=["pcap", "pcapng"])
def test_a_file_cut_after_any_record_is_still_a_valid_capture(tmp_path, ng):
    frames = [(1.0 + n, frame, len(frame)) for n, frame in enumerate([echo(1), odd(), who_has()])]
    out = io.BytesIO()
    writer = PcapWriter(out, interfaces=["veth0"], ng=ng)
    ends = [len(out.getvalue())]
    for when, frame, wire in frames:
        writer.write(when, frame, wire)
        ends.append(len(out.getvalue()))
    for kept, end in enumerate(ends):
        cut = tmp_path / f"cut-{kept}.pcap"
        cut.write_bytes(out.getvalue()[:end])
        reader_class = RawPcapNgReader if ng else RawPcapReader
        with reader_class(str(cut)) as reader:
            assert [data for data, _meta in reader] == [frame for _when, frame, _wire in frames[:kept]]


@pytest.mark.parametrize("ng", [False, True], ids=["pcap", "pcapng"])
def test_a_batch_is_written_as_the_same_records_as_frame_by_frame(ng):
    batch = [
        (1700000000.5, echo(1), True, 98),
        (1700000000.75, odd(), False, 47),
        (1700000001.0, echo(2)[:50], True, 98),
    ]
    one_by_one, at_once = io.BytesIO(), io.BytesIO()
    writer = PcapWriter(one_by_one, interfaces=["a", "b"], ng=ng)
    for when, frame, outgoing, wire in batch:
        writer.write(when, frame, wire, 1, outgoing)
    batched = PcapWriter(at_once, interfaces=["a", "b"], ng=ng)
    batched.write_batch(batch, interface=1)
    assert at_once.getvalue() == one_by_one.getvalue()
    assert batched.count == writer.count == 3


def _run(frames: list[tuple[int, int, bytes, int, bool]]) -> Run:
    """A run as the ring hands it over: the frames as rows padded to the longest with noise."""
    width = max(len(frame) for _sec, _nsec, frame, _wire, _out in frames)
    rows = np.full((len(frames), width), 0xEE, np.uint8)
    for i, (_sec, _nsec, frame, _wire, _out) in enumerate(frames):
        rows[i, : len(frame)] = np.frombuffer(frame, np.uint8)

    def column(values: list, kind: type) -> np.ndarray:
        return np.array(values, kind)

    return Run(
        rows=rows,
        snap=column([len(f[2]) for f in frames], np.uint32),
        wire=column([f[3] for f in frames], np.uint32),
        sec=column([f[0] for f in frames], np.uint32),
        nsec=column([f[1] for f in frames], np.uint32),
        outgoing=column([f[4] for f in frames], np.bool_),
    )


@pytest.mark.parametrize("ng", [False, True], ids=["pcap", "pcapng"])
def test_a_run_of_frames_is_written_as_the_same_records_as_frame_by_frame(tmp_path, ng):
    frames = [
        (1700000000, 250_000_000, echo(1), 98, True),
        (1700000000, 500_001_000, odd(), 47, False),
        (1700000001, 999_999_000, echo(2)[:45], 98, True),
        (1700000002, 0, who_has(), 42, False),
    ]
    one_by_one, as_run = io.BytesIO(), io.BytesIO()
    writer = PcapWriter(one_by_one, interfaces=["a", "b"], ng=ng)
    for sec, nsec, frame, wire, outgoing in frames:
        writer.write(sec + nsec / 1e9, frame, wire, 1, outgoing)
    bulk = PcapWriter(as_run, interfaces=["a", "b"], ng=ng)
    bulk.write_run(_run(frames), interface=1)
    assert as_run.getvalue() == one_by_one.getvalue()
    assert bulk.count == 4
    written = tmp_path / "run.pcap"
    written.write_bytes(as_run.getvalue())
    reader_class = RawPcapNgReader if ng else RawPcapReader
    with reader_class(str(written)) as reader:
        assert [(data, meta.wirelen) for data, meta in reader] == [(f[2], f[3]) for f in frames]


@pytest.mark.parametrize("method", ["write", "write_batch"])
@pytest.mark.parametrize("nsec", [0, 999, 123_456_789, 100_000_007, 999_999_999, 500_000_500])
def test_a_frame_has_one_time_in_the_file_however_it_is_written(method, nsec):
    """Cut to the microsecond as libpcap cuts it (``nsec // 1000``): by a run's columns or by its stamps."""
    sec = 1700000000
    as_run, one = io.BytesIO(), io.BytesIO()
    run = _run([(sec, nsec, echo(1), 98, False)])
    PcapWriter(as_run).write_run(run)
    assert struct.unpack_from("<II", as_run.getvalue(), 24) == (sec, nsec // 1000)
    stamp = float(run.stamps()[0])  # what a Packet holds, and what a batch carries
    writer = PcapWriter(one)
    if method == "write":
        writer.write(stamp, echo(1), 98)
    else:
        writer.write_batch([(stamp, echo(1), False, 98)])
    assert one.getvalue() == as_run.getvalue()


# -- where a file may go --------------------------------------------------------------------------


def test_a_new_file_in_a_folder_or_a_file_to_overwrite_is_a_good_target_and_nothing_is_created(tmp_path):
    assert check_target(tmp_path / "new.pcap") == tmp_path / "new.pcap"
    assert not (tmp_path / "new.pcap").exists()
    old = tmp_path / "old.pcapng"
    old.write_bytes(b"before")
    assert check_target(str(old)) == old
    assert old.read_bytes() == b"before"


def _refused(path: Path | str) -> PcapFileError:
    with pytest.raises(PcapFileError) as caught:
        check_target(path)
    return caught.value


@pytest.mark.parametrize(
    ("where", "why", "code"),
    [
        ("{tmp}/missing/x.pcap", "the folder {tmp}/missing does not exist", errno.ENOENT),
        ("{tmp}", "it is a folder", errno.EISDIR),
        ("/dev/null", "it is a device or a pipe, not a file", errno.EINVAL),
        ("{tmp}/fifo", "it is a device or a pipe, not a file", errno.EINVAL),
    ],
    ids=["no-folder", "a-folder", "a-device", "a-pipe"],
)
def test_a_place_no_capture_can_be_written_is_refused_in_one_line_with_a_hint(tmp_path, where, why, code):
    os.mkfifo(tmp_path / "fifo")
    before = sorted(tmp_path.rglob("*"))
    where, why = where.format(tmp=tmp_path), why.format(tmp=tmp_path)
    error = _refused(where)
    assert isinstance(error, NetlabError) and isinstance(error, OSError)
    assert error.message == f"cannot write the capture to {where}: {why}"
    assert error.hint and "\n" not in error.hint and error.errno == code and error.subject == where
    assert str(error).splitlines() == [error.message, f"  hint: {error.hint}"]
    assert sorted(tmp_path.rglob("*")) == before  # not even the missing folder was made


def _as_nobody(path: Path | str) -> tuple[str, str, str, int | None]:
    """check_target(path) as a user with no privileges: (error class, message, hint, errno), or ("", path, ...)."""
    str(_refused(Path.cwd()))  # the messages' words are loaded (a forked nobody may not read the library)
    reason(errno.EACCES)

    def check() -> tuple[str, str, str, int | None]:
        try:
            return ("", str(check_target(path)), "", None)
        except Exception as error:
            return (
                type(error).__name__,
                getattr(error, "message", str(error)),
                getattr(error, "hint", ""),
                getattr(error, "errno", None),
            )

    if os.geteuid() != 0:
        return check()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop root for good, check, report, leave
        try:
            os.close(read_end)
            os.setgroups([])
            os.setresgid(NOBODY, NOBODY, NOBODY)
            os.setresuid(NOBODY, NOBODY, NOBODY)
            os.write(write_end, pickle.dumps(check()))
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as answer:
        data = answer.read()
    os.waitpid(pid, 0)
    return pickle.loads(data)


def test_a_folder_the_user_may_not_write_in_is_refused_before_anything_is_written():
    target = Path("/netlab-unit-test-never-written.pcap")
    assert not target.exists()
    kind, message, hint, code = _as_nobody(target)
    assert (kind, code) == ("PcapFileError", errno.EACCES)
    assert message == f"cannot write the capture to {target}: Permission denied"
    assert hint == "write it in an existing folder you may write to, e.g. /tmp/netlab-unit-test-never-written.pcap"
    assert not target.exists()


def test_a_file_inside_a_folder_the_user_may_not_enter_is_refused_with_a_hint(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o000)
    try:
        kind, message, hint, code = _as_nobody(locked / "x.pcap")
    finally:
        locked.chmod(0o700)
    assert (kind, code) == ("PcapFileError", errno.EACCES), message
    assert hint
