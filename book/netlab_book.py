"""The book's Sphinx extension: the language switch, and what produced each page.

``book/pages.py`` writes ``book.json`` beside the sources; every page gets from it, in its
template context:

- ``netlab_switch``: the same page in the other language (both trees hold the same page names);
- ``netlab_made_by``: the Linux kernel, iproute2, netlab and Jupyter kernel of the recorded run;
- ``netlab_downloads``: the files of the page: the notebook as run, and any pcap it saved.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

LABELS = {"en": "English", "zh-CN": "简体中文"}
MADE_BY = {
    "en": {
        "run": "Outputs recorded in one run on Linux {linux}, iproute2 {iproute2}, netlab {netlab}, {date}.",
        "page": "Built with the run that recorded the lessons: "
        "Linux {linux}, iproute2 {iproute2}, netlab {netlab}, {date}.",
        "kernel": "Jupyter kernel: {kernel}.",
        "download": "Download",
    },
    "zh-CN": {
        "run": "本页输出录制于同一次运行：Linux {linux}，iproute2 {iproute2}，netlab {netlab}，{date}。",
        "page": "与录制课程输出的同一次运行一起构建：Linux {linux}，iproute2 {iproute2}，netlab {netlab}，{date}。",
        "kernel": "Jupyter 内核：{kernel}。",
        "download": "下载",
    },
}


def _config_inited(app: Any, config: Any) -> None:
    book = json.loads((Path(app.srcdir) / "book.json").read_text(encoding="utf-8"))
    app.netlab_book = book
    config.html_title = book["title"]
    config.html_extra_path = [str(Path(app.srcdir) / "_extra")]


def _page_context(app: Any, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    book = app.netlab_book
    lang, other = book["lang"], book["other"]
    up = "../" * pagename.count("/")  # from this page to the top of its language's tree
    words = MADE_BY[lang]
    versions = book["versions"]
    kernel = book["kernels"].get(pagename)
    lines = [words["run" if kernel else "page"].format(**versions)]
    if kernel:
        lines.append(words["kernel"].format(kernel=kernel))
    context["netlab_switch"] = {"href": f"{up}../{other}/{pagename}.html", "lang": other, "label": LABELS[other]}
    context["netlab_made_by"] = " ".join(lines)
    context["netlab_download_word"] = words["download"]
    context["netlab_downloads"] = [
        {"name": name, "href": up + path} for name, path in book["downloads"].get(pagename, [])
    ]


def setup(app: Any) -> dict[str, Any]:
    app.connect("config-inited", _config_inited)
    app.connect("html-page-context", _page_context)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
