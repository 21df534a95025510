"""The book's sources for one language: the repository's pages, the recorded notebooks, generated pages.

Both languages have the same pages under the same names, so the language switch on a page is
the same page name in the other tree::

    index                 README.md / README.zh-CN.md
    notebooks/NN-name     the notebook as run (outputs recorded by book/execute.py)
    challenges/index      the challenges, one page each: challenges/NAME (the task, never a solution)
    teachers              docs/teachers.md / docs/teachers.zh-CN.md
    classroom             docs/classroom.md (English in both)
    glossary              docs/glossary.md (both languages in one table)
    reproduce             the report of `netlab reproduce` from the same run (English in both)
    contributing          CONTRIBUTING.md (English in both)

Links between the repository's files are rewritten to the book's pages; a link to a file the
book does not hold becomes plain text. ``book.json`` next to the sources tells the Sphinx
extension (``book/netlab_book.py``) the versions, the downloads of each page and the switch.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
from pathlib import Path

from widgets import freeze

REPO = Path(__file__).resolve().parent.parent
LANGS = ("en", "zh-CN")
SPHINX_LANG = {"en": "en", "zh-CN": "zh_CN"}
REPORTS = ("html", "md")  # the reproduce report's formats, offered for download

# The repository's pages, per language: repository path -> page name. A link from a page of one
# language to the other language's copy of a page lands on this language's copy (the switch is
# on every page).
PAGES = {
    "en": {"README.md": "index", "docs/teachers.md": "teachers"},
    "zh-CN": {"README.zh-CN.md": "index", "docs/teachers.zh-CN.md": "teachers"},
}
SHARED_PAGES = {"docs/glossary.md": "glossary", "docs/classroom.md": "classroom", "CONTRIBUTING.md": "contributing"}

WORDS = {
    "en": {
        "book": "netlab: network namespaces, for real",
        "lessons": "Lessons",
        "practice": "Practice",
        "teaching": "Teaching",
        "reference": "Reference",
        "contents": "In this book",
        "challenges": "Challenges",
        "challenges_intro": (
            "Harder tasks from lesson [05](../notebooks/05-challenges.ipynb). Each builds its starting state "
            "for you, and its check looks at the kernel, not at what you typed: any correct solution passes, "
            "and a wrong one gets a hint about what is missing. The solutions are not in this book."
        ),
        "challenge": "Challenge",
        "task": "The task",
        "start": "Start it",
        "start_text": "In a notebook of the lab (lesson 05 has a cell for each challenge):",
        "check": "Check it",
        "check_text": (
            "`ch.check()` looks at the kernel and says done, or what is missing with a hint. "
            "`ch.close()` takes the starting state down again, and the devices the task asked you to create."
        ),
        "no_solution": "No solution here: try it in the lab. The reference solutions live outside the notebooks.",
        "reproduce_title": "The article, reproduced",
        "reproduce_intro": (
            "`netlab reproduce` ran every experiment of the article in a sandbox, in the same run that "
            "recorded the lessons of this book. Its report, as it wrote it:"
        ),
        "report_files": "The report as files:",
    },
    "zh-CN": {
        "book": "netlab：动手学习网络命名空间",
        "lessons": "课程",
        "practice": "练习",
        "teaching": "教学",
        "reference": "参考",
        "contents": "本书内容",
        "challenges": "挑战",
        "challenges_intro": (
            "来自第 [05](../notebooks/05-challenges.ipynb) 课的进阶任务。每个挑战都会为你搭好初始状态，"
            "检查看的是内核的状态，而不是你输入了什么：任何正确的做法都能通过，不对时会提示还缺什么。"
            "本书不包含答案。"
        ),
        "challenge": "挑战",
        "task": "任务",
        "start": "开始",
        "start_text": "在实验的笔记本里（第 05 课为每个挑战准备了单元格）：",
        "check": "检查",
        "check_text": (
            "`ch.check()` 查看内核，告诉你已完成，或者还缺什么并给出提示。"
            "`ch.close()` 拆除初始状态，以及任务要求你创建的设备。"
        ),
        "no_solution": "这里没有答案：请在实验里动手试试。参考答案不在笔记本目录里。",
        "reproduce_title": "复现原文",
        "reproduce_intro": (
            "`netlab reproduce` 在沙箱里运行了原文的每个实验，与录制本书各课输出的是同一次运行。"
            "下面是它生成的报告（英文）："
        ),
        "report_files": "报告文件：",
    },
}

LINK = re.compile(r"(?<!!)\[([^\]]*)\]\(([^)\s]+)\)")
SWITCH_LINE = re.compile(r"\A.*(English.*·.*简体中文|简体中文.*·.*English).*\n")  # a page's first line


def page_map(lang: str, notebooks: list[str]) -> dict[str, str]:
    """Repository path -> this language's page name, for every repository file the book holds."""
    pages = dict(SHARED_PAGES)
    for other in LANGS:  # the other language's pages first: this language's own win
        if other != lang:
            pages.update(PAGES[other])
    pages.update(PAGES[lang])
    for stem in notebooks:
        pages[f"notebooks/{stem}.ipynb"] = f"notebooks/{stem}"
        pages[f"notebooks/zh-CN/{stem}.ipynb"] = f"notebooks/{stem}"
    return pages


def rewrite_links(text: str, *, source: str, page: str, pages: dict[str, str], suffixes: dict[str, str]) -> str:
    """Point the links of ``source`` (a repository path) at the book's pages, seen from ``page``."""
    here = os.path.dirname(page)

    def one(match: re.Match[str]) -> str:
        label, target = match.groups()
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            return match.group(0)  # a web address, mailto:, or a place on this page
        path, _, anchor = target.partition("#")
        repo_path = os.path.normpath(os.path.join(os.path.dirname(source), path))
        if repo_path not in pages:
            return label  # a file the book does not hold: the words stay, the link goes
        name = pages[repo_path]
        relative = os.path.relpath(name + suffixes[name], here or ".")
        return f"[{label}]({relative}{'#' + anchor if anchor else ''})"

    return LINK.sub(one, text)


def _toctree(caption: str, entries: list[str]) -> str:
    options = f":caption: {caption}\n:maxdepth: 1\n"
    return "\n```{toctree}\n" + options + "\n" + "\n".join(entries) + "\n```\n"


def _challenge_page(lang: str, challenge: dict[str, str]) -> str:
    words = WORDS[lang]
    task = "\n".join(f"> {line}" if line else ">" for line in challenge["task"].splitlines())
    return (
        f"# {words['challenge']}{' ' if challenge['title'][:1].isdigit() else ': '}{challenge['title']}\n\n"
        f"## {words['task']}\n\n{task}\n\n"
        f"## {words['start']}\n\n{words['start_text']}\n\n"
        "```python\nfrom netlab import challenges\n\n"
        f"ch = challenges.{challenge['function']}()\nprint(ch.task)\n```\n\n"
        f"## {words['check']}\n\n{words['check_text']}\n\n"
        f"```python\nch.check()\nch.close()\n```\n\n"
        f"```{{note}}\n{words['no_solution']}\n```\n"
    )


def _scoped_css(css: str, scope: str) -> str:
    """The report's own style, applied to its part of the page only (``body`` becomes the scope)."""

    def rule(match: re.Match[str]) -> str:
        selectors = [s.strip() for s in match.group(1).split(",")]
        scoped = [scope if s == "body" else f"{scope} {s}" for s in selectors]
        return ", ".join(scoped) + " {"

    return re.sub(r"([^{}]+)\{", rule, css)


def _reproduce_page(lang: str, report_html: str) -> str:
    words = WORDS[lang]
    style = re.search(r"<style>(.*?)</style>", report_html, re.DOTALL)
    body = re.search(r"<body>(.*)</body>", report_html, re.DOTALL)
    content = body.group(1) if body else html.escape(report_html)
    content = re.sub(r"<h1>.*?</h1>", "", content, count=1, flags=re.DOTALL)
    css = _scoped_css(style.group(1), ".netlab-report") if style else ""
    raw = f'<style>{css}</style>\n<div class="netlab-report">\n{content}\n</div>'
    return f"# {words['reproduce_title']}\n\n{words['reproduce_intro']}\n\n```{{raw}} html\n{raw}\n```\n"


def write_sources(lang: str, *, work: Path, run: dict, report: dict) -> Path:
    """Lay out this language's sources in WORK/src/LANG; return that directory."""
    words = WORDS[lang]
    src = work / "src" / lang
    if src.exists():
        shutil.rmtree(src)
    (src / "notebooks").mkdir(parents=True)
    (src / "challenges").mkdir()
    extra = src / "_extra"  # copied as they are into the site (html_extra_path): the downloads
    notebooks = sorted(run["notebooks"])
    pages = page_map(lang, notebooks)
    suffixes = {name: ".md" for name in pages.values()}
    suffixes.update({f"notebooks/{stem}": ".ipynb" for stem in notebooks})
    downloads: dict[str, list[list[str]]] = {}

    for repo_path, name in {**SHARED_PAGES, **PAGES[lang]}.items():
        text = (REPO / repo_path).read_text(encoding="utf-8")
        text = SWITCH_LINE.sub("", text).lstrip("\n")  # the book has its own switch
        text = rewrite_links(text, source=repo_path, page=name, pages=pages, suffixes=suffixes)
        if name == "index":
            text += f"\n## {words['contents']}\n" + _toctree(words["lessons"], [f"notebooks/{s}" for s in notebooks])
            text += _toctree(words["practice"], ["challenges/index"])
            text += _toctree(words["teaching"], ["teachers", "classroom"])
            text += _toctree(words["reference"], ["glossary", "reproduce", "contributing"])
        (src / f"{name}.md").write_text(text, encoding="utf-8")

    import nbformat

    repo_dir = "notebooks" if lang == "en" else f"notebooks/{lang}"
    for stem, facts in run["notebooks"].items():
        nb = nbformat.read(facts["notebook"], as_version=4)
        freeze(nb, lang)  # widgets drawn as they stood at the end of the run
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = rewrite_links(
                    cell.source,
                    source=f"{repo_dir}/{stem}.ipynb",
                    page=f"notebooks/{stem}",
                    pages=pages,
                    suffixes=suffixes,
                )
        nbformat.write(nb, src / "notebooks" / f"{stem}.ipynb")
        files = extra / "files" / stem
        files.mkdir(parents=True)
        shutil.copy(facts["notebook"], files / f"{stem}.ipynb")
        for capture in facts["captures"]:
            shutil.copy(Path(facts["notebook"]).parent / capture, files / capture)
        downloads[f"notebooks/{stem}"] = [[n, f"files/{stem}/{n}"] for n in [f"{stem}.ipynb", *facts["captures"]]]

    challenges = run["challenges"]
    for challenge in challenges:
        page = challenge["function"].replace("_", "-")
        (src / "challenges" / f"{page}.md").write_text(_challenge_page(lang, challenge), encoding="utf-8")
    entries = [c["function"].replace("_", "-") for c in challenges]
    (src / "challenges" / "index.md").write_text(
        f"# {words['challenges']}\n\n{words['challenges_intro']}\n" + _toctree(words["challenges"], entries),
        encoding="utf-8",
    )

    (src / "reproduce.md").write_text(
        _reproduce_page(lang, Path(report["html"]).read_text(encoding="utf-8")), encoding="utf-8"
    )
    (extra / "files" / "reproduce").mkdir(parents=True)
    for key in REPORTS:
        shutil.copy(report[key], extra / "files" / "reproduce" / f"netlab-reproduce.{key}")
    downloads["reproduce"] = [[f"netlab-reproduce.{k}", f"files/reproduce/netlab-reproduce.{k}"] for k in REPORTS]

    book = {
        "lang": lang,
        "sphinx_lang": SPHINX_LANG[lang],
        "other": [other for other in LANGS if other != lang][0],
        "title": words["book"],
        "versions": run["versions"],
        "kernels": {f"notebooks/{stem}": facts["kernel"] for stem, facts in run["notebooks"].items()},
        "downloads": downloads,
    }
    (src / "book.json").write_text(json.dumps(book, indent=1, ensure_ascii=False), encoding="utf-8")
    return src
