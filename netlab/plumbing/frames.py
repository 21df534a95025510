"""Reading a frame: Ethernet, then ARP or IP, then ICMP, TCP or UDP, header by header.

What an ``AF_PACKET`` socket hands you is the frame exactly as it crossed the interface, a row
of bytes. Each header says how long it is and what comes after it, so reading a frame is a walk::

    Ethernet   dst MAC (6) | src MAC (6) | EtherType (2)      0x0806 ARP, 0x0800 IPv4, 0x86dd IPv6
    ARP        ... | op (2) | sender MAC (6) | sender IP (4) | target MAC (6) | target IP (4)
    IPv4       version+length (1) | ... | protocol (1) at 9 | source (4) at 12 | destination (4) at 16
    IPv6       40 bytes | next header (1) at 6 | source (16) at 8 | destination (16) at 24
    ICMP       type (1) | code (1) | checksum (2) | id (2) | sequence (2)      8 request, 0 reply
    TCP, UDP   source port (2) | destination port (2) | ...

``dissect(frame)`` does that walk with ``struct`` and returns the fields a lesson needs, with a
one-line summary in tcpdump's words (``tcpdump -n``)::

    ARP, Request who-has 10.1.1.1 tell 10.1.1.2, length 28
    IP 10.1.1.2 > 10.1.1.1: ICMP echo request, id 7, seq 1, length 64

For every field of every layer, scapy (``scapy.layers.l2.Ether(frame)``) dissects the same bytes;
``Packet.scapy`` in ``netlab.capture`` does so when asked. This walk is kept small and quick
because a capture runs it on every frame, thousands per second.

A ``Filter`` keeps the frames whose fields match (``parse_filter("icmp and host 10.0.0.2")``):
tcpdump compiles its filter into a program the kernel runs on each frame; netlab's filters are
plain Python over the fields above, enough for a lesson.

Saving frames for Wireshark or ``tcpdump -r`` (``write_pcap``, ``write_pcapng``) is in
``netlab.plumbing.pcap``, one frame at a time; the two names are kept here too.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from netlab.errors import NetlabError
from netlab.plumbing.i18n import _
from netlab.plumbing.pcap import LINKTYPE_ETHERNET, Frame, write_pcap, write_pcapng

__all__ = [
    "Fields",
    "Frame",
    "LINKTYPE_ETHERNET",
    "Filter",
    "FilterError",
    "dissect",
    "keyword_filter",
    "mac_text",
    "parse_filter",
    "write_pcap",
    "write_pcapng",
]

ETH_P_ARP = 0x0806
ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
ETH_P_8021Q = 0x8100


class FilterError(NetlabError, ValueError):
    """A capture filter netlab cannot read."""


_ICMP = {0: "echo reply", 3: "unreachable", 5: "redirect", 8: "echo request", 11: "time exceeded"}
_ICMP6 = {
    1: "unreachable",
    3: "time exceeded",
    128: "echo request",
    129: "echo reply",
    133: "router solicitation",
    134: "router advertisement",
    135: "neighbor solicitation",
    136: "neighbor advertisement",
    143: "multicast listener report v2",
}
# in tcpdump's order: [S.] for SYN-ACK, [FP.] for a last segment, [.U] for urgent data
_TCP_FLAGS = ((0x01, "F"), (0x02, "S"), (0x04, "R"), (0x08, "P"), (0x10, "."), (0x20, "U"), (0x40, "E"), (0x80, "W"))


class Fields(NamedTuple):
    """What the walk found in one frame (None where a layer is absent)."""

    src_mac: str
    dst_mac: str
    protocol: str  # "ARP", "ICMP", "TCP", "UDP", "ICMPv6", "IPv4", "IPv6" or "0x88cc"
    src: str | None = None
    dst: str | None = None
    sport: int | None = None
    dport: int | None = None
    what: str = ""  # "who-has", "is-at", "echo request", "SYN", ...: the packet's role in a word or two
    summary: str = ""
    key: bytes = b""  # stays the same when NAT rewrites addresses and ports: finds one packet at two points


def _ip4(raw: bytes) -> str:
    return socket.inet_ntop(socket.AF_INET, raw)


def _ip6(raw: bytes) -> str:
    return socket.inet_ntop(socket.AF_INET6, raw)


def mac_text(raw: bytes) -> str:
    """``aa:bb:cc:dd:ee:ff`` from 6 bytes."""
    return raw.hex(":")


def dissect(frame: bytes) -> Fields:
    """Walk the headers of one Ethernet frame (see the module docstring)."""
    if len(frame) < 14:
        return Fields("", "", "short", summary=f"truncated frame, length {len(frame)}")
    dst_mac, src_mac = mac_text(frame[0:6]), mac_text(frame[6:12])
    (ethertype,) = struct.unpack_from("!H", frame, 12)
    offset = 14
    if ethertype == ETH_P_8021Q and len(frame) >= 18:  # a VLAN tag: 4 more bytes, then the real type
        (ethertype,) = struct.unpack_from("!H", frame, 16)
        offset = 18
    payload = frame[offset:]
    if ethertype == ETH_P_ARP:
        return _arp(payload, src_mac, dst_mac)
    if ethertype == ETH_P_IP:
        return _ipv4(payload, src_mac, dst_mac)
    if ethertype == ETH_P_IPV6:
        return _ipv6(payload, src_mac, dst_mac)
    return Fields(src_mac, dst_mac, f"0x{ethertype:04x}", summary=f"ethertype 0x{ethertype:04x}, length {len(frame)}")


def _arp(arp: bytes, src_mac: str, dst_mac: str) -> Fields:
    if len(arp) < 28:
        return Fields(src_mac, dst_mac, "ARP", summary=f"ARP, truncated, length {len(arp)}")
    op, sha, spa, _tha, tpa = struct.unpack_from("!6xH6s4s6s4s", arp)
    sender, target = _ip4(spa), _ip4(tpa)
    if op == 1:
        what, text = "who-has", f"ARP, Request who-has {target} tell {sender}, length 28"
    elif op == 2:
        what, text = "is-at", f"ARP, Reply {sender} is-at {mac_text(sha)}, length 28"
    else:
        what, text = f"op {op}", f"ARP, op {op} {sender} > {target}, length 28"
    return Fields(src_mac, dst_mac, "ARP", sender, target, what=what, summary=text, key=b"arp" + arp[:28])


def _ipv4(ip: bytes, src_mac: str, dst_mac: str) -> Fields:
    if len(ip) < 20:
        return Fields(src_mac, dst_mac, "IPv4", summary=f"IP truncated, length {len(ip)}")
    header = (ip[0] & 0x0F) * 4
    total, ident, proto = struct.unpack_from("!2xHH3xB", ip)
    src, dst = _ip4(ip[12:16]), _ip4(ip[16:20])
    body = ip[header:total] if total >= header else ip[header:]
    # NAT may rewrite addresses, ports, checksums and TTL; the IP id and the payload stay.
    key = b"4" + bytes([proto]) + ident.to_bytes(2, "big")
    return _transport("IP", proto, body, src, dst, src_mac, dst_mac, key)


def _ipv6(ip: bytes, src_mac: str, dst_mac: str) -> Fields:
    if len(ip) < 40:
        return Fields(src_mac, dst_mac, "IPv6", summary=f"IP6 truncated, length {len(ip)}")
    (length,) = struct.unpack_from("!H", ip, 4)
    proto = ip[6]
    src, dst = _ip6(ip[8:24]), _ip6(ip[24:40])
    body = ip[40 : 40 + length]
    if proto == 0 and len(body) >= 8:  # hop-by-hop options (MLD reports carry one): skip it
        proto, body = body[0], body[(body[1] + 1) * 8 :]
    return _transport("IP6", proto, body, src, dst, src_mac, dst_mac, b"6" + bytes([proto]))


def _transport(
    family: str, proto: int, body: bytes, src: str, dst: str, src_mac: str, dst_mac: str, key: bytes
) -> Fields:
    """The layer above IP: ICMP (1), ICMPv6 (58), TCP (6) or UDP (17)."""
    if proto in (1, 58) and len(body) >= 4:
        icmp_type, code = body[0], body[1]
        names = _ICMP if proto == 1 else _ICMP6
        what = names.get(icmp_type, f"type {icmp_type}")
        text = f"{family} {src} > {dst}: {'ICMP' if proto == 1 else 'ICMP6,'} {what}"
        if what.startswith("echo") and len(body) >= 8:
            ident, seq = struct.unpack_from("!HH", body, 4)
            text += f", id {ident}, seq {seq}"
            key += body[:1] + body[6:]  # type, sequence and payload: not the id, which NAT may remap
        elif icmp_type in (135, 136) and len(body) >= 24:
            text += f", {'who has' if icmp_type == 135 else 'tgt is'} {_ip6(body[8:24])}"
            key += body
        else:
            text += f" code {code}" if code else ""
            key += body
        protocol = "ICMP" if proto == 1 else "ICMPv6"
        return Fields(src_mac, dst_mac, protocol, src, dst, what=what, summary=f"{text}, length {len(body)}", key=key)
    if proto == 6 and len(body) >= 20:
        sport, dport, seq, ack, offset, flags = struct.unpack_from("!HHIIBB", body)
        data = len(body) - (offset >> 4) * 4
        marks = "".join(mark for bit, mark in _TCP_FLAGS if flags & bit)
        what = {"S": "SYN", "S.": "SYN-ACK", "F.": "FIN", "FP.": "FIN", "R": "RST", "R.": "RST"}.get(marks, "")
        what = what or ("data" if data > 0 else "ACK")
        text = f"{family} {src}.{sport} > {dst}.{dport}: Flags [{marks}], seq {seq}"
        text += f", ack {ack}" if flags & 0x10 else ""
        key += body[4:14] + body[(offset >> 4) * 4 :]
        return Fields(src_mac, dst_mac, "TCP", src, dst, sport, dport, what, f"{text}, length {max(data, 0)}", key)
    if proto == 17 and len(body) >= 8:
        sport, dport = struct.unpack_from("!HH", body)
        text = f"{family} {src}.{sport} > {dst}.{dport}: UDP, length {len(body) - 8}"
        return Fields(src_mac, dst_mac, "UDP", src, dst, sport, dport, "datagram", text, key + body[8:])
    name = "IPv4" if family == "IP" else "IPv6"
    return Fields(
        src_mac, dst_mac, name, src, dst, what=f"protocol {proto}", summary=f"{family} {src} > {dst}: ip-proto-{proto}"
    )


# -- filters: which frames to keep ----------------------------------------------------------

_PROTOCOLS = ("arp", "icmp", "icmp6", "tcp", "udp", "ip", "ip6")


@dataclass(frozen=True)
class Filter:
    """Which frames to keep: any of ``clauses`` matches when all its terms do (an OR of ANDs).

    It looks at the fields ``dissect`` found (a ``netlab.capture.Packet`` has the same ones).
    """

    clauses: tuple[tuple[tuple[str, Any], ...], ...] = ((),)
    text: str = ""

    def __call__(self, packet: Fields) -> bool:
        return any(all(_term(kind, value, packet) for kind, value in clause) for clause in self.clauses)


def _term(kind: str, value: Any, p: Fields) -> bool:
    if kind == "proto":
        if value in ("ip", "ip6"):
            v6 = p.src is not None and ":" in p.src
            return p.protocol != "ARP" and p.src is not None and v6 == (value == "ip6")
        return p.protocol.lower() == {"icmp6": "icmpv6"}.get(value, value)
    if kind == "port":
        return value in (p.sport, p.dport)
    addresses = {"host": (p.src, p.dst), "src": (p.src,), "dst": (p.dst,)}[kind]
    return value in addresses


def _address(word: str) -> str:
    try:
        return str(ipaddress.ip_address(word))
    except ValueError:
        raise FilterError(
            _("{word!r} is not an IP address").format(word=word), hint=_("e.g. host 10.0.0.2"), subject=word
        ) from None


def _port(word: object) -> int:
    if isinstance(word, str) and word.isascii() and word.isdigit():
        word = int(word)
    if isinstance(word, bool) or not isinstance(word, int) or not 0 <= word <= 65535:
        raise FilterError(
            _("{word!r} is not a port number").format(word=word), hint=_("a number from 0 to 65535"), subject=word
        )
    return word


def parse_filter(expression: str) -> Filter:
    """A tcpdump-like filter: terms joined by ``and``/``or`` (``and`` binds tighter).

    Terms: a protocol (``arp icmp icmp6 tcp udp ip ip6``), ``host ADDR``, ``src ADDR``,
    ``dst ADDR``, ``port N``. ``"icmp and host 10.0.0.2"``, ``"arp or icmp"``, ``"tcp port 80"``.
    Brackets may hold terms joined by ``and`` (``"arp or (icmp and host 10.0.0.2)"``, the words a
    capture echoes), not an ``or``.
    """
    spaced = expression.replace("&&", " and ").replace("||", " or ").replace("(", " ( ").replace(")", " ) ")
    words = spaced.split()
    clauses: list[list[tuple[str, Any]]] = [[]]
    bracket = False  # inside ( ... )
    i = 0
    while i < len(words):
        word = words[i].lower()
        if word == "(" and not bracket and (not clauses[-1] or words[i - 1].lower() == "and") and i + 1 < len(words):
            bracket, i = True, i + 1
            continue
        if word == ")" and bracket and clauses[-1] and words[i - 1] != "(":
            bracket, i = False, i + 1
            continue
        if word in ("and", "or") and clauses[-1] and i + 1 < len(words) and not (word == "or" and bracket):
            if word == "or":
                clauses.append([])
            i += 1
            continue
        if word in _PROTOCOLS:
            clauses[-1].append(("proto", word))
            i += 1
            continue
        if word in ("host", "src", "dst", "port") and i + 1 < len(words):
            if word in ("src", "dst") and words[i + 1].lower() == "host" and i + 2 < len(words):
                i += 1
            value = _port(words[i + 1]) if word == "port" else _address(words[i + 1])
            clauses[-1].append((word, value))
            i += 2
            continue
        raise FilterError(
            _("cannot read the filter {expression!r} at {word!r}").format(expression=expression, word=words[i]),
            hint=_("use arp, icmp, icmp6, tcp, udp, ip, ip6, host ADDR, src ADDR, dst ADDR, port N, joined by and/or"),
            subject=expression,
        )
    if bracket:
        raise FilterError(
            _("cannot read the filter {expression!r} at {word!r}").format(expression=expression, word="("),
            hint=_("use arp, icmp, icmp6, tcp, udp, ip, ip6, host ADDR, src ADDR, dst ADDR, port N, joined by and/or"),
            subject=expression,
        )
    return Filter(tuple(tuple(c) for c in clauses), _words(clauses))


def _words(clauses: Sequence[Sequence[tuple[str, Any]]]) -> str:
    """The filter as tcpdump reads the same: lower case, and brackets where ``and`` meets ``or``.

    tcpdump gives ``and`` and ``or`` one precedence (``arp or icmp and host X`` is ``(arp or icmp)
    and host X`` there), so each clause of more than one term is bracketed.
    """
    parts = [" and ".join(value if kind == "proto" else f"{kind} {value}" for kind, value in c) for c in clauses]
    if len(parts) > 1:
        parts = [f"({part})" if " and " in part else part for part in parts]
    return " or ".join(parts)


def keyword_filter(proto: str | Sequence[str] | None, host: str | None, port: int | None) -> Filter:
    protos = [proto] if isinstance(proto, str) else list(proto or [])
    for name in protos:
        if not isinstance(name, str) or name.lower() not in _PROTOCOLS:
            raise FilterError(
                _("unknown protocol {name!r}").format(name=name),
                hint=_("one of {names}").format(names=", ".join(_PROTOCOLS)),
                subject=name,
            )
    rest: list[tuple[str, Any]] = []
    if host is not None:
        rest.append(("host", _address(str(host))))
    if port is not None:
        rest.append(("port", _port(port)))
    clauses = [(("proto", name.lower()), *rest) for name in protos] or [tuple(rest)]
    words = " or ".join(name.lower() for name in protos)
    text = " and ".join(w for w in (f"({words})" if len(protos) > 1 else words, *(f"{k} {v}" for k, v in rest)) if w)
    return Filter(tuple(clauses), text)
