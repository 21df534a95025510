"""The check "capture the reply that proves NAT happened" (netlab/teach/packet_checks.py), on scapy's frames."""

from __future__ import annotations

import pytest
from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import Ether

from netlab.capture import Capture, Point
from netlab.capture.records import Packet
from netlab.teach.packet_checks import nat_reply_captured

# Every MAC and address is given: scapy would otherwise look them up on this machine's network.
C1_MAC, BR0_MAC, UPLINK_MAC, INTERNET_MAC = (
    "02:00:00:00:00:01",
    "02:00:00:00:00:02",
    "02:00:00:00:00:03",
    "02:00:00:00:00:04",
)
INSIDE, OUTSIDE, SERVER = "10.0.0.2", "203.0.113.2", "203.0.113.1"
POINTS = {"c1:eth0": Point("eth0", "c1"), "uplink": Point("uplink"), "internet:eth0": Point("eth0", "internet")}


def echo(kind: str, src: str, dst: str, *, ip_id: int = 4321, seq: int = 1, macs: tuple[str, str]) -> bytes:
    """An ICMP echo request or reply as scapy builds it; NAT changes the addresses, never the IP id or payload."""
    icmp = ICMP(type=8 if kind == "request" else 0, id=7, seq=seq)
    return bytes(Ether(src=macs[0], dst=macs[1]) / IP(src=src, dst=dst, id=ip_id) / icmp / (b"x" * 56))


def seen(point: str, frame: bytes, at: float, *, outgoing: bool) -> Packet:
    return Packet(point, 1e9 + at, at, frame, outgoing, len(frame))


def captured(*packets: Packet, points: tuple[str, ...] = ("c1:eth0", "uplink")) -> Capture:
    """A capture at ``points`` (never started: no socket is opened) holding ``packets``."""
    capture = Capture([POINTS[p] for p in points])
    for packet in packets:
        capture.window.add(packet)
    return capture


def request_inside(at: float = 0.0) -> Packet:
    return seen("c1:eth0", echo("request", INSIDE, SERVER, ip_id=1111, macs=(C1_MAC, BR0_MAC)), at, outgoing=True)


def request_outside(at: float = 0.001) -> Packet:
    return seen(
        "uplink", echo("request", OUTSIDE, SERVER, ip_id=1111, macs=(UPLINK_MAC, INTERNET_MAC)), at, outgoing=True
    )


def reply_outside(at: float = 0.010, point: str = "uplink", **frame) -> Packet:
    return seen(point, echo("reply", SERVER, OUTSIDE, macs=(INTERNET_MAC, UPLINK_MAC), **frame), at, outgoing=False)


def reply_inside(at: float = 0.011, **frame) -> Packet:
    return seen("c1:eth0", echo("reply", SERVER, INSIDE, macs=(BR0_MAC, C1_MAC), **frame), at, outgoing=False)


def check(capture: Capture | None):
    return nat_reply_captured(capture, inside=INSIDE, outside=OUTSIDE)


def test_the_reply_seen_outside_and_again_inside_after_nat_passes(english):
    verdict = check(captured(request_inside(), request_outside(), reply_outside(), reply_inside()))
    assert verdict and verdict.hint == ""
    assert str(verdict) == "\n".join(
        [
            "✔ done: capture the reply that proves NAT happened",
            "  ✔ the capture holds 4 packets",
            "  ✔ a reply to 203.0.113.2 was captured at uplink",
            "  ✔ the same reply was captured again at c1:eth0, now addressed to 10.0.0.2",
        ]
    )


def test_every_point_where_the_reply_was_seen_outside_is_named_once_in_order(english):
    points = ("c1:eth0", "uplink", "internet:eth0")
    outside_twice = [reply_outside(0.010, "internet:eth0"), reply_outside(0.011, "uplink")]
    verdict = check(captured(*outside_twice, reply_inside(0.012), points=points))
    assert verdict
    assert verdict.steps[1] == ("a reply to 203.0.113.2 was captured at internet:eth0, uplink", True)


@pytest.mark.parametrize(
    ("capture", "said"),
    [
        (None, "no capture yet"),
        ([reply_outside(), reply_inside()], "no capture yet"),  # packets, but not a capture
        (captured(), "the capture holds no packets"),
    ],
    ids=["none", "a-list", "empty"],
)
def test_without_packets_it_is_not_yet_done_and_says_how_to_start_a_capture(english, capture, said):
    verdict = check(capture)
    assert not verdict
    assert verdict.steps == [(said, False)]
    assert verdict.hint.startswith("start a capture, e.g. proof = capture(POINTS, proto='icmp')")


def test_a_capture_inside_only_hints_to_capture_outside_too(english):
    verdict = check(captured(request_inside(), reply_inside()))
    assert not verdict
    assert verdict.steps == [
        ("the capture holds 2 packets", True),
        ("no packet addressed to 203.0.113.2 was captured", False),
    ]
    assert "203.0.113.2" in verdict.hint and "uplink" in verdict.hint


def test_a_capture_outside_only_hints_to_capture_inside_as_well(english):
    verdict = check(captured(request_outside(), reply_outside()))
    assert not verdict
    assert verdict.steps[-1] == ("no reply was seen again addressed to 10.0.0.2", False)
    assert [ok for _text, ok in verdict.steps] == [True, True, False]
    assert "10.0.0.2" in verdict.hint and "br0" in verdict.hint


@pytest.mark.parametrize(
    "inside",
    [
        reply_inside(ip_id=9999),  # another IP id: another packet
        reply_inside(seq=2),  # another echo: another packet
        reply_inside(at=2.0),  # the same bytes, but seconds later: not the same crossing
    ],
    ids=["other-ip-id", "other-seq", "too-late"],
)
def test_a_reply_inside_that_is_not_the_same_packet_proves_nothing(english, inside):
    verdict = check(captured(reply_outside(), inside))
    assert not verdict
    assert verdict.steps[-1] == ("no reply was seen again addressed to 10.0.0.2", False)


@pytest.mark.parametrize(
    "capture",
    [None, captured(), captured(reply_inside()), captured(reply_outside())],
    ids=["none", "empty", "inside-only", "outside-only"],
)
@pytest.mark.parametrize("language", ["english", "chinese"])
def test_each_failure_is_one_line_with_a_one_line_hint(request, language, capture):
    request.getfixturevalue(language)
    verdict = check(capture)
    failed = [text for text, ok in verdict.steps if not ok]
    assert len(failed) == 1 and verdict.steps[-1] == (failed[0], False)  # it stops at the first thing missing
    assert "\n" not in failed[0]
    assert verdict.hint and "\n" not in verdict.hint
    assert str(verdict).splitlines()[-1].strip().startswith(("hint:", "提示："))


def test_the_verdict_is_in_chinese_for_a_chinese_reader(chinese):
    verdict = check(captured(reply_outside(), reply_inside()))
    assert str(verdict).splitlines() == [
        "✔ 完成：抓到证明发生了 NAT 的应答",
        "  ✔ 抓包里有 2 个数据包",
        "  ✔ 在 uplink 抓到了发往 203.0.113.2 的应答",
        "  ✔ 在 c1:eth0 又抓到了同一个应答，现在发往 10.0.0.2",
    ]
    missing = check(None)
    assert str(missing).splitlines()[:2] == ["✘ 尚未完成：抓到证明发生了 NAT 的应答", "  ✘ 还没有抓包"]
