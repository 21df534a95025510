"""Per-namespace kernel settings: ``sysctl net.*``.

Most settings under ``net.`` belong to a network namespace: each namespace has its own
``net.ipv4.ip_forward``, and a new namespace starts with the defaults (forwarding off). The
file behind a setting is ``/proc/sys/`` plus the name with dots turned into slashes; which
namespace it shows depends on the thread that opens it::

    sysctl net.ipv4.ip_forward                            sysctl.get("net.ipv4.ip_forward")
    ip netns exec netns1 sysctl -w net.ipv4.ip_forward=1  sysctl.set("net.ipv4.ip_forward", 1, netns="netns1")

A router namespace (or the root namespace of a lab with NAT) needs ``ip_forward=1`` to pass
packets from one device to another. ``set`` returns the old value, so it can be put back; a
``Lab`` does that for you on teardown.

Only ``net.`` settings are accepted: the others (``kernel.*``, ``vm.*``) belong to the whole
machine, and a lesson about namespaces must not change them.
"""

from __future__ import annotations

import errno
import re
from pathlib import Path

from netlab.enter import call
from netlab.errors import InvalidNameError, NetlabError, permission_error
from netlab.plumbing.commands import emit, in_netns
from netlab.plumbing.i18n import _
from netlab.targets import Target, in_words

__all__ = ["get", "path", "same", "set"]

_PART = re.compile(r"^[A-Za-z0-9_@-]+$")


def path(key: str) -> Path:
    """``net.ipv4.ip_forward`` -> ``/proc/sys/net/ipv4/ip_forward`` (after checking the key).

    Like ``sysctl``, a key written with ``/`` keeps its dots: ``net/ipv4/conf/eth0.100/forwarding``.
    """
    parts = (key.split("/") if "/" in key else key.split(".")) if isinstance(key, str) else []
    if (
        len(parts) < 2
        or parts[0] != "net"
        or not all(_PART.match(p) or ("/" in key and _PART.match(p.replace(".", ""))) for p in parts)
    ):
        raise InvalidNameError(
            _("{key!r} is not a per-namespace sysctl name").format(key=key),
            hint=_("use a 'net.' setting such as 'net.ipv4.ip_forward'; others belong to the whole machine"),
            subject=key,
        )
    return Path("/proc/sys", *parts)


def _read(file: Path, key: str, target: Target) -> str:
    try:
        return file.read_text().strip()
    except (FileNotFoundError, IsADirectoryError):  # no such setting, or a folder of them (net.ipv4)
        raise InvalidNameError(
            _("there is no sysctl {key!r} in {where}").format(key=key, where=in_words(target)),
            hint=_(
                "list them with `sysctl -a -r '^net'`; device settings need the device to exist "
                "(net.ipv4.conf.DEV.forwarding)"
            ),
            subject=key,
        ) from None


def _write(file: Path, key: str, value: str, target: Target) -> str:
    old = _read(file, key, target)
    try:
        file.write_text(value)
    except PermissionError as exc:
        if not file.stat().st_mode & 0o222:  # the kernel only shows it (mode 444): nobody may write it
            raise NetlabError(
                _("{key} can be read, not set: the kernel shows it, it does not take it").format(key=key),
                hint=_(
                    "read it with `sysctl -n {key}`; list the settings you can change with `sysctl -a -r '^net'`"
                ).format(key=key),
                subject=key,
                errno=exc.errno,
            ) from None
        raise permission_error(_("set {key} in {where}").format(key=key, where=in_words(target)), exc) from exc
    except OSError as exc:
        if exc.errno == errno.EINVAL:
            raise NetlabError(
                _("the kernel refused {key}={value!r} in {where} (EINVAL)").format(
                    key=key, value=value, where=in_words(target)
                ),
                hint=_("see the allowed values in the kernel docs (ip-sysctl.rst); it is now {old!r}").format(old=old),
                subject=key,
                errno=exc.errno,
            ) from None
        raise
    return old


def get(key: str, *, netns: Target = None) -> str:
    """``sysctl -n KEY`` inside ``netns``: the current value, as text."""
    file = path(key)
    return call(netns, _read, file, key, netns)


def as_text(value: object) -> str:
    """A sysctl value as the text written to /proc/sys (True -> '1')."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if not isinstance(value, (int, str)) or (isinstance(value, str) and ("\n" in value or not value.strip())):
        raise InvalidNameError(
            _("{value!r} is not a sysctl value").format(value=value),
            hint=_("pass an int or a short text such as '1'"),
            subject=value,
        )
    return str(value)


def set(key: str, value: object, *, netns: Target = None) -> str:
    """``sysctl -w KEY=VALUE`` inside ``netns``; returns the value it had before."""
    file = path(key)
    text = as_text(value)
    old = call(netns, _write, file, key, text, netns)
    emit(in_netns(netns, ["sysctl", "-w", f"{key}={text}"]))
    return old


def same(a: object, b: object) -> bool:
    """Whether two values are one setting as the kernel shows it: ``40000 50000`` is ``40000\t50000``,
    ``01`` is ``1`` (it reads back what it took in its own words)."""

    def words(value: object) -> list[str]:
        return [str(int(w)) if w.isascii() and w.lstrip("-").isdigit() else w for w in str(value).split()]

    return words(a) == words(b)
