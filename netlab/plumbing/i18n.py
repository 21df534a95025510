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
"""

from __future__ import annotations

import gettext
import os
from functools import cache
from pathlib import Path

__all__ = ["DOMAIN", "LOCALE_DIR", "N_", "_", "language", "normalize", "translation"]

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


@cache
def translation(lang: str) -> gettext.NullTranslations:
    """The catalog for ``lang``; English (the sentences as written) when there is none."""
    return gettext.translation(DOMAIN, localedir=str(LOCALE_DIR), languages=[lang], fallback=True)


def _(message: str) -> str:
    """``message`` in the learner's language (see the module docstring)."""
    return translation(language()).gettext(message)


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it yet (translate later with ``_()``)."""
    return message
