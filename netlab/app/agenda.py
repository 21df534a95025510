"""The workshop's timed agenda (``scripts/agenda``): two hours, from the lessons' own text and measured run times.

    scripts/agenda                  the agenda, 0:00 ... 2:00: each lesson's core path, a break, a buffer
    scripts/agenda --lang zh-CN     the same for the Chinese lessons (notebooks/zh-CN), in Chinese
    scripts/agenda --details        how each lesson's minutes were counted
    scripts/agenda --record         keep the test suite's measurements in docs/workshop-timings.json

A learner's time on a lesson is more than the machine's. Per notebook and per path (core: the cells
tagged ``core``; every cell)::

    minutes = words of prose / WPM + code cells * PER_CELL / 60
              + commands typed in a terminal * TYPED_SECONDS / 60 + measured run time / 60

WPM is a slow, careful reading speed for technical text (a Chinese "word" is two characters), PER_CELL
the seconds to read a short code cell, run it and look at what it shows. Both are stated assumptions:
time a dry run of your own and change them (``--wpm``, ``--per-cell``).

The run times come from the test suite when it has run here (``test-artifacts/timings/NN-name.json``,
each code cell's seconds under nbclient; ``test-artifacts/browser/timings.json``, each notebook's Run
All in JupyterLab), else from ``docs/workshop-timings.json``, the copy ``--record`` keeps in the
repository. A cell neither has (a new one) counts :data:`UNMEASURED_SECONDS`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from netlab.app.labserver import lesson_folder
from netlab.plumbing.i18n import _, language, normalize

__all__ = ["Lesson", "agenda", "clock", "lessons", "main", "measurements"]

READING_WPM = 150
SECONDS_PER_CELL = 40
TYPED_SECONDS = 20  # a command the learner types in a terminal (notebook 04's two shells)
UNMEASURED_SECONDS = 1.0
SESSION_MINUTES = 120
BREAK_MINUTES = 10
RECORDED = Path("docs/workshop-timings.json")  # in the repository
SHELL_COMMAND = re.compile(r"`((?:unshare|touch|mount|nsenter|umount|ls|readlink|echo|exit)\b[^`]*)`")
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


@dataclass(frozen=True)
class Lesson:
    """One notebook's share of the workshop."""

    stem: str  # 02-veth-pair
    title: str  # the notebook's first heading: "02 · A veth pair: connecting two namespaces"
    core: float  # minutes on the core path
    every: float  # minutes with every cell
    core_cells: int
    core_run: float  # seconds the machine takes for the core cells
    run_all: float | None  # seconds of Run All in JupyterLab, when measured


def words(text: str) -> float:
    """Words of prose to read: code blocks left out (read like code cells), two Chinese characters a word."""
    text = re.sub(r"```.*?```", " ", text, flags=re.S)
    chinese = len(CJK.findall(text))
    return len(re.findall(r"[A-Za-z0-9_'`$/.-]+", CJK.sub(" ", text))) + chinese / 2


def measurements(repo: Path) -> tuple[dict[str, dict[str, float]], dict[str, float], str]:
    """Each code cell's seconds (notebook -> cell id -> s), each Run All's seconds, and where they come from."""
    fresh = sorted((repo / "test-artifacts/timings").glob("[0-9][0-9]-*.json"))
    if fresh:
        cells = {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in fresh}
        browser = repo / "test-artifacts/browser/timings.json"
        run_all = json.loads(browser.read_text(encoding="utf-8")) if browser.exists() else {}
        return cells, {k: v["run all"] for k, v in run_all.items() if "run all" in v}, "test-artifacts/"
    recorded = repo / RECORDED
    if recorded.exists():
        data = json.loads(recorded.read_text(encoding="utf-8"))
        return data["cells"], data["run_all"], str(RECORDED)
    return {}, {}, _("none: {seconds:g} s per code cell").format(seconds=UNMEASURED_SECONDS)


def lessons(
    folder: Path, cells: dict[str, dict[str, float]], run_all: dict[str, float], *, wpm: float, per_cell: float
) -> list[Lesson]:
    """The lessons in ``folder`` (``notebooks/`` or ``notebooks/zh-CN``), in order, with their minutes."""
    import nbformat

    found = []
    for path in sorted(folder.glob("[0-9][0-9]-*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        shown = [c for c in nb.cells if c.get("id") != "navigation"]
        title = next((c.source.lstrip("# ").splitlines()[0] for c in shown if c.cell_type == "markdown"), path.stem)
        seconds = cells.get(path.stem, {})
        minutes, counts, runs = {}, {}, {}
        for name in ("core", "every"):
            chosen = [c for c in shown if name == "every" or "core" in c.metadata.get("tags", [])]
            prose = sum(words(c.source) for c in chosen if c.cell_type == "markdown")
            code = [c for c in chosen if c.cell_type == "code" and c.source.strip()]
            run = sum(seconds.get(c.get("id", ""), UNMEASURED_SECONDS) for c in code)
            shells = [c.source for c in chosen if c.cell_type == "markdown" and "**Shell" in c.source]
            typed = sum(len({m for m in SHELL_COMMAND.findall(text) if "./ns1" not in m}) for text in shells)
            minutes[name] = prose / wpm + len(code) * per_cell / 60 + typed * TYPED_SECONDS / 60 + run / 60
            counts[name], runs[name] = len(code), run
        found.append(
            Lesson(
                path.stem,
                title,
                minutes["core"],
                minutes["every"],
                counts["core"],
                runs["core"],
                run_all.get(path.stem),
            )
        )
    return found


FIRST_OF_SESSION_2 = "06"  # the article's lessons (00-05) are the first session; the container lessons the second


def in_session(stem: str, session: int) -> bool:
    """Whether notebook ``stem`` (``06-container-runtime``) belongs to workshop session 1 or 2."""
    return (stem[:2] >= FIRST_OF_SESSION_2) == (session == 2)


def clock(minutes: int) -> str:
    """``97`` -> ``1:37``: the time since the workshop started."""
    return f"{minutes // 60}:{minutes % 60:02d}"


def agenda(taught: Sequence[Lesson], *, session: int = SESSION_MINUTES) -> list[tuple[int, str, int]]:
    """The rows (start minute, what, minutes): each lesson with a core path, one break, the buffer, the end.

    The break goes between the two lessons whose boundary is nearest half time; what is left of the
    session is the buffer (an exercise, a challenge, questions). No buffer if the lessons overrun.
    """
    timed = [(lesson.title, round(lesson.core)) for lesson in taught if round(lesson.core) > 0]
    ends, total = [], 0
    for _title, minutes in timed[:-1]:
        total += minutes
        ends.append(total)
    pause = min(range(len(ends)), key=lambda i: abs(ends[i] - session / 2)) if ends else None
    rows, now = [], 0
    for index, (title, minutes) in enumerate(timed):
        rows.append((now, title, minutes))
        now += minutes
        if index == pause:
            rows.append((now, _("break"), BREAK_MINUTES))
            now += BREAK_MINUTES
    if now < session:
        rows.append((now, _("buffer: an exercise or a challenge, questions"), session - now))
        now = session
    rows.append((now, _("end"), now))
    return rows


def render_agenda(rows: list[tuple[int, str, int]]) -> str:
    head = _("| time | what | minutes |")
    lines = [head, "|---|---|---|"]
    lines += [f"| {clock(start)} | {what} | {minutes} |" for start, what, minutes in rows]
    return "\n".join(lines)


def render_details(taught: Sequence[Lesson]) -> str:
    lines = [
        _(
            "| notebook | core code cells | core cells' run time (nbclient) | Run All in JupyterLab (all cells) "
            "| core path | every cell |"
        ),
        "|---|---|---|---|---|---|",
    ]
    for lesson in taught:
        run_all = "n/a" if lesson.run_all is None else f"{lesson.run_all:.1f} s"
        lines.append(
            f"| `{lesson.stem}` | {lesson.core_cells} | {lesson.core_run:.1f} s | {run_all} | "
            + "**"
            + _("{minutes} min").format(minutes=round(lesson.core))
            + "** | "
            + _("{minutes} min").format(minutes=round(lesson.every))
            + " |"
        )
    return "\n".join(lines)


def record(repo: Path) -> Path:
    """Copy the test suite's measurements into the repository (``docs/workshop-timings.json``)."""
    cells, run_all, source = measurements(repo)
    if source != "test-artifacts/":
        raise SystemExit(
            _("agenda: no measurements in test-artifacts/\n  hint: ./scripts/test tests/test_notebooks.py")
        )
    target = repo / RECORDED
    rounded = {nb: {cell: round(s, 2) for cell, s in found.items()} for nb, found in sorted(cells.items())}
    data = {"cells": rounded, "run_all": {nb: round(s, 1) for nb, s in sorted(run_all.items())}}
    target.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return target


DOCS = {"en": Path("docs/teachers.md"), "zh_CN": Path("docs/teachers.zh-CN.md")}
BEGIN, END = "<!-- agenda: written by scripts/agenda --write-docs -->", "<!-- agenda: end -->"


def docs_agenda(repo: Path, lang: str) -> str:
    """The agenda a teachers' guide shows: from the lessons in ``lang`` and the recorded run times."""
    saved = os.environ.get("NETLAB_LANG")
    os.environ["NETLAB_LANG"] = lang
    try:
        data = json.loads((repo / RECORDED).read_text(encoding="utf-8"))
        folder = lesson_folder(repo / "notebooks", lang)
        taught = lessons(folder, data["cells"], data["run_all"], wpm=READING_WPM, per_cell=SECONDS_PER_CELL)
        return render_agenda(agenda([lesson for lesson in taught if in_session(lesson.stem, 1)]))
    finally:
        if saved is None:
            del os.environ["NETLAB_LANG"]
        else:
            os.environ["NETLAB_LANG"] = saved


def write_docs(repo: Path) -> list[Path]:
    """Put each language's agenda into its teachers' guide, between the two markers, with the commit."""
    commit = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    written = []
    for lang, doc in DOCS.items():
        path = repo / doc
        text = path.read_text(encoding="utf-8")
        start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
        stamp = f"<!-- from {RECORDED} and the lessons at commit {commit or 'unknown'} -->"
        path.write_text(
            text[:start] + "\n" + stamp + "\n\n" + docs_agenda(repo, lang) + "\n\n" + text[end:], encoding="utf-8"
        )
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None, *, repo: Path) -> int:
    """``scripts/agenda``: print the agenda; non-zero if the core path does not fit in the session."""
    parser = argparse.ArgumentParser(prog="scripts/agenda", description=_("The workshop's timed agenda."))
    parser.add_argument("--lang", help=_("the lessons' language: en or zh-CN (default: yours)"))
    parser.add_argument("--wpm", type=float, default=READING_WPM, help=_("reading speed, words per minute"))
    parser.add_argument("--per-cell", type=float, default=SECONDS_PER_CELL, help=_("seconds per code cell"))
    parser.add_argument(
        "--session", type=int, choices=(1, 2), default=1, help=_("1: the article's lessons; 2: the container lessons")
    )
    parser.add_argument("--details", action="store_true", help=_("how each lesson's minutes were counted"))
    parser.add_argument("--record", action="store_true", help=_("keep the tests' measurements in the repository"))
    parser.add_argument("--write-docs", action="store_true", help=_("write the agenda into the teachers' guides"))
    args = parser.parse_args(argv)
    if args.record:
        print(record(repo))
        return 0
    if args.write_docs:
        print("\n".join(str(path) for path in write_docs(repo)))
        return 0
    if args.lang:
        os.environ["NETLAB_LANG"] = normalize(args.lang)
    folder = lesson_folder(repo / "notebooks", language())
    cells, run_all, source = measurements(repo)
    taught = lessons(folder, cells, run_all, wpm=args.wpm, per_cell=args.per_cell)
    taught = [lesson for lesson in taught if in_session(lesson.stem, args.session)]
    if args.details:
        print(render_details(taught))
        return 0
    print(render_agenda(agenda(taught)))
    core = sum(round(lesson.core) for lesson in taught)
    summary = _(
        "Core path {core} min, a {pause}-minute break: {busy} of {session} minutes "
        "({wpm:g} words/min, {per_cell:g} s per code cell; run times: {source})."
    )
    busy = core + BREAK_MINUTES
    print()
    print(
        summary.format(
            core=core,
            pause=BREAK_MINUTES,
            busy=busy,
            session=SESSION_MINUTES,
            wpm=args.wpm,
            per_cell=args.per_cell,
            source=source,
        )
    )
    return 0 if busy <= SESSION_MINUTES else 1
