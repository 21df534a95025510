"""Every sentence wrapped in ``_()`` can be extracted on every Python netlab supports.

Babel reads ``_("...")`` calls from the source. Inside an f-string, Python 3.11's tokenizer hides
them (the f-string is one token) while 3.12 and later show them: such a sentence would be in the
catalog on one Python and not on the other, and untranslated on 3.11 either way. So: no ``_()``
call, nor ``N_()``, inside an f-string; compute the sentence first, then put it in.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "netlab"


def _calls_in_fstrings(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            for inner in ast.walk(node):
                if (
                    isinstance(inner, ast.Call)
                    and isinstance(inner.func, ast.Name)
                    and inner.func.id in ("_", "N_")
                    and inner.args
                    and isinstance(inner.args[0], ast.Constant)  # a literal: what extraction would read
                ):
                    lines.append(inner.lineno)
    return lines


def test_no_sentence_is_wrapped_inside_an_f_string():
    found = {
        str(path.relative_to(PACKAGE.parent)): lines
        for path in sorted(PACKAGE.rglob("*.py"))
        if (lines := _calls_in_fstrings(ast.parse(path.read_text(encoding="utf-8"))))
    }
    assert not found, f"_() inside an f-string (not extracted on Python 3.11): {found}"


def test_the_check_sees_a_call_inside_an_f_string():
    assert _calls_in_fstrings(ast.parse("x = f\"<i>{_('hello')}</i>\"")) == [1]
    assert _calls_in_fstrings(ast.parse("x = _('hello'); y = f'<i>{x}</i>'")) == []
    assert _calls_in_fstrings(ast.parse("y = f'<i>{_(word)}</i>'")) == []  # a variable: nothing to extract
