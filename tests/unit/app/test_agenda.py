"""The teachers' guides show the agenda scripts/agenda computes, never a table typed by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from netlab.app.agenda import BEGIN, DOCS, END, docs_agenda

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("lang", sorted(DOCS))
def test_each_guide_holds_the_agenda_of_its_language(lang):
    text = (REPO / DOCS[lang]).read_text(encoding="utf-8")
    written = text[text.index(BEGIN) + len(BEGIN) : text.index(END)]
    assert docs_agenda(REPO, lang) in written, "run scripts/agenda --write-docs and commit the guides"
    assert written.count("| 2:00 |") == 1
