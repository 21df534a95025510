"""Which lessons ``netlab lab`` serves without ``--notebooks`` (netlab/app/labserver.py).

From a clone: the top-level ``notebooks/``, where a learner edits them. The installed case (the
copy inside a wheel) is tested end to end in tests/test_setup.py.
"""

from __future__ import annotations

from pathlib import Path

from netlab.app.labserver import FIRST_NOTEBOOK, find_notebooks

REPO = Path(__file__).resolve().parents[2]


def test_from_a_clone_the_lessons_are_the_clone_s_own():
    assert find_notebooks() == REPO / "notebooks"
    assert (find_notebooks() / FIRST_NOTEBOOK).is_file()
