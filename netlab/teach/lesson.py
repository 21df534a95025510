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
* on a machine's own root namespace (the VM, a teacher's server) the machine is lived in. Clean is
  what it had when the first lesson started there this boot, the *baseline*
  (``netlab.lab.machine``), and only what is provably the kit's goes: an object that was not in
  the baseline (by identity: inode, ifindex, nft handle, the exact rule) *and* that a lesson makes
  (by name: ``c1``, ``br0``, ``nft table ip demo``, a rule on 10.0.0.0/24). Anything else made
  since (a ``docker0``, a VPN's namespace) is listed by ``netlab reset`` with the command that
  would remove it, and left. Sysctls go back to the machine's own values; firewall policies are
  never touched. A lesson whose names the machine already uses (its own ``br0``) stops at once.

A lesson open in another notebook keeps its world (``netlab.teach.sessions``): the next lesson's
start leaves it and says whose it is. ``reset()`` resets it all. Every removal goes through
``netlab.lab.removal``, which checks each object's identity again right before acting.

By hand, the same is::

    ip netns delete c1                       # each namespace (its devices go with it)
    ip link delete br0                       # each device
    nft delete table ip demo                 # each nft table
    iptables -t nat -D POSTROUTING ...       # each rule a lesson added
    sysctl -w net.ipv4.ip_forward=0          # each sysctl, to the machine's value

``Snapshot`` does the same for a challenge: ``capture()`` at its start, ``restore()`` at its close
puts back every sysctl and removes the rules and tables made meanwhile, by netlab or by hand.

A notebook's own sentences speak the learner's language too: ``lesson.ok("netns1 is gone")`` prints
a passed check, ``lesson.say("you are here")`` gives a sentence to show (a diagram's title).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netlab import enter, inodes, netns
from netlab.errors import NetlabError
from netlab.lab import journal, removal
from netlab.lab.machine import Rule, World, baseline
from netlab.plumbing.i18n import _
from netlab.sandbox import in_sandbox
from netlab.teach import firewall, sessions

__all__ = ["Cleaned", "LessonBlockedError", "Snapshot", "machine_value", "ok", "reset", "reset_widget", "say", "start"]

# What each lesson makes in the root namespace (its notebook, exercises, challenges and solutions).
LESSONS: dict[str, frozenset[str]] = {
    "00": frozenset(),
    "01": frozenset({"netns1", "netns2"}),
    "02": frozenset({"netns1", "netns2", "veth0", "veth1", "veth2", "veth3", "br-try", "mv0"}),
    "03": frozenset({"br0", "c1", "c2", "internet", "uplink", "v-c1", "v-c2", "ip demo"}),
    "04": frozenset({"netns1", "netns2", "ns1", "by-mount", "by-symlink", "mine"}),
    "05": frozenset(
        {"broken", "ghost", "c1", "c2", "internet", "left", "right", "router", "br0", "uplink", "v-c1", "v-c2"}
        | {"to-router", "to-left", "to-right", "to-router2", "v-left", "v-right", "v-router", "veth0", "veth1"}
        | {"ip solution"}
    ),
    # The CNI bridge plugin's host ends are named vethXXXXXXXX at random: they go with their namespaces.
    "06": frozenset({"c1", "c2", "p1", "p2", "br0", "podman0", "v-c1", "v-c2", "veth0", "veth1", "ip demo"}),
    "08": frozenset({"netns1", "veth0", "veth1", "router", "c1", "c2", "internet"}),
    "09": frozenset({"host1", "host2", "c1", "c2", "br0", "vxlan0", "v-c1", "v-c2"}),
}
KIT: frozenset[str] = frozenset().union(*LESSONS.values())
# iptables rules that mention one of these are a lesson's (the kit's addresses and devices).
RULE_MARKS = (
    *("10.0.0.", "10.0.1.", "10.0.2.", "10.1.1.", "10.1.2.", "203.0.113.", "10.88.0."),
    *("uplink", "br0", "v-c1", "v-c2", "veth0"),
    firewall.MARK,  # a lesson's door in a firewall that drops (netlab.teach.firewall)
)
LESSONS_WITH_SYSCTLS = frozenset({"03", "05", "06"})


class LessonBlockedError(NetlabError):
    """A lesson cannot run as written here: a name it makes is the machine's own."""


def _kit_table(table: str) -> bool:
    return table in KIT or table.startswith("inet netlab_")


def _kit_rule(rule: Rule) -> bool:
    return any(mark in rule[1] for mark in RULE_MARKS)


@dataclass
class Cleaned:
    """What a lesson start or a reset removed: one sentence (``str()``), and the parts."""

    lesson: str | None
    removed: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)  # settings put back to the machine's own value
    held: list[str] = field(default_factory=list)  # another open lesson's: left, and said why
    left: list[str] = field(default_factory=list)  # not provably netlab's: left, with the command
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the lesson changed to run as written here

    def __str__(self) -> str:
        head = _("netlab: lesson {lesson}: ").format(lesson=self.lesson) if self.lesson else "netlab: "
        parts = [_("removed {parts}").format(parts="; ".join(self.removed))] if self.removed else []
        parts += self.restored
        text = head + ("; ".join(parts) if parts else _("clean start"))
        if self.held:
            text += "; " + "; ".join(self.held)
        if self.problems:
            text += _(" (could not: {problems})").format(problems="; ".join(self.problems))
        text += "".join(f"\nnetlab: {note}" for note in self.notes)
        if self.left:
            text += "\n" + _("not made by netlab, so left as it is (remove it yourself if you want):")
            text += "".join(f"\n  {line}" for line in self.left)
        return text

    def __bool__(self) -> bool:
        return bool(self.removed or self.restored)

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


# -- the two front doors ----------------------------------------------------------------------


_closers: list[Callable[[], list[str]]] = []  # what else a lesson start closes (open challenges register)


def closes_on_start(closer: Callable[[], list[str]]) -> Callable[[], list[str]]:
    """Register ``closer``: called by every lesson start, it closes what it keeps and names what it closed."""
    _closers.append(closer)
    return closer


def start(lesson: str | None = None, *, sandbox: bool | None = None, quiet: bool = False) -> Cleaned:
    """Begin lesson ``lesson`` from a clean world; print in one sentence what was removed.

    What this process started for an earlier run of the notebook goes first: its challenges, its
    labs (``lab``) and the background processes of ``netlab.popen``, by pid; labs left by processes
    that are gone are removed too. A lesson open in another notebook keeps its world. On a machine,
    a lesson whose names the machine already uses stops here (``LessonBlockedError``), having
    changed nothing. ``sandbox`` overrides the detection.
    """
    sandboxed = in_sandbox() if sandbox is None else sandbox
    _install_error_display()
    done = Cleaned(lesson)
    machine = World.empty() if sandboxed else _machine(done)
    if not sandboxed:
        _refuse_taken(lesson, machine)
    for closer in _closers:
        done.removed += [_("challenge {name}").format(name=name) for name in closer()]
    _close_labs(done, everyone=False)
    if stopped := enter.stop_background():
        done.removed.append(_("{count} process(es) this notebook started").format(count=len(stopped)))
    others = sessions.others()
    _clean(done, World.now(), machine, kit_only=not sandboxed, others=others, sweep=False)
    done.notes += firewall.open_doors(lesson)
    if not others:
        done.notes += firewall.forwarding_off(lesson)
    sessions.begin(lesson or "", World.now())
    done.left.clear()  # what is not netlab's is for `netlab reset` to list, not for every lesson start
    if not quiet:
        print(done)
    return done


def machine_value(key: str, *, sandbox: bool | None = None) -> str | None:
    """The machine's own value of sysctl ``key`` (before any lesson), to put back at a lesson's end."""
    sandboxed = in_sandbox() if sandbox is None else sandbox
    return (World.empty() if sandboxed else baseline().world).sysctls.get(key)


def reset(*, sandbox: bool | None = None, dry_run: bool = False) -> Cleaned:
    """Bring the lab's world back to its clean start (``netlab reset``, the reset button).

    In a sandbox: empty. On a machine: everything netlab and the lessons made since the baseline,
    open lessons included; what is new but not provably netlab's is listed (``Cleaned.left``).
    """
    sandboxed = in_sandbox() if sandbox is None else sandbox
    done = Cleaned(None)
    machine = World.empty() if sandboxed else _machine(done)
    if not dry_run:
        _close_labs(done, everyone=True)
    _clean(done, World.now(), machine, kit_only=not sandboxed, others=[], sweep=sandboxed, dry_run=dry_run)
    return done


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


def _machine(done: Cleaned) -> World:
    """The machine's own world (its baseline); a baseline file that cannot be trusted is named."""
    found = baseline()
    if found.problem:
        done.problems.append(found.problem)
    return found.world


def _refuse_taken(lesson: str | None, machine: World) -> None:
    """Stop before anything is changed if the machine's own objects carry names this lesson makes."""
    taught = LESSONS.get(lesson or "", frozenset())
    taken = sorted((set(machine.namespaces) | set(machine.links.values())) & taught)
    if taken:
        raise LessonBlockedError(
            _(
                "lesson {lesson} makes its own {names}, and this machine already has {names}: nothing was changed"
            ).format(lesson=lesson, names=", ".join(taken)),
            hint=_taken_hint(taken[0], machine),
            subject=taken,
        )


def _taken_hint(name: str, machine: World) -> str:
    if name in machine.links.values():
        return _(
            "run the lessons in netlab's private world (`netlab lab`), "
            "or rename yours first (`ip link set {name} name {name}-own`)"
        ).format(name=name)
    return _("run the lessons in netlab's private world (`netlab lab`), where nothing of this machine is in the way")


def _install_error_display() -> None:
    """In a notebook, a netlab error shows as its message and hint (one line each), not a traceback."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None or getattr(shell, "_netlab_errors", False):
        return

    def show(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: Any = None) -> list[str]:
        if isinstance(value, KeyboardInterrupt):
            call = _netlab_call(tb)
            if call is None:  # not inside netlab: IPython's own traceback
                shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
                return []
            value = NetlabError(
                _("interrupted: {call}() stopped").format(call=call),
                hint=_("the processes and labs you started keep running"),
            )
        lines = [f"netlab: {value}"]
        print(*lines)  # Jupyter shows what the handler prints; the cell still ends in error
        return lines

    shell.set_custom_exc((NetlabError, KeyboardInterrupt), show)
    shell._netlab_errors = True


def _netlab_call(tb: Any) -> str | None:
    """The netlab function a traceback went into first from the learner's code (``ping``), else None."""
    package = str(Path(__file__).resolve().parent.parent)
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename.startswith(package + os.sep):
            module = tb.tb_frame.f_globals.get("__name__", "netlab")
            return f"{module}.{code.co_name}"
        tb = tb.tb_next
    return None


# -- what is whose --------------------------------------------------------------------------------


def _holder(
    others: list[sessions.Session], name: str, part: str, key: object, value: object
) -> sessions.Session | None:
    """The lesson open in another notebook that this object may be part of: that lesson makes ``name``,
    and the object (``key: value`` in the world's ``part``) appeared after that lesson began."""
    for other in others:
        if name in LESSONS.get(other.lesson, KIT) and getattr(other.world, part).get(key) != value:
            return other
    return None


def _held(what: str, other: sessions.Session) -> str:
    return _(
        "{what} left as it is: lesson {lesson} is open in another notebook (process {pid}); "
        "close that notebook's kernel, or run `netlab reset`"
    ).format(what=what, lesson=other.lesson, pid=other.pid)


def _clean(
    done: Cleaned,
    now: World,
    machine: World,
    *,
    kit_only: bool,
    others: list[sessions.Session],
    sweep: bool,
    dry_run: bool = False,
) -> None:
    """Remove what appeared since ``machine`` and is the kit's (``kit_only``), or anything (a sandbox)."""
    new = now.new_since(machine)
    claimed = _open_labs_elsewhere()
    new = World(
        namespaces={n: i for n, i in new.namespaces.items() if ("netns", i) not in claimed},
        links={i: n for i, n in new.links.items() if ("link", n) not in claimed},
        tables={t: h for t, h in new.tables.items() if ("nft", t) not in claimed},
        rules=new.rules,
        sysctls=new.sysctls,
    )
    done.held += sorted(set(claimed.values()))
    doomed: dict[str, int] = {}
    for name, inode in sorted(new.namespaces.items()):
        if kit_only and name not in KIT:
            done.left.append(removal.by_hand("namespace", name))
        elif holder := _holder(others, name, "namespaces", name, inode):
            done.held.append(_held(_("namespace {name}").format(name=name), holder))
        else:
            doomed[name] = inode
    _remove_namespaces(done, doomed, sweep=sweep, dry_run=dry_run)
    _remove_tables_and_rules(done, new, kit_only=kit_only, others=others, dry_run=dry_run)
    _remove_links(done, new, kit_only=kit_only, others=others, dry_run=dry_run)
    _restore_sysctls(done, new, machine, others=others, dry_run=dry_run)


def _open_labs_elsewhere() -> dict[tuple[str, object], str]:
    """The objects of labs other running processes have open (their journals): not ours to touch."""
    here, me = inodes.inode(), os.getpid()
    claimed: dict[tuple[str, object], str] = {}
    for record in journal.all_records():
        if record.pid == me or not record.alive:
            continue
        said = _("lab {lab} left as it is: it is open in process {pid}").format(lab=record.lab, pid=record.pid)
        for obj in record.objects.values():
            if obj["ev"] == "netns":
                claimed[("netns", obj["inode"])] = said
            elif obj["ev"] == "link" and obj.get("netns") == here:
                claimed[("link", obj["name"])] = said
            elif obj["ev"] == "nft" and obj.get("netns") == here:
                claimed[("nft", f"inet {obj['table']}")] = said
    return claimed


def _remove_namespaces(done: Cleaned, doomed: dict[str, int], *, sweep: bool, dry_run: bool) -> None:
    pids = _processes_in(_namespace_inodes(doomed), sweep=sweep)
    if not sweep:  # a lesson start spares what the learner typed in a terminal (a reset is asked for)
        typed = [(pid, begun) for pid, begun in pids if removal.has_terminal(pid)]
        pids = [item for item in pids if item not in typed]
        done.held += [
            _("process {pid} ({command}) was typed in a terminal: left running in its namespace").format(
                pid=pid, command=removal.command_of(pid)
            )
            for pid, _begun in typed
        ]
    if pids:
        done.removed.append(_("{count} process(es) inside them").format(count=len(pids)))
        if not dry_run:
            for pid, begun in pids:
                removal.kill(pid, begun)
    if doomed:
        done.removed.append(_("namespaces {names}").format(names=", ".join(doomed)))
    if not dry_run:
        for name, inode in doomed.items():
            if problem := removal.delete_namespace(name, inode):
                done.problems.append(problem)


def _remove_tables_and_rules(
    done: Cleaned, new: World, *, kit_only: bool, others: list[sessions.Session], dry_run: bool
) -> None:
    tables = _remove_tables(done, new, kit_only=kit_only, others=others, dry_run=dry_run)
    _remove_rules(done, new, tables, kit_only=kit_only, others=others, dry_run=dry_run)


def _remove_tables(
    done: Cleaned, new: World, *, kit_only: bool, others: list[sessions.Session], dry_run: bool
) -> dict[str, int]:
    """The new nft tables that are a lesson's and no open lesson's: removed (by handle); which they were."""
    tables = {}
    for table, handle in sorted(new.tables.items()):
        if kit_only and not _kit_table(table):
            done.left.append(removal.by_hand("table", table, handle=handle))
        elif holder := _holder(others, table, "tables", table, handle):
            done.held.append(_held(_("nft table {table}").format(table=table), holder))
        else:
            tables[table] = handle
    for table, handle in tables.items():
        done.removed.append(_("nft table {table}").format(table=table))
        if not dry_run and (problem := removal.delete_table(table, handle)):
            done.problems.append(problem)
    return tables


def _remove_rules(
    done: Cleaned,
    new: World,
    tables: dict[str, int],
    *,
    kit_only: bool,
    others: list[sessions.Session],
    dry_run: bool,
) -> None:
    """The new iptables rules that are a lesson's: each copy removed, exactly as it was written."""
    for rule, count in sorted(new.rules.items()):
        command, text = rule
        family = "ip6" if command.startswith("ip6") else "ip"
        if "legacy" not in command and f"{family} {text.split()[1]}" in tables:
            continue  # an iptables-nft rule inside a table just deleted
        what = _("{tool} rule '{rule}'").format(tool=command, rule=text)
        if kit_only and not _kit_rule(rule):
            done.left += [removal.by_hand("rule", "", rule=rule)] * count
        elif kit_only and (holder := next((o for o in others if o.lesson in LESSONS_WITH_SYSCTLS), None)):
            done.held.append(_held(what, holder))
        else:
            done.removed += [what] * count
            for _copy in range(0 if dry_run else count):
                if problem := removal.delete_rule(rule):
                    done.problems.append(problem)


def _remove_links(done: Cleaned, new: World, *, kit_only: bool, others: list[sessions.Session], dry_run: bool) -> None:
    # A veth whose other end was in a deleted namespace may still be here for a moment, on its way out:
    # look again, and act only on those still here under the same identity.
    present = new.links if dry_run else World(links=World.now().links).links
    names = []
    for index, name in sorted(new.links.items(), key=lambda item: item[1]):
        if present.get(index) != name:
            continue
        if kit_only and name not in KIT:
            done.left.append(removal.by_hand("link", name))
        elif holder := _holder(others, name, "links", index, name):
            done.held.append(_held(_("link {name}").format(name=name), holder))
        else:
            names.append(name)
            if not dry_run and (problem := removal.delete_link(index, name)):
                done.problems.append(problem)
    if names:
        done.removed.append(_("links {names}").format(names=", ".join(names)))


def _restore_sysctls(
    done: Cleaned, new: World, machine: World, *, others: list[sessions.Session], dry_run: bool
) -> None:
    for key, value in sorted(new.sysctls.items()):
        own = machine.sysctls.get(key)
        if own is None or own == value:
            continue
        holder = next((other for other in others if other.lesson in LESSONS_WITH_SYSCTLS), None)
        if holder is not None:
            done.held.append(_held(f"{key}={value}", holder))
            continue
        done.restored.append(_("set {key} back to {value}").format(key=key, value=own))
        if not dry_run and (problem := removal.set_sysctl(key, own)):
            done.problems.append(problem)


def _close_labs(done: Cleaned, *, everyone: bool) -> None:
    """Labs of this process (a re-run notebook's ``lab``) close, and labs whose process is gone;
    ``everyone``: the labs of running processes too (a reset)."""
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
    for report in cleanup.cleanup(all=everyone):
        if report.skipped:
            continue
        if report.removed:
            done.removed.append(_("lab {lab} ({count} object(s))").format(lab=report.lab, count=len(report.removed)))
        done.problems += report.errors


def _namespace_inodes(names: Iterable[str]) -> set[int]:
    """The namespaces these names show (a symlink's too: the namespace of the process it points to)."""
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
    while parent := journal.parent_of(pid):
        try:
            if inodes.inode(parent) != here:
                break
        except (OSError, NetlabError):
            break
        pid = parent
    return pid


def _processes_in(inos: set[int], *, sweep: bool) -> list[tuple[int, int | None]]:
    """(pid, start time) of the processes inside the namespaces ``inos``; ``sweep`` (a sandbox's reset):
    also every process of this world in any other namespace."""
    here, me = inodes.inode(), os.getpid()
    ours = journal.descendants(_world_root()) if sweep else set()
    found: set[int] = set()
    for info in inodes.namespaces():
        if info.inode != here:
            found |= {pid for pid in info.pids if pid != me and (info.inode in inos or pid in ours)}
    return [(pid, journal.process_start(pid)) for pid in sorted(found)]


# -- for challenges -----------------------------------------------------------------------------


@dataclass
class Snapshot:
    """The root namespace's sysctls, nft tables and iptables rules at one moment; ``restore()`` goes back.

    A challenge captures one when it starts and restores it when it closes, so that a solution
    typed by hand (``sysctl -w``, ``iptables -A``, ``nft add table``) does not outlive it. Only
    what appeared since (by identity) goes, and of the rules only a lesson's.
    """

    world: World

    @classmethod
    def capture(cls) -> Snapshot:
        return cls(World.now())

    def restore(self) -> Cleaned:
        """Remove the rules and tables added since, and put each sysctl back. Returns what changed."""
        done = Cleaned(None)
        new = World.now().new_since(self.world)
        rules = Counter({rule: count for rule, count in new.rules.items() if _kit_rule(rule)})
        new = World(tables=new.tables, rules=rules, sysctls=new.sysctls)
        _remove_tables_and_rules(done, new, kit_only=False, others=[], dry_run=False)
        _restore_sysctls(done, new, self.world, others=[], dry_run=False)
        return done
