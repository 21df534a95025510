"""The Chinese lessons and messages never drift from the English ones.

Notebooks: ``notebooks/zh-CN/X.ipynb`` is ``notebooks/X.ipynb`` cell for cell: the same cells in the same order
with the same ids, and code cells identical (source and tags); only the prose differs, and all of it is Chinese.
The article's own sentences, quoted above the cells that reproduce them, are the same in both languages.
Messages: every sentence wrapped in ``_()`` is in the catalog template, translated in ``zh_CN``, and compiled.
And the two ends a learner sees: ``netlab doctor`` speaks Chinese, ``netlab lab --lang zh-CN`` serves the
Chinese lessons in a Chinese JupyterLab.
"""

from __future__ import annotations

import gettext
import json
import os
import re
import shlex
import string
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import nbformat
import pytest
from lab_server import NETLAB, netlab_lab

from netlab.plumbing import i18n

REPO = Path(__file__).resolve().parent.parent
ENGLISH = sorted((REPO / "notebooks").glob("[0-9][0-9]-*.ipynb"))
CHINESE = REPO / "notebooks" / "zh-CN"
HAN = re.compile(r"[\u4e00-\u9fff]")
STEPS = {f"A{n}" for n in range(1, 17)}  # the article's steps (DESIGN.md)
LOCALE = REPO / "netlab" / "locale"
PO = LOCALE / "zh_CN" / "LC_MESSAGES" / "netlab.po"


def pairs() -> list[tuple[nbformat.NotebookNode, nbformat.NotebookNode]]:
    return [(nbformat.read(p, as_version=4), nbformat.read(CHINESE / p.name, as_version=4)) for p in ENGLISH]


def quoted(source: str) -> list[str]:
    """The article's lines in a quote cell: the blockquote above its attribution line ("> — ...")."""
    lines = []
    for line in source.splitlines():
        if line.startswith("> —"):
            break
        if line.strip() != ">":
            lines.append(line)
    return lines


def test_every_english_notebook_has_a_chinese_one_and_no_more():
    assert sorted(p.name for p in CHINESE.glob("*.ipynb")) == [p.name for p in ENGLISH]


@pytest.mark.parametrize("path", ENGLISH, ids=[p.stem for p in ENGLISH])
def test_same_cells_same_order_and_identical_code(path: Path):
    en = nbformat.read(path, as_version=4)
    zh = nbformat.read(CHINESE / path.name, as_version=4)
    assert [(c.get("id"), c.cell_type) for c in zh.cells] == [(c.get("id"), c.cell_type) for c in en.cells]
    for a, b in zip(en.cells, zh.cells, strict=True):
        if a.cell_type == "code":
            assert b.source == a.source, f"{path.name} {a.id}: code differs"
            assert b.metadata.get("tags", []) == a.metadata.get("tags", []), f"{path.name} {a.id}: tags differ"
            assert not b.outputs and b.execution_count is None, f"zh-CN/{path.name} {b.id} has outputs"
    assert zh.metadata == en.metadata


def test_every_chinese_markdown_cell_is_written_in_chinese():
    for en, zh in pairs():
        for cell in zh.cells:
            if cell.cell_type == "markdown":
                assert HAN.search(cell.source), f"{cell.id} has no Chinese: {cell.source[:80]!r}"
        # ... and is not the English cell left as it was.
        english = {c.id: c.source for c in en.cells if c.cell_type == "markdown"}
        assert all(c.source != english[c.id] for c in zh.cells if c.cell_type == "markdown")


def test_the_article_is_credited_and_its_sentences_quoted_alike_in_both_languages():
    steps = set()
    for en, zh in pairs():
        chinese = {c.id: c.source for c in zh.cells}
        assert (
            en.cells[1].id == "article" and "从零开始创建一个容器之namespace 5.Network namespaces" in en.cells[1].source
        )
        assert "2023-07-21" in en.cells[1].source and quoted(chinese["article"]) == quoted(en.cells[1].source)
        for index, cell in enumerate(en.cells):
            if not cell.id.startswith("quote-"):
                continue
            assert cell.id in chinese, f"{cell.id} is not in the Chinese notebook"
            assert quoted(chinese[cell.id]) == quoted(cell.source) and HAN.search(cell.source), cell.id
            named = set(re.findall(r"\bA\d+\b", cell.source.split("> —", 1)[1]))
            assert named and named <= STEPS and named == set(re.findall(r"\bA\d+\b", chinese[cell.id])), cell.id
            assert en.cells[index + 1].cell_type == "code", f"{cell.id} is not above the cell that reproduces it"
            steps |= named
    assert steps == STEPS, f"steps never quoted: {sorted(STEPS - steps)}"


def test_translations_and_navigation_are_in_step_with_the_english():
    """Nothing for scripts/sync-translations or scripts/notebook-nav to do: no code to copy, nothing to translate."""
    for script in ("sync-translations", "notebook-nav"):
        result = subprocess.run(
            [sys.executable, str(REPO / "scripts" / script), "--check"], capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr
    for path in sorted(CHINESE.glob("*.ipynb"))[:-1]:
        assert "**下一篇：**" in nbformat.read(path, as_version=4).cells[-1].source


# Messages


def _catalog(path: Path):
    from babel.messages.pofile import read_po

    with open(path, "rb") as f:
        return read_po(f)


def test_the_template_holds_every_sentence_the_code_wraps():
    """Every ``_()`` sentence of netlab/ and every ``lesson.ok()``/``lesson.say()`` one of the notebooks, no more."""
    from babel.messages.extract import extract_from_dir

    extracted = {m[2] for m in extract_from_dir(str(REPO / "netlab"), method_map=[("**.py", "python")])}
    template = {m.id for m in _catalog(LOCALE / "netlab.pot") if m.id}
    assert extracted <= template, "run scripts/sync-translations messages"
    script = [sys.executable, str(REPO / "scripts" / "sync-translations"), "messages", "--check"]
    result = subprocess.run(script, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + "run scripts/sync-translations messages"


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_every_message_has_a_chinese_translation_with_the_same_placeholders():
    template = {m.id for m in _catalog(LOCALE / "netlab.pot") if m.id}
    chinese = {m.id: m for m in _catalog(PO) if m.id}
    untranslated = sorted(i for i in template if i not in chinese or not chinese[i].string or chinese[i].fuzzy)
    assert not untranslated, f"no zh_CN translation: {untranslated}"
    for msgid in template:
        assert _fields(chinese[msgid].string) == _fields(msgid), msgid


def test_the_compiled_catalog_matches_its_source():
    with open(PO.with_suffix(".mo"), "rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    for message in _catalog(PO):
        if message.id:
            assert compiled.gettext(message.id) == message.string, "run scripts/sync-translations messages"


def test_the_language_comes_from_netlab_lang_then_the_locale(monkeypatch):
    for variable in i18n.ENVIRONMENT:
        monkeypatch.delenv(variable, raising=False)
    assert i18n.language() == "en" and i18n._("hint:") == "hint:"
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert i18n.language() == "zh_CN" and i18n._("hint:") == "提示："
    monkeypatch.setenv("LC_ALL", "C")  # gettext's order: LC_ALL beats LANG
    assert i18n._("hint:") == "hint:"
    monkeypatch.setenv("NETLAB_LANG", "zh-CN")  # and netlab's own setting beats them all
    assert i18n._("hint:") == "提示："
    assert [i18n.normalize(t) for t in ("zh-cn", "zh_CN.UTF-8", "POSIX", "en_US:de")] == [
        "zh_CN",
        "zh_CN",
        "en",
        "en_US",
    ]


def test_an_error_hint_is_in_the_learners_language(monkeypatch):
    from netlab.errors import permission_error

    monkeypatch.setenv("NETLAB_LANG", "zh_CN")
    text = str(permission_error(i18n._("create a network namespace"), PermissionError(1, "Operation not permitted")))
    assert text.startswith("不允许创建网络命名空间：EPERM") and "\n  提示：以 root 身份运行" in text


def test_a_failing_checks_steps_and_hint_are_in_the_learners_language(monkeypatch):
    from netlab import netns
    from netlab.teach import checks

    name = "netlab-no-such-ns"
    assert name not in netns.list()  # the check only reads: which namespaces exist
    monkeypatch.setenv("NETLAB_LANG", "zh_CN")
    result = checks.lo_up(name)
    assert not result and result.hint == f"创建它：ip netns add {name}"
    assert str(result).splitlines() == [
        f"✘ 尚未完成：{name} 中的 lo 已启用",
        f"  ✘ 命名空间 {name} 不存在",
        f"  提示：创建它：ip netns add {name}",
    ]
    monkeypatch.setenv("NETLAB_LANG", "en")  # and English, as written in the code
    assert checks.lo_up(name).hint == f"create it: ip netns add {name}"


def test_netlab_doctor_speaks_chinese():
    env = dict(os.environ, NETLAB_LANG="zh_CN")
    result = subprocess.run([NETLAB, "doctor"], capture_output=True, text=True, env=env)
    assert "[正常] 权限：" in result.stdout and "工具 ip：" in result.stdout, result.stdout
    last = result.stdout.strip().splitlines()[-1]
    assert last == "所有必需的检查都通过了" if result.returncode == 0 else "项必需的检查失败了" in last


def test_netlab_lab_lang_zh_cn_serves_the_chinese_lessons_in_a_chinese_jupyterlab(tmp_path):
    # `netlab lab --lang zh-CN`: the shared helper starts `netlab lab --notebooks DIR --port N`; this adds --lang.
    wrapper = tmp_path / "netlab"
    wrapper.write_text(f'#!/bin/sh\nshift\nexec {shlex.quote(NETLAB)} lab --lang zh-CN "$@"\n')
    wrapper.chmod(0o755)
    with netlab_lab(
        REPO / "notebooks",
        command=str(wrapper),
        env=dict(os.environ, NETLAB_LANG="", LANGUAGE="", LC_ALL="", LANG="C.UTF-8"),
    ) as lab:
        listing: Any = lab.api("contents")
        assert sorted(item["name"] for item in listing["content"] if item["type"] == "notebook") == [
            p.name for p in ENGLISH
        ]
        notebook: Any = lab.api("contents/00-start-here.ipynb")
        first = notebook["content"]["cells"][0]["source"]
        assert first.startswith("# 00 · 从这里开始"), first

        def lab_api(path: str) -> dict:
            request = urllib.request.Request(
                f"{lab.base}/lab/api/{path}", headers={"Authorization": f"token {lab.token}"}
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read())

        # JupyterLab's "Language" setting: our override makes zh_CN its default, and no user setting replaces it.
        setting = lab_api("settings/@jupyterlab/translation-extension:plugin")
        assert setting["schema"]["properties"]["locale"]["default"] == "zh_CN", setting["schema"]["properties"]
        assert setting["settings"].get("locale", "zh_CN") == "zh_CN"
        packs = lab_api("translations/")["data"]
        assert "zh_CN" in packs
        # The kernels get the language too: a kernel's netlab messages are Chinese.
        assert b"NETLAB_LANG=zh_CN" in (lab.server / "environ").read_bytes().split(b"\0")
