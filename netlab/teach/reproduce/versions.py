"""Which versions of the tools this machine runs, and the article's facts that depend on them.

Some of what the article shows is true only for some versions of the tools that show it::

    fact                                   older                          newer
    `mount` after `ip netns add` (host)    iproute2 < 7.0: nsfs twice     7.0 and later: once
    what `lsns` lists                      util-linux < 2.39: namespaces  2.39 and later: also those only
                                           with a process in them         a bind mount holds (2.41: an fd)
    `ip` colours its output on a terminal  iproute2 < 6.7: never          6.7 and later: the packager decides
    `ifconfig`                             net-tools, a separate package that many systems no longer install

``netlab reproduce`` reads the versions (``ip -V``, ``lsns --version``, ``uname -r``), and the
decisions below are pure functions of them, so the rule for every version can be tested on any
machine: ``nsfs_lines_on_a_host(Versions.parse(ip_v="ip utility, iproute2-7.3.0"))`` is 1.
A version that cannot be read is ``None``, and a decision on it is ``None`` too: "unknown".
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from netlab.plumbing.i18n import _

__all__ = [
    "Fact",
    "Version",
    "Versions",
    "detect",
    "facts",
    "ip_colours_by_default",
    "lsns_lists_bind_mounted",
    "machine",
    "netns_mount_is_private",
    "nsfs_lines_on_a_host",
    "parse_iproute2",
    "parse_kernel",
    "parse_util_linux",
]

PRIVATE_NETNS_MOUNT = (7, 0)  # iproute2 commit 82c8b9fe "ip/netns: avoid redundant mounts"
LSNS_PERSISTENT = (2, 39)  # util-linux: lsns shows namespaces held by a bind mount only
LSNS_FD_HELD = (2, 41)  # util-linux: ... and those held by an open file descriptor or socket only
IP_COLOR_CONFIGURABLE = (6, 7)  # iproute2: `configure --color` chooses the default
IP_NO_COLOR = (6, 15)  # iproute2: the NO_COLOR environment variable turns colour off


@dataclass(frozen=True)
class Version:
    """A version as numbers, for comparing, and as the tool printed it.

    A dated iproute2 snapshot (``ss200127``, the scheme before numbered releases took over in
    2020) has no numbers, and is older than any numbered release this module compares with.
    """

    numbers: tuple[int, ...]
    text: str

    def at_least(self, *numbers: int) -> bool:
        return bool(self.numbers) and self.numbers >= numbers

    def __str__(self) -> str:
        return self.text


def _numbered(match: re.Match[str] | None) -> Version | None:
    if match is None:
        return None
    text = match.group(1)
    return Version(tuple(int(part) for part in text.split(".")), text)


def parse_iproute2(text: str) -> Version | None:
    """``ip -V``: ``ip utility, iproute2-6.1.0, libbpf 1.1.2`` -> 6.1.0 (also ``iproute2-ss200127``)."""
    snapshot = re.search(r"iproute2-(ss\d{6})\b", text)
    if snapshot:
        return Version((), snapshot.group(1))
    return _numbered(re.search(r"iproute2[- ]v?(\d+(?:\.\d+)*)", text))


def parse_util_linux(text: str) -> Version | None:
    """``lsns --version``: ``lsns from util-linux 2.38.1`` -> 2.38.1 (``2.39-rc1`` -> 2.39)."""
    return _numbered(re.search(r"util-linux\s+v?(\d+(?:\.\d+)*)", text))


def parse_kernel(text: str) -> Version | None:
    """``uname -r``: ``6.1.0-18-amd64`` -> 6.1.0."""
    return _numbered(re.match(r"\s*(\d+(?:\.\d+)*)", text))


@dataclass(frozen=True)
class Versions:
    """The versions that decide the version-bound claims (None: not installed, or not readable)."""

    iproute2: Version | None = None
    util_linux: Version | None = None
    kernel: Version | None = None
    ifconfig: bool | None = None  # is net-tools' ifconfig installed?

    @classmethod
    def parse(
        cls, *, ip_v: str = "", lsns_version: str = "", uname_r: str = "", ifconfig: bool | None = None
    ) -> Versions:
        """From what the tools print (any of them may be missing or odd: that version is then None)."""
        return cls(parse_iproute2(ip_v), parse_util_linux(lsns_version), parse_kernel(uname_r), ifconfig)


# -- the decisions: pure functions of the versions ------------------------------------------------


def netns_mount_is_private(versions: Versions) -> bool | None:
    """Does ``ip netns add`` give ``/run/netns`` a peer group of its own (iproute2 >= 7.0)?

    Before 7.0, the first ``ip netns add`` bind-mounts ``/run/netns`` onto itself, and on a host,
    where systemd makes ``/run`` shared, that copy joins ``/run``'s peer group: every namespace
    mounted under it propagates to ``/run`` underneath, and ``mount`` lists it twice. 7.0 makes
    the copy private, then shared again: a new peer group, and one line.
    """
    if versions.iproute2 is None:
        return None
    return versions.iproute2.at_least(*PRIVATE_NETNS_MOUNT)


def nsfs_lines_on_a_host(versions: Versions) -> int | None:
    """How many ``nsfs on /run/netns/NAME`` lines ``mount`` shows on a host with a shared /run."""
    private = netns_mount_is_private(versions)
    return None if private is None else 1 if private else 2


def lsns_lists_bind_mounted(versions: Versions) -> bool | None:
    """Does ``lsns`` list a namespace that only a bind mount holds (util-linux >= 2.39)?"""
    if versions.util_linux is None:
        return None
    return versions.util_linux.at_least(*LSNS_PERSISTENT)


def ip_colours_by_default(versions: Versions) -> bool | None:
    """Can ``ip`` colour its output on a terminal without being asked (iproute2 >= 6.7)?

    From 6.7 the default is chosen when iproute2 is built (``configure --color``), so whether it
    does is the distribution's choice: True here means "may", False "never unless asked".
    """
    if versions.iproute2 is None:
        return None
    return versions.iproute2.at_least(*IP_COLOR_CONFIGURABLE)


@dataclass(frozen=True)
class Fact:
    """One version-dependent fact: the rule for every version, and what it means here."""

    topic: str
    rule: str
    here: str


def _named(tool: str, version: Version | None) -> str:
    return f"{tool} {version}" if version is not None else _("{tool} (version unknown)").format(tool=tool)


def facts(versions: Versions) -> list[Fact]:
    """The version-dependent facts of the article and the notebooks, each stated for this machine."""
    ip = _named("iproute2", versions.iproute2)
    lines = nsfs_lines_on_a_host(versions)
    mount_here = {1: _("once"), 2: _("twice"), None: _("once or twice: the version decides")}[lines]
    listed = lsns_lists_bind_mounted(versions)
    fd_held = versions.util_linux is not None and versions.util_linux.at_least(*LSNS_FD_HELD)
    colour = ip_colours_by_default(versions)
    no_color = versions.iproute2 is not None and versions.iproute2.at_least(*IP_NO_COLOR)
    lsns_here = {
        None: _("unknown"),
        False: _("only namespaces with a process in them"),
        True: _("also bind-mounted namespaces, and fd- or socket-held ones")
        if fd_held
        else _("also bind-mounted namespaces"),
    }[listed]
    colour_here = {None: _("unknown"), False: _("no colour unless asked"), True: _("may colour")}[colour]
    if no_color:
        colour_here = _("{answer}; NO_COLOR is honoured").format(answer=colour_here)
    here = _("{tool}: {answer}")
    return [
        Fact(
            _("`mount` after `ip netns add` on a host"),
            _(
                "iproute2 < 7.0: each nsfs line twice (the self-bind of /run/netns shares /run's peer group); "
                "7.0 and later: once (commit 82c8b9fe makes /run/netns a peer group of its own)"
            ),
            here.format(tool=ip, answer=mount_here),
        ),
        Fact(
            _("what `lsns -t net` lists"),
            _(
                "util-linux < 2.39: only namespaces a process is in; 2.39 and later: also those only a bind mount "
                "holds (`ip netns add`); 2.41 and later: also those only an open fd or a socket holds"
            ),
            here.format(tool=_named("util-linux", versions.util_linux), answer=lsns_here),
        ),
        Fact(
            _("`ip` colours its output on a terminal (a notebook's `!ip` is one)"),
            _(
                "iproute2 < 6.7: never unless asked (`-color`); 6.7 and later: as built (`configure --color`, "
                "the distribution's choice); `-color=never` always turns it off, and from 6.15 so does NO_COLOR"
            ),
            here.format(tool=ip, answer=colour_here),
        ),
        Fact(
            _("`ifconfig`, used by the article"),
            _(
                "part of net-tools, a package of its own that many systems no longer install; `ip addr add` + "
                "`ip link set up` do the same"
            ),
            {
                None: _("unknown"),
                True: _("installed"),
                False: _("not installed: the article's ifconfig lines run as ip commands"),
            }[versions.ifconfig],
        ),
    ]


# -- reading them on this machine -----------------------------------------------------------------


def first_line(argv: Sequence[str]) -> str:
    """The first line a ``--version`` style command prints (some print it on stderr)."""
    try:
        env = {**os.environ, "LC_ALL": "C"}  # the version line in English, whatever the learner's locale
        proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=10, env=env)
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return _("not installed")
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    return lines[0].strip() if lines else "?"


def _has_ifconfig() -> bool:
    return bool(shutil.which("ifconfig") or shutil.which("ifconfig", path="/usr/sbin:/sbin"))


def detect() -> Versions:
    """The versions of this machine's ``ip``, ``lsns`` and kernel, and whether it has ``ifconfig``."""
    return Versions.parse(
        ip_v=first_line(["ip", "-V"]),
        lsns_version=first_line(["lsns", "--version"]),
        uname_r=platform.release(),
        ifconfig=_has_ifconfig(),
    )


def _package(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return _("not installed")


def _where() -> str:
    from netlab.sandbox import in_sandbox

    try:
        uid_map = Path("/proc/self/uid_map").read_text().split()
    except OSError:
        uid_map = []
    rootless = uid_map[:3] != ["0", "0", "4294967295"]
    place = _("netlab sandbox") if in_sandbox() else _("NOT in a sandbox")
    if rootless and len(uid_map) > 1:
        who = _("rootless (a user namespace; uid {uid} outside)").format(uid=uid_map[1])
    else:
        who = "root"
    return _("{place}, {who}").format(place=place, who=who)


def machine() -> list[tuple[str, str]]:
    """(what, version) rows: the kernel, the tools and libraries, and where the claims ran."""
    from netlab.plumbing.version import __version__

    return [
        (_("kernel"), f"Linux {platform.release()} {platform.version()} ({platform.machine()})"),
        ("iproute2", first_line(["ip", "-V"])),
        ("util-linux", first_line(["lsns", "--version"])),
        ("nftables", first_line(["nft", "--version"])),
        ("iputils", first_line(["ping", "-V"])),
        ("net-tools", first_line(["ifconfig", "--version"])),
        ("Python", sys.version.split()[0]),
        ("pyroute2", _package("pyroute2")),
        ("netlab", __version__),
        (_("ran in"), _where()),
    ]
