"""A lab's bigger steps: ``connect`` one namespace, or a whole ``star`` of them, in few kernel trips.

The article wires a namespace with six commands (add a veth pair, move one end, two addresses,
two ``up``); ``connect`` does the same in one step, and ``star`` builds hundreds of namespaces
around a bridge faster than one ``ip -batch`` file: the namespaces are made 200 at a time in
one trip to the worker thread, every pair is created with its far end already inside (no
move, no RCU wait) in one ``sendmsg`` for all of them, and each namespace is configured with
two more, on a socket opened inside it when it was made (``netlab.rtnl.send_batch``).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import itertools
import os
import socket
import struct
import time
from collections.abc import Sequence
from typing import Any, Protocol

from netlab import links, netlink
from netlab import netns as netns_module
from netlab.enter import call
from netlab.errors import (
    DeviceExistsError,
    InvalidAddressError,
    InvalidNameError,
    NamespaceExistsError,
    NetlabError,
)
from netlab.lab import cleanup
from netlab.lab.progress import progress as progress_bar
from netlab.lab.steps import Steps
from netlab.names import check_ifname, check_netns_name
from netlab.plumbing.commands import emit, ip
from netlab.plumbing.i18n import _
from netlab.rtnl import (
    IFLA_IFNAME,
    RTM_GETLINK,
    Rtnl,
    address_request,
    default_route_request,
    error,
    get_link_request,
    ifindex,
    kernel_call,
    open_socket,
    rtnl,
    send_batch,
    set_link_request,
    veth_request,
)
from netlab.targets import Target, in_words

__all__ = ["Wiring"]


BRIDGE_MAX_PORTS = 1023  # a Linux bridge numbers its ports in 10 bits, and port 0 is never used


def _star_addresses(net: links.IPNetwork, count: int) -> list[Any]:
    """The bridge's address, then one for each of ``count`` namespaces: refused if they do not fit.

    A star is one bridge port per namespace, and each needs an address of ``net``.
    """
    if count > BRIDGE_MAX_PORTS:
        raise InvalidNameError(
            _("star({count}): a bridge takes at most {limit} ports, one per namespace").format(
                count=count, limit=BRIDGE_MAX_PORTS
            ),
            hint=_("build several stars, each on its own bridge (bridge='br1', ...)"),
            subject=str(count),
        )
    hosts = list(itertools.islice(net.hosts(), count + 1))
    if len(hosts) < count + 1:
        raise InvalidAddressError(
            _("{subnet} has room for {room} namespaces, not {count}").format(
                subnet=net, room=max(len(hosts) - 1, 0), count=count
            ),
            hint=_("use a bigger subnet, e.g. '10.0.0.0/16'"),
            subject=str(net),
        )
    return hosts


class Devices(Protocol):
    """The lab's device steps a ``star`` makes its bridge with (``Lab`` has them)."""

    def bridge(self, name: str, *, netns: Target = None) -> None: ...
    def add_address(self, name: str, cidr: str, *, netns: Target = None) -> None: ...
    def up(self, name: str, *, netns: Target = None) -> None: ...


class Wiring:
    """A lab's bigger steps, ``Lab.connect`` and ``Lab.star``: namespaces wired in few trips to the kernel."""

    def __init__(self, steps: Steps, *, devices: Devices):
        self._steps = steps
        self._devices = devices

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
        """``Lab.connect``: the names and addresses checked, then one step on a socket in ``netns``."""
        host = host_ifname or f"v-{ns}"
        check_ifname(host), check_ifname(ifname)
        value = links.interface(address) if address is not None else None
        gw = links.address(gateway) if gateway is not None else None
        with self._steps.step(), Rtnl(netns) as root:
            self._wire(root, ns, host=host, ifname=ifname, bridge=bridge, address=value, gateway=gw, netns=netns)
            if host_address is not None:
                links.add_address(host, host_address, netns=netns)

    def _wire(
        self,
        root: Rtnl,
        ns: str,
        *,
        host: str,
        ifname: str,
        bridge: str | None,
        address: links.IPInterface | None,
        gateway: Any,
        netns: Target,
        bridge_index: int | None = None,
    ) -> None:
        """veth HOST<->IFNAME, IFNAME born inside ``ns``: all of it in one trip to the worker thread.

        In the worker, inside ``ns``: one RTM_NEWLINK on the root socket creates the pair with
        HOST already on the bridge and up, and IFNAME already in ``ns`` (no move: moving a device
        waits for an RCU grace period); then a socket made inside ``ns`` adds the address, brings
        IFNAME and lo up and adds the default route. Checks that cannot fail in a namespace the
        lab has just made (names, addresses taken there) are skipped for it.
        """
        mac, peer_mac = self._steps.mac(), self._steps.mac()
        mine = self._steps.record.find("netns", name=ns)  # the lab's own namespace: reached by path, no run-dir scan
        inside_target: Target = netns_module.path(ns) if mine else ns
        ino = self._steps.root if netns is None else self._steps.inode(netns)
        ns_ino = mine["inode"] if mine else self._steps.inode(ns)
        seqs = self._steps.journal.add_pair(
            {"name": host, "netns": ino, "mac": mac, "kind": "veth"},
            {"name": ifname, "netns": ns_ino, "mac": peer_mac, "kind": "veth"},
        )
        alias = f"netlab:{self._steps.id}"
        made: list[bool] = []

        def outside(ipr: Any, ns_fd: int) -> int:
            """On the root socket: create the pair; return IFNAME's index inside ``ns`` (IFLA_LINK)."""
            master = bridge_index
            if bridge is not None and master is None:
                master = ifindex(ipr, bridge, netns)
            spec: dict[str, Any] = {
                "ifname": host,
                "kind": "veth",
                "address": mac,
                "state": "up",
                "peer": {"ifname": ifname, "net_ns_fd": ns_fd, "address": peer_mac},
            }
            if master is not None:
                spec["master"] = master
            if mine is None:
                links.must_be_free(ipr, host, netns)
            action = _("create veth pair {name}/{peer} into {where}").format(
                name=repr(host), peer=repr(ifname), where=in_words(ns)
            )
            kernel_call(action, host, lambda: ipr.link("add", **spec))
            made.append(True)
            msg = ipr.link("get", ifname=host)[0]
            ipr.link("set", index=msg["index"], ifalias=alias)
            return msg.get("link")

        def work() -> None:  # in the worker thread, switched into ``ns``
            if mine is None:
                rtnl(None, lambda ipr: links.must_be_free(ipr, ifname, ns))
            ns_fd = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
            try:
                index = outside(root.ipr, ns_fd)
            finally:
                os.close(ns_fd)
            rtnl(None, lambda ipr: _set_up_inside(ipr, index, ifname, address, gateway, ns, lab_made=mine is not None))

        try:
            call(inside_target, work)
        except BaseException as exc:
            if not made:
                self._steps.journal.gone(*seqs)
            else:
                self._steps.on_undo(lambda: self._steps.delete_link(host, netns))
            if isinstance(exc, DeviceExistsError) and not made:
                raise self._steps.taken(exc, "link", host, netns) from None
            raise
        self._steps.on_undo(lambda: self._steps.delete_link(host, netns))
        _emit_wire_commands(host, ifname, bridge, address, gateway, ns=ns, netns=netns)

    def star(
        self,
        namespaces: int | Sequence[str],
        *,
        bridge: str = "br0",
        subnet: str = "10.0.0.0/24",
        prefix: str = "ns",
        ifname: str = "eth0",
        netns: Target = None,
        progress: bool | None = None,
    ) -> list[str]:
        """``Lab.star``: everything checked before anything is made, then the bridge, then batches.

        The batches (``_star_batch``) are each written down in the journal as a whole before any of
        it is built; a progress bar (``progress``; by default for 50 namespaces or more).
        """
        if isinstance(namespaces, bool) or not isinstance(namespaces, (int, Sequence)) or isinstance(namespaces, str):
            raise InvalidNameError(
                _("star() takes a number of namespaces or a list of names, not {value}").format(value=repr(namespaces)),
                hint=_("e.g. lab.star(3) or lab.star(['red', 'blue'])"),
                subject=str(namespaces),
            )
        if isinstance(namespaces, int) and namespaces < 1:
            raise InvalidNameError(
                _("star({value}): a star needs at least one namespace").format(value=namespaces),
                hint=_("e.g. lab.star(3) makes ns1, ns2 and ns3 around a bridge"),
                subject=str(namespaces),
            )
        # The size first, before a single name or address is made: star(10**9) fails here, at once.
        count = namespaces if isinstance(namespaces, int) else len(namespaces)
        net = links.network(subnet)
        gateway, *addresses = _star_addresses(net, count)
        names = [f"{prefix}{i}" for i in range(1, namespaces + 1)] if isinstance(namespaces, int) else list(namespaces)
        if not names or len(set(names)) != len(names):
            raise InvalidNameError(
                _("star({value}): the namespaces must be at least one, each named once").format(value=repr(names)),
                hint=_("e.g. lab.star(['red', 'blue'])"),
                subject=str(names),
            )
        for name in names:
            check_netns_name(name), check_ifname(f"v-{name}")
        check_ifname(bridge), check_ifname(ifname)
        show = progress if progress is not None else len(names) >= 50
        with self._steps.step():
            if bridge not in [link.name for link in links.list(netns)]:
                self._devices.bridge(bridge, netns=netns)
                self._devices.add_address(bridge, f"{gateway}/{net.prefixlen}", netns=netns)
                self._devices.up(bridge, netns=netns)
            bar = progress_bar(len(names), f"lab {self._steps.id}: star", show=show)
            sock = call(netns, open_socket)
            try:
                (bridge_index,) = _answers(send_batch(sock, [get_link_request(bridge)]), [(bridge, netns)])
                netns_module.make_run_dir()
                ends = [
                    (name, ipaddress.ip_interface(f"{host_ip}/{net.prefixlen}"))
                    for name, host_ip in zip(names, addresses, strict=True)
                ]
                for start in range(0, len(ends), _CHUNK):
                    chunk = ends[start : start + _CHUNK]
                    self._star_batch(
                        sock,
                        chunk,
                        ifname=ifname,
                        bridge=bridge,
                        bridge_index=bridge_index,
                        gateway=gateway,
                        netns=netns,
                    )
                    bar.update(len(chunk))
                _wait_until_forwarding(netns, {f"v-{name}" for name in names})
            finally:
                sock.close()
                bar.close()
        return names

    def _star_batch(
        self,
        sock: socket.socket,
        chunk: list[tuple[str, links.IPInterface]],
        *,
        ifname: str,
        bridge: str,
        bridge_index: int,
        gateway: Any,
        netns: Target,
    ) -> None:
        """Part of a star in a few system calls, journaled as a whole before any of it is built.

        1. ``netns.unnamed``: the namespaces, held only by file descriptors, each with a
           netlink socket opened inside it (one trip to the worker thread for all of them);
        2. one journal write: every namespace (with its inode) and both ends of every pair;
        3. the names (``ip netns add``'s bind mount, from the descriptor);
        4. one ``sendmsg`` on the root socket: every pair, born with its far end inside its
           namespace, on the bridge and up, and the mark (alias) on each near end;
        5. two ``sendmsg`` per namespace, on its own socket: lo and IFNAME up, IFNAME's index;
           then its address and default route.

        A crash before 3 frees the namespaces with the process; after it, cleanup finds on
        record everything that may exist, and skips what does not.
        """
        held = netns_module.unnamed(len(chunk), _socket_inside)
        try:
            self._star_build(
                sock, chunk, held, ifname=ifname, bridge=bridge, bridge_index=bridge_index, gateway=gateway, netns=netns
            )
        finally:
            for fd, (_ino, inner) in held:
                inner.close()
                os.close(fd)

    def _star_build(
        self,
        sock: socket.socket,
        chunk: list[tuple[str, links.IPInterface]],
        held: list[tuple[int, tuple[int, socket.socket]]],
        *,
        ifname: str,
        bridge: str,
        bridge_index: int,
        gateway: Any,
        netns: Target,
    ) -> None:
        count, now = len(chunk), time.time()
        ino = self._steps.root if netns is None else self._steps.inode(netns)
        base = self._steps.journal.last_seq
        macs = [(self._steps.mac(), self._steps.mac()) for _item in chunk]
        items = _star_journal_items(chunk, held, macs, ino=ino, ifname=ifname, first_seq=base + 1, now=now)
        seqs = self._steps.journal.add_many(items)
        self._steps.on_undo(lambda: self._forget(seqs))  # runs last: after anything undone later in the step

        def unbuilt(k: int) -> list[int]:
            """The journal numbers of namespace ``k`` onwards and of their pairs: none of it built."""
            return [*seqs[k:count], *(seqs[count + 2 * j + e] for j in range(k, count) for e in (0, 1))]

        for k, ((name, _address), (fd, _pair)) in enumerate(zip(chunk, held, strict=True)):
            try:
                netns_module.attach_fd(name, fd, setup=False)
            except NetlabError as exc:
                self._steps.journal.gone(*unbuilt(k))
                taken = isinstance(exc, NamespaceExistsError)
                raise self._steps.taken(exc, "netns", name, None) if taken else exc from None
            except BaseException:
                self._steps.journal.gone(*unbuilt(k))
                raise
            emit(["ip", "netns", "add", name])

        alias = f"netlab:{self._steps.id}"
        requests = []
        for (name, _address), (fd, _pair), (mac, peer_mac) in zip(chunk, held, macs, strict=True):
            host = f"v-{name}"
            requests.append(
                veth_request(host, ifname, peer_netns_fd=fd, mac=mac, peer_mac=peer_mac, master=bridge_index, up=True)
            )
            requests.append(set_link_request(name=host, alias=alias))
        answers = send_batch(sock, requests)
        self._check_star_pairs(answers, chunk, seqs, ifname=ifname, netns=netns)
        _set_up_star_insides(chunk, held, ifname=ifname, gateway=gateway)
        for name, address in chunk:
            _emit_wire_commands(f"v-{name}", ifname, bridge, address, gateway, ns=name, netns=netns)

    def _check_star_pairs(
        self,
        answers: list[int | OSError | None],
        chunk: list[tuple[str, links.IPInterface]],
        seqs: list[int],
        *,
        ifname: str,
        netns: Target,
    ) -> None:
        """The kernel's answers to a chunk's pairs (two each: create, mark): the first failure, raised."""
        count = len(chunk)
        for k, (name, _address) in enumerate(chunk):
            made, marked = answers[2 * k], answers[2 * k + 1]
            if isinstance(made, OSError):
                failed = [j for j in range(k, count) if isinstance(answers[2 * j], OSError)]
                self._steps.journal.gone(*(seqs[count + 2 * j + e] for j in failed for e in (0, 1)))
                failure = error(
                    made,
                    action=_("create veth pair {name}/{peer} into {where}").format(
                        name=repr(f"v-{name}"), peer=repr(ifname), where=in_words(name)
                    ),
                    subject=f"v-{name}",
                )
                if isinstance(failure, DeviceExistsError):
                    raise self._steps.taken(failure, "link", f"v-{name}", netns)
                raise failure
            if isinstance(marked, OSError):
                action = _("mark {name} as lab {lab}'s").format(name=repr(f"v-{name}"), lab=repr(self._steps.id))
                raise error(marked, action=action, subject=f"v-{name}")

    def _forget(self, seqs: list[int]) -> None:
        """Undo a batch: remove whatever of ``seqs`` exists (as cleanup would), then forget all of them."""
        objects = {seq: self._steps.record.objects[seq] for seq in seqs if seq in self._steps.record.objects}
        if objects:
            cleanup.remove(dataclasses.replace(self._steps.record, objects=objects), keep_journal=True)
            self._steps.journal.gone(*objects)


_CHUNK = 200  # namespaces per batch: two open descriptors each (namespace and socket)
_PORTS_REQUEST = struct.pack("=BxHiII", socket.AF_BRIDGE, 0, 0, 0, 0)  # ifinfomsg: `bridge link`
IFLA_PROTINFO, IFLA_BRPORT_STATE, BR_STATE_FORWARDING = 12, 1, 3


def _wait_until_forwarding(target: Target, ports: set[str], *, wait: float = 2.0) -> None:
    """Return once every port in ``ports`` forwards frames (``bridge link``: "state forwarding").

    A veth gets its carrier when both ends are up, but the kernel acts on it later, in the
    background ("linkwatch"): it starts the device's queue and lets the bridge use the port.
    Until then the bridge drops what it would send there, and a ping right after a fast build
    can lose its first ARP request (and wait a second for the next). Never longer than ``wait``.
    """
    deadline = time.monotonic() + wait
    with call(target, netlink.open_route_socket) as sock:
        while time.monotonic() < deadline:
            waiting = set(ports)
            for _kind, data, offset, end in sock.dump(RTM_GETLINK, _PORTS_REQUEST):
                attrs = netlink.attributes(data, offset + 16, end)
                info = attrs.get(IFLA_PROTINFO, b"")
                state = netlink.attributes(info, 0, len(info)).get(IFLA_BRPORT_STATE)
                if state == bytes([BR_STATE_FORWARDING]) and IFLA_IFNAME in attrs:
                    waiting.discard(netlink.text(attrs[IFLA_IFNAME]))
            if not waiting:
                return
            time.sleep(0.001)


def _socket_inside() -> tuple[int, socket.socket]:
    """In a brand-new namespace: its inode (what the journal records) and a netlink socket there."""
    return os.stat("/proc/thread-self/ns/net").st_ino, open_socket()


def _answers(answers: list[int | OSError | None], what: list[tuple[str, Target]]) -> list[int]:
    """``send_batch``'s answers (an index, or 0 for "done"), or the first failure as a NetlabError."""
    found = []
    for answer, (subject, target) in zip(answers, what, strict=False):
        if isinstance(answer, OSError):
            action = _("set up {name} in {where}").format(name=repr(subject), where=in_words(target))
            raise error(answer, action=action, subject=subject)
        found.append(answer or 0)
    return found


def _set_up_inside(
    ipr: Any,
    index: int,
    ifname: str,
    address: links.IPInterface | None,
    gateway: Any,
    ns: str,
    *,
    lab_made: bool,
) -> None:
    """Inside ``ns``, on a socket made there: IFNAME's address, IFNAME and lo up, the default route."""
    if address is not None:
        if not lab_made:  # a namespace the lab did not make may hold the address already
            links.add_address_on(ipr, ifname, address, ns)
        else:
            attrs: dict[str, Any] = {"index": index, "address": str(address.ip), "prefixlen": address.network.prefixlen}
            if address.version == 6:
                attrs["flags"] = links.IFA_F_NODAD
            action = _("add {address} to {name} in {where}").format(
                address=address, name=repr(ifname), where=in_words(ns)
            )
            kernel_call(action, str(address), lambda: ipr.addr("add", **attrs))
    up = _("bring {name} up in {where}")
    kernel_call(
        up.format(name=repr(ifname), where=in_words(ns)), ifname, lambda: ipr.link("set", index=index, state="up")
    )
    kernel_call(up.format(name="'lo'", where=in_words(ns)), "lo", lambda: ipr.link("set", index=1, state="up"))
    if gateway is not None:
        links.add_route_on(ipr, links.network("default6" if gateway.version == 6 else "default"), gateway, None, ns)


def _emit_wire_commands(
    host: str,
    ifname: str,
    bridge: str | None,
    address: links.IPInterface | None,
    gateway: Any,
    *,
    ns: str,
    netns: Target,
) -> None:
    """The ``ip`` commands that do what ``_wire`` did, for the lab's history."""
    emit(ip(netns, "link", "add", host, "type", "veth", "peer", "name", ifname, "netns", ns))
    emit(ip(netns, "link", "set", host, *(["master", bridge] if bridge else []), "up"))
    if address is not None:
        emit(ip(ns, "addr", "add", str(address), "dev", ifname, *(["nodad"] if address.version == 6 else [])))
    emit(ip(ns, "link", "set", ifname, "up"))
    emit(ip(ns, "link", "set", "lo", "up"))
    if gateway is not None:
        emit(ip(ns, "route", "add", "default", "via", str(gateway)))


def _star_journal_items(
    chunk: list[tuple[str, links.IPInterface]],
    held: list[tuple[int, tuple[int, socket.socket]]],
    macs: list[tuple[str, str]],
    *,
    ino: int,
    ifname: str,
    first_seq: int,
    now: float,
) -> list[tuple[str, dict[str, Any]]]:
    """What a chunk of the star will be, for the journal: its namespaces, then each pair's two ends.

    Each end names its partner by journal number: the namespaces take ``first_seq`` onwards, then
    the pairs two numbers each, host end first.
    """
    count = len(chunk)
    items: list[tuple[str, dict[str, Any]]] = [
        ("netns", {"name": name, "inode": inner_ino, "time": now})
        for (name, _address), (_fd, (inner_ino, _inner)) in zip(chunk, held, strict=True)
    ]
    for k, ((name, _address), (_fd, (inner_ino, _inner)), (mac, peer_mac)) in enumerate(
        zip(chunk, held, macs, strict=True)
    ):
        host_seq = first_seq + count + 2 * k
        items.append(("link", {"name": f"v-{name}", "netns": ino, "mac": mac, "kind": "veth", "pair": host_seq + 1}))
        items.append(("link", {"name": ifname, "netns": inner_ino, "mac": peer_mac, "kind": "veth", "pair": host_seq}))
    return items


def _set_up_star_insides(
    chunk: list[tuple[str, links.IPInterface]],
    held: list[tuple[int, tuple[int, socket.socket]]],
    *,
    ifname: str,
    gateway: Any,
) -> None:
    """Inside each new namespace, on its own socket: lo and IFNAME up, then the address and the route."""
    first = [
        [set_link_request(index=1, up=True), set_link_request(name=ifname, up=True), get_link_request(ifname)]
        for _item in chunk
    ]
    indexes = [
        _answers(send_batch(inner, requests), [(f"lo/{ifname}", name)] * 3)[2]
        for (name, _address), (_fd, (_ino, inner)), requests in zip(chunk, held, first, strict=True)
    ]
    for (name, address), (_fd, (_ino, inner)), index in zip(chunk, held, indexes, strict=True):
        second = [address_request(index, address)]
        if gateway is not None:
            second.append(default_route_request(gateway))
        _answers(send_batch(inner, second), [(str(address), name), ("default", name)])
