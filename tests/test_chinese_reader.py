"""A Chinese reader meets no English prose: what netlab shows under ``NETLAB_LANG=zh_CN``, read line by line.

What is read, all with ``NETLAB_LANG=zh_CN``:

- every zh-CN notebook, run top to bottom in a real kernel in the sandbox (as test_notebooks.py runs the English
  ones): each output as JupyterLab shows it (HTML over plain text; the strings inside a value's repr; the
  widgets' labels, texts and options), and the notebook's own prose (markdown, code aside);
- the diagrams netlab draws of the article's veth pair (both layouts, a diff, a packet ladder): their texts as
  matplotlib holds them, since a picture in a notebook's output cannot be read back;
- the command line: ``netlab --help`` and every command's ``--help``, ``netlab doctor``, ``lsns``, ``show``,
  ``netns list`` with a stale entry, ``cleanup``/``reset --dry-run``, and the errors a learner causes (a namespace
  that does not exist, a bad name, a missing command, a command that does not exist).

The rule. A line fails when it is English prose netlab produced, that is, when

1. **catalog**: it is one of netlab's English sentences (a line of a msgid of ``netlab/locale/netlab.pot``,
   placeholders filled in, two English words at least), whole; or one with three English words or more, inside
   the line; or the line begins with the first three words or more of one; or
2. **prose**: it has no Chinese character and, once what is not netlab's words is taken out (``code spans``,
   paths, URLs, addresses, and the operating system's own error texts such as "No such file or directory"),
   still has four English words or more, two of them English function words (the, of, to, is, ...): what a
   sentence has and the output of a tool rarely does (``state DOWN mode DEFAULT group default``).

Never failing, whatever they say: the output of the system's commands a cell runs with ``!`` (``ip``, ``ping``,
``nft``, ``ls``, ...: the kernel's and the tools' words, the same outside the lab; ``!netlab ...`` is netlab and
is read), Python's own tracebacks, and netlab's source code a cell prints (``inspect.getsource``, a ``__doc__``:
code; the Chinese prose around it sums it up). What this spared is printed (``-s``), for the record. The
notebooks' own sentences get no exemption: their code says them with ``lesson.ok(...)`` and ``lesson.say(...)``,
which the catalog holds (``scripts/sync-translations messages``), so they are read like netlab's. Not caught, by
design: short English that is no catalog sentence of two words or more (``process 1 (python)``: one English
word, the rest names).

Each failure names where the line was seen and why it counts (the msgid and its source file, or "prose").
"""

from __future__ import annotations

import ast
import html
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import nbformat
import pytest
from lab_server import NETLAB
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parent.parent
CHINESE = sorted((REPO / "notebooks" / "zh-CN").glob("[0-9][0-9]-*.ipynb"))
POT = REPO / "netlab" / "locale" / "netlab.pot"
CELL_TIMEOUT = 60  # seconds per cell: a margin over test_notebooks.py's 30
ZH = {"NETLAB_LANG": "zh_CN", "LANG": "C.UTF-8", "LANGUAGE": "", "LC_ALL": "", "LC_MESSAGES": ""}
NO_SUCH = "netlab-no-such-ns"

HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_FUNCTION = """a an the this that these those it its is are was were be been being am has have had do does did
    of to in on at by for from with into onto out about over under than then so as if or and but nor not no
    can cannot could will would should must may might shall you your we our they their he she his her there
    here what which who whom whose when where why how all any each every both some only just also still yet
    now again once already same own such very more most less other another one"""
FUNCTION_WORDS = frozenset(_FUNCTION.split())  # what English sentences are made with, and tool output rarely
NOT_WORDS = [
    re.compile(r"`[^`]*`"),  # code spans
    re.compile(r"\b[a-z]+://\S+"),  # URLs
    re.compile(r"(?<![\w.])(?:~|\.{1,2})?/[\w./@:*?{}\[\]-]*"),  # paths
    re.compile(r"\b\d+(?:\.\d+){1,3}(?:/\d+)?\b|\b[0-9a-f]{2}(?::[0-9a-f]{2}){5}\b|\b\w+:\[\d+\]"),  # addresses, inodes
    # tcpdump's decode of a packet in a packet table's row ("IP6 a > b: ICMP6, neighbor solicitation, who has
    # ..."): the tool's words, the same outside the lab, as the output of a `!` command is
    re.compile(r"\b(?:IP6? \S+ > \S+:|ARP,) .*$"),
]
WORD = re.compile(r"(?<![\w/.@:=<>-])[A-Za-z][a-z]+(?:'[a-z]+)?(?![\w/@=<>-])")


def _system_error_texts() -> list[str]:
    """The operating system's own error texts (strerror), longest first: not netlab's words."""
    texts = {os.strerror(n) for n in range(1, 134)}
    return sorted((t for t in texts if not t.startswith("Unknown error")), key=len, reverse=True)


SYSTEM_ERRORS = _system_error_texts()


@dataclass(frozen=True)
class Sentence:
    """One line of a msgid of the catalog template, as a pattern."""

    msgid: str
    source: str  # the file(s) it comes from
    pattern: re.Pattern[str]
    words: int  # English words in its literal parts
    prefix: str  # its literal start, if three words or more ("" otherwise)


PLACEHOLDER = re.compile(r"\{[^{}]*\}|%\([a-z_]+\)[sdr]|%[sdr]")


@cache
def catalog() -> list[Sentence]:
    """The English sentences of netlab.pot with two English words or more (``{name}`` alone says nothing)."""
    from babel.messages.pofile import read_po

    with open(POT, "rb") as f:
        template = read_po(f)
    sentences = []
    for message in template:
        msgid = message.id if isinstance(message.id, str) else (message.id[0] if message.id else "")
        if not msgid or msgid in SYSTEM_ERRORS:  # the system's words (errors.reason), which tools print too
            continue
        source = ", ".join(sorted({path for path, _line in message.locations}))
        for line in msgid.split("\n"):
            line = line.strip()
            literal = PLACEHOLDER.split(line)
            words = sum(len(re.findall(r"[A-Za-z]{2,}", part)) for part in literal)
            if words < 2:
                continue
            regex = r"(?<!\w)" + ".+?".join(re.escape(part) for part in literal) + r"(?!\w)"  # whole words
            first = literal[0].strip()
            prefix = first if len(re.findall(r"[A-Za-z]{2,}", first)) >= 3 else ""
            sentences.append(Sentence(msgid, source, re.compile(regex), words, prefix))
    return sentences


def _words(line: str) -> list[str]:
    for pattern in NOT_WORDS:
        line = pattern.sub(" ", line)
    for text in SYSTEM_ERRORS:
        line = line.replace(text, " ")
    return WORD.findall(line)


def why_english(line: str) -> str | None:
    """Why ``line`` is English prose netlab could have said (the module's rule), or None when it is not."""
    line = ANSI_ESCAPE.sub("", line).strip().lstrip("✔✘•·-*>#|! ").strip()
    if not line or HAN.search(line):
        return None
    for sentence in catalog():
        if (
            sentence.pattern.fullmatch(line)
            or (sentence.words >= 3 and sentence.pattern.search(line))
            or (sentence.prefix and line.startswith(sentence.prefix))
        ):
            return f"catalog: {sentence.msgid!r} ({sentence.source})"
    words = _words(line)
    function = [w for w in words if w.lower() in FUNCTION_WORDS]
    if len(words) >= 4 and len(function) >= 2:
        return f"prose: {len(words)} English words, {len(function)} function words ({', '.join(function[:4])})"
    return None


# -- what a notebook shows ---------------------------------------------------------------------------------------

SHELL_LINE = re.compile(r"^\s*!(?!netlab\b)", re.M)  # `!ip ...` runs a system command; `!netlab ...` is netlab


def _from_the_system(source: str) -> bool:
    """A cell that only runs system commands (``!ip``, ``%%bash``): its output is the tools', not netlab's."""
    code = [line for line in source.splitlines() if line.strip() and not line.strip().startswith("#")]
    if source.startswith("%%bash") or source.startswith("%%sh"):
        return "netlab" not in source
    return bool(code) and all(SHELL_LINE.match(line) for line in code)


def _shows_source(source: str) -> bool:
    """A cell that prints netlab's own source or docstrings (``inspect.getsource``, ``__doc__``): code."""
    return "inspect.getsource(" in source or ".__doc__" in source


def _strings_in_repr(text: str) -> list[str]:
    """The strings inside a value's repr (``('net:[4026]', ['bind mount ...'])``), or the repr's lines."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text.splitlines()
    strings: list[str] = []

    def walk(v: object) -> None:
        if isinstance(v, str):
            strings.extend(v.splitlines())
        elif isinstance(v, dict):
            for k, item in v.items():
                walk(k)
                walk(item)
        elif isinstance(v, list | tuple | set | frozenset):
            for item in v:
                walk(item)

    walk(value)
    return strings


def _html_text(markup: str) -> list[str]:
    markup = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", markup)
    markup = re.sub(r"(?i)<br\s*/?>|</(p|div|tr|li|h\d|pre|table|summary|details)>", "\n", markup)
    return html.unescape(re.sub(r"<[^>]+>", " ", markup)).splitlines()


def shown_lines(output: nbformat.NotebookNode) -> Iterator[str]:
    """The lines of one output as JupyterLab shows them (the richest text it renders)."""
    if output.output_type == "stream":
        if output.get("name") == "stderr" and "Traceback (most recent call last)" in output.text:
            return
        yield from output.text.splitlines()
    elif output.output_type in ("display_data", "execute_result"):
        data = output.get("data", {})
        if "application/vnd.jupyter.widget-view+json" in data or any(k.startswith("image/") for k in data):
            return  # a widget (read from the widget state) or a picture (see the diagram test)
        if "text/html" in data:
            yield from _html_text(data["text/html"])
        elif "text/markdown" in data:
            yield from data["text/markdown"].splitlines()
        elif "text/plain" in data:
            yield from _strings_in_repr(data["text/plain"])


WIDGET_TEXTS = ("description", "value", "placeholder", "tooltip", "description_tooltip", "_options_labels", "title")


def widget_lines(nb: nbformat.NotebookNode) -> Iterator[str]:
    """What the widgets of a run notebook say: labels, texts, placeholders, options (from the widget state)."""
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    for model in state.values():
        for key in WIDGET_TEXTS:
            value = model.get("state", {}).get(key)
            for text in value if isinstance(value, list) else [value]:
                if isinstance(text, str):
                    yield from _html_text(text) if "<" in text else text.splitlines()


def markdown_lines(source: str) -> Iterator[str]:
    """The prose of a markdown cell: no code blocks, inline code, link targets or HTML tags."""
    source = re.sub(r"(?ms)^```.*?^```", " ", source)
    source = re.sub(r"\]\([^)]*\)", "]", source)
    for line in source.splitlines():
        yield re.sub(r"<[^>]+>", " ", line)


def run_chinese(path: Path) -> nbformat.NotebookNode:
    """Run ``path`` top to bottom in a kernel whose netlab speaks Chinese; return it with its outputs."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=True,
    )
    client.execute()  # raises CellExecutionError if a cell raised
    return nb


def _report(where: str, found: list[tuple[str, str, str]]) -> str:
    lines = [f"{len(found)} English line(s) {where}:"]
    lines += [f"  [{place}] {line!r}\n      {why}" for place, line, why in found]
    return "\n".join(lines)


@pytest.fixture
def chinese(monkeypatch):
    """NETLAB_LANG=zh_CN for this process and the kernels and commands it starts; the locale itself is C."""
    for name, value in ZH.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize("path", CHINESE, ids=[p.stem for p in CHINESE])
def test_a_chinese_notebook_shows_no_english_prose(chinese, path: Path):
    nb = run_chinese(path)
    found, spared, read = [], [], []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in markdown_lines(cell.source):
                if why := why_english(line):
                    found.append((f"markdown {cell.id}", line.strip(), why))
            continue
        if cell.cell_type != "code" or _from_the_system(cell.source):
            continue
        for output in cell.outputs:
            for line in shown_lines(output):
                read.append(line)
                if not (why := why_english(line)):
                    continue
                if _shows_source(cell.source):
                    spared.append(line.strip())  # netlab's source code: code
                else:
                    found.append((f"cell {cell.id}", line.strip(), why))
    for line in widget_lines(nb):
        read.append(line)
        if why := why_english(line):
            found.append(("widget", line.strip(), why))
    print(f"{path.name}: netlab's source code a cell prints: {len(spared)} English line(s):")  # for the record
    print("\n".join(f"    {line}" for line in dict.fromkeys(spared)))
    assert not found, _report(f"in {path.relative_to(REPO)}", found)
    assert any(HAN.search(line) for line in read), "netlab said nothing in Chinese"  # the outputs were read


def test_the_rule_tells_english_prose_from_tool_output_and_chinese():
    """The rule bites on netlab's English and spares what a tool says, names, addresses and Chinese."""
    assert str(why_english("all required checks passed")).startswith("catalog:")
    assert str(why_english("  hint: create it: ip netns add netns1")).startswith("catalog:")
    assert str(why_english("the namespace is still there because a process holds it")).startswith("prose:")
    for line in [
        "1: lo: <LOOPBACK> mtu 65536 qdisc noop state DOWN mode DEFAULT group default qlen 1000",
        "    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00",
        "64 bytes from 10.1.1.1: icmp_seq=1 ttl=64 time=0.045 ms",
        "1 packets transmitted, 1 received, 0% packet loss, time 0ms",
        "PING 10.1.1.1 (10.1.1.1) 56(84) bytes of data.",
        "table ip nat { chain postrouting { type nat hook postrouting priority srcnat; policy accept; } }",
        'Cannot open network namespace "netns1": No such file or directory',
        "netns1 (id: 0)",
        "[正常] 权限：uid 0 可以创建网络命名空间",
        "✘ 尚未完成：netns2 中的 lo 已启用",
    ]:
        assert why_english(line) is None, line


# -- what the diagrams say ----------------------------------------------------------------------------------------


def test_the_diagrams_speak_chinese(chinese):
    """The texts of netlab's diagrams of the article's veth pair: both layouts, a diff, a packet ladder (with
    the title notebook 02 gives it, a notebook's own sentence)."""
    import scenes
    from matplotlib.text import Text

    from netlab import diff, draw, run, snapshot
    from netlab.capture import capture
    from netlab.teach import lesson
    from netlab.view.packets import ladder

    found = []
    before = snapshot()
    with scenes.article_veth():
        topology = snapshot()
        figures = {f"draw {layout}": draw(topology, layout=layout) for layout in ("detailed", "compact")}
        figures["draw diff"] = draw(diff(before, topology))
        with capture("veth0", ("netns1", "veth1"), proto=("arp", "icmp")) as seen:
            run(None, ["ping", "-c", "1", "-W", "1", "10.1.1.1"])
        title = lesson.say("ping 10.1.1.1 from the root namespace, seen at both ends of the pair")
        figures["ladder"] = ladder(seen, title=title)
        for where, figure in figures.items():
            for text in figure.findobj(Text):
                for line in text.get_text().splitlines():
                    if why := why_english(line):
                        found.append((where, line.strip(), why))
    assert not found, _report("in the diagrams", found)
    for where, figure in figures.items():  # and they were read: each says something in Chinese
        assert any(HAN.search(text.get_text()) for text in figure.findobj(Text)), where


# -- what the command line says -----------------------------------------------------------------------------------


def _commands() -> list[list[str]]:
    from netlab.app.cli import build_parser

    parser = build_parser()
    [commands] = [a.choices for a in parser._actions if isinstance(a.choices, dict)]
    helps = [[name, "--help"] for name in commands]
    return [
        ["--help"],
        *helps,
        ["doctor"],
        ["lsns"],
        ["show"],
        ["netns", "exec", NO_SUCH, "true"],
        ["netns", "delete", NO_SUCH],
        ["netns", "pids", NO_SUCH],
        ["netns", "exec", NO_SUCH],
        ["netns", "add", "bad/name"],
        ["capture", "-n", NO_SUCH, "eth0", "-c", "1"],
        ["cleanup", "--dry-run"],
        ["reset", "--dry-run"],
        ["no-such-command"],
    ]


def _netlab_says(argv: list[str]) -> list[tuple[str, str]]:
    """Run ``netlab ARGV``; the lines it printed, with the stream each came on."""
    result = subprocess.run([NETLAB, *argv], capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert "Traceback" not in result.stderr, result.stderr  # a learner never gets one
    return [
        (s, line) for s, text in (("stdout", result.stdout), ("stderr", result.stderr)) for line in text.splitlines()
    ]


def _english(argv: list[str], lines: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
    where = f"netlab {' '.join(argv)}"
    return [(f"{where} ({stream})", line.strip(), why) for stream, line in lines if (why := why_english(line))]


@pytest.mark.parametrize("argv", _commands(), ids=lambda argv: " ".join(argv))
def test_the_command_line_speaks_chinese(chinese, argv: list[str]):
    lines = _netlab_says(argv)
    assert not _english(argv, lines), _report(f"from netlab {' '.join(argv)}", _english(argv, lines))
    assert any(HAN.search(line) for _stream, line in lines), lines  # it said something, in Chinese


def test_netns_list_explains_a_stale_entry_in_chinese(chinese):
    """A plain file in the run directory (left by a crash) is listed with what it is and how to remove it."""
    from netlab import netns

    stale = netns.run_dir() / "netlab-stale-entry"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.touch()
    try:
        argv = ["netns", "list"]
        lines = _netlab_says(argv)
    finally:
        stale.unlink()
    assert any(stale.name in line and HAN.search(line) for _stream, line in lines), lines
    assert not _english(argv, lines), _report("from netlab netns list", _english(argv, lines))
