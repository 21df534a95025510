"""The one netlink receive loop and the error answer, fed hand-built messages through a socket pair.

A ``SOCK_SEQPACKET`` pair keeps message boundaries as a netlink socket does, so ``replies`` reads
them exactly as it reads the kernel's answers: several messages per ``recv``, answers to other
requests in between.
"""

from __future__ import annotations

import errno
import socket
import struct

from netlab.plumbing.netlink_socket import (
    NLM_F_ACK_TLVS,
    NLM_F_CAPPED,
    NLMSG_DONE,
    NLMSG_ERROR,
    NLMSG_HDR,
    kernel_error,
    replies,
)

RTM_NEWLINK = 16


def message(kind: int, sequence: int, body: bytes = b"", flags: int = 0) -> bytes:
    padded = body + b"\0" * (-len(body) % 4)
    return NLMSG_HDR.pack(NLMSG_HDR.size + len(body), kind, flags, sequence, 0) + padded


def error_body(code: int, words: bytes = b"") -> tuple[bytes, int]:
    """An NLMSG_ERROR body as a capped, extended ack sends it: -errno, our header, a message attribute."""
    body = struct.pack("=i", -code) + NLMSG_HDR.pack(16, RTM_NEWLINK, 0, 7, 0)
    flags = NLM_F_CAPPED
    if words:
        value = words + b"\0"
        body += struct.pack("=HH", 4 + len(value), 1) + value + b"\0" * (-len(value) % 4)
        flags |= NLM_F_ACK_TLVS
    return body, flags


def test_replies_yields_only_the_asked_sequences_across_reads():
    ours, kernel = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    with ours, kernel:
        kernel.send(message(RTM_NEWLINK, 3, b"old!") + message(RTM_NEWLINK, 5, b"a") + message(RTM_NEWLINK, 6, b"bb"))
        kernel.send(message(NLMSG_DONE, 6))
        seen = []
        for kind, _flags, sequence, data, start, end in replies(ours, 5, 6):
            seen.append((kind, sequence, data[start:end]))
            if kind == NLMSG_DONE:
                break
    assert seen == [(RTM_NEWLINK, 5, b"a"), (RTM_NEWLINK, 6, b"bb"), (NLMSG_DONE, 6, b"")]


def test_an_error_answer_says_the_kernels_words_and_an_ack_is_none():
    body, flags = error_body(errno.EEXIST, b"File exists: veth0")
    header = NLMSG_HDR.size
    frame = message(NLMSG_ERROR, 7, body, flags)
    error = kernel_error(frame, header, header + len(body), flags)
    assert isinstance(error, OSError) and error.errno == errno.EEXIST and error.strerror == "File exists: veth0"
    plain, plain_flags = error_body(errno.ENODEV)
    error = kernel_error(message(NLMSG_ERROR, 7, plain, plain_flags), header, header + len(plain), plain_flags)
    assert error is not None and error.errno == errno.ENODEV and error.strerror == "No such device"
    ack, ack_flags = error_body(0)
    assert kernel_error(message(NLMSG_ERROR, 7, ack, ack_flags), header, header + len(ack), ack_flags) is None
