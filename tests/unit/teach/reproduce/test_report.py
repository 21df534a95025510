"""The report of `netlab reproduce` in Markdown and HTML, rendered from hand-built results of the article's claims."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from netlab.plumbing.i18n import translation
from netlab.teach.reproduce.claims import CLAIMS
from netlab.teach.reproduce.report import html, markdown, write
from netlab.teach.reproduce.results import Claim, Observation, Report, Result, Verdict
from netlab.view.snapshot import Address, Interface, Namespace, Topology

IDS = [claim.id for claim in CLAIMS]
BY_ID = {claim.id: claim for claim in CLAIMS}


def _report(*, observed: dict[str, str] | None = None, verdicts: dict[str, Verdict] | None = None, **extra) -> Report:
    """Every claim as a run where each check saw what it expects, unless told otherwise."""
    observed, verdicts = observed or {}, verdicts or {}
    results = [
        Result(
            claim,
            verdicts.get(claim.id, claim.verdict_when_expected),
            observed.get(claim.id, f"observed for {claim.id}"),
            transcript=f"$ {claim.step}",
            seconds=0.5,
        )
        for claim in CLAIMS
    ]
    return Report(results, machine=[("kernel", "6.1.0-18-amd64")], started=0, seconds=2.19, **extra)


def _table(text: str) -> dict[str, list[str]]:
    """The Markdown claims table: id -> its cells (a ``\\|`` inside a cell is not a border)."""
    rows = {}
    for line in text.splitlines():
        if re.match(r"^\| (A\d|X)", line):
            cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]
            rows[cells[0]] = cells
    return rows


def _rendered(fragment: str) -> str:
    """What a browser shows of an HTML fragment: its text without the tags."""
    return re.sub(r"<[^>]+>", "", fragment)


def _seen(scene) -> Observation:
    return Observation("seen", ok=True)


def test_every_claim_appears_once_in_order_in_the_markdown(english):
    text = markdown(_report())
    assert re.findall(r"^\| (A\w+) \|", text, re.M) == IDS  # the table
    assert re.findall(r"^### (A\w+) · ", text, re.M) == IDS  # the details
    assert text.startswith("# netlab reproduce: the article's claims, on this machine\n")


def test_every_claim_appears_once_in_order_in_the_html_and_its_row_links_to_its_details(english):
    page = html(_report())
    assert page.startswith('<!DOCTYPE html>\n<html lang="en">')
    assert re.findall(r'<tr id="row-([^"]+)"><td><a href="#\1">\1</a>', page) == IDS
    assert re.findall(r'<h3 id="([^"]+)">', page) == IDS
    assert page.count("<details><summary>Transcript (0.50 s)</summary>") == len(IDS)


def test_each_row_says_its_verdict_and_the_key_counts_them(english):
    report = _report(verdicts={"A3": Verdict.DIFFERS, "A5": Verdict.ERROR})
    table = _table(markdown(report))
    for claim_id, cells in table.items():
        verdict = report.results[IDS.index(claim_id)].verdict
        assert cells[-1].startswith(f"**{verdict}**"), (claim_id, cells[-1])
    text, page = markdown(report), html(report)
    assert "- **holds** (12): the article is right" in text and "- **error** (1): the experiment could not run" in text
    assert "<li><b>differs</b> (1): this machine did not behave as expected</li>" in page
    row = re.search(r'<tr id="row-A4">.*</tr>', page).group()
    assert '<span class="verdict article-inaccurate">article inaccurate</span><br>Too strong.' in row
    assert '<span class="verdict differs">differs</span>' in re.search(r'<tr id="row-A3">.*</tr>', page).group()


def test_a_failed_run_is_told_in_bold_and_a_passing_one_is_not(english):
    failed = html(_report(verdicts={"A3": Verdict.DIFFERS}))
    assert "<b>Some claims did not hold on this machine: see the rows marked differs or error.</b>" in failed
    passed = _report()
    assert ", 2.2 s). Every claim holds, or is explained:" in html(passed)
    assert ", 2.2 s). Every claim holds, or is explained:" in markdown(passed)


def test_the_html_escapes_what_was_observed_printed_and_named(english):
    odd = Claim('X"1', "echo '<b>' && true", "<it> says", "a & b", _seen)
    result = Result(
        odd,
        Verdict.DIFFERS,
        "<script>alert('x')</script> & `<none>`",
        note="<i>not italic</i>",
        transcript="$ echo '<b>' && true\n<b>",
    )
    page = html(Report([result], machine=[("kernel", "6.1 <x> & y")]))
    assert "<script>" not in page and "<i>not italic</i>" not in page and "<it>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; <code>&lt;none&gt;</code>" in page
    assert "<li><b>Note:</b> &lt;i&gt;not italic&lt;/i&gt;</li>" in page
    assert "<pre>$ echo &#x27;&lt;b&gt;&#x27; &amp;&amp; true\n&lt;b&gt;</pre>" in page
    assert "<td>6.1 &lt;x&gt; &amp; y</td>" in page
    assert 'id="row-X&quot;1"' in page and "<code>echo &#x27;&lt;b&gt;&#x27; &amp;&amp; true</code>" in page


def test_a_markdown_table_row_stays_one_row_whatever_was_observed(english):
    text = markdown(_report(observed={"A3": "lo | DOWN\nno other device"}))
    table = _table(text)
    assert list(table) == IDS and all(len(cells) == 6 for cells in table.values())
    assert table["A3"][4] == "lo \\| DOWN no other device"
    assert "- **Observed:** lo | DOWN\nno other device" in text  # the details keep it as it was


def test_commands_are_code_and_the_articles_prose_is_quoted(english):
    text, page = markdown(_report()), html(_report())
    table = _table(text)
    assert table["A1"][1] == "`ip netns add netns1`"
    assert table["A7"][1] == "`` ip netns exec netns1 ifconfig veth1 10.1.1.1/24 up` ``"  # the stray backtick shows
    assert table["A4"][1] == f"“{BY_ID['A4'].step}”" and table["A10c"][1] == "“和相应的 nat”"
    assert "<td><code>ip netns exec netns1 ifconfig veth1 10.1.1.1/24 up`</code></td>" in page
    assert f"<td>“{BY_ID['A4'].step}”</td>" in page


def test_the_html_labels_each_explanation_by_its_kind_and_notes_only_what_was_noted(english):
    report = _report()
    report.results[0].note = "ifconfig was missing: ip addr instead"
    page = html(report)
    assert "<li><b>What really happens:</b> Too strong. Physical NICs can move" in page
    assert "<li><b>Per version:</b> Holds on iproute2 &lt; 7.0" in page
    assert "<li><b>What the text can and cannot tell:</b> The second ping runs at" in page
    assert page.count("<li><b>Note:</b>") == 1 and "<li><b>Note:</b> ifconfig was missing" in page


def test_the_report_speaks_chinese_in_a_chinese_session(chinese):
    chinese_of = translation("zh_CN").gettext
    report = _report(verdicts={"A3": Verdict.DIFFERS})
    text, page = markdown(report), html(report)
    assert text.startswith("# netlab reproduce：原文的论断，在这台机器上\n")
    assert "| 编号 | 原文步骤 | 原文说 | 预期 | 观察到 | 结论 |" in text
    table = _table(text)
    assert list(table) == IDS
    assert table["A1"] == [
        "A1",
        "`ip netns add netns1`",  # the article's command stays as it is
        chinese_of(BY_ID["A1"].says),
        chinese_of(BY_ID["A1"].expected),
        "observed for A1",
        "**成立**",
    ]
    assert table["A3"][-1] == "**不符**"
    assert table["A4"][-1] == f"**原文不准确**：{chinese_of(BY_ID['A4'].inaccuracy)}"
    assert "**19 条论断：13 条成立，3 条原文不准确，1 条取决于版本，1 条无法从原文判断，1 条不符，0 条出错**" in text
    assert page.startswith('<!DOCTYPE html>\n<html lang="zh-CN">')
    assert "<th>编号</th><th>原文步骤</th>" in page and '<span class="verdict differs">不符</span>' in page


def test_a_page_in_english_says_so_when_the_locale_has_no_catalog(english, monkeypatch):
    monkeypatch.setenv("LANG", "de_DE.UTF-8")  # a German machine: netlab has no German, so it speaks English
    page = html(_report())
    assert "<h1>netlab reproduce: the article&#x27;s claims, on this machine</h1>" in page
    assert page.startswith('<!DOCTYPE html>\n<html lang="en">')


def test_the_chinese_page_puts_no_space_between_a_verdict_and_its_count(chinese):
    page = html(_report())
    key = _rendered(re.search(r"<ul><li>.*?</ul>", page).group())
    assert "成立（14）：原文正确" in key
    summary = _rendered(re.search(r"<p><b>19 .*?</p>", page).group())
    assert "0 条出错（" in summary


def test_the_chinese_page_puts_no_space_after_a_labels_full_width_colon(chinese):
    page = html(_report())
    says = translation("zh_CN").gettext(BY_ID["A1"].says)
    assert f"<li><b>原文说：</b>{says}</li>" in page


def test_write_chooses_the_format_from_the_suffix_or_as_told(english, tmp_path, monkeypatch):
    report = _report()
    monkeypatch.chdir(tmp_path)
    for name, first in (("r.md", "# netlab reproduce"), ("r.HTM", "<!DOCTYPE html>"), ("r.txt", "<!DOCTYPE html>")):
        written = write(report, tmp_path / "out" / name)  # the folder is made
        assert written == tmp_path / "out" / name and written.read_text(encoding="utf-8").startswith(first)
    told = write(report, Path("relative.html"), format="md")
    assert told == tmp_path / "relative.html" and told.is_absolute()
    assert told.read_text(encoding="utf-8") == markdown(report)
    with pytest.raises(ValueError, match="format must be 'md' or 'html', not 'pdf'"):
        write(report, tmp_path / "r.pdf", format="pdf")
    assert not (tmp_path / "r.pdf").exists()


def _lo() -> Interface:
    return Interface(
        name="lo",
        index=1,
        kind="loopback",
        state="UNKNOWN",
        up=True,
        carrier=True,
        mac="00:00:00:00:00:00",
        mtu=65536,
        addresses=(Address("127.0.0.1/8"),),
    )


def test_a_diagram_is_a_text_tree_in_markdown_and_an_embedded_png_in_html(english):
    netns1 = Namespace(inode=4026532302, title="netns1", names=("netns1",), interfaces=(_lo(),))
    topology = Topology((Namespace(inode=4026531840, title="root", root=True, interfaces=(_lo(),)), netns1), taken_at=0)
    report = Report([Result(BY_ID["A1"], Verdict.HOLDS, "pinned", diagram=topology)])
    text = markdown(report)
    assert "<details><summary>What the kernel held (netlab show)</summary>" in text
    assert "netns1 · net:[4026532302]" in text
    page = html(report)
    assert page.count('<img alt="topology after A1" src="data:image/png;base64,iVBORw0KGgo') == 1  # a PNG
    assert "netns1 · net:[4026532302]" in page  # the tree too, folded away


def test_a_diagram_that_cannot_be_drawn_leaves_a_note_in_a_whole_report(english):
    report = Report([Result(BY_ID["A1"], Verdict.HOLDS, "pinned", diagram="not a topology")])  # type: ignore[arg-type]
    assert "(no tree: AttributeError: " in markdown(report)
    page = html(report)
    assert "<p><em>no diagram: AttributeError: " in page and page.rstrip().endswith("</body></html>")
