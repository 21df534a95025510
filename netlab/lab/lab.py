"""A Lab: build namespaces and wiring, remember all of it, and take it all down again.

The article's middle section, as one notebook cell::

    with Lab() as lab:
        lab.netns("netns1")                                  # ip netns add netns1
        lab.veth("veth0", "veth1")                           # ip link add veth0 type veth peer name veth1
        lab.move("veth1", "netns1")                          # ip link set veth1 netns netns1
        lab.add_address("veth1", "10.1.1.1/24", netns="netns1")
        lab.up("veth1", netns="netns1")
        lab.add_address("veth0", "10.1.1.2/24")
        lab.up("veth0")
        print(lab.ping(None, "10.1.1.1"))                     # ping from the root namespace
        print(lab.ping("netns1", "10.1.1.2"))                 # and back, from inside netns1
        print(lab.history)                                   # the same, as `ip` commands

When the ``with`` block ends, normally or by an exception, everything the lab built is removed
(``close()``); also when the Python process exits or is sent SIGTERM (a Jupyter kernel restart),
and, if the process is killed outright, by ``netlab.lab.cleanup`` later, thanks to the journal
the lab writes *before* each step (see ``netlab.lab.journal`` and ``netlab.lab.cleanup``).

What a lab owns is only what it created: a device you made with ``ip`` and then used in the lab
(moved, attached, addressed) stays yours. Two labs can run side by side (two notebooks,
parallel tests); a name already taken, by another lab or by hand, is an error that says who
has it, never a silent takeover.

Each method is one step: if it fails half-way (``connect`` creates a veth pair, then sets
addresses and routes), what it had done is undone before the error reaches you. The bigger
helpers, ``connect`` and ``star``, do in one call what the article does in six commands, and
``star`` builds hundreds of namespaces in seconds (with a progress bar: ``netlab.lab.progress``).
"""

from __future__ import annotations

import atexit
import hashlib
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from netlab import inodes, links, reach
from netlab import netns as netns_module
from netlab.enter import call
from netlab.errors import (
    DeviceExistsError,
    LabExistsError,
    NamespaceExistsError,
    NamespaceNotFoundError,
    NetlabError,
)
from netlab.lab import cleanup, journal
from netlab.lab.internet import Internet
from netlab.lab.processes import Processes
from netlab.lab.wiring import Wiring
from netlab.names import check_ifname, check_netns_name
from netlab.plumbing.commands import History, emit, ip, quiet, recording
from netlab.plumbing.i18n import _
from netlab.rtnl import error, ifindex, open_socket, rtnl, send_batch, set_link_request
from netlab.targets import NEW, Target, in_words

__all__ = ["Lab", "open_labs"]

_open_labs: set[Lab] = set()
_open_lock = threading.Lock()


class Lab(Processes, Wiring, Internet):
    """Owns what it builds; ``close()`` (or the end of ``with``) removes all of it.

    ``name`` names the lab's journal (``/run/netlab/NAME.jsonl``) and its nft table
    (``netlab_NAME``); without one, a random name is used. ``echo=True`` prints each
    equivalent command as it runs; ``progress`` shows a bar for long builds (default: for
    ``star`` of 50 namespaces or more).

    A name is one lab at a time. ``Lab(name)`` while this same process still has a lab of that
    name open (a notebook cell run twice: ``lab = netlab.Lab("veth_pair")``) closes the earlier one
    first, removing everything it built, and starts over: the cell run twice leaves what it left
    when run once. A lab of that name open in *another* process is never touched
    (``LabExistsError``); one left by a process that is gone is cleaned up first.
    """

    def __init__(self, name: str | None = None, *, echo: bool = False, progress: bool | None = None):
        self.id = journal.check_lab_id(name) if name is not None else f"lab_{secrets.token_hex(3)}"
        self.history = History(echo=echo)
        self.progress = progress
        self.recovered: cleanup.Report | None = None
        self._pid = os.getpid()
        self._root = inodes.inode()
        self._undo: list[Callable[[], None]] | None = None
        self._processes: list[tuple[int, subprocess.Popen]] = []
        self._macs = 0
        self._mac_prefix = hashlib.sha1(self.id.encode()).digest()[:3]
        self._closed = False
        self._close_earlier()
        self._journal = self._open_journal()
        with _open_lock:
            _open_labs.add(self)
        _close_on_sigterm()

    # -- the journal -------------------------------------------------------------------------

    def _close_earlier(self) -> None:
        """A re-run cell: close the lab of this name that this process opened before, and say so."""
        with _open_lock:
            earlier = [lab for lab in _open_labs if lab.id == self.id and lab._pid == self._pid]
        for lab in earlier:
            lab.close()
            print(
                "netlab: "
                + _("closed the lab {lab} opened earlier in this process, to start it over").format(lab=repr(self.id)),
                file=sys.stderr,
            )

    def _open_journal(self) -> journal.Journal:
        # Under the record directory's lock: a second Lab of this name, or a cleanup, waits its
        # turn, so the journal read here is still the one on disk when it is replaced.
        with journal.locked():
            path = journal.record_dir() / f"{self.id}.jsonl"
            try:
                old = journal.read(path, strict=True)
            except journal.UntrustedJournalError as exc:
                raise LabExistsError(
                    _("lab {lab} cannot start: {reason}").format(lab=repr(self.id), reason=exc.message),
                    hint=_(
                        "netlab never uses or deletes a file it cannot trust: remove it yourself (rm {path}), "
                        "or pick another lab name"
                    ).format(path=path),
                    subject=self.id,
                ) from None
            if old is not None and old.alive:
                here = old.pid == os.getpid()
                running = (
                    _("lab {lab} is already running (pid {pid}, this very process)")
                    if here
                    else _("lab {lab} is already running (pid {pid})")
                )
                raise LabExistsError(
                    running.format(lab=repr(self.id), pid=old.pid),
                    hint=(
                        _(
                            "close the earlier one first (lab.close()), or write `with Lab(...) as lab:` so a re-run "
                            "cell closes it by itself"
                        )
                        if here
                        else _("two labs never share a name: pick another name, or close the other lab first")
                    ),
                    subject=self.id,
                )
            if old is not None:  # its owner died without cleaning up: do it now
                self.recovered = cleanup.remove(old)
                print(
                    "netlab: "
                    + _("cleaned up what lab {lab} left behind (pid {pid} is gone): {count} object(s)").format(
                        lab=repr(self.id), pid=old.pid, count=len(self.recovered.removed)
                    ),
                    file=sys.stderr,
                )
                path.unlink(missing_ok=True)
            return journal.Journal(self.id, root=self._root)

    @property
    def record(self) -> journal.Record:
        """The journal, replayed: what this lab owns right now."""
        return self._journal.record

    @property
    def table(self) -> str:
        """The nft table that holds this lab's NAT rules."""
        return f"netlab_{self.id}"

    @property
    def namespaces(self) -> list[str]:
        """The names of the namespaces this lab created (and has not deleted)."""
        return [obj["name"] for obj in self.record.of("netns")]

    def _mac(self) -> str:
        """A locally administered MAC (02:...) unique in this lab: proof of ownership after a crash."""
        self._macs += 1
        a, b, c = self._mac_prefix
        return f"02:{a:02x}:{b:02x}:{c:02x}:{(self._macs >> 8) & 0xFF:02x}:{self._macs & 0xFF:02x}"

    def _inode(self, target: Target) -> int:
        return inodes.inode(target)

    def _owned_link(self, name: str, target: Target) -> dict[str, Any] | None:
        return self.record.find("link", name=name, netns=self._inode(target))

    # -- steps, undo and errors ---------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise NetlabError(
                _("lab {lab} is closed").format(lab=repr(self.id)), hint=_("start a new one: Lab()"), subject=self.id
            )

    @contextmanager
    def _step(self) -> Iterator[None]:
        """One lab method: record its commands; if it fails, undo what it did and forget them."""
        self._check_open()
        outer = self._undo is None
        if outer:
            self._undo = []
            mark = len(self.history)
        try:
            with recording(self.history):
                yield
        except BaseException:
            if outer:
                undo, self._undo = self._undo, None
                with quiet():
                    for fn in reversed(undo or []):
                        try:
                            fn()
                        except Exception:  # best effort: cleanup/close catches what is left
                            pass
                del self.history[mark:]
            raise
        finally:
            if outer:
                self._undo = None

    def _on_undo(self, fn: Callable[[], None]) -> None:
        if self._undo is not None:
            self._undo.append(fn)

    def _taken(self, exc: NetlabError, kind: str, name: str, target: Target) -> NetlabError:
        """Say who owns a name that is already taken."""
        ino = self._inode(target) if kind == "link" else None
        for record in journal.all_records():
            obj = record.find("netns", name=name) if kind == "netns" else record.find("link", name=name, netns=ino)
            if obj is not None:
                if record.lab == self.id:
                    whose = _("this lab")
                elif record.alive:
                    whose = _("lab {lab} (pid {pid}, running)").format(lab=repr(record.lab), pid=record.pid)
                else:
                    whose = _("lab {lab} (pid {pid}, gone: `netlab cleanup` removes it)").format(
                        lab=repr(record.lab), pid=record.pid
                    )
                cls = type(exc)
                return cls(
                    _("{message}; it belongs to {owner}").format(message=exc.message, owner=whose),
                    hint=_("two labs never share a name: pick another one (prefix it with your lab's name)"),
                    subject=name,
                    errno=exc.errno_code,
                )
        return type(exc)(
            _("{message}; no lab made it (`ip` or netlab's plain functions did)").format(message=exc.message),
            hint=_(
                "a lab never takes over what it did not create: pick another name, or, if an earlier lesson "
                "left it, start from a clean world: `netlab reset` (lesson.reset() in a notebook)"
            ),
            subject=name,
            errno=exc.errno_code,
        )

    # -- namespaces ---------------------------------------------------------------------------

    def netns(self, name: str) -> str:
        """``ip netns add NAME``, owned by the lab. Returns the name."""
        check_netns_name(name)
        with self._step():

            def create() -> int:
                # Inside a brand-new namespace (the worker thread unshared it): write down its
                # inode first, then give it its name. A crash in between leaves an unnamed
                # namespace that dies with the process, never a name cleanup cannot prove.
                ino = os.stat("/proc/thread-self/ns/net").st_ino
                seq = self._journal.add("netns", name=name, inode=ino, time=time.time())
                try:
                    netns_module.attach(name, threading.get_native_id())
                except BaseException:
                    self._journal.gone(seq)
                    raise
                return ino

            try:
                call(NEW, create)
            except NamespaceExistsError as exc:
                raise self._taken(exc, "netns", name, None) from None
            self._on_undo(lambda: self._delete_netns(name))
            emit(["ip", "netns", "add", name])
        return name

    def _delete_netns(self, name: str) -> None:
        obj = self.record.find("netns", name=name)
        if netns_module.exists(name) and (obj is None or inodes.inode(name) == obj["inode"]):
            netns_module.delete(name)
            emit(["ip", "netns", "delete", name])
        if obj is not None:
            self._journal.gone(obj["seq"])

    def delete_netns(self, name: str) -> None:
        """``ip netns delete NAME`` for a namespace of this lab (its devices go with it)."""
        with self._step():
            if self.record.find("netns", name=name) is None:
                raise NamespaceNotFoundError(
                    _("lab {lab} has no namespace {name}").format(lab=repr(self.id), name=repr(name)),
                    hint=_("a lab deletes only what it created; use netns.delete() for others"),
                    subject=name,
                )
            self._delete_netns(name)

    # -- devices ------------------------------------------------------------------------------

    def veth(self, name: str, peer: str, *, netns: Target = None, peer_netns: Target = None) -> None:
        """``ip link add NAME type veth peer name PEER [netns PEER_NETNS]``, owned by the lab."""
        with self._step():
            check_ifname(name), check_ifname(peer)
            mac, peer_mac = self._mac(), self._mac()
            ino = self._inode(netns)
            peer_ino = ino if peer_netns is None else self._inode(peer_netns)
            seqs = self._journal.add_pair(
                {"name": name, "netns": ino, "mac": mac, "kind": "veth"},
                {"name": peer, "netns": peer_ino, "mac": peer_mac, "kind": "veth"},
            )
            try:
                with quiet():  # the MACs are ownership marks, not part of the lesson
                    links.veth(name, peer, netns=netns, peer_netns=peer_netns, mac=mac, peer_mac=peer_mac)
            except NetlabError as exc:
                self._journal.gone(*seqs)
                if isinstance(exc, DeviceExistsError):
                    taken = peer if exc.subject == peer else name
                    raise self._taken(
                        exc, "link", taken, peer_netns if taken == peer and peer_netns else netns
                    ) from None
                raise
            except BaseException:
                self._journal.gone(*seqs)
                raise
            self._on_undo(lambda: self._delete_link(name, netns))
            self._mark(name, netns)
            emit(
                ip(
                    netns,
                    "link",
                    "add",
                    name,
                    "type",
                    "veth",
                    "peer",
                    "name",
                    peer,
                    *([] if peer_netns is None else ["netns", links.netns_arg(peer_netns)]),
                )
            )

    def bridge(self, name: str, *, netns: Target = None) -> None:
        """``ip link add NAME type bridge``, owned by the lab."""
        with self._step():
            check_ifname(name)
            mac = self._mac()
            seq = self._journal.add("link", name=name, netns=self._inode(netns), mac=mac, kind="bridge")
            try:
                with quiet():
                    links.bridge(name, netns=netns, mac=mac)
            except NetlabError as exc:
                self._journal.gone(seq)
                raise self._taken(exc, "link", name, netns) if isinstance(exc, DeviceExistsError) else exc from None
            except BaseException:
                self._journal.gone(seq)
                raise
            self._on_undo(lambda: self._delete_link(name, netns))
            self._mark(name, netns)
            emit(ip(netns, "link", "add", name, "type", "bridge"))

    def _mark(self, name: str, target: Target) -> None:
        """``ip link set NAME alias netlab:LAB``: visible in ``ip link``; not part of the lesson's history.

        One request, the device named in it (the kernel does not take an alias in the request
        that creates a device: it would ignore it).
        """

        def mark() -> None:
            with open_socket() as sock:
                (answer,) = send_batch(sock, [set_link_request(name=name, alias=f"netlab:{self.id}")])
            if isinstance(answer, OSError):
                action = _("mark {name} in {where} as lab {lab}'s").format(
                    name=repr(name), where=in_words(target), lab=repr(self.id)
                )
                raise error(answer, action=action, subject=name)

        call(target, mark)

    def _delete_link(self, name: str, target: Target) -> None:
        obj = self._owned_link(name, target)
        try:
            links.delete(name, netns=target)
        finally:
            if obj is not None:
                self._journal.gone(obj["seq"], *([obj["pair"]] if obj.get("pair") else []))

    def delete(self, name: str, *, netns: Target = None) -> None:
        """``ip link delete NAME`` (a veth's other end goes too)."""
        with self._step():
            self._delete_link(name, netns)

    def move(self, name: str, to: Target, *, netns: Target = None, new_name: str | None = None) -> None:
        """``ip link set NAME netns TO [name NEW]``; the lab keeps track of where its devices are.

        A device of yours moved into one of the lab's namespaces is only borrowed: when the lab
        closes (or cleanup runs after a crash) it goes back where it came from, under its name.
        """
        with self._step():
            here, there = self._inode(netns), self._inode(to)
            obj = self._owned_link(name, netns)
            lent = self.record.find("borrowed", name=name, netns=here)
            mac = kind = None
            if obj is None and lent is None and self.record.find("netns", inode=there) is not None:
                mac, kind = rtnl(netns, lambda ipr: _mac_and_kind(ipr, name, netns))
            links.move(name, to, netns=netns, new_name=new_name)
            if obj is not None:
                self._journal.note("moved", obj["seq"], netns=there, name=new_name or name)
            elif lent is not None:
                if there == lent["home"]:
                    self._journal.gone(lent["seq"])  # back home: no longer borrowed
                else:
                    self._journal.note("moved", lent["seq"], netns=there, name=new_name or name)
            elif mac is not None:
                self._journal.add(
                    "borrowed", name=new_name or name, netns=there, mac=mac, kind=kind, home=here, home_name=name
                )
            self._on_undo(lambda: links.move(new_name or name, netns, netns=to, new_name=name if new_name else None))

    def rename(self, name: str, new_name: str, *, netns: Target = None) -> None:
        """``ip link set NAME name NEW``."""
        with self._step():
            obj = self._owned_link(name, netns)
            links.rename(name, new_name, netns=netns)
            if obj is not None:
                self._journal.note("renamed", obj["seq"], name=new_name)
            self._on_undo(lambda: links.rename(new_name, name, netns=netns))

    def up(self, name: str, *, netns: Target = None) -> None:
        """``ip link set NAME up``."""
        with self._step():
            links.up(name, netns=netns)

    def down(self, name: str, *, netns: Target = None) -> None:
        """``ip link set NAME down``."""
        with self._step():
            links.down(name, netns=netns)

    def attach(self, name: str, bridge: str, *, netns: Target = None) -> None:
        """``ip link set NAME master BRIDGE``."""
        with self._step():
            links.attach(name, bridge, netns=netns)
            self._on_undo(lambda: links.detach(name, netns=netns))

    def detach(self, name: str, *, netns: Target = None) -> None:
        """``ip link set NAME nomaster``."""
        with self._step():
            links.detach(name, netns=netns)

    def add_address(self, name: str, cidr: str, *, netns: Target = None) -> None:
        """``ip addr add CIDR dev NAME``."""
        with self._step():
            links.add_address(name, cidr, netns=netns)
            self._on_undo(lambda: links.remove_address(name, cidr, netns=netns))

    def add_route(self, dst: str, *, via: str | None = None, dev: str | None = None, netns: Target = None) -> None:
        """``ip route add DST [via GATEWAY] [dev DEV]``."""
        with self._step():
            links.add_route(dst, via=via, dev=dev, netns=netns)
            self._on_undo(lambda: links.remove_route(dst, via=via, dev=dev, netns=netns))

    # -- checks ------------------------------------------------------------------------------

    def ping(self, source: Target, address: str, **options: Any) -> reach.PingResult:
        """``reach.ping``, recorded in the lab's history."""
        with recording(self.history):
            return reach.ping(source, address, **options)

    def probe(self, source: Target, address: str, port: int, **options: Any) -> reach.ProbeResult:
        """``reach.probe``, recorded in the lab's history."""
        with recording(self.history):
            return reach.probe(source, address, port, **options)

    # -- the end -----------------------------------------------------------------------------

    def close(self) -> cleanup.Report | None:
        """Remove everything the lab built (idempotent). Returns what was removed."""
        if self._closed or os.getpid() != self._pid:
            return None
        self._closed = True
        with _open_lock:
            _open_labs.discard(self)
            last = not _open_labs
        if last:
            _sigterm_as_before()
        with recording(self.history):
            for seq, proc in reversed(self._processes):
                self._stop(seq, proc)
            report = cleanup.remove(self._journal.record, keep_journal=True)
        self._journal.close(remove=not report.errors)
        if report.errors:
            raise NetlabError(
                _("lab {lab} could not remove everything: {errors}").format(
                    lab=repr(self.id), errors="; ".join(report.errors)
                ),
                hint=_("`netlab cleanup` retries once this process has exited"),
                subject=self.id,
            )
        return report

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<Lab {self.id!r} ({state}): {self.record}>"


def _mac_and_kind(ipr: Any, name: str, target: Target) -> tuple[str, str]:
    """A device's MAC and kind (as cleanup's ``_links_by_mac`` sees them): how it is found again."""
    msg = ipr.link("get", index=ifindex(ipr, name, target))[0]
    return msg.get("address"), msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_KIND") or ""


def open_labs() -> list[Lab]:
    """The labs this process has open, oldest first (what a re-run notebook left open)."""
    with _open_lock:
        return sorted(_open_labs, key=lambda lab: lab.record.created)


def _close_on_sigterm() -> None:
    """While labs are open, SIGTERM ends this process through ``atexit``, which closes them.

    By default SIGTERM (``kill PID``, a Jupyter kernel restart) ends a Python process on the
    spot: no ``finally``, no ``atexit``, and its labs stay behind. netlab turns it into
    ``SystemExit``, as Python turns Ctrl-C into ``KeyboardInterrupt``. Only from the main thread
    (the only one that may set a handler), and only over the default: a handler of your own stays.
    """
    if _in_main_thread() and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _exit_on_sigterm)


def _sigterm_as_before() -> None:
    """The last lab closed: SIGTERM gets its default back (if the handler is still netlab's)."""
    if _in_main_thread() and signal.getsignal(signal.SIGTERM) is _exit_on_sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    """SIGTERM in the process that owns open labs: exit the Python way (``atexit`` closes them)."""
    if any(lab._pid == os.getpid() for lab in list(_open_labs)):
        raise SystemExit(128 + signum)
    # Not the owner (a forked child), or no lab open any more: what the default does.
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


@atexit.register
def _close_labs_at_exit() -> None:
    """A Jupyter kernel restart (or the end of a script) closes the labs left open."""
    for lab in list(_open_labs):
        try:
            lab.close()
        except Exception as exc:  # never block the interpreter's exit
            print(
                "netlab: " + _("closing lab {lab} at exit: {error}").format(lab=repr(lab.id), error=exc),
                file=sys.stderr,
            )
