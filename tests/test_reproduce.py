"""`netlab reproduce`: every claim of the article, run for real, and a report that says what holds."""

from __future__ import annotations

import io
import os
import platform
import re
import subprocess
import sys
import uuid
from pathlib import Path

from conftest import sh

from netlab import inode, netns
from netlab.plumbing.i18n import _
from netlab.teach import reproduce
from netlab.teach.reproduce import Claim, Observation, Scene, Verdict
from netlab.teach.reproduce.versions import detect, nsfs_lines_on_a_host

NETLAB = str(Path(sys.executable).with_name("netlab"))
ROWS = [f"A{n}" for n in range(1, 10)] + ["A10a", "A10b", "A10c", "A10d"] + [f"A{n}" for n in range(11, 17)]
# The rows that are not plain "holds": their verdict, and words the report must use to explain it.
EXPLAINED = {
    "A4": ("article inaccurate", "Physical NICs can move"),
    "A7": ("article inaccurate", "stray backtick"),
    "A9": ("cannot tell from the text", "exactly that prompt"),
    "A13": ("depends on version", "82c8b9fe"),
    "A15": ("article inaccurate", "one file with two names"),  # the slip of A13-A16, counted once
}
SUMMARY = (
    "19 claims: 14 hold, 3 article inaccurate, 1 depends on version, 1 cannot tell from the text, 0 differ, 0 errors"
)


def _table(markdown: str) -> dict[str, list[str]]:
    """The claims table of the Markdown report: id -> its cells."""
    rows = {}
    for line in markdown.splitlines():
        if re.match(r"^\| A\d", line):
            cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]
            rows[cells[0]] = cells
    return rows


def test_reproduce_proves_every_claim_and_reports_it(tmp_path):
    """The whole article, for real; a learner's own netns1 is left alone (the run moves to a fresh sandbox)."""
    md, page = tmp_path / "report.md", tmp_path / "report.html"
    netns.add("netns1")
    try:
        mine = inode("netns1")
        result = subprocess.run(
            [NETLAB, "reproduce", "--output", str(md), "-o", str(page)], capture_output=True, text=True, timeout=120
        )
        assert netns.list() == ["netns1"] and inode("netns1") == mine
    finally:
        netns.delete("netns1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "already uses netns1: running in a fresh sandbox" in result.stderr
    for number, row in enumerate(ROWS, 1):  # progress: one line per claim, as it runs
        assert re.search(rf"^\[\s*{number}/{len(ROWS)}\] {row} ", result.stderr, re.M), result.stderr
    assert SUMMARY in result.stdout

    text = md.read_text()
    table = _table(text)
    assert list(table) == ROWS
    for row, cells in table.items():
        verdict = cells[-1]
        if row in EXPLAINED:
            kind, words = EXPLAINED[row]
            assert verdict.startswith(f"**{kind}**: ") and words in verdict, (row, verdict)
        else:
            assert verdict == "**holds**", (row, verdict)
    # A13: the versions found here decide how often `mount` lists the pin on a host-like /run.
    lines = nsfs_lines_on_a_host(detect())
    assert lines in (1, 2) and f"{lines} time(s) on a host-like /run" in table["A13"][4], table["A13"][4]
    assert ("(< 7.0) predicts" if lines == 2 else "(7.0 or later) predicts") in table["A13"][4]
    # A9: both readings of the second ping ran, and the prompt is the same in both places.
    assert "looks the same in both places" in table["A9"][4]
    assert (
        "Read as the root: 10.1.1.2 replied" in table["A9"][4] and "Read as netns1: 10.1.1.2 replied" in table["A9"][4]
    )
    assert "taken literally, the first shell finds no ns1" in table["A15"][4]
    assert "## Facts that depend on versions" in text and "82c8b9fe" in text
    assert "net:[4026531840]" in text and "`` ip netns exec netns1 ifconfig veth1 10.1.1.1/24 up` ``" in text
    assert "the internet saw 203.0.113.2 (masqueraded)" in table["A10d"][4]
    machine = dict(re.findall(r"^\| (kernel|iproute2|util-linux|nftables|Python|pyroute2) \| (.+) \|$", text, re.M))
    assert platform.release() in machine["kernel"]
    assert machine["iproute2"] == sh("ip", "-V").stdout.strip()
    assert "util-linux" in machine["util-linux"] and "nftables" in machine["nftables"]
    assert machine["Python"] == platform.python_version() and re.match(r"\d+\.\d+", machine["pyroute2"])

    html = page.read_text()
    assert html.startswith("<!DOCTYPE html>") and platform.release() in html
    for row in ROWS:
        assert f'id="row-{row}"' in html
    assert html.count('src="data:image/png;base64,') >= 5  # the diagrams travel inside the page


def test_a_report_straight_in_tmp_is_there_afterwards_from_a_venv_in_tmp(venv_in_tmp):
    """Run as a learner with a clone in /tmp: not in a sandbox yet, so reproduce starts one; the report outlives it."""
    report = Path(f"/tmp/netlab-report-{uuid.uuid4().hex}.md")
    env = {key: value for key, value in os.environ.items() if key != "NETLAB_SANDBOX"}
    try:
        result = subprocess.run(
            [str(venv_in_tmp / "bin/python"), "-m", "netlab", "reproduce", "-o", str(report)],
            capture_output=True,
            text=True,
            timeout=120,
            cwd="/",
            env=env,
        )
        assert result.returncode == 0, result.stdout + result.stderr  # was 127: its Python hidden in the sandbox
        assert "not in a sandbox: running in a fresh sandbox" in result.stderr
        assert f"report: {report}" in result.stdout
        assert SUMMARY in report.read_text()  # written, and still there
    finally:
        report.unlink(missing_ok=True)


def _chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


# Report lines that are names and tools' own words, in any language: the machine table's rows.
_NAMES_ONLY = re.compile(r"^\| (iproute2|util-linux|nftables|iputils|net-tools|Python|pyroute2|netlab) \| ")


def test_a_chinese_reader_meets_no_english_prose(monkeypatch):
    """In zh_CN every sentence of the run is Chinese: what was observed, the notes, the explanations,
    the facts, the transcript's comments and every prose line of the report (commands, kernel output
    and names aside). A new English sentence, or one left out of the catalog, fails here."""
    from netlab.teach.reproduce.report import markdown

    monkeypatch.setenv("NETLAB_LANG", "zh_CN")
    progress = io.StringIO()
    report = reproduce.reproduce(progress=progress)
    assert [r.claim.id for r in report.results] == ROWS and report.ok, report.summary()
    assert all(_chinese(line) for line in progress.getvalue().splitlines()), progress.getvalue()
    for result in report.results:
        texts = {"observed": result.observed, "note": result.note, "explanation": result.explanation}
        for what, text in texts.items():
            assert not text or _chinese(_(text)), (result.claim.id, what, text)
        assert result.observed and result.note, result.claim.id
        comments = [line for line in result.transcript.splitlines() if line.startswith("# ")]
        assert all(_chinese(line) for line in comments), (result.claim.id, comments)
    for fact in report.facts:
        assert _chinese(fact.topic) and _chinese(fact.rule) and _chinese(fact.here), fact
    assert _chinese(report.summary())

    prose, fenced = [], False
    for line in markdown(report).splitlines():
        if line.startswith("```"):
            fenced = not fenced
            continue
        bare = re.sub(r"`+[^`]*`+", "", line)  # inline code: commands, names
        if (
            not fenced
            and re.search(r"[A-Za-z]{4,}", bare)
            and not line.startswith("</")
            and not _NAMES_ONLY.match(line)
        ):
            prose.append(line)
    english = [line for line in prose if not _chinese(line)]
    assert prose and not english, english
    # The English stays the default: the same run's words, read without the override, are English.
    monkeypatch.delenv("NETLAB_LANG")
    monkeypatch.setenv("LANGUAGE", "en")
    assert report.results[0].verdict.words == "holds"


def _lo_is_up(scene: Scene) -> Observation:
    """A wrong expectation: a new namespace's lo is DOWN, so this 'claim' cannot hold."""
    scene.do("ip", "netns", "add", "netns1")
    scene.undo(lambda: sh("ip", "netns", "delete", "netns1"))
    first = scene.look("ip", "-n", "netns1", "-br", "link").stdout.split()
    return Observation(f"lo is {first[1]}", ok=first[:2] == ["lo", "UNKNOWN"])


def _fails_half_way(scene: Scene) -> Observation:
    scene.do("ip", "netns", "add", "netns1")
    scene.undo(lambda: sh("ip", "netns", "delete", "netns1"))
    scene.do("ip", "link", "set", "no-such-device", "up")
    raise AssertionError("not reached")


WRONG = Claim("X1", "ip netns add netns1", "a new namespace's lo is up", "lo is UP", _lo_is_up)
BROKEN = Claim("X2", "ip link set no-such-device up", "it works", "it works", _fails_half_way)


def test_a_claim_that_does_not_hold_fails_the_run(tmp_path, capsys):
    progress = io.StringIO()
    status = reproduce.command([str(tmp_path / "r.md")], claims=[WRONG], progress=progress)
    assert status == 1
    assert "X1" in progress.getvalue() and "differs" in progress.getvalue() and "lo is DOWN" in progress.getvalue()
    cells = _table((tmp_path / "r.md").read_text().replace("| X1 |", "| A0 |"))["A0"]
    assert cells[-1] == "**differs**" and cells[-2] == "lo is DOWN"
    out = capsys.readouterr().out
    assert "1 claim: 0 hold, 0 article inaccurate, 0 depends on version, 0 cannot tell from the text, 1 differ" in out


def test_an_experiment_that_breaks_is_an_error_and_still_cleans_up():
    report = reproduce.reproduce([BROKEN, WRONG], progress=None)
    broken, wrong = report.results
    assert broken.verdict is Verdict.ERROR and "no-such-device" in broken.observed
    assert wrong.verdict is Verdict.DIFFERS  # netns1 was removed after the failure, so X1 could make it again
    assert report.exit_status == 1 and not report.ok
    assert "$ ip link set no-such-device up" in broken.transcript


def test_what_an_experiment_leaves_behind_is_an_error():
    def leaky(scene: Scene) -> Observation:
        scene.do("ip", "link", "add", "leak0", "type", "veth", "peer", "name", "leak1")
        return Observation("made a pair and forgot it", ok=True)

    try:
        result = reproduce.run_claim(Claim("X3", "ip link add leak0 ...", "-", "-", leaky))
    finally:
        sh("ip", "link", "delete", "leak0")
    assert result.verdict is Verdict.ERROR
    assert "left behind: link leak0, link leak1" in result.observed


def test_a_verdict_needs_the_truth_not_the_article():
    """Inaccurate, version-bound and unclear claims whose truth was observed pass; observed otherwise, they differ."""

    def seen(ok: bool):
        return lambda scene: Observation("as expected" if ok else "something else", ok=ok)

    claims = [
        Claim("X4", "-", "-", "-", seen(True), inaccuracy="what is true"),
        Claim("X5", "-", "-", "-", seen(True), versions="true on 1.x, not on 2.x"),
        Claim("X6", "-", "-", "-", seen(True), unclear="the text does not show where"),
    ]
    report = reproduce.reproduce(claims, progress=None)
    verdicts = [result.verdict for result in report.results]
    assert verdicts == [Verdict.INACCURATE, Verdict.VERSION, Verdict.UNCLEAR]
    assert [result.explanation for result in report.results] == [c.explanation for c in claims]
    assert report.results[0].what_really_happens == "what is true" and report.exit_status == 0
    assert report.facts and "82c8b9fe" in report.facts[0].rule

    wrong = reproduce.reproduce([Claim("X7", "-", "-", "-", seen(False), versions="true on 1.x")], progress=None)
    assert wrong.results[0].verdict is Verdict.DIFFERS and wrong.results[0].explanation == "" and wrong.exit_status == 1
