"""Messages in the learner's language, the standard Python way: gettext catalogs.

Every sentence netlab shows a learner is written in English in the code and wrapped in ``_()``::

    from netlab.plumbing.i18n import _

    print(_("all required checks passed"))
    print(_("{count} required check(s) failed").format(count=2))

``_()`` looks the sentence up in the catalog of the learner's language, chosen at the moment it is
called, from the first of these that is set:

1. ``NETLAB_LANG`` (``netlab lab --lang zh-CN`` sets it for the lab's kernels and terminals),
2. the usual locale variables, in gettext's order: ``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``, ``LANG``.

English is the default, and the fallback for any sentence or language without a translation.
The catalogs are ``netlab/locale/<lang>/LC_MESSAGES/netlab.po`` (text, for translators) and its
compiled ``netlab.mo`` (what gettext reads). ``scripts/sync-translations messages`` extracts the
sentences from the code into ``netlab/locale/netlab.pot``, merges them into every ``.po`` and compiles.
Always put the placeholders inside the sentence (``.format`` after ``_()``, never an f-string): the
translator may need to move them, and extraction only sees literal strings.

Chinese sentences are spaced as Chinese is typeset, whatever fills their placeholders: no space
between two Chinese characters or next to full-width punctuation, one space between a Chinese
character and a name, number or command (``在根命名空间中添加了 br0``, ``netns1 中的 lo``). A
placeholder may hold either (``{where}`` is ``根命名空间`` or ``netns1``), so the spacing is settled
after ``.format`` (:class:`Sentence`), not in the catalog.
"""

from __future__ import annotations

import gettext
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

__all__ = [
    "DOMAIN",
    "LOCALE_DIR",
    "N_",
    "Sentence",
    "_",
    "cjk_spacing",
    "language",
    "normalize",
    "spoken",
    "translation",
]

DOMAIN = "netlab"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
ENVIRONMENT = ("NETLAB_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


def normalize(tag: str) -> str:
    """``zh-CN``, ``zh_CN.UTF-8``, ``zh_CN@x`` -> ``zh_CN``; ``C``/``POSIX``/empty -> ``en``."""
    tag = tag.split(":")[0].split(".")[0].split("@")[0].strip().replace("-", "_")
    if tag in ("", "C", "POSIX"):
        return "en"
    language, _sep, territory = tag.partition("_")
    return f"{language.lower()}_{territory.upper()}" if territory else language.lower()


def language() -> str:
    """The learner's language now, as a gettext locale name (``zh_CN``, ``en``)."""
    for variable in ENVIRONMENT:
        value = os.environ.get(variable, "")
        if value:
            return normalize(value)
    return "en"


def spoken() -> str:
    """The language netlab speaks now: the learner's if netlab has a catalog for it, else ``en``."""
    lang = language()
    return lang if isinstance(translation(lang), gettext.GNUTranslations) else "en"


@cache
def translation(lang: str) -> gettext.NullTranslations:
    """The catalog for ``lang``; English (the sentences as written) when there is none."""
    return gettext.translation(DOMAIN, localedir=str(LOCALE_DIR), languages=[lang], fallback=True)


_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # Chinese characters
_FULL_WIDTH = "\u3000-\u303f\uff00-\uffef"  # Chinese punctuation: ，。：；（）「」...
_HAN_SPACES_HAN = re.compile(f"(?<=[{_HAN}{_FULL_WIDTH}]) +(?=[{_HAN}{_FULL_WIDTH}])")
_SPACE_AFTER_FULL_WIDTH = re.compile(f"(?<=[{_FULL_WIDTH}]) +(?=\\S)")
_SPACE_BEFORE_FULL_WIDTH = re.compile(f"(?<=\\S) +(?=[{_FULL_WIDTH}])")
# quotes stay against what they quote; a report's <b> and </b> are markup, not Latin words
_HAN_THEN_LATIN = re.compile(f"(?<=[{_HAN}])(?=[A-Za-z0-9`/\\[_-]|<(?!/?[a-z]>))")
_LATIN_THEN_HAN = re.compile(f"(?:(?<=[A-Za-z0-9`/\\]%_-])|(?<=>)(?<!<[a-z]>)(?<!</[a-z]>))(?=[{_HAN}])")


def cjk_spacing(text: str) -> str:
    """``text`` spaced as Chinese is typeset (see the module docstring); text without Chinese is unchanged."""
    if not re.search(f"[{_HAN}]", text):
        return text
    lines = []
    for line in text.split("\n"):
        indent = line[: len(line) - len(line.lstrip(" "))]  # a hint's indentation stays
        body = _HAN_SPACES_HAN.sub("", line[len(indent) :])
        body = _SPACE_AFTER_FULL_WIDTH.sub("", _SPACE_BEFORE_FULL_WIDTH.sub("", body))
        body = _LATIN_THEN_HAN.sub(" ", _HAN_THEN_LATIN.sub(" ", body))
        lines.append(indent + body)
    return "\n".join(lines)


class Sentence(str):
    """A translated sentence whose ``.format()`` result is spaced as Chinese is typeset (``cjk_spacing``)."""

    def format(self, *args: Any, **kwargs: Any) -> str:
        return cjk_spacing(str.format(self, *args, **kwargs))


def _(message: str) -> str:
    """``message`` in the learner's language (see the module docstring)."""
    said = translation(language()).gettext(message)
    return Sentence(said) if said is not message else said


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it yet (translate later with ``_()``)."""
    return message
