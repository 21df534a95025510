"""A learner's first five minutes: what the READMEs say first, and the agenda's arithmetic."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from netlab.app.agenda import BREAK_MINUTES, Lesson, agenda, clock, words

REPO = Path(__file__).resolve().parents[2]


def _sections(path: Path) -> list[str]:
    return re.findall(r"^## (.+)$", path.read_text(encoding="utf-8"), flags=re.M)


@pytest.mark.parametrize(
    ("readme", "first"),
    [
        ("README.md", ["What you will learn", "How long it takes", "What you need", "Two commands"]),
        ("README.zh-CN.md", ["你将学到什么", "需要多长时间", "需要准备什么", "两条命令"]),
    ],
)
def test_a_readme_starts_with_what_a_learner_needs_to_begin(readme, first):
    path = REPO / readme
    assert _sections(path)[:4] == first
    text = path.read_text(encoding="utf-8")
    opening = text[: text.index("\n## ", text.index("\n## " + first[3]) + 1)]  # up to the section after the commands
    assert "./scripts/lab" in opening and "./scripts/test" in opening
    assert "00-start-here" in opening and "http://127.0.0.1:8888/" in opening
    after = text[text.index("\n## " + first[3]) :]
    assert ".venv/bin/netlab" in after and "source .venv/bin/activate" in after  # how to run netlab afterwards
    # The module tables live in CONTRIBUTING.md now.
    assert "| `netlab/netns.py` |" not in text
    assert "| `netlab/netns.py` |" in (REPO / "CONTRIBUTING.md").read_text(encoding="utf-8")


def test_the_readme_keeps_the_exact_commands_ci_looks_for():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert "| start the lab (JupyterLab on the notebooks) | `./scripts/lab` |" in text
    assert "| run the tests | `./scripts/test` |" in text


def _lesson(stem: str, minutes: float) -> Lesson:
    return Lesson(stem, stem, minutes, minutes, 0, 0.0, None)


def test_the_agenda_runs_from_0_00_to_2_00_with_one_break_near_half_time():
    rows = agenda([_lesson("00", 10), _lesson("01", 16), _lesson("02", 21), _lesson("03", 23), _lesson("04", 23)])
    assert [clock(start) for start, _what, _m in rows] == [
        "0:00",
        "0:10",
        "0:26",
        "0:47",
        "1:10",  # the break: after 03, which ends nearest 1:00
        "1:20",
        "1:43",  # the buffer
        "2:00",
    ]
    assert rows[4][1:] == ("break", BREAK_MINUTES) and rows[6][2] == 17 and rows[-1][1:] == ("end", 120)


def test_a_lesson_without_a_core_path_is_left_out_and_an_overrun_has_no_buffer():
    rows = agenda([_lesson("00", 60), _lesson("01", 70), _lesson("05", 0.2)])
    assert [what for _start, what, _m in rows] == ["00", "break", "01", "end"]
    assert clock(rows[-1][0]) == "2:20"


def test_chinese_prose_is_read_two_characters_a_word():
    assert words("命名空间就是一个 inode") == 8 / 2 + 1  # 8 characters (4 words) and "inode"
    assert words("see `ip netns add`\n```\nip netns list\n```\n") == 4  # code blocks are read as code
