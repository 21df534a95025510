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
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
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
from netlab.lab.steps import Steps
from netlab.lab.wiring import Wiring
from netlab.names import check_ifname, check_netns_name
from netlab.plumbing.commands import History, emit, ip, quiet, recording
from netlab.plumbing.i18n import _
from netlab.rtnl import error, ifindex, open_socket, rtnl, send_batch, set_link_request
from netlab.targets import NEW, Target, in_words

__all__ = ["Lab", "open_labs"]

_open_labs: set[Lab] = set()
_open_lock = threading.Lock()


class Lab:
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
        self._close_earlier()
        self._journal = self._open_journal()
        # What the lab owns to do its work: one bookkeeping for every step, and three parts that take
        # their steps through it (a star makes its bridge with the lab's own device steps).
        self._steps = Steps(self.id, self._journal, self.history, root=self._root)
        self._wiring = Wiring(self._steps, devices=self)
        self._processes = Processes(self._steps)
        self._internet = Internet(self._steps, table=self.table)
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

    # -- namespaces ---------------------------------------------------------------------------

    def netns(self, name: str) -> str:
        """``ip netns add NAME``, owned by the lab. Returns the name."""
        check_netns_name(name)
        with self._steps.step():

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
                raise self._steps.taken(exc, "netns", name, None) from None
            self._steps.on_undo(lambda: self._delete_netns(name))
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
        with self._steps.step():
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
        with self._steps.step():
            check_ifname(name), check_ifname(peer)
            mac, peer_mac = self._steps.mac(), self._steps.mac()
            ino = self._steps.inode(netns)
            peer_ino = ino if peer_netns is None else self._steps.inode(peer_netns)
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
                    raise self._steps.taken(
                        exc, "link", taken, peer_netns if taken == peer and peer_netns else netns
                    ) from None
                raise
            except BaseException:
                self._journal.gone(*seqs)
                raise
            self._steps.on_undo(lambda: self._steps.delete_link(name, netns))
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
        with self._steps.step():
            check_ifname(name)
            mac = self._steps.mac()
            seq = self._journal.add("link", name=name, netns=self._steps.inode(netns), mac=mac, kind="bridge")
            try:
                with quiet():
                    links.bridge(name, netns=netns, mac=mac)
            except NetlabError as exc:
                self._journal.gone(seq)
                taken = isinstance(exc, DeviceExistsError)
                raise self._steps.taken(exc, "link", name, netns) if taken else exc from None
            except BaseException:
                self._journal.gone(seq)
                raise
            self._steps.on_undo(lambda: self._steps.delete_link(name, netns))
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

    def delete(self, name: str, *, netns: Target = None) -> None:
        """``ip link delete NAME`` (a veth's other end goes too)."""
        with self._steps.step():
            self._steps.delete_link(name, netns)

    def move(self, name: str, to: Target, *, netns: Target = None, new_name: str | None = None) -> None:
        """``ip link set NAME netns TO [name NEW]``; the lab keeps track of where its devices are.

        A device of yours moved into one of the lab's namespaces is only borrowed: when the lab
        closes (or cleanup runs after a crash) it goes back where it came from, under its name.
        """
        with self._steps.step():
            here, there = self._steps.inode(netns), self._steps.inode(to)
            obj = self._steps.owned_link(name, netns)
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
            self._steps.on_undo(
                lambda: links.move(new_name or name, netns, netns=to, new_name=name if new_name else None)
            )

    def rename(self, name: str, new_name: str, *, netns: Target = None) -> None:
        """``ip link set NAME name NEW``."""
        with self._steps.step():
            obj = self._steps.owned_link(name, netns)
            links.rename(name, new_name, netns=netns)
            if obj is not None:
                self._journal.note("renamed", obj["seq"], name=new_name)
            self._steps.on_undo(lambda: links.rename(new_name, name, netns=netns))

    def up(self, name: str, *, netns: Target = None) -> None:
        """``ip link set NAME up``."""
        with self._steps.step():
            links.up(name, netns=netns)

    def down(self, name: str, *, netns: Target = None) -> None:
        """``ip link set NAME down``."""
        with self._steps.step():
            links.down(name, netns=netns)

    def attach(self, name: str, bridge: str, *, netns: Target = None) -> None:
        """``ip link set NAME master BRIDGE``."""
        with self._steps.step():
            links.attach(name, bridge, netns=netns)
            self._steps.on_undo(lambda: links.detach(name, netns=netns))

    def detach(self, name: str, *, netns: Target = None) -> None:
        """``ip link set NAME nomaster``."""
        with self._steps.step():
            links.detach(name, netns=netns)

    def add_address(self, name: str, cidr: str, *, netns: Target = None) -> None:
        """``ip addr add CIDR dev NAME``."""
        with self._steps.step():
            links.add_address(name, cidr, netns=netns)
            self._steps.on_undo(lambda: links.remove_address(name, cidr, netns=netns))

    def add_route(self, dst: str, *, via: str | None = None, dev: str | None = None, netns: Target = None) -> None:
        """``ip route add DST [via GATEWAY] [dev DEV]``."""
        with self._steps.step():
            links.add_route(dst, via=via, dev=dev, netns=netns)
            self._steps.on_undo(lambda: links.remove_route(dst, via=via, dev=dev, netns=netns))

    # -- the bigger steps: wiring, processes, the way out (the lab's parts do them) ------------

    def connect(
        self,
        ns: str,
        *,
        address: str | None = None,
        gateway: str | None = None,
        bridge: str | None = None,
        ifname: str = "eth0",
        host_ifname: str | None = None,
        host_address: str | None = None,
        netns: Target = None,
    ) -> None:
        """Wire namespace ``ns`` to the lab's root namespace (or ``netns``) with a veth pair.

        The end inside ``ns`` is ``ifname`` with ``address``; the other end, ``host_ifname``
        (default ``v-NS``), is plugged into ``bridge`` or gets ``host_address``. Both ends and
        ``lo`` come up; ``gateway`` becomes the default route of ``ns``. One step: if any part
        fails, the pair is removed again.
        """
        self._wiring.connect(
            ns,
            address=address,
            gateway=gateway,
            bridge=bridge,
            ifname=ifname,
            host_ifname=host_ifname,
            host_address=host_address,
            netns=netns,
        )

    def star(
        self,
        namespaces: int | Sequence[str],
        *,
        bridge: str = "br0",
        subnet: str = "10.0.0.0/24",
        prefix: str = "ns",
        ifname: str = "eth0",
        netns: Target = None,
    ) -> list[str]:
        """A bridge with ``namespaces`` around it, each wired, addressed and routed through it.

        ``star(100)`` makes ns1..ns100; the bridge gets the first address of ``subnet`` and
        is every namespace's default gateway, the namespaces get the next ones. Returns the
        namespace names. The classroom-sized build, in batches (``_star_batch``), each written
        down in the journal as a whole before any of it is built; a progress bar for big ones.
        At most 1023 namespaces: a bridge has no more ports.
        """
        return self._wiring.star(
            namespaces, bridge=bridge, subnet=subnet, prefix=prefix, ifname=ifname, netns=netns, progress=self.progress
        )

    def popen(self, target: Target, argv: Sequence[str], **popen_kwargs: Any) -> subprocess.Popen:
        """``ip netns exec TARGET ARGV &``: a process the lab stops when it closes.

        The process is written down *before* it can run: the child stops right after ``fork``
        (``preexec_fn``), sends its pid, and waits; the lab journals that pid with its start time,
        then lets it go on to ``exec``. Killed in between, the lab leaves a child that reads
        end-of-file and exits instead of running unrecorded.

        Like ``setsid CMD &``, it runs in a session (and process group) of its own: interrupting the
        kernel or a Ctrl-C does not stop it; ``close()`` does, by the pid the lab wrote down.
        """
        return self._processes.popen(target, argv, **popen_kwargs)

    def sysctl(self, key: str, value: object, *, netns: Target = None) -> str:
        """``sysctl -w KEY=VALUE``, put back to its old value when the lab closes. Returns the old value."""
        return self._internet.sysctl(key, value, netns=netns)

    def masquerade(self, subnet: str, *, out: str, netns: Target = None) -> None:
        """Source NAT out of ``out`` (``nft ... masquerade``), in the lab's table ``netlab_LAB``."""
        self._internet.masquerade(subnet, out=out, netns=netns)

    def publish(self, port: int, *, to: str | tuple[str, int], proto: str = "tcp", netns: Target = None) -> None:
        """Port publishing (DNAT, ``docker -p PORT:...``), in the lab's table ``netlab_LAB``."""
        self._internet.publish(port, to=to, proto=proto, netns=netns)

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
        if self._steps.closed or os.getpid() != self._pid:
            return None
        self._steps.closed = True
        with _open_lock:
            _open_labs.discard(self)
            last = not _open_labs
        if last:
            _sigterm_as_before()
        with recording(self.history):
            self._processes.stop_all()
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
        state = "closed" if self._steps.closed else "open"
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
