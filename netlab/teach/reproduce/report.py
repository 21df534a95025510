"""The report of ``netlab reproduce``: which machine, which claims, what was seen, in Markdown or HTML.

Two formats, for two uses:

* **HTML** (the default): one self-contained file to open in a browser or hand around after a
  workshop. The topology diagrams are embedded as PNG (``data:`` URIs), so there is nothing
  else to copy, and each claim's transcript folds away under its row.
* **Markdown**: plain text for a terminal, a CI log or an issue. GitHub does not show images
  from ``data:`` URIs, so here the diagrams are the text trees of ``netlab show``.

Both start with the verdict counts, the machine (kernel and tool versions, read by
``versions.machine()``) and the facts that depend on those versions, stated for this machine;
then one row per claim, and its details: what was observed, why the verdict, the transcript.
This module renders a ``model.Report`` and imports nothing else of ``netlab reproduce``.
"""

from __future__ import annotations

import base64
import html as html_lib
import os
import re
import time
from pathlib import Path

from netlab.plumbing.i18n import N_, _, spoken
from netlab.teach.reproduce.results import Report, Result, Verdict

__all__ = ["html", "markdown", "write"]

ARTICLE = "从零开始创建一个容器之namespace 5.Network namespaces (2023-07-21)"
FORMATS = {".md": "md", ".markdown": "md", ".html": "html", ".htm": "html"}


# What the explanation of each passing verdict is called.
EXPLAINED = {
    Verdict.INACCURATE: N_("What really happens"),
    Verdict.VERSION: N_("Per version"),
    Verdict.UNCLEAR: N_("What the text can and cannot tell"),
}
VERDICT_WORDS = {
    Verdict.HOLDS: N_("the article is right"),
    Verdict.INACCURATE: N_("the article is wrong, and the report says what really happens"),
    Verdict.VERSION: N_("the article is right on some versions of its tools; the report says which"),
    Verdict.UNCLEAR: N_("the article's text does not show enough to decide; every reading was run"),
    Verdict.DIFFERS: N_("this machine did not behave as expected"),
    Verdict.ERROR: N_("the experiment could not run"),
}


def _label(name: str) -> str:
    """``name:``, the way the reader's language writes a label (Chinese: a full-width colon)."""
    return _("{label}:").format(label=name)


def _after(label: str) -> str:
    """The space after a label on a page: none after a full-width colon, which carries its own."""
    return "" if label.endswith("\uff1a") else " "


def _meaning(verdict: str, count: int, words: str) -> str:
    """One line of the verdicts' key: ``holds (14): the article is right``."""
    return _("{verdict} ({count}): {meaning}").format(verdict=verdict, count=count, meaning=words)


def _when(report: Report, summary: str, conclusion: str) -> str:
    """The summary line: ``19 claims: ... (2023-07-21 16:55:13 UTC, 2.2 s). Every claim holds ...``."""
    when = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(report.started))
    return _("{summary} ({when}, {seconds} s). {conclusion}").format(
        summary=summary, when=when, seconds=f"{report.seconds:.1f}", conclusion=conclusion
    )


def _conclusion(report: Report) -> str:
    if report.ok:
        return _("Every claim holds, or is explained: inaccurate, version-bound or unclear in a known way.")
    return _("Some claims did not hold on this machine: see the rows marked differs or error.")


# -- Markdown -------------------------------------------------------------------------------------


def _is_command(step: str) -> bool:
    """The article's commands are ASCII; its prose (quoted in the original) is Chinese."""
    return not any("\u4e00" <= ch <= "\u9fff" for ch in step)


def _md_code(text: str) -> str:
    """Inline code that survives backticks inside (A7's stray one): a longer fence, padded."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if "`" in (text[:1], text[-1:]) else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_step(step: str) -> str:
    return _md_code(step) if _is_command(step) else f"“{step}”"


def _md_header(report: Report) -> list[str]:
    return [
        "# " + _("netlab reproduce: the article's claims, on this machine"),
        "",
        _(
            "The article: *{article}*, its steps numbered A1-A16 as in netlab's design notes, plus the\n"
            "internet access it describes without commands (A10a-A10d). Every experiment ran for real, in a\n"
            'private sandbox: nothing reached this machine\'s own network; the "internet" is a namespace.'
        ).format(article=ARTICLE),
        "",
        _when(report, f"**{report.summary()}**", _conclusion(report) if report.ok else f"**{_conclusion(report)}**"),
        "",
        *(
            "- " + _meaning(f"**{verdict.words}**", report.count(verdict), _(words))
            for verdict, words in VERDICT_WORDS.items()
        ),
        "",
        "## " + _("Machine"),
        "",
        "| | |",
        "|---|---|",
        *(f"| {what} | {_md_cell(value)} |" for what, value in report.machine),
        "",
        *_md_facts(report),
    ]


def _md_facts(report: Report) -> list[str]:
    if not report.facts:
        return []
    return [
        "## " + _("Facts that depend on versions"),
        "",
        "| {} | {} | {} |".format(_("fact"), _("per version"), _("on this machine")),
        "|---|---|---|",
        *(f"| {_md_cell(f.topic)} | {_md_cell(f.rule)} | {_md_cell(f.here)} |" for f in report.facts),
        "",
    ]


def _md_table(report: Report) -> list[str]:
    lines = [
        "## " + _("Claims"),
        "",
        "| {} |".format(
            " | ".join((_("id"), _("article step"), _("the article says"), _("expected"), _("observed"), _("verdict")))
        ),
        "|---|---|---|---|---|---|",
    ]
    for result in report.results:
        claim = result.claim
        verdict = f"**{result.verdict.words}**"
        if result.explanation:
            verdict = _("{verdict}: {explanation}").format(verdict=verdict, explanation=_(result.explanation))
        lines.append(
            f"| {claim.id} | {_md_cell(_md_step(claim.step))} | {_md_cell(_(claim.says))} | "
            f"{_md_cell(_(claim.expected))} | {_md_cell(result.observed)} | {_md_cell(verdict)} |"
        )
    return lines + [""]


def _md_details(result: Result) -> list[str]:
    claim = result.claim
    says, expected, observed, note = _("The article says"), _("Expected"), _("Observed"), _("Note")
    lines = [
        f"### {claim.id} · {_md_step(claim.step)} · {result.verdict.words}",
        "",
        f"- **{_label(says)}** {_(claim.says)}",
        f"- **{_label(expected)}** {_(claim.expected)}",
        f"- **{_label(observed)}** {result.observed}",
    ]
    if result.explanation:
        lines.append(f"- **{_label(_(EXPLAINED[result.verdict]))}** {_(result.explanation)}")
    if result.note:
        lines.append(f"- **{_label(note)}** {result.note}")
    transcript = _("Transcript ({seconds} s)").format(seconds=f"{result.seconds:.2f}")
    lines += ["", _label(transcript), "", "```console", result.transcript, "```", ""]
    tree = _tree(result)
    if tree:
        lines += [
            "<details><summary>{}</summary>".format(_("What the kernel held (netlab show)")),
            "",
            "```",
            tree,
            "```",
            "",
            "</details>",
            "",
        ]
    return lines


def _tree(result: Result) -> str:
    if result.diagram is None:
        return ""
    try:
        from netlab.view.text import tree

        return tree(result.diagram, color=False)
    except Exception as exc:
        return _("(no tree: {error})").format(error=f"{type(exc).__name__}: {exc}")


def markdown(report: Report) -> str:
    """The whole report as Markdown (diagrams as text trees)."""
    lines = _md_header(report) + _md_table(report) + ["## " + _("Details"), ""]
    for result in report.results:
        lines += _md_details(result)
    return "\n".join(lines)


# -- HTML -----------------------------------------------------------------------------------------

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; width: 100%; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: .35em .5em; vertical-align: top; text-align: left; font-size: 14px; }
th { background: #f3f3f3; }
code, pre { font-family: ui-monospace, monospace; font-size: 13px; }
pre { background: #f7f7f7; padding: .6em; overflow-x: auto; }
.verdict { font-weight: bold; white-space: nowrap; padding: .1em .4em; border-radius: 4px; }
.holds { background: #d9f2d9; } .article-inaccurate { background: #fff1c9; }
.depends-on-version, .cannot-tell-from-the-text { background: #dde8f8; }
.differs, .error { background: #f8d0d0; }
.machine td:first-child { white-space: nowrap; font-weight: bold; }
img { max-width: 100%; border: 1px solid #ddd; margin: .5em 0; }
details { margin: .4em 0 1.2em; }
"""


def _e(text: str) -> str:
    return html_lib.escape(text, quote=True)


def _prose(text: str) -> str:
    """Escaped text whose `inline code` becomes <code> (as the Markdown report shows it)."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", _e(text))


def _html_step(step: str) -> str:
    return f"<code>{_e(step)}</code>" if _is_command(step) else f"“{_e(step)}”"


def _badge(result: Result) -> str:
    css = str(result.verdict).replace(" ", "-")
    return f'<span class="verdict {css}">{_e(result.verdict.words)}</span>'


def _png(result: Result) -> str:
    """The diagram as an <img> with the PNG inline, or a note on why there is none."""
    if result.diagram is None:
        return ""
    try:
        from netlab.view.draw import png_bytes

        note = _("article step {id}").format(id=result.claim.id)
        data = base64.b64encode(png_bytes(result.diagram, title_note=note)).decode()
    except Exception as exc:
        return "<p><em>{}</em></p>".format(_e(_("no diagram: {error}").format(error=f"{type(exc).__name__}: {exc}")))
    alt = _e(_("topology after {id}").format(id=result.claim.id))
    return f'<img alt="{alt}" src="data:image/png;base64,{data}">'


def _html_row(result: Result) -> str:
    claim = result.claim
    verdict = _badge(result)
    if result.explanation:
        verdict += f"<br>{_prose(_(result.explanation))}"
    return (
        f'<tr id="row-{_e(claim.id)}"><td><a href="#{_e(claim.id)}">{_e(claim.id)}</a></td>'
        f"<td>{_html_step(claim.step)}</td><td>{_prose(_(claim.says))}</td><td>{_prose(_(claim.expected))}</td>"
        f"<td>{_prose(result.observed)}</td><td>{verdict}</td></tr>"
    )


def _html_details(result: Result) -> str:
    claim = result.claim
    items = [
        (_("The article says"), _(claim.says)),
        (_("Expected"), _(claim.expected)),
        (_("Observed"), result.observed),
    ]
    if result.explanation:
        items.append((_(EXPLAINED[result.verdict]), _(result.explanation)))
    if result.note:
        items.append((_("Note"), result.note))
    tree = _tree(result)
    return "\n".join(
        [
            f'<h3 id="{_e(claim.id)}">{_e(claim.id)} · {_html_step(claim.step)} · {_badge(result)}</h3>',
            "<ul>"
            + "".join(f"<li><b>{_e(_label(k))}</b>{_after(_label(k))}{_prose(v)}</li>" for k, v in items)
            + "</ul>",
            _png(result),
            "<details><summary>{}</summary>".format(
                _e(_("Transcript ({seconds} s)").format(seconds=f"{result.seconds:.2f}"))
            )
            + f"<pre>{_e(result.transcript)}</pre></details>",
            "<details><summary>{}</summary>".format(_e(_("What the kernel held (netlab show)")))
            + f"<pre>{_e(tree)}</pre></details>"
            if tree
            else "",
        ]
    )


def html(report: Report) -> str:
    """The whole report as one self-contained HTML page (diagrams embedded as PNG)."""
    verdict = _e(_conclusion(report)) if report.ok else f"<b>{_e(_conclusion(report))}</b>"
    meanings = "".join(
        "<li>{}</li>".format(_meaning(f"<b>{_e(v.words)}</b>", report.count(v), _e(_(words))))
        for v, words in VERDICT_WORDS.items()
    )
    facts = "".join(
        f"<tr><td>{_prose(f.topic)}</td><td>{_prose(f.rule)}</td><td>{_prose(f.here)}</td></tr>" for f in report.facts
    )
    facts_table = (
        "<h2>{}</h2>\n<table><tr><th>{}</th><th>{}</th><th>{}</th></tr>".format(
            *(_e(_(w)) for w in ("Facts that depend on versions", "fact", "per version", "on this machine"))
        )
        + f"{facts}</table>"
        if facts
        else ""
    )
    machine_rows = "".join(f"<tr><td>{_e(what)}</td><td>{_e(value)}</td></tr>" for what, value in report.machine)
    rows = "\n".join(_html_row(result) for result in report.results)
    details = "\n".join(_html_details(result) for result in report.results)
    lang = spoken().replace("_", "-")
    title = _e(_("netlab reproduce: the article's claims, on this machine"))
    intro = _(
        "The article: <i>{article}</i>, its steps numbered A1-A16 as in netlab's design notes, plus the internet\n"
        "access it describes without commands (A10a-A10d). Every experiment ran for real, in a private sandbox: "
        "nothing\n"
        'reached this machine\'s own network; the "internet" is a namespace.'
    ).format(article=_e(ARTICLE))
    heads = "".join(
        f"<th>{_e(head)}</th>"
        for head in (_("id"), _("article step"), _("the article says"), _("expected"), _("observed"), _("verdict"))
    )
    machine, claims, in_detail = _e(_("Machine")), _e(_("Claims")), _e(_("Details"))
    return f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8">
<title>netlab reproduce: {_e(report.summary())}</title>
<style>{_STYLE}</style></head>
<body>
<h1>{title}</h1>
<p>{intro}</p>
<p>{_when(report, f"<b>{_e(report.summary())}</b>", verdict)}</p>
<ul>{meanings}</ul>
<h2>{machine}</h2>
<table class="machine">{machine_rows}</table>
{facts_table}
<h2>{claims}</h2>
<table>
<tr>{heads}</tr>
{rows}
</table>
<h2>{in_detail}</h2>
{details}
</body></html>
"""


# -- writing --------------------------------------------------------------------------------------


def write(report: Report, path: Path, *, format: str | None = None) -> Path:
    """Write ``report`` to ``path`` as ``format`` ("md" or "html"; default: from the suffix, else HTML)."""
    chosen = format or FORMATS.get(path.suffix.lower(), "html")
    if chosen not in ("md", "html"):
        raise ValueError(f"format must be 'md' or 'html', not {chosen!r}")
    text = markdown(report) if chosen == "md" else html(report)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return Path(os.path.abspath(path))
