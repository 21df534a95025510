"""Which lessons ``netlab lab`` serves without ``--notebooks`` (netlab/app/labserver.py).

From a clone: the top-level ``notebooks/``, where a learner edits them. From an installed package: the
learner's own copy of the shipped lessons, made at first start (end to end in tests/test_setup.py).
"""

from __future__ import annotations

from pathlib import Path

from netlab.app.labserver import FIRST_NOTEBOOK, find_notebooks, own_copy

REPO = Path(__file__).resolve().parents[2]


def test_from_a_clone_the_lessons_are_the_clone_s_own():
    assert find_notebooks() == REPO / "notebooks"
    assert (find_notebooks() / FIRST_NOTEBOOK).is_file()


def _shipped(tmp_path: Path) -> Path:
    shipped = tmp_path / "site-packages/netlab/notebooks"
    (shipped / "zh-CN").mkdir(parents=True)
    (shipped / FIRST_NOTEBOOK).write_text('{"cells": []}')
    (shipped / "zh-CN" / FIRST_NOTEBOOK).write_text('{"cells": []}')
    return shipped


def test_an_installed_package_serves_the_learner_s_own_copy(tmp_path, capsys):
    shipped, copy = _shipped(tmp_path), tmp_path / "home/netlab-lessons"
    copy.parent.mkdir()
    assert own_copy(shipped, copy) == copy
    assert sorted(p.relative_to(copy).as_posix() for p in copy.rglob("*.ipynb")) == [
        FIRST_NOTEBOOK,
        f"zh-CN/{FIRST_NOTEBOOK}",
    ]
    assert str(copy) in capsys.readouterr().out  # the learner is told where their lessons are
    assert [p.name for p in copy.parent.iterdir()] == ["netlab-lessons"]  # no half copy left beside it


def test_a_later_start_keeps_the_learner_s_edits_and_adds_new_lessons(tmp_path):
    shipped, copy = _shipped(tmp_path), tmp_path / "home/netlab-lessons"
    copy.parent.mkdir()
    own_copy(shipped, copy)
    (copy / FIRST_NOTEBOOK).write_text("my answers")
    (shipped / "06-new.ipynb").write_text('{"cells": []}')  # a newer netlab ships one more lesson
    assert own_copy(shipped, copy) == copy
    assert (copy / FIRST_NOTEBOOK).read_text() == "my answers"
    assert (copy / "06-new.ipynb").is_file()


def test_without_a_writable_home_the_shipped_lessons_are_served(tmp_path):
    shipped = _shipped(tmp_path)
    assert own_copy(shipped, tmp_path / "no/such/home/netlab-lessons") == shipped
