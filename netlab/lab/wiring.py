"""A lab's bigger steps: ``connect`` one namespace, or a whole ``star`` of them, in few kernel trips.

The article wires a namespace with six commands (add a veth pair, move one end, two addresses,
two ``up``); ``connect`` does the same in one step, and ``star`` builds hundreds of namespaces
around a bridge in seconds: one netlink socket for the root side, one short batch inside each
namespace, and the pair created with its far end already inside (no move, no RCU wait).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from netlab import links
from netlab import netns as netns_module
from netlab.commands import emit, ip
from netlab.enter import call
from netlab.errors import DeviceExistsError, InvalidAddressError, InvalidNameError, NetlabError
from netlab.names import check_ifname, check_netns_name
from netlab.rtnl import Rtnl, ifindex, kernel_call, rtnl
from netlab.targets import Target, in_words

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager

    from netlab.lab import journal

__all__ = ["Wiring"]


class Wiring:
    """The wiring steps of ``Lab`` (a mixin: ``self`` is the Lab)."""

    if TYPE_CHECKING:  # what it uses of the Lab
        id: str
        progress: bool | None
        _root: int
        _journal: journal.Journal

        @property
        def record(self) -> journal.Record: ...
        def _step(self) -> AbstractContextManager[None]: ...
        def _on_undo(self, fn: Callable[[], None]) -> None: ...
        def _mac(self) -> str: ...
        def _inode(self, target: Target) -> int: ...
        def _delete_link(self, name: str, target: Target) -> None: ...
        def _taken(self, exc: NetlabError, kind: str, name: str, target: Target) -> NetlabError: ...
        def netns(self, name: str) -> str: ...
        def bridge(self, name: str, *, netns: Target = None) -> None: ...
        def add_address(self, name: str, cidr: str, *, netns: Target = None) -> None: ...
        def up(self, name: str, *, netns: Target = None) -> None: ...

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
        host = host_ifname or f"v-{ns}"
        check_ifname(host), check_ifname(ifname)
        value = links.interface(address) if address is not None else None
        gw = links.address(gateway) if gateway is not None else None
        with self._step(), Rtnl(netns) as root:
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
        mac, peer_mac = self._mac(), self._mac()
        mine = self.record.find("netns", name=ns)  # the lab's own namespace: reached by path, no run-dir scan
        inside_target: Target = netns_module.path(ns) if mine else ns
        ino = self._root if netns is None else self._inode(netns)
        ns_ino = mine["inode"] if mine else self._inode(ns)
        seqs = self._journal.add_pair(
            {"name": host, "netns": ino, "mac": mac, "kind": "veth"},
            {"name": ifname, "netns": ns_ino, "mac": peer_mac, "kind": "veth"},
        )
        alias = f"netlab:{self.id}"
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
            kernel_call(
                f"create veth pair {host!r}/{ifname!r} into {in_words(ns)}", host, lambda: ipr.link("add", **spec)
            )
            made.append(True)
            msg = ipr.link("get", ifname=host)[0]
            ipr.link("set", index=msg["index"], ifalias=alias)
            return msg.get("link")

        def inside(ipr: Any, index: int) -> None:
            if address is not None:
                if mine is None:  # a namespace the lab did not make may hold the address already
                    links.add_address_on(ipr, ifname, address, ns)
                else:
                    attrs: dict[str, Any] = {
                        "index": index,
                        "address": str(address.ip),
                        "prefixlen": address.network.prefixlen,
                    }
                    if address.version == 6:
                        attrs["flags"] = links.IFA_F_NODAD
                    kernel_call(
                        f"add {address} to {ifname!r} in {in_words(ns)}", str(address), lambda: ipr.addr("add", **attrs)
                    )
            kernel_call(
                f"bring {ifname!r} up in {in_words(ns)}", ifname, lambda: ipr.link("set", index=index, state="up")
            )
            kernel_call(f"bring 'lo' up in {in_words(ns)}", "lo", lambda: ipr.link("set", index=1, state="up"))
            if gateway is not None:
                links.add_route_on(
                    ipr, links.network("default6" if gateway.version == 6 else "default"), gateway, None, ns
                )

        def work() -> None:  # in the worker thread, switched into ``ns``
            if mine is None:
                rtnl(None, lambda ipr: links.must_be_free(ipr, ifname, ns))
            ns_fd = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
            try:
                index = outside(root.ipr, ns_fd)
            finally:
                os.close(ns_fd)
            rtnl(None, lambda ipr: inside(ipr, index))

        try:
            call(inside_target, work)
        except NetlabError as exc:
            if not made:
                self._journal.gone(*seqs)
            else:
                self._on_undo(lambda: self._delete_link(host, netns))
            raise self._taken(exc, "link", host, netns) if isinstance(exc, DeviceExistsError) and not made else exc
        except BaseException:
            if not made:
                self._journal.gone(*seqs)
            else:
                self._on_undo(lambda: self._delete_link(host, netns))
            raise
        self._on_undo(lambda: self._delete_link(host, netns))
        emit(ip(netns, "link", "add", host, "type", "veth", "peer", "name", ifname, "netns", ns))
        emit(ip(netns, "link", "set", host, *(["master", bridge] if bridge else []), "up"))
        if address is not None:
            emit(ip(ns, "addr", "add", str(address), "dev", ifname, *(["nodad"] if address.version == 6 else [])))
        emit(ip(ns, "link", "set", ifname, "up"))
        emit(ip(ns, "link", "set", "lo", "up"))
        if gateway is not None:
            emit(ip(ns, "route", "add", "default", "via", str(gateway)))

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
        namespace names. The classroom-sized build: one netlink socket for the whole root side,
        one short batch inside each namespace, a progress bar for big ones.
        """
        if isinstance(namespaces, bool) or not isinstance(namespaces, (int, Sequence)) or isinstance(namespaces, str):
            raise InvalidNameError(
                f"star() takes a number of namespaces or a list of names, not {namespaces!r}",
                hint="e.g. lab.star(3) or lab.star(['red', 'blue'])",
                subject=str(namespaces),
            )
        if isinstance(namespaces, int) and namespaces < 1:
            raise InvalidNameError(
                f"star({namespaces}): a star needs at least one namespace",
                hint="e.g. lab.star(3) makes ns1, ns2 and ns3 around a bridge",
                subject=str(namespaces),
            )
        names = [f"{prefix}{i}" for i in range(1, namespaces + 1)] if isinstance(namespaces, int) else list(namespaces)
        if not names or len(set(names)) != len(names):
            raise InvalidNameError(
                f"star({names!r}): the namespaces must be at least one, each named once",
                hint="e.g. lab.star(['red', 'blue'])",
                subject=str(names),
            )
        for name in names:
            check_netns_name(name), check_ifname(f"v-{name}")
        check_ifname(bridge), check_ifname(ifname)
        net = links.network(subnet)
        hosts = net.hosts()
        gateway = next(hosts, None)
        addresses = [next(hosts, None) for _ in names]
        if gateway is None or (addresses and addresses[-1] is None):
            raise InvalidAddressError(
                f"{net} has room for {max(net.num_addresses - 3, 0)} namespaces, not {len(names)}",
                hint="use a bigger subnet, e.g. '10.0.0.0/16'",
                subject=subnet,
            )
        show = self.progress if self.progress is not None else len(names) >= 50
        with self._step():
            if bridge not in [link.name for link in links.list(netns)]:
                self.bridge(bridge, netns=netns)
                self.add_address(bridge, f"{gateway}/{net.prefixlen}", netns=netns)
                self.up(bridge, netns=netns)
            bar = _progress(len(names), f"lab {self.id}: star", show)
            try:
                with Rtnl(netns) as root:
                    bridge_index = root(lambda ipr: ifindex(ipr, bridge, netns))
                    for name, host_ip in zip(names, addresses, strict=True):
                        self.netns(name)
                        self._wire(
                            root,
                            name,
                            host=f"v-{name}",
                            ifname=ifname,
                            bridge=bridge,
                            address=ipaddress.ip_interface(f"{host_ip}/{net.prefixlen}"),
                            gateway=gateway,
                            netns=netns,
                            bridge_index=bridge_index,
                        )
                        bar.update(1)
            finally:
                bar.close()
        return names


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, desc: str, show: bool) -> Any:
    if not show:
        return _NoBar()
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _NoBar()
    return tqdm(total=total, desc=desc, unit="ns", leave=False)
