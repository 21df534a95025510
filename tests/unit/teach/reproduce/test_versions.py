"""`netlab reproduce` on other machines: versions read from what the tools print, and the verdicts they decide.

Pure code: the version strings are those that Debian 12 (iproute2 6.1, util-linux 2.38), Debian 13
and Debian unstable (iproute2 7.x, util-linux 2.41/2.42) print, so every rule is tested here, whatever
this machine runs. Reports are rendered from hand-built results.
"""

from __future__ import annotations

import pytest

from netlab.teach.reproduce.report import markdown
from netlab.teach.reproduce.results import Claim, Observation, Report, Result, Verdict
from netlab.teach.reproduce.versions import (
    Version,
    Versions,
    facts,
    ip_colours_by_default,
    lsns_lists_bind_mounted,
    netns_mount_is_private,
    nsfs_lines_on_a_host,
    parse_iproute2,
    parse_kernel,
    parse_util_linux,
)

IP_6_1 = "ip utility, iproute2-6.1.0, libbpf 1.1.2"
IP_7_0 = "ip utility, iproute2-7.0.0, libbpf 1.6.2"
IP_7_3 = "ip utility, iproute2-7.3.0, libbpf 1.6.2"


@pytest.mark.parametrize(
    ("printed", "numbers"),
    [
        (IP_6_1, (6, 1, 0)),
        (IP_7_0, (7, 0, 0)),
        (IP_7_3, (7, 3, 0)),
        ("ip utility, iproute2-6.15.0, libbpf 1.5.0", (6, 15, 0)),
        ("ip utility, iproute2-7.3.0", (7, 3, 0)),  # built without libbpf
        ("ip utility, iproute2-v7.1", (7, 1)),
        ("\nip utility, iproute2-5.10.0\n", (5, 10, 0)),
    ],
)
def test_iproute2_versions_are_read_from_ip_v(printed, numbers):
    assert parse_iproute2(printed).numbers == numbers


def test_odd_or_missing_version_lines_are_unknown_not_an_error():
    snapshot = parse_iproute2("ip utility, iproute2-ss200127")  # the dated scheme, before numbered releases
    assert snapshot == Version((), "ss200127") and not snapshot.at_least(5, 0)
    for printed in ("", "not installed", "?", "ip: command not found", "BusyBox v1.36.1 multi-call binary."):
        assert parse_iproute2(printed) is None
        assert parse_util_linux(printed) is None
    assert parse_kernel("") is None and parse_kernel("unknown") is None


@pytest.mark.parametrize(
    ("printed", "numbers"),
    [
        ("lsns from util-linux 2.38.1", (2, 38, 1)),
        ("lsns from util-linux 2.39-rc3", (2, 39)),
        ("lsns from util-linux 2.42.4", (2, 42, 4)),
        ("lsns from util-linux 2.41 (libmount 2.41.0: btrfs, verity)", (2, 41)),
    ],
)
def test_util_linux_versions_are_read_from_lsns_version(printed, numbers):
    assert parse_util_linux(printed).numbers == numbers


@pytest.mark.parametrize(
    ("printed", "numbers"),
    [
        ("6.1.0-18-amd64", (6, 1, 0)),
        ("6.12.48+deb13-amd64", (6, 12, 48)),
        ("6.18.44-fc-v657", (6, 18, 44)),
        ("7.0", (7, 0)),
    ],
)
def test_kernel_versions_are_read_from_uname_r(printed, numbers):
    assert parse_kernel(printed).numbers == numbers


@pytest.mark.parametrize(
    ("printed", "private", "lines"),
    [(IP_6_1, False, 2), (IP_7_0, True, 1), (IP_7_3, True, 1), ("iproute2-ss190107", False, 2), ("", None, None)],
)
def test_the_iproute2_version_decides_how_often_mount_lists_a_pin(printed, private, lines):
    """A13: before 7.0 /run/netns shares /run's peer group (two lines); from 7.0 (82c8b9fe) it does not (one)."""
    versions = Versions.parse(ip_v=printed)
    assert netns_mount_is_private(versions) is private
    assert nsfs_lines_on_a_host(versions) == lines


@pytest.mark.parametrize(
    ("printed", "listed"),
    [
        ("lsns from util-linux 2.38.1", False),
        ("lsns from util-linux 2.39", True),
        ("lsns from util-linux 2.42.4", True),
    ],
)
def test_the_util_linux_version_decides_what_lsns_lists(printed, listed):
    assert lsns_lists_bind_mounted(Versions.parse(lsns_version=printed)) is listed
    assert lsns_lists_bind_mounted(Versions()) is None


def test_ip_colour_is_a_build_choice_from_6_7_on():
    assert ip_colours_by_default(Versions.parse(ip_v=IP_6_1)) is False
    assert ip_colours_by_default(Versions.parse(ip_v="ip utility, iproute2-6.7.0")) is True
    assert ip_colours_by_default(Versions.parse(ip_v=IP_7_3)) is True


def test_facts_state_the_rule_for_every_version_and_what_holds_here():
    debian12 = facts(Versions.parse(ip_v=IP_6_1, lsns_version="lsns from util-linux 2.38.1", ifconfig=True))
    unstable = facts(Versions.parse(ip_v=IP_7_3, lsns_version="lsns from util-linux 2.42.4", ifconfig=False))
    unknown = facts(Versions())
    assert [f.topic for f in debian12] == [f.topic for f in unstable] == [f.topic for f in unknown]
    assert [f.rule for f in debian12] == [f.rule for f in unstable]  # the rule is the same everywhere
    mount, lsns, colour, ifconfig = (list(row) for row in zip(debian12, unstable, unknown, strict=True))
    assert "82c8b9fe" in mount[0].rule and "< 7.0" in mount[0].rule
    assert [f.here for f in mount] == ["iproute2 6.1.0: twice", "iproute2 7.3.0: once", mount[2].here]
    assert "version unknown" in mount[2].here and "the version decides" in mount[2].here
    assert lsns[0].here.endswith("only namespaces with a process in them")
    assert "bind-mounted" in lsns[1].here and "fd- or socket-held" in lsns[1].here
    assert "no colour unless asked" in colour[0].here and "may colour; NO_COLOR is honoured" in colour[1].here
    assert ifconfig[0].here == "installed" and ifconfig[1].here.startswith("not installed")


def _seen(ok: bool):
    return lambda scene: Observation("seen", ok=ok)


def test_the_kind_of_claim_decides_the_verdict_when_it_is_observed():
    kinds = {
        Verdict.HOLDS: {},
        Verdict.INACCURATE: {"inaccuracy": "what really happens"},
        Verdict.VERSION: {"versions": "holds on 1.x; on 2.x ..."},
        Verdict.UNCLEAR: {"unclear": "the text does not show where"},
    }
    for verdict, kind in kinds.items():
        claim = Claim("X", "-", "-", "-", _seen(True), **kind)
        assert claim.verdict_when_expected is verdict and not verdict.failed
        assert claim.explanation == next(iter(kind.values()), "")
    assert Verdict.DIFFERS.failed and Verdict.ERROR.failed
    with pytest.raises(ValueError, match="set one of"):
        Claim("X", "-", "-", "-", _seen(True), inaccuracy="a", versions="b")


def _report(*verdicts: Verdict) -> Report:
    claims = {
        Verdict.HOLDS: Claim("A1", "ip netns add netns1", "-", "-", _seen(True)),
        Verdict.INACCURATE: Claim("A4", "-", "-", "-", _seen(True), inaccuracy="Physical NICs can move"),
        Verdict.VERSION: Claim("A13", "mount", "-", "-", _seen(True), versions="Holds on iproute2 < 7.0"),
        Verdict.UNCLEAR: Claim("A9", "ping 10.1.1.2", "-", "-", _seen(True), unclear="the prompt is the same"),
        Verdict.DIFFERS: Claim("A3", "-", "-", "-", _seen(False)),
    }
    results = [Result(claims[v], v, f"observed for {claims[v].id}") for v in verdicts]
    return Report(results, facts=facts(Versions.parse(ip_v=IP_7_3)))


def test_the_summary_counts_every_kind_of_verdict():
    report = _report(Verdict.HOLDS, Verdict.HOLDS, Verdict.INACCURATE, Verdict.VERSION, Verdict.UNCLEAR)
    assert report.summary() == (
        "5 claims: 2 hold, 1 article inaccurate, 1 depends on version, 1 cannot tell from the text, 0 differ, 0 errors"
    )
    assert report.ok and report.exit_status == 0
    failed = _report(Verdict.VERSION, Verdict.DIFFERS)
    assert not failed.ok and failed.exit_status == 1


def test_the_markdown_report_explains_each_verdict_and_the_versions():
    text = markdown(_report(Verdict.HOLDS, Verdict.INACCURATE, Verdict.VERSION, Verdict.UNCLEAR, Verdict.DIFFERS))
    assert "| A13 | `mount` | - | - | observed for A13 | **depends on version**: Holds on iproute2 < 7.0 |" in text
    assert "**cannot tell from the text**: the prompt is the same |" in text
    assert "| **differs** |" in text and "**Some claims did not hold on this machine" in text
    assert "- **Per version:** Holds on iproute2 < 7.0" in text
    assert "- **What the text can and cannot tell:** the prompt is the same" in text
    assert "- **What really happens:** Physical NICs can move" in text
    assert "## Facts that depend on versions" in text and "| iproute2 7.3.0: once |" in text
