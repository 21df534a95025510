"""The report of ``netlab reproduce``: which machine, which claims, what was seen, in Markdown or HTML.

Two formats, for two uses:

* **HTML** (the default): one self-contained file to open in a browser or hand around after a
  workshop. The topology diagrams are embedded as PNG (``data:`` URIs), so there is nothing
  else to copy, and each claim's transcript folds away under its row.
* **Markdown**: plain text for a terminal, a CI log or an issue. GitHub does not show images
  from ``data:`` URIs, so here the diagrams are the text trees of ``netlab show``.

``machine()`` says what the claims were observed on: the kernel, and the versions of the tools
that did the work (iproute2, util-linux, nftables, iputils, net-tools, Python, pyroute2), and
whether the sandbox ran as root or through a user namespace.
"""

from __future__ import annotations

import base64
import html as html_lib
import importlib.metadata
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from netlab.teach.reproduce import Report, Result

__all__ = ["html", "machine", "markdown", "write"]

ARTICLE = "从零开始创建一个容器之namespace 5.Network namespaces (2023-07-21)"
FORMATS = {".md": "md", ".markdown": "md", ".html": "html", ".htm": "html"}


# -- the machine ----------------------------------------------------------------------------------


def _first_line(argv: Sequence[str]) -> str:
    """The first line a ``--version`` style command prints (some print it on stderr)."""
    try:
        proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=10)
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return "not installed"
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    return lines[0].strip() if lines else "?"


def _package(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _where() -> str:
    from netlab.sandbox import in_sandbox

    try:
        uid_map = Path("/proc/self/uid_map").read_text().split()
    except OSError:
        uid_map = []
    rootless = uid_map[:3] != ["0", "0", "4294967295"]
    place = "netlab sandbox" if in_sandbox() else "NOT in a sandbox"
    who = f"rootless (a user namespace; uid {uid_map[1]} outside)" if rootless and len(uid_map) > 1 else "root"
    return f"{place}, {who}"


def machine() -> list[tuple[str, str]]:
    """(what, version) rows: the kernel, the tools and libraries, and where the claims ran."""
    from netlab import __version__

    return [
        ("kernel", f"Linux {platform.release()} {platform.version()} ({platform.machine()})"),
        ("iproute2", _first_line(["ip", "-V"])),
        ("util-linux", _first_line(["unshare", "--version"])),
        ("nftables", _first_line(["nft", "--version"])),
        ("iputils", _first_line(["ping", "-V"])),
        ("net-tools", _first_line(["ifconfig", "--version"])),
        ("Python", sys.version.split()[0]),
        ("pyroute2", _package("pyroute2")),
        ("netlab", __version__),
        ("ran in", _where()),
    ]


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
    when = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(report.started))
    return [
        "# netlab reproduce: the article's claims, on this machine",
        "",
        f"The article: *{ARTICLE}*, its steps numbered A1-A16 as in netlab's design notes, plus the",
        "internet access it describes without commands (A10a-A10d). Every experiment ran for real, in a",
        'private sandbox: nothing reached this machine\'s own network; the "internet" is a namespace.',
        "",
        f"**{report.summary()}** ({when}, {report.seconds:.1f} s). "
        + (
            "Every claim holds, or is inaccurate in a known way the report explains."
            if report.ok
            else "**Some claims did not hold on this machine: see the rows marked differs or error.**"
        ),
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *(f"| {what} | {_md_cell(value)} |" for what, value in report.machine),
        "",
    ]


def _md_table(report: Report) -> list[str]:
    lines = [
        "## Claims",
        "",
        "| id | article step | the article says | expected | observed | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for result in report.results:
        claim = result.claim
        verdict = f"**{result.verdict}**"
        if result.what_really_happens:
            verdict += ": " + result.what_really_happens
        lines.append(
            f"| {claim.id} | {_md_cell(_md_step(claim.step))} | {_md_cell(claim.says)} | "
            f"{_md_cell(claim.expected)} | {_md_cell(result.observed)} | {_md_cell(verdict)} |"
        )
    return lines + [""]


def _md_details(result: Result) -> list[str]:
    claim = result.claim
    lines = [
        f"### {claim.id} · {_md_step(claim.step)} · {result.verdict}",
        "",
        f"- **The article says:** {claim.says}",
        f"- **Expected:** {claim.expected}",
        f"- **Observed:** {result.observed}",
    ]
    if result.what_really_happens:
        lines.append(f"- **What really happens:** {result.what_really_happens}")
    if result.note:
        lines.append(f"- **Note:** {result.note}")
    lines += ["", f"Transcript ({result.seconds:.2f} s):", "", "```console", result.transcript, "```", ""]
    tree = _tree(result)
    if tree:
        lines += [
            "<details><summary>What the kernel held (netlab show)</summary>",
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
        return result.diagram.tree(color=False)
    except Exception as exc:
        return f"(no tree: {type(exc).__name__}: {exc})"


def markdown(report: Report) -> str:
    """The whole report as Markdown (diagrams as text trees)."""
    lines = _md_header(report) + _md_table(report) + ["## Details", ""]
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
    return f'<span class="verdict {css}">{_e(str(result.verdict))}</span>'


def _png(result: Result) -> str:
    """The diagram as an <img> with the PNG inline, or a note on why there is none."""
    if result.diagram is None:
        return ""
    try:
        from netlab.view.draw import png_bytes

        data = base64.b64encode(png_bytes(result.diagram, title_note=f"article step {result.claim.id}")).decode()
    except Exception as exc:
        return f"<p><em>no diagram: {_e(type(exc).__name__)}: {_e(str(exc))}</em></p>"
    return f'<img alt="topology after {_e(result.claim.id)}" src="data:image/png;base64,{data}">'


def _html_row(result: Result) -> str:
    claim = result.claim
    verdict = _badge(result)
    if result.what_really_happens:
        verdict += f"<br>{_prose(result.what_really_happens)}"
    return (
        f'<tr id="row-{_e(claim.id)}"><td><a href="#{_e(claim.id)}">{_e(claim.id)}</a></td>'
        f"<td>{_html_step(claim.step)}</td><td>{_prose(claim.says)}</td><td>{_prose(claim.expected)}</td>"
        f"<td>{_prose(result.observed)}</td><td>{verdict}</td></tr>"
    )


def _html_details(result: Result) -> str:
    claim = result.claim
    items = [("The article says", claim.says), ("Expected", claim.expected), ("Observed", result.observed)]
    if result.what_really_happens:
        items.append(("What really happens", result.what_really_happens))
    if result.note:
        items.append(("Note", result.note))
    tree = _tree(result)
    return "\n".join(
        [
            f'<h3 id="{_e(claim.id)}">{_e(claim.id)} · {_html_step(claim.step)} · {_badge(result)}</h3>',
            "<ul>" + "".join(f"<li><b>{_e(k)}:</b> {_prose(v)}</li>" for k, v in items) + "</ul>",
            _png(result),
            f"<details><summary>Transcript ({result.seconds:.2f} s)</summary><pre>{_e(result.transcript)}</pre></details>",
            f"<details><summary>What the kernel held (netlab show)</summary><pre>{_e(tree)}</pre></details>"
            if tree
            else "",
        ]
    )


def html(report: Report) -> str:
    """The whole report as one self-contained HTML page (diagrams embedded as PNG)."""
    when = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(report.started))
    verdict = (
        "Every claim holds, or is inaccurate in a known way the report explains."
        if report.ok
        else "<b>Some claims did not hold on this machine: see the rows marked differs or error.</b>"
    )
    machine_rows = "".join(f"<tr><td>{_e(what)}</td><td>{_e(value)}</td></tr>" for what, value in report.machine)
    rows = "\n".join(_html_row(result) for result in report.results)
    details = "\n".join(_html_details(result) for result in report.results)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>netlab reproduce: {_e(report.summary())}</title>
<style>{_STYLE}</style></head>
<body>
<h1>netlab reproduce: the article's claims, on this machine</h1>
<p>The article: <i>{_e(ARTICLE)}</i>, its steps numbered A1-A16 as in netlab's design notes, plus the internet
access it describes without commands (A10a-A10d). Every experiment ran for real, in a private sandbox: nothing
reached this machine's own network; the "internet" is a namespace.</p>
<p><b>{_e(report.summary())}</b> ({_e(when)}, {report.seconds:.1f} s). {verdict}</p>
<h2>Machine</h2>
<table class="machine">{machine_rows}</table>
<h2>Claims</h2>
<table>
<tr><th>id</th><th>article step</th><th>the article says</th><th>expected</th><th>observed</th><th>verdict</th></tr>
{rows}
</table>
<h2>Details</h2>
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
