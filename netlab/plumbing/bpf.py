"""A capture filter the kernel runs: netlab's ``Filter`` compiled to classic BPF, as tcpdump does.

``tcpdump -d icmp`` prints the program tcpdump hands the kernel for the filter ``icmp``::

    (000) ldh  [12]                 the EtherType
    (001) jeq  #0x800  jt 2  jf 5   IPv4?
    (002) ldb  [23]                 the IP protocol
    (003) jeq  #0x1    jt 4  jf 5   ICMP?
    (004) ret  #262144              keep the frame
    (005) ret  #0                   drop it

``setsockopt(SO_ATTACH_FILTER)`` gives such a program to a packet socket: the kernel then runs it
on every frame and copies only those it keeps into the ring, so a busy interface costs the reader
nothing for the frames nobody asked for. ``compile_filter`` writes the program for a ``Filter``
(an OR of clauses, each an AND of terms), one path per clause and family (ARP, IPv4, IPv6):

    arp icmp icmp6 tcp udp ip ip6    the EtherType, then the IP protocol at 14+9 or 14+6
    host / src / dst ADDR            ARP sender (28) and target (38), IPv4 source (26) and
                                     destination (30), IPv6 source (22) and destination (38)
    port N                           TCP and UDP: after the IPv4 header (its length is in the
                                     low 4 bits of byte 14: ``ldx 4*([14]&0xf)``), or at 54, 56
                                     (62, 64 behind an 8-byte IPv6 hop-by-hop header)

It matches what ``Filter`` matches on untagged frames; a frame with an 802.1Q tag in its bytes is
let through for netlab to look at itself (``VLAN_TAGGED``).
"""

from __future__ import annotations

import ctypes
import ipaddress
import socket
import struct
from typing import Any

__all__ = ["VLAN_TAGGED", "attach", "compile_filter", "keep_all"]

SO_ATTACH_FILTER = 26
LD_W, LD_H, LD_B, LD_H_IND, LDX_MSH = 0x20, 0x28, 0x30, 0x48, 0xB1
JEQ, JA, RET = 0x15, 0x05, 0x06
KEEP = 262144  # bytes of the frame to keep: all (the ring's slot still limits)
VLAN_TAGGED = 0x8100
FAMILY = {"arp": 0x0806, "ip4": 0x0800, "ip6": 0x86DD}
PROTO = {"icmp": ("ip4", 1), "icmp6": ("ip6", 58), "tcp": (None, 6), "udp": (None, 17), "ip": ("ip4", None)}
PROTO["ip6"] = ("ip6", None)
PROTO["arp"] = ("arp", None)
ADDRESS_AT = {  # (family, which): byte offsets in the frame
    ("arp", "src"): 28,
    ("arp", "dst"): 38,
    ("ip4", "src"): 26,
    ("ip4", "dst"): 30,
    ("ip6", "src"): 22,
    ("ip6", "dst"): 38,
}

Atom = tuple[int, int, int]  # (load instruction, its offset, the value it must equal)
Term = list[list[Atom]]  # any of these alternatives, each all of its atoms


def _term(family: str, kind: str, value: Any) -> Term | None:
    """One term for frames of one family: the tests, or None when it cannot match that family."""
    if kind == "proto":
        wanted, number = PROTO[value]
        if wanted not in (None, family) or (number is not None and family == "arp"):
            return None
        if number is None:
            return [[]]
        if family == "ip4":
            return [[(LD_B, 23, number)]]
        return [[(LD_B, 20, number)], [(LD_B, 20, 0), (LD_B, 54, number)]]  # hop-by-hop options first
    if kind == "port":
        if family == "arp":
            return None
        if family == "ip4":
            return [[(LD_B, 23, p), (LD_H_IND, at, value)] for p in (6, 17) for at in (14, 16)]
        direct = [[(LD_B, 20, p), (LD_H, at, value)] for p in (6, 17) for at in (54, 56)]
        # behind an 8-byte hop-by-hop header (next header 0, its length byte 0), as MLD sends it
        return direct + [
            [(LD_B, 20, 0), (LD_B, 54, p), (LD_B, 55, 0), (LD_H, at, value)] for p in (6, 17) for at in (62, 64)
        ]
    address = ipaddress.ip_address(value)
    if (address.version == 6) != (family == "ip6"):
        return None
    sides = ("src", "dst") if kind == "host" else (kind,)
    words = struct.unpack(f"!{address.max_prefixlen // 32}I", address.packed)
    return [[(LD_W, ADDRESS_AT[family, side] + 4 * i, word) for i, word in enumerate(words)] for side in sides]


class _Program:
    """Instructions whose jumps name labels, resolved to the kernel's relative offsets at the end."""

    def __init__(self) -> None:
        self.code: list[tuple[int, Any, Any, Any]] = []
        self.labels: dict[str, int] = {}

    def add(self, op: int, k: int, yes: Any = 0, no: Any = 0) -> None:
        self.code.append((op, yes, no, k))

    def label(self, name: str) -> None:
        self.labels[name] = len(self.code)

    def test(self, atom: Atom, fail: str) -> None:
        """Load a field; go on if it equals the value, else jump to ``fail``."""
        load, offset, value = atom
        self.add(load, offset)
        self.add(JEQ, value, 0, fail)

    def jump(self, target: str) -> None:
        self.code.append((JA, 0, 0, target))  # ``ja`` jumps by its k

    def assemble(self) -> bytes:
        def distance(target: Any, at: int) -> int:
            return target if isinstance(target, int) else self.labels[target] - at - 1

        out = []
        for at, (op, yes, no, k) in enumerate(self.code):
            k = distance(k, at) if op == JA else k
            jt, jf = distance(yes, at), distance(no, at)
            if not (0 <= jt <= 255 and 0 <= jf <= 255):  # a conditional jump reaches 255 instructions at most
                raise OverflowError(f"instruction {at} jumps {max(jt, jf)} ahead")
            out.append(struct.pack("HBBI", op, jt, jf, k & 0xFFFFFFFF))
        return b"".join(out)


def _path(program: _Program, name: str, ethertype: int, terms: list[Term], fail: str, keep: int) -> None:
    """Frames of one family that pass every term: kept; any other frame goes on to ``fail``."""
    program.add(LD_H, 12)
    program.add(JEQ, ethertype, 0, fail)
    if ethertype == FAMILY["ip4"]:
        program.add(LDX_MSH, 14)  # X = the IPv4 header's length, for the ports after it
    for number, term in enumerate(terms):
        done = f"{name}t{number}"
        for alternative, atoms in enumerate(term):
            last = alternative + 1 == len(term)
            other = fail if last else f"{done}a{alternative + 1}"
            for atom in atoms:
                program.test(atom, other)
            program.jump(done)
            if not last:
                program.label(other)
        program.label(done)
    program.add(RET, keep)


def compile_filter(clauses: tuple[tuple[tuple[str, Any], ...], ...], *, keep: int = KEEP) -> bytes | None:
    """The BPF program (``struct sock_filter`` array) for ``Filter.clauses``; None: no program for the
    kernel, every frame comes up (no filter, or one too long for classic BPF: netlab filters it itself).
    ``keep``: the bytes of a frame the kernel copies (``ret #keep``, tcpdump's ``-s``)."""
    if any(not clause for clause in clauses):
        return None
    program = _Program()
    program.add(LD_H, 12)
    program.add(JEQ, VLAN_TAGGED, 0, 1)
    program.jump("keep")  # ``ja`` reaches any distance; a ``jeq`` only 255 instructions
    paths = 0
    for clause in clauses:
        for family, ethertype in FAMILY.items():
            terms = [_term(family, kind, value) for kind, value in clause]
            if all(t is not None for t in terms):
                _path(program, f"p{paths}", ethertype, terms, f"p{paths + 1}", keep)  # type: ignore[arg-type]
                program.label(f"p{paths + 1}")
                paths += 1
    program.add(RET, 0)
    program.label("keep")
    program.add(RET, keep)
    try:
        return program.assemble()
    except OverflowError:
        return None


def keep_all(keep: int = KEEP) -> bytes:
    """``ret #keep``: every frame, its first ``keep`` bytes (the whole filter of ``tcpdump -s N``)."""
    return struct.pack("HBBI", RET, 0, 0, keep)


def attach(sock: socket.socket, program: bytes) -> None:
    """Give the socket its filter (``SO_ATTACH_FILTER``): a ``struct sock_fprog`` pointing at it."""
    instructions = ctypes.create_string_buffer(program)
    fprog = struct.pack("HL", len(program) // 8, ctypes.addressof(instructions))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
