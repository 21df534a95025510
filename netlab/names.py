"""The naming rules of iproute2 and the kernel, checked before anything is created.

A namespace name becomes a file name in the run directory (``/run/netns/NAME``), so iproute2
refuses what would not be one plain file name: empty, ``.``, ``..``, anything with ``/``, or
longer than ``NAME_MAX`` (255 bytes). An interface name must fit the kernel's ``IFNAMSIZ``
(16 bytes with the final NUL, so 15 usable) and may not hold ``/``, ``:`` or white space. A name
that goes into an nft rule may not hold ``"`` or ``*`` either (``check_nft_ifname``).
"""

from __future__ import annotations

from collections.abc import Callable

from netlab.errors import InvalidNameError
from netlab.plumbing.i18n import _

NAME_MAX = 255
IFNAMSIZ = 16


def check_netns_name(name: object) -> str:
    """Return ``name`` if ``ip netns add`` would accept it, else raise InvalidNameError."""
    if not isinstance(name, str):
        raise InvalidNameError(
            _("a namespace name must be a str, not {type} {name!r}").format(type=type(name).__name__, name=name),
            hint=_("pass the name as text, e.g. 'netns1' (a pathlib.Path is taken as a path, an int as a pid)"),
            subject=name,
        )
    problem = None
    if not name:
        problem = _("is empty")
    elif name in (".", ".."):
        problem = _("is {name!r}, which means a directory").format(name=name)
    elif "/" in name:
        problem = _("contains '/'; a name is never taken as a path")
    elif "\0" in name:
        problem = _("contains a NUL byte")
    elif len(name.encode()) > NAME_MAX:
        problem = _("is {size} bytes long; the limit is {limit}").format(size=len(name.encode()), limit=NAME_MAX)
    if problem:
        raise InvalidNameError(
            _("invalid namespace name {name!r}: it {problem}").format(name=name, problem=problem),
            hint=_("use a short plain name such as 'netns1'"),
            subject=name,
        )
    return name


def check_ifname(name: object) -> str:
    """Return ``name`` if the kernel would accept it as an interface name."""
    return _checked_ifname(name, _kernel_problem)


def check_nft_ifname(name: object) -> str:
    """Return ``name`` if an nft rule can match it exactly (``oifname "NAME"``).

    The kernel's rules, and two of nft's: a name is written in double quotes, with no way to
    escape one inside; and a final ``*`` makes it a wildcard (``"eth*"``: every eth device).
    """
    return _checked_ifname(name, _nft_problem)


def _kernel_problem(name: str) -> str | None:
    """Why the kernel would refuse ``name`` (None: it would take it)."""
    if not name:
        return _("is empty")
    if name in (".", ".."):
        return _("is {name!r}").format(name=name)
    if len(name.encode()) >= IFNAMSIZ:
        return _("is {size} bytes long; the kernel allows at most {limit}").format(
            size=len(name.encode()), limit=IFNAMSIZ - 1
        )
    if any(c in name for c in "/:\0") or any(c.isspace() for c in name):
        return _("contains '/', ':', NUL or white space")
    return None


def _nft_problem(name: str) -> str | None:
    """Why the kernel, or an nft rule, would not take ``name`` as it is."""
    if '"' in name or "*" in name:
        return _kernel_problem(name) or _("contains '\"' or '*', which nft cannot match as a plain name")
    return _kernel_problem(name)


def _checked_ifname(name: object, problem_of: Callable[[str], str | None]) -> str:
    if not isinstance(name, str):
        raise InvalidNameError(
            _("an interface name must be a str, not {type} {name!r}").format(type=type(name).__name__, name=name),
            hint=_("pass the name as text, e.g. 'veth0'"),
            subject=name,
        )
    problem = problem_of(name)
    if problem:
        raise InvalidNameError(
            _("invalid interface name {name!r}: it {problem}").format(name=name, problem=problem),
            hint=_("use at most 15 letters, digits, '-', '_' or '.', e.g. 'veth0'"),
            subject=name,
        )
    return name
