"""Every lesson starts from a clean world: ``lesson.start("03")``, ``lesson.reset()``, ``netlab reset``.

A learner leaves the path: stops notebook 03 half-way, solves a challenge with ``sysctl -w`` and
``iptables``, re-runs a cell twice. The next lesson must still behave as written (the ping that
has to fail fails). So each notebook's setup cell starts with one line::

    from netlab.teach import lesson; lesson.start("03")

It compares the world with a clean start and removes what earlier lessons and challenges left,
saying in one sentence what it removed ("clean start" if nothing)::

    netlab: lesson 03: removed namespaces c1, internet; links br0, uplink; nft table ip demo;
    net.ipv4.ip_forward back to 0

What "clean" means depends on where the lab runs (``netlab.sandbox``):

* in a sandbox (``netlab lab``, ``netlab sandbox``) the whole network world is the lab's, and clean
  is *empty*: no namespace, no device but ``lo``, no nft table or iptables rule, forwarding off.
* on a machine's own root namespace (the VM), clean is what the machine had when the lab first
  started there, written down in a *baseline* file (``/var/lib/netlab/baseline.json``). A lesson
  start removes only what the kit's lessons make (the names below) and puts the kit's sysctls
  back; ``reset()`` removes everything not in the baseline. Neither ever removes what the
  machine had before.

By hand, the same is::

    ip netns delete c1                       # every namespace (its devices go with it)
    ip link delete br0                       # every device that is not lo
    nft delete table ip demo                 # every nft table (iptables-nft rules live there too)
    sysctl -w net.ipv4.ip_forward=0

``Snapshot`` does the same for a challenge: ``capture()`` at its start, ``restore()`` at its close
puts back every sysctl and removes every rule and table made meanwhile, by netlab or by hand.

A notebook's own sentences speak the learner's language too: ``lesson.ok("netns1 is gone")`` prints
a passed check, ``lesson.say("you are here")`` gives a sentence to show (a diagram's title).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netlab import inodes, links, netns, sysctl
from netlab.commands import quiet
from netlab.enter import run
from netlab.errors import NamespaceNotFoundError, NetlabError
from netlab.i18n import _
from netlab.sandbox import in_sandbox

__all__ = ["Cleaned", "Snapshot", "ok", "reset", "reset_widget", "say", "start"]

# What the kit's notebooks, exercises and challenges (and their reference solutions) create.
NAMESPACES = frozenset(
    {"netns1", "netns2", "netns3", "broken", "ns1", "c1", "c2", "internet", "left", "right", "router", "ghost"}
    | {"by-mount", "by-symlink", "mine"}
)
LINKS = frozenset(
    {"veth0", "veth1", "veth2", "veth3", "br-try", "mv0", "br0", "uplink", "v-c1", "v-c2", "v-internet"}
    | {"to-router", "to-left", "to-right", "to-router2", "v-left", "v-right", "v-router"}
)
NFT_TABLES = frozenset({"ip demo", "ip solution"})  # and every lab's table, inet netlab_*
# The root namespace's sysctls the lessons change, and their value on a fresh machine.
SYSCTLS = {"net.ipv4.ip_forward": "0", "net.ipv6.conf.all.forwarding": "0"}
# iptables rules that mention one of these belong to a lesson (the addresses the kit uses).
RULE_MARKS = ("10.0.0.", "10.0.1.", "10.0.2.", "10.1.1.", "10.1.2.", "203.0.113.", "uplink", "br0", "v-c1", "v-c2")

STATE_DIR_ENV = "NETLAB_STATE_DIR"


@dataclass
class Cleaned:
    """What a lesson start or a reset removed: one sentence (``str()``), and the parts."""

    lesson: str | None
    removed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        head = _("netlab: lesson {lesson}: ").format(lesson=self.lesson) if self.lesson else "netlab: "
        done = _("removed {parts}").format(parts="; ".join(self.removed)) if self.removed else _("clean start")
        text = head + done
        if self.problems:
            text += _(" (could not: {problems})").format(problems="; ".join(self.problems))
        return text

    def __bool__(self) -> bool:
        return bool(self.removed)

    def _ipython_display_(self) -> None:  # start() printed the sentence already
        pass


# -- the notebooks' own sentences ---------------------------------------------------------------


def say(sentence: str, **fields: object) -> str:
    """A notebook's own sentence in the learner's language: ``say("you are here")`` gives ``你在这里``.

    Written in English in the notebook's code, like netlab's sentences, with ``{name}`` placeholders filled
    from ``fields``. ``scripts/sync-translations messages`` finds every ``say(...)`` and ``ok(...)`` in the
    English notebooks and puts the sentence in netlab's catalog, where it is translated like the others.
    """
    return _(sentence).format(**fields)


def ok(sentence: str, **fields: object) -> None:
    """Print that a lesson's check passed: ``ok("netns1 is gone")`` prints ``✔ netns1 is gone``, translated."""
    print("✔", say(sentence, **fields))


# -- where we are, and what clean means -------------------------------------------------------


def state_dir() -> Path:
    """Where the baseline lives: ``/var/lib/netlab``, or ``$NETLAB_STATE_DIR``."""
    return Path(os.environ.get(STATE_DIR_ENV) or "/var/lib/netlab")


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


@dataclass
class _World:
    """The parts of the root namespace's state a lesson can change."""

    namespaces: set[str]
    links: set[str]
    tables: set[str]  # "family name"
    sysctls: dict[str, str]

    @classmethod
    def now(cls) -> _World:
        return cls(
            namespaces=set(_run_dir_names()),
            links={link.name for link in links.list()},
            tables=set(_tables()),
            sysctls={key: value for key in SYSCTLS if (value := _sysctl(key)) is not None},
        )

    @classmethod
    def empty(cls) -> _World:
        return cls(namespaces=set(), links={"lo"}, tables=set(), sysctls=dict(SYSCTLS))


def baseline(*, record: bool = True) -> _World:
    """The machine's state before any lesson ran (written down on first use, once per boot).

    Written down without the kit's own names, so that leftovers present at that moment never
    become part of "what the machine had".
    """
    file = state_dir() / "baseline.json"
    try:
        data = json.loads(file.read_text())
        if data.get("boot") == _boot_id() and data.get("root") == inodes.inode():
            return _World(
                namespaces=set(data["namespaces"]),
                links=set(data["links"]),
                tables=set(data["tables"]),
                sysctls=dict(data["sysctls"]),
            )
    except (OSError, ValueError, KeyError, TypeError):
        pass
    now = _World.now()
    world = _World(
        namespaces=now.namespaces - NAMESPACES,
        links=now.links - LINKS,
        tables={t for t in now.tables if not _kit_table(t)},
        sysctls={key: value for key, value in now.sysctls.items()},
    )
    if record:
        data = {
            "boot": _boot_id(),
            "root": inodes.inode(),
            "time": time.time(),
            "namespaces": sorted(world.namespaces),
            "links": sorted(world.links),
            "tables": sorted(world.tables),
            "sysctls": world.sysctls,
        }
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
            tmp = file.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(data, indent=1) + "\n")
            tmp.replace(file)
        except OSError:
            pass  # not allowed to write it: the baseline is then this start's world, not remembered
    return world


def _kit_table(table: str) -> bool:
    return table in NFT_TABLES or table.startswith("inet netlab_")


# -- the two front doors ----------------------------------------------------------------------


def start(lesson: str | None = None, *, sandbox: bool | None = None, quiet: bool = False) -> Cleaned:
    """Begin lesson ``lesson`` from a clean world; print in one sentence what was removed.

    In a sandbox the world is emptied; on a machine's own namespace only what the kit's lessons
    make is removed, and the kit's sysctls go back to the baseline. Labs still open in this
    process (a re-run notebook's ``lab``) are closed, and so are the labs of other notebooks
    running in the same world: a lesson starts clean. ``sandbox`` overrides the detection.
    """
    sandboxed = in_sandbox() if sandbox is None else sandbox
    clean = _World.empty() if sandboxed else baseline()
    done = _clean(lesson, clean, everything=sandboxed)
    if not quiet:
        print(done)
    return done


def reset(*, sandbox: bool | None = None, dry_run: bool = False) -> Cleaned:
    """Bring the lab's world back to its clean start (``netlab reset``, the reset button).

    In a sandbox: empty. On a machine: the baseline, removing everything made since (by the
    lessons or by hand), and nothing the machine had before.
    """
    sandboxed = in_sandbox() if sandbox is None else sandbox
    clean = _World.empty() if sandboxed else baseline()
    return _clean(None, clean, everything=True, dry_run=dry_run)


def reset_widget() -> Any:
    """A "Reset the lab" button and its output: ``display(lesson.reset_widget())``."""
    import ipywidgets as widgets

    button = widgets.Button(description=_("Reset the lab"), icon="undo", button_style="warning")
    output = widgets.Output()

    def clicked(_button: Any) -> None:
        output.outputs = ()
        try:
            output.append_stdout(f"{reset()}\n")
        except NetlabError as exc:
            output.append_stdout(f"netlab: {exc}\n")

    button.on_click(clicked)
    return widgets.VBox([button, output])


# -- how ---------------------------------------------------------------------------------------


def _clean(lesson: str | None, clean: _World, *, everything: bool, dry_run: bool = False) -> Cleaned:
    """Remove from the root namespace's world what ``clean`` does not have.

    ``everything=False``: only what the kit makes (known names, kit tables and rules).
    """
    done = Cleaned(lesson)
    if not dry_run:
        _close_labs(done)
    now = _World.now()
    extra_ns = sorted(now.namespaces - clean.namespaces)
    if not everything:
        extra_ns = [name for name in extra_ns if name in NAMESPACES]
    doomed = _namespace_inodes(extra_ns)
    pids = _processes_in(doomed, world=everything)
    if pids:
        done.removed.append(_("{count} process(es) inside them").format(count=len(pids)))
        if not dry_run:
            _kill(pids)
    if extra_ns:
        done.removed.append(_("namespaces {names}").format(names=", ".join(extra_ns)))
        if not dry_run:
            for name in extra_ns:
                _delete_name(name, done)
    if everything:
        orphans = _processes_in(set(), world=True)
        if orphans and not dry_run:
            _kill(orphans)
    tables = sorted(t for t in now.tables - clean.tables if everything or _kit_table(t))
    rules = _rules(every=everything and not clean.tables, skip_tables=set(tables))
    for table in tables:
        done.removed.append(_("nft table {table}").format(table=table))
        if not dry_run:
            _nft(["delete", "table", *table.split()], done)
    for family, rule in rules:
        done.removed.append(_("{tool} rule '{rule}'").format(tool=family, rule=rule))
        if not dry_run:
            _delete_rule(family, rule, done)
    # A veth whose other end was in a deleted namespace may still be here for a moment, on its way
    # out: deleting it then fails with "no such device", which is what we wanted anyway.
    left = {link.name for link in links.list()} if not dry_run else now.links
    extra_links = sorted(left - clean.links if everything else (left & LINKS) - clean.links)
    if extra_links:
        done.removed.append(_("links {names}").format(names=", ".join(extra_links)))
        if not dry_run:
            for name in extra_links:
                _delete_link(name, done)
    for key, value in clean.sysctls.items():
        current = now.sysctls.get(key)
        if current is not None and current != value:
            done.removed.append(_("set {key} back to {value}").format(key=key, value=value))
            if not dry_run:
                try:
                    with quiet():
                        sysctl.set(key, value)
                except NetlabError as exc:
                    done.problems.append(f"{key}: {exc.message}")
    return done


def _close_labs(done: Cleaned) -> None:
    """Labs of this process (a re-run notebook's ``lab``) close; what dead labs left goes too."""
    from netlab.lab import cleanup
    from netlab.lab.lab import open_labs

    for lab in open_labs():
        try:
            report = lab.close()
        except NetlabError as exc:
            done.problems.append(exc.message)
            continue
        if report is not None and report.removed:
            done.removed.append(_("lab {lab} ({count} object(s))").format(lab=lab.id, count=len(report.removed)))
    for report in cleanup.cleanup(all=True):
        if report.removed:
            done.removed.append(_("lab {lab} ({count} object(s))").format(lab=report.lab, count=len(report.removed)))
        done.problems += report.errors


def _run_dir_names() -> list[str]:
    try:
        return sorted(entry.name for entry in os.scandir(netns.run_dir()) if not entry.is_dir(follow_symlinks=False))
    except FileNotFoundError:
        return []


def _namespace_inodes(names: Iterable[str]) -> set[int]:
    found = set()
    for name in names:
        try:
            st = os.stat(netns.run_dir() / name)
        except OSError:
            continue
        if st.st_dev == netns.nsfs_device():
            found.add(st.st_ino)
    return found


def _world_root() -> int:
    """The oldest ancestor of this process still in this network namespace: the world's first process."""
    here, pid = inodes.inode(), os.getpid()
    while True:
        try:
            parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
            if parent == 0 or os.stat(f"/proc/{parent}/ns/net").st_ino != here:
                return pid
        except (OSError, ValueError, IndexError):
            return pid
        pid = parent


def _descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _processes_in(inos: set[int], *, world: bool) -> list[int]:
    """Processes inside the namespaces ``inos``; ``world``: also this world's processes in any other one."""
    here, me = inodes.inode(), os.getpid()
    ours = _descendants(_world_root()) if world else set()
    found = []
    for info in inodes.namespaces():
        if info.inode == here:
            continue
        for pid in info.pids:
            if pid != me and (info.inode in inos or pid in ours):
                found.append(pid)
    return sorted(set(found))


def _kill(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            continue


def _delete_name(name: str, done: Cleaned) -> None:
    file = netns.run_dir() / name
    try:
        if file.is_symlink():
            file.unlink()  # a symlink to /proc/PID/ns/net (how Docker names a namespace)
        else:
            netns.delete(name)
    except (NamespaceNotFoundError, FileNotFoundError):
        pass
    except (NetlabError, OSError) as exc:
        done.problems.append(_("namespace {name}: {reason}").format(name=name, reason=exc))


def _delete_link(name: str, done: Cleaned) -> None:
    try:
        with quiet():
            links.delete(name)
    except NetlabError as exc:
        if not isinstance(exc, FileNotFoundError):  # a veth that went with its peer meanwhile
            done.problems.append(_("link {name}: {reason}").format(name=name, reason=exc.message))


def _sysctl(key: str) -> str | None:
    try:
        return sysctl.get(key)
    except NetlabError:
        return None


def _tables() -> list[str]:
    if shutil.which("nft") is None:
        return []
    proc = run(None, ["nft", "-j", "list", "tables"])
    if proc.returncode != 0:
        return []
    found = []
    for item in json.loads(proc.stdout or "{}").get("nftables", []):
        if "table" in item:
            found.append(f"{item['table']['family']} {item['table']['name']}")
    return sorted(found)


def _nft(args: list[str], done: Cleaned) -> None:
    proc = run(None, ["nft", *args])
    if proc.returncode != 0:
        done.problems.append(f"nft {' '.join(args)}: {proc.stderr.strip()}")


# The iptables commands, and the nft family their rules live in (None: the legacy backend, not in nft).
_IPTABLES = (("iptables", "ip"), ("ip6tables", "ip6"), ("iptables-legacy", None), ("ip6tables-legacy", None))


def _rules(*, every: bool, skip_tables: set[str]) -> list[tuple[str, str]]:
    """iptables rules (``iptables -S`` form) a lesson added: those that mention a kit address or device.

    ``every``: every rule (a sandbox, where a clean start has none). Rules inside an nft table that
    is about to be deleted (``skip_tables``) go with it and are not listed.
    """
    found = []
    for command, family in _IPTABLES:
        if shutil.which(command) is None:
            continue
        if family is not None and "legacy" in run(None, [command, "-V"]).stdout:
            family = None  # iptables itself is the legacy backend here
        for table in ("nat", "filter", "mangle"):
            if family is not None and f"{family} {table}" in skip_tables:
                continue
            proc = run(None, [command, "-t", table, "-S"])
            if proc.returncode != 0:
                continue
            for rule in proc.stdout.splitlines():
                if rule.startswith("-A ") and (every or any(mark in rule for mark in RULE_MARKS)):
                    found.append((command, f"-t {table} {rule}"))
    return found


def _delete_rule(family: str, rule: str, done: Cleaned) -> None:
    words = shlex.split(rule)  # `iptables -S` quotes what has spaces (a comment)
    words[words.index("-A")] = "-D"
    proc = run(None, [family, *words])
    if proc.returncode != 0:
        done.problems.append(f"{family} {' '.join(words)}: {proc.stderr.strip()}")


# -- for challenges -----------------------------------------------------------------------------


@dataclass
class Snapshot:
    """The root namespace's sysctls, nft tables and iptables rules at one moment; ``restore()`` goes back.

    A challenge captures one when it starts and restores it when it closes, so that a solution
    typed by hand (``sysctl -w``, ``iptables -A``, ``nft add table``) does not outlive it.
    """

    sysctls: dict[str, str]
    tables: set[str]
    rules: set[tuple[str, str]]

    @classmethod
    def capture(cls) -> Snapshot:
        return cls(
            sysctls={key: value for key in SYSCTLS if (value := _sysctl(key)) is not None},
            tables=set(_tables()),
            rules=set(_rules(every=False, skip_tables=set())),
        )

    def restore(self) -> Cleaned:
        """Remove the rules and tables added since, and put each sysctl back. Returns what changed."""
        done = Cleaned(None)
        for command, rule in sorted(set(_rules(every=False, skip_tables=set())) - self.rules):
            done.removed.append(_("{tool} rule '{rule}'").format(tool=command, rule=rule))
            _delete_rule(command, rule, done)
        for table in sorted(set(_tables()) - self.tables):
            done.removed.append(_("nft table {table}").format(table=table))
            _nft(["delete", "table", *table.split()], done)
        for key, value in self.sysctls.items():
            if _sysctl(key) != value:
                done.removed.append(_("set {key} back to {value}").format(key=key, value=value))
                try:
                    with quiet():
                        sysctl.set(key, value)
                except NetlabError as exc:
                    done.problems.append(f"{key}: {exc.message}")
        return done
