"""The one way netlab removes anything: only the very object it saw, proven by its identity.

``netlab cleanup`` (a lab's journal), ``lesson.start``/``lesson.reset``/``netlab reset`` (the world
since the baseline) and a challenge's close decide *what* is theirs; they all remove it here, and
each step checks the object's identity again right before acting, so that an object deleted and
made again meanwhile (another ``br0``, a new table under the old name, a pid reused) is left alone:

    what            removed only if it still has      by hand
    process         the same pid and start time       kill -9 PID
    namespace       the same name and inode           ip netns delete NAME
    link            the same ifindex and name         ip link delete NAME
    nft table       the same name and handle          nft delete table FAMILY handle H
    nft chain       the same name and handle          nft delete chain FAMILY TABLE handle H
    iptables rule   the same text (one copy)          iptables -t TABLE -D CHAIN ...
    legacy chain    its table and name                iptables-legacy -t TABLE -X NAME
    sysctl          (put back to a recorded value)    sysctl -w KEY=VALUE

Nothing here changes a firewall's policy, flushes a chain, or deletes by pattern: a chain goes only
when it is empty and nothing jumps to it any more, which the kernel checks (EBUSY otherwise). Each function
returns None when done (or when the object is gone already: what was wanted), else why not, in
one line.
"""

from __future__ import annotations

import os
import shlex
import signal
from pathlib import Path

from netlab import links, netns, sysctl
from netlab.enter import run
from netlab.errors import NamespaceNotFoundError, NetlabError
from netlab.lab import journal
from netlab.lab.machine import PLAIN_FILE, SYMLINK, Chain, Rule
from netlab.plumbing.commands import quiet
from netlab.plumbing.i18n import _
from netlab.targets import Target

__all__ = [
    "by_hand",
    "command_of",
    "delete_chain",
    "delete_legacy_chain",
    "delete_link",
    "delete_namespace",
    "delete_rule",
    "delete_table",
    "has_terminal",
    "kill",
    "set_sysctl",
]


def has_terminal(pid: int) -> bool:
    """Whether ``pid`` has a controlling terminal (``ps -o tty``): a shell or a command a learner typed.

    A notebook's kernel and what it starts (``netlab.popen``, a lab's servers) have none.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return int(stat.rsplit(")", 1)[1].split()[4]) != 0  # tty_nr, the 7th field (proc(5))


def command_of(pid: int) -> str:
    """What ``pid`` runs (``/proc/PID/comm``), or ``?`` if it is gone."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


def kill(pid: int, start: int | None) -> bool:
    """SIGKILL ``pid`` if it is still the process that started at ``start``; True if it was."""
    if start is None or journal.process_start(pid) != start:
        return False
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _identity(name: str) -> int | None:
    """What ``/run/netns/NAME`` is now: its namespace inode, PLAIN_FILE, SYMLINK, or None if absent."""
    file = netns.run_dir() / name
    try:
        st = os.lstat(file)
        if os.path.islink(file):
            return SYMLINK
        if not os.path.isfile(file):
            return None
        st = os.stat(file)
    except OSError:
        return None
    return st.st_ino if st.st_dev == netns.nsfs_device() else PLAIN_FILE


def delete_namespace(name: str, inode: int) -> str | None:
    """``ip netns delete NAME`` if the name still shows ``inode`` (a symlink: only the link goes)."""
    now = _identity(name)
    if now is None:
        return None
    if now != inode:
        return _("namespace {name}: it is another namespace now, left alone").format(name=name)
    try:
        if now == SYMLINK:
            (netns.run_dir() / name).unlink()
        else:
            netns.delete(name)
    except (NamespaceNotFoundError, FileNotFoundError):
        return None
    except (NetlabError, OSError) as exc:
        return _("namespace {name}: {reason}").format(name=name, reason=getattr(exc, "message", exc))
    return None


def delete_link(index: int, name: str, target: Target = None) -> str | None:
    """``ip link delete NAME`` if ifindex ``index`` in ``target`` is still called ``name``."""
    try:
        present = {link.index: link.name for link in links.list(target)}
        if present.get(index) != name:
            return None  # gone (a veth goes with its peer's namespace), or another device now
        with quiet():
            links.delete(name, netns=target)
    except NetlabError as exc:
        if isinstance(exc, FileNotFoundError):
            return None
        return _("link {name}: {reason}").format(name=name, reason=exc.message)
    return None


def delete_table(table: str, handle: int, target: Target = None) -> str | None:
    """``nft delete table FAMILY handle H``: the handle *is* the table's identity, so this is exact."""
    family = table.split()[0]
    proc = run(target, ["nft", "delete", "table", family, "handle", str(handle)])
    if proc.returncode != 0 and "No such file" not in proc.stderr:
        return f"nft delete table {table}: {proc.stderr.strip()}"
    return None


def delete_chain(chain: str, handle: int) -> str | None:
    """``nft delete chain FAMILY TABLE handle H``: refused by the kernel while it has rules or a jump to it."""
    family, table, _name = chain.split(" ", 2)
    proc = run(None, ["nft", "delete", "chain", family, table, "handle", str(handle)])
    if proc.returncode != 0 and "No such file" not in proc.stderr:
        return f"nft delete chain {chain}: {_first_line(proc.stderr)}"
    return None


def delete_legacy_chain(chain: Chain) -> str | None:
    """``iptables-legacy -t TABLE -X NAME``: refused while the chain has rules or a jump to it."""
    command, text = chain
    table, name = text.split()
    proc = run(None, [command, "-t", table, "-X", name])
    if proc.returncode != 0 and "No chain" not in proc.stderr:
        return f"{command} -t {table} -X {name}: {_first_line(proc.stderr)}"
    return None


def _first_line(text: str) -> str:
    return text.strip().partition("\n")[0]


def delete_rule(rule: Rule) -> str | None:
    """``iptables -t TABLE -D CHAIN ...``: one copy of exactly this rule (policies are never touched)."""
    command, text = rule
    words = shlex.split(text)  # iptables-save quotes what has spaces (a comment)
    words[words.index("-A")] = "-D"
    proc = run(None, [command, *words])
    if proc.returncode != 0 and "matching rule" not in proc.stderr:  # not there: gone already
        return f"{command} {' '.join(words)}: {proc.stderr.strip()}"
    return None


def set_sysctl(key: str, value: str, target: Target = None) -> str | None:
    """``sysctl -w KEY=VALUE``."""
    try:
        with quiet():
            sysctl.set(key, value, netns=target)
    except NetlabError as exc:
        return f"{key}: {exc.message}"
    return None


def by_hand(kind: str, name: str, *, handle: int | None = None, rule: Rule | None = None) -> str:
    """The command that would remove an object netlab leaves alone (for the learner to decide)."""
    if kind == "namespace":
        return f"ip netns delete {name}"
    if kind == "link":
        return f"ip link delete {name}"
    if kind == "table":
        return f"nft delete table {name.split()[0]} handle {handle}"
    if kind == "chain" and handle is not None:
        family, table, _chain = name.split(" ", 2)
        return f"nft delete chain {family} {table} handle {handle}"
    if kind == "chain":  # a legacy one: "COMMAND TABLE NAME"
        command, table, chain = name.split()
        return f"{command} -t {table} -X {chain}"
    if kind == "rule" and rule is not None:
        command, text = rule
        return f"{command} {text.replace('-A ', '-D ', 1)}"
    return name
