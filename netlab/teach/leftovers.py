"""What a lesson start and a reset remove: the kit's leftovers, and only those (``netlab.teach.lesson``).

The world since a clean start (``machine.World.new_since``) holds the kit's objects and, on a
lived-in machine, the machine's own made since. What is the kit's is decided here:

    object          the kit's when                                  else
    namespace       its name is one a lesson makes (``LESSONS``)    listed with its command, left
    link            its name is one a lesson makes                  listed, left
    nft table       its name is a lesson's, or a plugin made it      listed, left
    iptables rule   it names the kit's addresses or devices          listed, left
                    (``RULE_MARKS``), or a plugin made it
    chain           a plugin made it (``netlab.lab.footprints``)     listed, left
    sysctl          always put back to the machine's own value

A lesson open in another notebook keeps what is its (``netlab.teach.sessions``), and a lab open in
another process keeps its objects (its journal). Each removal goes through ``netlab.lab.removal``.
In a sandbox everything new is the kit's (``kit_only=False``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field

from netlab import inodes, netns
from netlab.errors import NetlabError
from netlab.lab import footprints, journal, removal
from netlab.lab.machine import Rule, World
from netlab.plumbing.i18n import _
from netlab.teach import firewall, sessions

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
    # The containers are unnamed (a process's user and network namespaces), the rest lives inside host.
    "07": frozenset({"host", "internet", "rootful"}),
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
LESSONS_WITH_PLUGINS = frozenset({"06"})  # CNI plugins and netavark: their chains and files (lab.footprints)


def _kit_table(table: str, handle: int, ours: World) -> bool:
    return table in KIT or table.startswith("inet netlab_") or ours.tables.get(table) == handle


def kit_rule(rule: Rule, ours: World) -> bool:
    """A lesson's rule: it names the kit's addresses or devices, or netlab saw a plugin make it."""
    return any(mark in rule[1] for mark in RULE_MARKS) or rule in ours.rules


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


def clean(
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
        chains=new.chains,
        rules=new.rules,
        legacy_chains=new.legacy_chains,
        sysctls=new.sysctls,
    )
    ours = footprints.recorded()
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
    remove_firewall(done, new, ours.firewall, kit_only=kit_only, others=others, dry_run=dry_run)
    _remove_links(done, new, kit_only=kit_only, others=others, dry_run=dry_run)
    restore_sysctls(done, new, machine, others=others, dry_run=dry_run)
    remove_plugin_files(done, ours, others=others, dry_run=dry_run)
    if not dry_run:
        footprints.keep_present()  # what is gone is forgotten: made again later, it is not the lesson's


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


def remove_firewall(
    done: Cleaned, new: World, ours: World, *, kit_only: bool, others: list[sessions.Session], dry_run: bool
) -> None:
    """nft tables, then iptables rules, then the chains those rules were in or jumped to (empty by then)."""
    tables = _remove_tables(done, new, ours, kit_only=kit_only, others=others, dry_run=dry_run)
    rules = _remove_rules(done, new, tables, ours, kit_only=kit_only, others=others, dry_run=dry_run)
    chains = _remove_chains(done, new, ours, kit_only=kit_only, others=others, dry_run=dry_run)
    if rules or chains:  # a plugin's dozen rules and chains, said in one phrase
        done.removed.append(
            _("{rules} iptables rule(s) and {chains} chain(s) of the container network plugins").format(
                rules=rules, chains=chains
            )
        )


def _remove_tables(
    done: Cleaned, new: World, ours: World, *, kit_only: bool, others: list[sessions.Session], dry_run: bool
) -> dict[str, int]:
    """The new nft tables that are a lesson's and no open lesson's: removed (by handle); which they were."""
    tables = {}
    for table, handle in sorted(new.tables.items()):
        if kit_only and not _kit_table(table, handle, ours):
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
    ours: World,
    *,
    kit_only: bool,
    others: list[sessions.Session],
    dry_run: bool,
) -> int:
    """The new iptables rules that are a lesson's: each copy removed, exactly as it was written.

    Returns how many of them a plugin made (``ours``): those are not named one by one."""
    plugins = 0
    for rule, count in sorted(new.rules.items()):
        command, text = rule
        family = "ip6" if command.startswith("ip6") else "ip"
        if "legacy" not in command and f"{family} {text.split()[1]}" in tables:
            continue  # an iptables-nft rule inside a table just deleted
        what = _("{tool} rule '{rule}'").format(tool=command, rule=text)
        if kit_only and not kit_rule(rule, ours):
            done.left += [removal.by_hand("rule", "", rule=rule)] * count
        elif kit_only and (holder := next((o for o in others if o.lesson in LESSONS_WITH_SYSCTLS), None)):
            done.held.append(_held(what, holder))
        else:
            if rule in ours.rules:
                plugins += count
            else:
                done.removed += [what] * count
            for _copy in range(0 if dry_run else count):
                if problem := removal.delete_rule(rule):
                    done.problems.append(problem)
    return plugins


def _remove_chains(
    done: Cleaned, new: World, ours: World, *, kit_only: bool, others: list[sessions.Session], dry_run: bool
) -> int:
    """The new chains in the machine's own tables that a plugin made (``CNI-HOSTPORT-DNAT``, the PREROUTING
    iptables-nft added for it): removed by handle, which the kernel refuses while anything is left in them.
    Returns how many."""
    removed = 0
    holder = next((o for o in others if o.lesson in LESSONS_WITH_PLUGINS), None) if kit_only else None
    for chain, handle in sorted(new.chains.items()):
        if " ".join(chain.split()[:2]) in new.tables:
            continue  # in a new table: it went, or stays, with its table
        what = _("nft chain {chain}").format(chain=chain)
        if kit_only and ours.chains.get(chain) != handle:
            done.left.append(removal.by_hand("chain", chain, handle=handle))
        elif holder is not None:
            done.held.append(_held(what, holder))
        else:
            removed += 1
            if not dry_run and (problem := removal.delete_chain(chain, handle)):
                done.problems.append(problem)
    for command, text in sorted(new.legacy_chains):
        what = f"{command} -t {text.split()[0]} -X {text.split()[1]}"
        if kit_only and (command, text) not in ours.legacy_chains:
            done.left.append(what)
        elif holder is not None:
            done.held.append(_held(what, holder))
        else:
            removed += 1
            if not dry_run and (problem := removal.delete_legacy_chain((command, text))):
                done.problems.append(problem)
    return removed


def remove_plugin_files(
    done: Cleaned, ours: footprints.Footprints, *, others: list[sessions.Session], dry_run: bool
) -> None:
    """The folders netlab made for the plugins (``/var/lib/cni``), once nothing else is in them."""
    if not ours.dirs and not ours.owned:
        return
    if holder := next((o for o in others if o.lesson in LESSONS_WITH_PLUGINS), None):
        done.held.append(_held(", ".join(ours.dirs or ours.owned), holder))
        return
    if removed := footprints.remove_files(ours, dry_run=dry_run):
        done.removed.append(_("folders {folders}").format(folders=", ".join(sorted(removed))))


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


def restore_sysctls(
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


def close_labs(done: Cleaned, *, everyone: bool) -> None:
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
