"""Crash recovery: ``netlab.lab.cleanup`` removes what a dead lab left behind, and nothing else.

Every ``Lab`` writes down what it is about to build (``netlab.lab.journal``). When the lab closes,
this module takes it all down again; when the process died before it could (``kill -9``, a
kernel that crashed), ``netlab.lab.cleanup`` does the same later, from the journal::

    netlab cleanup          # labs whose owner process is gone
    netlab cleanup --all    # every lab, running or not (e.g. after a classroom session)
    netlab cleanup --dry-run

It proves each object is still the one the lab made before touching it, and leaves alone
whatever it cannot prove (mininet's ``mn -c`` deletes by name pattern, and so deletes its
users' own devices; this does not):

    what                      removed when                                          by hand
    process                   same pid and same start time                          kill PID
    nft table netlab_LAB      the table exists in the recorded namespace, with the  nft delete table inet netlab_LAB
                              handle it had when the lab created it
    your device, borrowed     found by its MAC inside a lab namespace: moved back   ip link set NAME netns HOME
    sysctl                    it still holds the lab's value, and no running lab    sysctl -w KEY=OLD
                              set the same one
    link                      same namespace (inode) and same MAC address           ip link delete NAME
    namespace                 same name and same inode                              ip netns delete NAME

Order matters for speed: deleting a namespace frees all its devices at once (a veth whose
other end was inside goes too), while deleting veths one by one waits ~16 ms each for RCU.
So links that live inside the lab's namespaces are never deleted one by one, links whose
other end is inside one are only *waited for*, and the rest (a bridge) are deleted right
after the namespaces, in one netlink batch, while the kernel is still freeing those (their
grace periods overlap). Running cleanup twice is harmless: the second run finds nothing that
still matches.
"""

from __future__ import annotations

import errno
import json
import os
import time
from dataclasses import dataclass, field
from typing import Any

from netlab import inodes, links, nat, netlink, netns, sysctl
from netlab.enter import call
from netlab.errors import NetlabError, reason
from netlab.lab import journal, removal
from netlab.lab.machine import PLAIN_FILE
from netlab.plumbing.commands import emit
from netlab.plumbing.i18n import _
from netlab.rtnl import delete_link_request, send_batch
from netlab.targets import Target, in_words

__all__ = ["Report", "cleanup", "remove"]


@dataclass
class Report:
    """What cleanup did for one lab."""

    lab: str
    owner: str
    removed: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)  # not ours any more, or out of reach: untouched
    errors: list[str] = field(default_factory=list)
    skipped: str | None = None  # why the whole lab was not touched

    def __str__(self) -> str:
        head = _("lab {lab} ({owner})").format(lab=repr(self.lab), owner=self.owner)
        if self.skipped:
            return _("{head}: skipped, {reason}").format(head=head, reason=self.skipped)
        lines = [_("{head}: removed {count} object(s)").format(head=head, count=len(self.removed))]
        lines += [f"  - {item}" for item in self.removed]
        lines += ["  " + _("left alone: {item}").format(item=item) for item in self.left]
        lines += ["  " + _("error: {item}").format(item=item) for item in self.errors]
        return "\n".join(lines)


def _owner(record: journal.Record) -> str:
    state = _("running") if record.alive else _("gone")
    return _("owner pid {pid}, {state}").format(pid=record.pid, state=state)


def _freed(obj: dict[str, Any], target: Target) -> str:
    return _("link {name} in {where} (freed with its namespace)").format(name=obj["name"], where=in_words(target))


def _run_dir() -> dict[str, os.stat_result]:
    """One look at ``/run/netns``: each entry and what it shows (a namespace, or a plain file)."""
    found = {}
    try:
        entries = list(os.scandir(netns.run_dir()))
    except FileNotFoundError:
        return {}
    for entry in entries:
        try:
            found[entry.name] = os.stat(entry.path)
        except OSError:
            continue
    return found


def _reachable(entries: dict[str, os.stat_result]) -> dict[int, Target]:
    """Namespaces this process can reach, by inode: where it is, and every named one."""
    nsfs = netns.nsfs_device()
    found: dict[int, Target] = {inodes.inode(): None}
    for name, st in sorted(entries.items()):
        if st.st_dev == nsfs:
            found.setdefault(st.st_ino, name)
    return found


def _kill(obj: dict[str, Any], report: Report, dry_run: bool) -> None:
    pid = obj["pid"]
    if journal.process_start(pid) != obj["start"]:
        return  # exited (or the pid now belongs to another program)
    report.removed.append(_("process {pid} ({command})").format(pid=pid, command=" ".join(obj.get("argv", []))[:60]))
    if not dry_run and removal.kill(pid, obj["start"]):
        emit(["kill", "-9", str(pid)])


def _links_by_mac(sock: netlink.NetlinkSocket) -> dict[tuple[str, str], tuple[int, str]]:
    """(MAC, kind) -> (index, name). The kind matters: a bridge takes its first port's MAC."""
    return {(link.mac, link.kind): (link.ifindex, link.name) for link in netlink.links(sock)}


def _socket(target: Target) -> netlink.NetlinkSocket:
    """A netlink socket inside ``target`` (netlab's own reader: a dump of 1000 links in a few ms)."""
    return call(target, netlink.open_route_socket)


@dataclass
class _Links:
    """Links of one namespace found (by MAC) and about to be deleted: found first, deleted later."""

    target: Target
    sock: netlink.NetlinkSocket
    found: list[dict[str, Any]]
    indexes: dict[int, str]  # ifindex -> name; one veth end may match two objects (both ends)

    def delete(self, report: Report, dry_run: bool) -> list[dict]:
        """All the deletions in one ``sendmsg`` (``send_batch``); a veth whose peer was deleted just
        before it is already gone (ENODEV): that is what we wanted. Returns the objects found."""
        with self.sock:
            if self.indexes and not dry_run:
                answers = send_batch(self.sock.sock, [delete_link_request(index) for index in self.indexes])
                for name, answer in zip(self.indexes.values(), answers, strict=True):
                    if isinstance(answer, OSError) and answer.errno != errno.ENODEV:
                        report.errors.append(
                            _("link {name} in {where}: {reason}").format(
                                name=name, where=in_words(self.target), reason=reason(answer)
                            )
                        )
        for obj in self.found:
            report.removed.append(
                _("link {name} ({kind}) in {where}").format(
                    name=obj["name"], kind=obj.get("kind", "link"), where=in_words(self.target)
                )
            )
            if not dry_run:
                emit(_ip_del(self.target, obj["name"]))
        return self.found


def _find_links(target: Target, objs: list[dict[str, Any]]) -> _Links:
    """The links in ``objs`` that still carry their MAC in ``target``, and a socket there to delete them."""
    sock = _socket(target)
    try:
        present = _links_by_mac(sock)
    except BaseException:
        sock.close()
        raise
    found: list[dict[str, Any]] = []
    indexes: dict[int, str] = {}
    for obj in objs:
        hit = present.get((obj["mac"], obj.get("kind", "veth")))
        if hit is not None:
            found.append(obj)
            indexes.setdefault(hit[0], hit[1])
    return _Links(target, sock, found, indexes)


def _delete_links(target: Target, objs: list[dict[str, Any]], report: Report, dry_run: bool) -> list[dict]:
    """Delete the links in ``objs`` that still carry their MAC in ``target``; return the ones found."""
    return _find_links(target, objs).delete(report, dry_run)


def _ip_del(target: Target, name: str) -> list[str]:
    from netlab.plumbing.commands import ip

    return ip(target, "link", "delete", name)


def _sysctl_holder(obj: dict[str, Any], current: str, record: journal.Record) -> str | None:
    for other in journal.all_records():
        if other.lab == record.lab or not other.alive:
            continue
        if other.find("sysctl", key=obj["key"], netns=obj["netns"], new=current):
            return other.lab
    return None


@dataclass
class _Pass:
    """One cleanup pass over one lab: what the world looks like now, and what was done."""

    record: journal.Record
    report: Report
    dry_run: bool
    entries: dict[str, os.stat_result]  # /run/netns, looked at once
    nsfs: int
    reach: dict[int, Target]  # namespaces this process can reach, by inode
    lab_ns: set[int]  # the lab's own namespaces: what is inside goes with them

    def objects(self, ev: str) -> list[dict[str, Any]]:
        """The lab's objects of one kind, newest first (undone in reverse order of creation)."""
        return [obj for obj in reversed(self.record.objects.values()) if obj["ev"] == ev]

    def target_of(self, obj: dict[str, Any], what: str) -> tuple[bool, Target]:
        """Where ``obj`` lives, if it must be handled on its own (False: it goes with a lab namespace)."""
        ino = obj["netns"]
        if ino in self.lab_ns:
            return False, None
        if ino not in self.reach:
            self.report.left.append(
                _("{what}: its namespace net:[{inode}] is out of reach (gone, or in another world)").format(
                    what=what, inode=ino
                )
            )
            return False, None
        return True, self.reach[ino]


def remove(record: journal.Record, *, dry_run: bool = False, wait: float = 2.0, keep_journal: bool = False) -> Report:
    """Take down everything ``record`` owns that can be proven to be its own; then drop the journal.

    In this order: processes, nft tables, sysctls, borrowed devices (given back), namespaces,
    then the links outside them. Holds the record directory's lock, so two cleanups (or a cleanup
    and a closing lab) take turns; the second finds nothing left that still matches.
    """
    with journal.locked():
        entries = _run_dir()
        work = _Pass(
            record=record,
            report=Report(record.lab, _owner(record)),
            dry_run=dry_run,
            entries=entries,
            nsfs=netns.nsfs_device(),
            reach=_reachable(entries),
            lab_ns={obj["inode"] for obj in record.objects.values() if obj["ev"] == "netns"},
        )
        for obj in work.objects("process"):
            _kill(obj, work.report, dry_run)
        _remove_tables(work)
        _restore_sysctls(work)
        _return_borrowed(work)
        to_delete, to_wait = _sort_links(work)
        # Found (by MAC) before the namespaces go, deleted right after them: the kernel is then
        # still freeing the namespaces' devices in the background, and a bridge's own RCU wait
        # overlaps with theirs (as in one `ip -batch` file).
        doomed = []
        try:
            for target, objs in to_delete.items():
                doomed.append(_find_links(target, objs))
            _delete_namespaces(work)
        finally:
            for links_there in doomed:
                links_there.delete(work.report, dry_run)
        if to_wait and not dry_run:
            _wait_then_delete(to_wait, work.report, wait)
        elif to_wait:
            for target, objs in to_wait.items():
                work.report.removed += [_freed(obj, target) for obj in objs]
        if not dry_run and not work.report.errors and not keep_journal:
            record.path.unlink(missing_ok=True)
        return work.report


def _remove_tables(work: _Pass) -> None:
    """``nft delete table inet netlab_LAB``: only if it is still the table the lab created (same handle)."""
    for obj in work.objects("nft"):
        ok, target = work.target_of(obj, f"nft table {obj['table']}")
        if not ok:
            continue
        try:
            handle = nat_table_handle(obj["table"], target)
            if handle is None:
                continue  # gone already
            if obj.get("handle") is not None and handle != obj["handle"]:
                work.report.left.append(
                    _(
                        "nft table {family} {table} in {where}: another table now "
                        "(handle {handle}, the lab's was {old})"
                    ).format(
                        family=nat.FAMILY, table=obj["table"], where=in_words(target), handle=handle, old=obj["handle"]
                    )
                )
                continue
            work.report.removed.append(
                _("nft table {family} {table} in {where}").format(
                    family=nat.FAMILY, table=obj["table"], where=in_words(target)
                )
            )
            if not work.dry_run and (problem := removal.delete_table(f"{nat.FAMILY} {obj['table']}", handle, target)):
                work.report.errors.append(problem)
        except NetlabError as exc:
            work.report.errors.append(f"nft table {obj['table']}: {exc.message}")


def nat_table_handle(table: str, target: Target) -> int | None:
    """The handle of nft table ``inet TABLE`` in ``target`` (None if there is none): its identity.

    A table deleted and made again under the same name gets a new handle, so the handle proves
    that a table is still the one a lab created.
    """
    from netlab.enter import run

    proc = run(target, ["nft", "-j", "list", "tables", nat.FAMILY])
    if proc.returncode != 0:
        raise NetlabError(
            _("cannot list the nft tables in {where}: {reason}").format(
                where=in_words(target), reason=proc.stderr.strip()
            ),
            hint=_("is nftables installed (`nft --version`)?"),
        )
    for item in json.loads(proc.stdout or "{}").get("nftables", []):
        found = item.get("table")
        if found and found.get("name") == table and found.get("family") == nat.FAMILY:
            return int(found["handle"])
    return None


def _restore_sysctls(work: _Pass) -> None:
    """Put each sysctl back, if it still holds the lab's value and no running lab relies on it."""
    for obj in work.objects("sysctl"):
        ok, target = work.target_of(obj, f"sysctl {obj['key']}")
        if not ok:
            continue
        try:
            current = sysctl.get(obj["key"], netns=target)
        except NetlabError:
            continue
        where = in_words(target)
        if not sysctl.same(current, obj["new"]):
            work.report.left.append(
                _("sysctl {key}={value} in {where}: changed since the lab set {new}").format(
                    key=obj["key"], value=current, where=where, new=obj["new"]
                )
            )
            continue
        holder = _sysctl_holder(obj, current, work.record)
        if holder:
            work.report.left.append(
                _("sysctl {key}={value} in {where}: still used by lab {lab}").format(
                    key=obj["key"], value=current, where=where, lab=repr(holder)
                )
            )
            continue
        work.report.removed.append(
            _("sysctl {key}={value} in {where} (back to {old})").format(
                key=obj["key"], value=current, where=where, old=obj["old"]
            )
        )
        if (
            not work.dry_run
            and not sysctl.same(current, obj["old"])
            and (problem := removal.set_sysctl(obj["key"], obj["old"], target))
        ):
            work.report.errors.append(problem)


def _return_borrowed(work: _Pass) -> None:
    """Devices of yours the lab moved into its namespaces go back home (by MAC), under their own name.

    Deleting the namespace would otherwise destroy a veth, or send a physical card back to the
    machine's first namespace rather than to where it came from.
    """
    for obj in work.objects("borrowed"):
        if obj["netns"] not in work.lab_ns or obj["netns"] not in work.reach:
            continue  # not inside a lab namespace (any more): deleting namespaces cannot hurt it
        if obj["home"] not in work.reach:
            work.report.left.append(
                _("device {name}: its home net:[{inode}] is out of reach").format(name=obj["name"], inode=obj["home"])
            )
            continue
        where, home = work.reach[obj["netns"]], work.reach[obj["home"]]
        name = _name_by_mac(where, obj["mac"], obj.get("kind"))
        if name is None:
            continue  # moved on, or deleted by hand
        work.report.removed.append(
            _("device {name}: given back to {where} as {home_name}").format(
                name=name, where=in_words(home), home_name=obj["home_name"]
            )
        )
        if work.dry_run:
            continue
        taken = obj["home_name"] in {link.name for link in links.list(home)}
        new_name = None if taken or name == obj["home_name"] else obj["home_name"]
        try:
            links.move(name, home, netns=where, new_name=new_name)
        except NetlabError as exc:
            work.report.errors.append(
                _("device {name}: could not give it back: {reason}").format(name=name, reason=exc.message)
            )


def _name_by_mac(target: Target, mac: str, kind: str | None) -> str | None:
    with _socket(target) as sock:
        for (found_mac, found_kind), (_index, name) in _links_by_mac(sock).items():
            if found_mac == mac and (kind is None or found_kind == kind):
                return name
    return None


def _sort_links(work: _Pass) -> tuple[dict[Target, list[dict]], dict[Target, list[dict]]]:
    """Links outside the lab's namespaces: delete them, unless the other end of a veth is inside one
    (then deleting the namespace frees the pair; only wait for it)."""
    objs = [obj for obj in work.record.objects.values() if obj["ev"] == "link"]
    by_seq = {obj["seq"]: obj for obj in objs}
    to_delete: dict[Target, list[dict]] = {}
    to_wait: dict[Target, list[dict]] = {}
    for obj in reversed(objs):
        ok, target = work.target_of(obj, f"link {obj['name']}")
        if not ok:
            continue
        peer = by_seq.get(obj.get("pair"))
        freed_by_namespace = peer is not None and peer["netns"] in work.lab_ns
        (to_wait if freed_by_namespace else to_delete).setdefault(target, []).append(obj)
    return to_delete, to_wait


def _delete_namespaces(work: _Pass) -> None:
    """``ip netns delete NAME`` for each lab namespace still under its name with its inode."""
    for obj in work.objects("netns"):
        name = obj["name"]
        st = work.entries.get(name)
        if st is None:
            continue  # already gone
        if st.st_dev == work.nsfs and st.st_ino == obj["inode"]:
            work.report.removed.append(_("namespace {name} (net:[{inode}])").format(name=name, inode=obj["inode"]))
            if not work.dry_run:
                _delete_netns(name, obj["inode"], work.report)
        elif st.st_dev != work.nsfs and st.st_ctime >= obj.get("time", 0) - 1:
            work.report.removed.append(
                _("stale namespace file {path} (a crash between create and mount)").format(path=netns.run_dir() / name)
            )
            if not work.dry_run:
                _delete_netns(name, PLAIN_FILE, work.report)
        else:
            work.report.left.append(
                _("namespace {name}: it is another namespace now (not net:[{inode}])").format(
                    name=name, inode=obj["inode"]
                )
            )


def _delete_netns(name: str, inode: int, report: Report) -> None:
    if problem := removal.delete_namespace(name, inode):
        report.errors.append(problem)
    else:
        emit(["ip", "netns", "delete", name])


def _wait_then_delete(to_wait: dict[Target, list[dict]], report: Report, wait: float) -> None:
    """The kernel frees a deleted namespace's devices in the background: wait for the veth ends."""
    deadline = time.monotonic() + wait
    pending = dict(to_wait)
    sockets = {target: _socket(target) for target in pending}
    try:
        while pending and time.monotonic() < deadline:
            for target in list(pending):
                present = _links_by_mac(sockets[target])
                pending[target] = [obj for obj in pending[target] if (obj["mac"], obj.get("kind", "veth")) in present]
                if not pending[target]:
                    del pending[target]
            if pending:
                time.sleep(0.002)
    finally:
        for sock in sockets.values():
            sock.close()
    for target, objs in to_wait.items():
        still = {id(obj) for obj in pending.get(target, [])}
        report.removed += [_freed(obj, target) for obj in objs if id(obj) not in still]
    for target, objs in pending.items():  # something else holds the namespace: delete the ends ourselves
        _delete_links(target, objs, report, dry_run=False)


def cleanup(*, all: bool = False, dry_run: bool = False, lab: str | None = None) -> list[Report]:
    """Remove the labs whose owner process is gone (``all=True``: every lab). Returns one report per lab.

    Journals that cannot be trusted (``journal.problems()``) are left alone; ``netlab cleanup``
    names them.
    """
    with journal.locked():
        return _cleanup(all=all, dry_run=dry_run, lab=lab)


def _cleanup(*, all: bool, dry_run: bool, lab: str | None) -> list[Report]:
    reports = []
    for record in journal.all_records():
        if lab is not None and record.lab != lab:
            continue
        if record.alive and not all:
            reports.append(
                Report(
                    record.lab,
                    _owner(record),
                    skipped=_("its owner is still running (use --all to remove it anyway)"),
                )
            )
            continue
        reports.append(remove(record, dry_run=dry_run))
    return reports
