"""Wiring: veth pairs, bridges, addresses and routes, in any namespace.

The article connects netns1 to the root namespace with a *veth pair*, a virtual cable whose two
ends are network devices: what goes into one comes out of the other. Step by step::

    ip link add veth0 type veth peer name veth1      links.veth("veth0", "veth1")
    ip link set veth1 netns netns1                   links.move("veth1", to="netns1")
    ip -n netns1 addr add 10.1.1.1/24 dev veth1      links.add_address("veth1", "10.1.1.1/24", netns="netns1")
    ip -n netns1 link set veth1 up                   links.up("veth1", netns="netns1")
    ip addr add 10.1.1.2/24 dev veth0                links.add_address("veth0", "10.1.1.2/24")
    ip link set veth0 up                             links.up("veth0")

(The article writes the two address steps with ``ifconfig veth1 10.1.1.1/24 up``, which does
both at once, with a stray backtick.) Adding an address also adds a *connected route*
(``10.1.1.0/24 dev veth1``): that route is why ``ping 10.1.1.2`` now knows where to go.

Three things the kernel teaches on the way:

* a device that moves to another namespace arrives DOWN and without addresses;
* ``lo`` and bridges cannot move at all: their "netns is immutable" (``ethtool -k br0`` shows
  ``netns-local: on [fixed]``). veths, macvlans, tun devices, even physical NICs can move, so
  the article's "physical devices only in the root namespace" is too strong;
* to connect more than two namespaces, put one end of each veth into a *bridge* (a virtual
  switch): ``ip link add br0 type bridge`` + ``ip link set veth0 master br0``.

Every function takes ``netns=`` (a name, a Path, a pid, or None for where you are), talks
netlink from inside that namespace (see ``netlab.rtnl``), and reports the ``ip`` command that
does the same to any active ``recording()`` (see ``netlab.plumbing.commands``). Mistakes raise a
``NetlabError`` that names the device and the namespace, before anything is changed.

Looking (``list``, ``addresses``, ``routes``) answers with the objects of ``netlab.model``,
the same ones a ``snapshot()`` holds::

    ip -br link                    links.list("netns1")          [Interface(name='lo', ...), ...]
    ip -4 addr show dev veth1      links.addresses("netns1", dev="veth1", family=4) == ["10.1.1.1/24"]
    ip route                       links.routes("netns1")        [Route(dst='10.1.1.0/24', ...)]

A ``Lab`` that sends many requests through one pyroute2 socket it holds open uses the same
checks and requests without a socket of their own: ``must_be_free`` (is the name taken?),
``add_address_on`` and ``add_route_on``; ``kind_of`` names the kind of a device it got back.
"""

from __future__ import annotations

import builtins
import errno
import ipaddress
import os
import socket
from typing import Any

from netlab import netlink
from netlab.enter import call
from netlab.errors import DeviceError, DeviceExistsError, InvalidAddressError
from netlab.model import Address, Interface, Route
from netlab.names import check_ifname
from netlab.plumbing.addresses import IPInterface, IPNetwork, address, interface, network
from netlab.plumbing.addresses import mac as _check_mac
from netlab.plumbing.commands import emit, ip
from netlab.plumbing.i18n import N_, _
from netlab.rtnl import find, ifindex, kernel_call, open_netns, rtnl
from netlab.targets import Target, in_words, keyword

__all__ = [
    "Address",
    "IPInterface",
    "IPNetwork",
    "Interface",
    "Route",
    "add_address",
    "add_address_on",
    "add_route",
    "add_route_on",
    "addresses",
    "attach",
    "bridge",
    "delete",
    "detach",
    "down",
    "interface",
    "kind_of",
    "list",
    "move",
    "must_be_free",
    "network",
    "remove_address",
    "remove_route",
    "rename",
    "routes",
    "up",
    "veth",
]

IFF_UP = 0x1
IFF_LOOPBACK = 0x8
IFA_F_NODAD = 0x02
RTPROT_BOOT = 3  # "proto boot": the default of `ip route add`


def must_be_free(ipr: Any, name: str, target: Target) -> None:
    """On an open socket: refuse ``name`` if a device has it already (``target``: for the message)."""
    link = find(ipr, name)
    if link is not None:
        raise DeviceExistsError(
            _("a device named {name!r} already exists in {where} ({kind} #{index})").format(
                name=name, where=in_words(target), kind=kind_of(link), index=link["index"]
            ),
            hint=_("pick another name, or remove it first: links.delete({name!r}{keyword})").format(
                name=name, keyword=keyword(target)
            ),
            subject=name,
            errno=errno.EEXIST,
        )


def kind_of(link: Any) -> str:
    """The kind of a device in a pyroute2 link message, in ``model.Interface.kind``'s words."""
    kind = link.get_nested("IFLA_LINKINFO", "IFLA_INFO_KIND")
    if kind:
        return kind
    return "loopback" if link["flags"] & IFF_LOOPBACK else "device"


# -- creating devices ------------------------------------------------------------------------


def veth(
    name: str,
    peer: str,
    *,
    netns: Target = None,
    peer_netns: Target = None,
    mac: str | None = None,
    peer_mac: str | None = None,
) -> None:
    """``ip link add NAME type veth peer name PEER``: a virtual cable with two ends.

    ``netns`` is where NAME is made; PEER is made in ``peer_netns`` (by default the same
    namespace, like ``ip``), so one call can create the cable already crossing a border:
    ``veth("veth0", "eth0", peer_netns="netns1")`` is
    ``ip link add veth0 type veth peer name eth0 netns netns1``.
    """
    check_ifname(name), check_ifname(peer)
    mac, peer_mac = _check_mac(mac), _check_mac(peer_mac)
    same = peer_netns is None
    if same and name == peer:
        raise DeviceExistsError(
            _("both ends of the veth pair are called {name!r}").format(name=name),
            hint=_("give the ends different names, e.g. 'veth0' and 'veth1'"),
            subject=name,
        )
    if not same:
        rtnl(peer_netns, lambda ipr: must_be_free(ipr, peer, peer_netns))
        with open_netns(peer_netns) as fd:
            rtnl(netns, lambda ipr: _create_veth(ipr, name, peer, target=netns, peer_fd=fd, mac=mac, peer_mac=peer_mac))
    else:
        rtnl(
            netns,
            lambda ipr: _create_veth(
                ipr, name, peer, target=netns, peer_fd=None, mac=mac, peer_mac=peer_mac, check_peer=True
            ),
        )
    argv = ip(netns, "link", "add", name) + (["address", mac] if mac else []) + ["type", "veth", "peer", "name", peer]
    argv += (["address", peer_mac] if peer_mac else []) + ([] if same else ["netns", netns_arg(peer_netns)])
    emit(argv)


def netns_arg(target: Target) -> str:
    """How ``ip link ... netns X`` names a namespace: a name, a pid, or a path (iproute2 takes a '/' as a path)."""
    if target is None:
        return "/proc/self/ns/net"
    if isinstance(target, (str, int)):
        return str(target)
    if isinstance(target, os.PathLike):
        return os.fspath(target)
    raise TypeError(_("a device cannot be sent to NEW: create the namespace first with netns.add()"))


def _create_veth(
    ipr: Any,
    name: str,
    peer: str,
    *,
    target: Target,
    peer_fd: int | None,
    mac: str | None,
    peer_mac: str | None,
    check_peer: bool = False,
    master: int | None = None,
    state: str | None = None,
) -> int:
    """One RTM_NEWLINK request for both ends; returns the index of NAME."""
    must_be_free(ipr, name, target)
    if check_peer:
        must_be_free(ipr, peer, target)
    peer_spec: dict[str, Any] = {"ifname": peer}
    if peer_fd is not None:
        peer_spec["net_ns_fd"] = peer_fd
    if peer_mac:
        peer_spec["address"] = peer_mac
    spec: dict[str, Any] = {"ifname": name, "kind": "veth", "peer": peer_spec}
    if mac:
        spec["address"] = mac
    if master is not None:
        spec["master"] = master
    if state:
        spec["state"] = state
    action = _("create veth pair {name!r}/{peer!r} in {where}").format(name=name, peer=peer, where=in_words(target))
    kernel_call(action, name, lambda: ipr.link("add", **spec))
    return ifindex(ipr, name, target)


def bridge(name: str, *, netns: Target = None, mac: str | None = None) -> None:
    """``ip link add NAME type bridge``: a virtual switch; attach ports with ``attach``."""
    check_ifname(name)
    mac = _check_mac(mac)
    rtnl(netns, lambda ipr: _create_bridge(ipr, name, target=netns, mac=mac))
    emit(ip(netns, "link", "add", name, *(["address", mac] if mac else []), "type", "bridge"))


def _create_bridge(ipr: Any, name: str, *, target: Target, mac: str | None = None, state: str | None = None) -> int:
    must_be_free(ipr, name, target)
    spec: dict[str, Any] = {"ifname": name, "kind": "bridge"}
    if mac:
        spec["address"] = mac
    if state:
        spec["state"] = state
    action = _("create bridge {name!r} in {where}").format(name=name, where=in_words(target))
    kernel_call(action, name, lambda: ipr.link("add", **spec))
    return ifindex(ipr, name, target)


# -- changing devices ------------------------------------------------------------------------


def _set(ipr: Any, name: str, target: Target, action: str, hints: dict[int, str] | None = None, **attrs: Any) -> None:
    index = ifindex(ipr, name, target)
    action = _("{action} in {where}").format(action=action, where=in_words(target))
    kernel_call(action, name, lambda: ipr.link("set", index=index, **attrs), hints=hints)


def up(name: str, *, netns: Target = None) -> None:
    """``ip link set NAME up``: the device starts passing packets (once its other end is up too)."""
    check_ifname(name)
    rtnl(netns, lambda ipr: _set(ipr, name, netns, _("bring {name!r} up").format(name=name), state="up"))
    emit(ip(netns, "link", "set", name, "up"))


def down(name: str, *, netns: Target = None) -> None:
    """``ip link set NAME down``."""
    check_ifname(name)
    rtnl(netns, lambda ipr: _set(ipr, name, netns, _("bring {name!r} down").format(name=name), state="down"))
    emit(ip(netns, "link", "set", name, "down"))


def rename(name: str, new_name: str, *, netns: Target = None) -> None:
    """``ip link set NAME name NEW``."""
    check_ifname(name), check_ifname(new_name)

    def work(ipr: Any) -> None:
        must_be_free(ipr, new_name, netns)
        _set(
            ipr, name, netns, _("rename {name!r} to {new_name!r}").format(name=name, new_name=new_name), ifname=new_name
        )

    rtnl(netns, work)
    emit(ip(netns, "link", "set", name, "name", new_name))


def delete(name: str, *, netns: Target = None) -> None:
    """``ip link delete NAME``. Deleting one end of a veth pair deletes the other end too."""
    check_ifname(name)

    def work(ipr: Any) -> None:
        index = ifindex(ipr, name, netns)
        kernel_call(
            _("delete {name!r} in {where}").format(name=name, where=in_words(netns)),
            name,
            lambda: ipr.link("del", index=index),
            hints={errno.EOPNOTSUPP: _("a namespace's lo cannot be deleted; it goes with the namespace")},
        )

    rtnl(netns, work)
    emit(ip(netns, "link", "delete", name))


_IMMUTABLE_HINT = N_(  # translated where it is used: the learner's language is chosen then
    "lo and bridges are 'netns-local' (ethtool -k shows 'netns-local: on [fixed]'): they stay in the "
    "namespace that made them; create a new one inside the target namespace instead"
)


def move(name: str, to: Target, *, netns: Target = None, new_name: str | None = None) -> None:
    """``ip link set NAME netns TO [name NEW]``: send a device to another namespace.

    It arrives DOWN and without addresses: configure it from inside its new namespace.
    """
    check_ifname(name)
    if new_name is not None:
        check_ifname(new_name)
    arrival = new_name or name

    def kind_here(ipr: Any) -> str:
        link = find(ipr, name)
        if link is None:
            ifindex(ipr, name, netns)  # raises DeviceNotFoundError
        return kind_of(link)

    kind = rtnl(netns, kind_here)
    if kind not in ("loopback", "bridge"):  # those the kernel refuses first, in its own words
        rtnl(to, lambda ipr: must_be_free(ipr, arrival, to))

    def work(ipr: Any, fd: int) -> None:
        index = ifindex(ipr, name, netns)
        attrs: dict[str, Any] = {"net_ns_fd": fd}
        if new_name:
            attrs["ifname"] = new_name
        kernel_call(
            _("move {name!r} from {source} to {destination}").format(
                name=name, source=in_words(netns), destination=in_words(to)
            ),
            name,
            lambda: ipr.link("set", index=index, **attrs),
            hints={
                errno.EINVAL: _(_IMMUTABLE_HINT),
                errno.EEXIST: _(
                    "{where} already has a device named {arrival!r}: give it another name "
                    "on arrival, e.g. links.move({name!r}, {to!r}, new_name='eth1')"
                ).format(where=in_words(to), arrival=arrival, name=name, to=to),
            },
        )

    with open_netns(to) as fd:
        try:
            rtnl(netns, lambda ipr: work(ipr, fd))
        except DeviceError:
            _undo_half_move(name, netns, to)
            raise

    emit(ip(netns, "link", "set", name, "netns", netns_arg(to), *(["name", new_name] if new_name else [])))


def _undo_half_move(name: str, netns: Target, to: Target) -> None:
    """The kernel changes the namespace *before* the name: if the rename failed, bring the device back.

    (``ip link set veth0 netns netns1 name eth0`` leaves veth0 in netns1 when eth0 is taken there.)
    """
    if rtnl(netns, lambda ipr: find(ipr, name)) is not None:
        return  # it never left
    with open_netns(netns) as home:

        def back(ipr: Any) -> None:
            link = find(ipr, name)
            if link is not None and kind_of(link) not in ("loopback", "bridge"):
                ipr.link("set", index=link["index"], net_ns_fd=home)

        rtnl(to, back)


def attach(name: str, bridge: str, *, netns: Target = None) -> None:
    """``ip link set NAME master BRIDGE``: plug a device into a bridge (a port of the switch)."""
    check_ifname(name), check_ifname(bridge)

    def work(ipr: Any) -> None:
        master = find(ipr, bridge)
        if master is None:
            ifindex(ipr, bridge, netns)  # raises DeviceNotFoundError
            return
        if kind_of(master) != "bridge":
            raise DeviceError(
                _("{bridge!r} in {where} is a {kind}, not a bridge").format(
                    bridge=bridge, where=in_words(netns), kind=kind_of(master)
                ),
                hint=_("create a bridge first: links.bridge('br0'{keyword})").format(keyword=keyword(netns)),
                subject=bridge,
            )
        if name == bridge:
            raise DeviceError(
                _("cannot attach bridge {bridge!r} to itself").format(bridge=bridge),
                hint=_("attach a veth end"),
                subject=name,
            )
        action = _("attach {name!r} to bridge {bridge!r}").format(name=name, bridge=bridge)
        _set(ipr, name, netns, action, master=master["index"])

    rtnl(netns, work)
    emit(ip(netns, "link", "set", name, "master", bridge))


def detach(name: str, *, netns: Target = None) -> None:
    """``ip link set NAME nomaster``: unplug a device from its bridge."""
    check_ifname(name)
    action = _("detach {name!r} from its bridge").format(name=name)
    rtnl(netns, lambda ipr: _set(ipr, name, netns, action, master=0))
    emit(ip(netns, "link", "set", name, "nomaster"))


# -- addresses and routes --------------------------------------------------------------------


def add_address_on(ipr: Any, name: str, value: IPInterface, target: Target, *, dad: bool = False) -> None:
    """On an open socket: ``add_address`` (checked: each address once per namespace)."""
    index = ifindex(ipr, name, target)
    for msg in ipr.addr("dump"):
        if msg.get("address") and ipaddress.ip_address(msg.get("address")) == value.ip:
            holder = find_name(ipr, msg["index"])
            raise DeviceExistsError(
                _("address {address} is already on {holder!r} in {where}").format(
                    address=value.ip, holder=holder, where=in_words(target)
                ),
                hint=_(
                    "each address once per namespace: pick another one, or remove it first with "
                    "links.remove_address({holder!r}, '{address}'{keyword})"
                ).format(holder=holder, address=f"{value.ip}/{msg['prefixlen']}", keyword=keyword(target)),
                subject=str(value),
                errno=errno.EEXIST,
            )
    attrs: dict[str, Any] = {"index": index, "address": str(value.ip), "prefixlen": value.network.prefixlen}
    if value.version == 6 and not dad:
        attrs["flags"] = IFA_F_NODAD
    action = _("add {address} to {name!r} in {where}").format(address=value, name=name, where=in_words(target))
    kernel_call(action, str(value), lambda: ipr.addr("add", **attrs))


def find_name(ipr: Any, index: int) -> str:
    for link in ipr.link("get", index=index):
        return link.get("ifname")
    return f"#{index}"


def add_address(name: str, cidr: str | IPInterface, *, netns: Target = None, dad: bool = False) -> None:
    """``ip addr add CIDR dev NAME``: give a device an address (and its connected route).

    IPv6 addresses skip duplicate address detection unless ``dad=True`` (``nodad``), so they
    work at once instead of after a second or two of "tentative" state.
    """
    check_ifname(name)
    value = interface(cidr)
    rtnl(netns, lambda ipr: add_address_on(ipr, name, value, netns, dad=dad))
    emit(ip(netns, "addr", "add", str(value), "dev", name, *(["nodad"] if value.version == 6 and not dad else [])))


def remove_address(name: str, cidr: str | IPInterface, *, netns: Target = None) -> None:
    """``ip addr del CIDR dev NAME``."""
    check_ifname(name)
    value = interface(cidr)

    def work(ipr: Any) -> None:
        index = ifindex(ipr, name, netns)
        kernel_call(
            _("remove {address} from {name!r} in {where}").format(address=value, name=name, where=in_words(netns)),
            str(value),
            lambda: ipr.addr("del", index=index, address=str(value.ip), prefixlen=value.network.prefixlen),
            hints={
                errno.EADDRNOTAVAIL: _("see the addresses with links.addresses({netns})").format(
                    netns="" if netns is None else repr(netns)
                )
            },
        )

    rtnl(netns, work)
    emit(ip(netns, "addr", "del", str(value), "dev", name))


def _route_spec(ipr: Any, dst: IPNetwork, via: Any, dev: str | None, target: Target) -> dict[str, Any]:
    spec: dict[str, Any] = {"dst": str(dst), "family": socket.AF_INET6 if dst.version == 6 else socket.AF_INET}
    if via is not None:
        spec["gateway"] = str(via)
    if dev is not None:
        spec["oif"] = ifindex(ipr, dev, target)
    return spec


def _check_route(dst: object, via: object, dev: str | None) -> tuple[IPNetwork, Any]:
    if via is None and dev is None:
        raise InvalidAddressError(
            _("a route to {dst!r} needs a gateway (via=) or a device (dev=)").format(dst=dst),
            hint=_("e.g. links.add_route('default', via='10.0.0.1')"),
            subject=dst,
        )
    gateway = address(via) if via is not None else None
    target_net = network(dst)
    if dst == "default" and gateway is not None and gateway.version == 6:
        target_net = ipaddress.ip_network("::/0")
    if gateway is not None and gateway.version != target_net.version:
        raise InvalidAddressError(
            _("gateway {gateway} is IPv{version} but {network} is IPv{network_version}").format(
                gateway=gateway, version=gateway.version, network=target_net, network_version=target_net.version
            ),
            hint=_("use a gateway of the same family as the destination"),
            subject=via,
        )
    if dev is not None:
        check_ifname(dev)
    return target_net, gateway


def _route_words(dst: IPNetwork, via: Any, dev: str | None) -> builtins.list[str]:
    words = ["default" if dst.prefixlen == 0 else str(dst)]
    return words + (["via", str(via)] if via is not None else []) + (["dev", dev] if dev else [])


def add_route_on(ipr: Any, dst: IPNetwork, via: Any, dev: str | None, target: Target) -> None:
    """On an open socket: ``add_route`` (``proto boot``, with hints for the usual refusals)."""
    spec = {**_route_spec(ipr, dst, via, dev, target), "proto": RTPROT_BOOT}  # as `ip route add` does
    route = " ".join(_route_words(dst, via, dev))
    kernel_call(
        _("add route {route!r} in {where}").format(route=route, where=in_words(target)),
        route,
        lambda: ipr.route("add", **spec),
        hints={
            errno.ENETUNREACH: _(
                "the gateway {via} is not on any connected subnet in {where}: give a device "
                "there an address in the gateway's subnet and bring it up first"
            ).format(via=via, where=in_words(target)),
            errno.EEXIST: _(
                "that route already exists; remove it first: links.remove_route({dst!r}{keyword}) (see links.routes())"
            ).format(dst=_route_words(dst, None, None)[0], keyword=keyword(target)),
        },
    )


def add_route(dst: str | IPNetwork, *, via: str | None = None, dev: str | None = None, netns: Target = None) -> None:
    """``ip route add DST [via GATEWAY] [dev DEV]``; DST is a network or ``"default"``.

    ``add_route("default", via="10.0.0.1", netns="ns1")`` sends everything that has no more
    specific route to the gateway, usually a bridge address in the root namespace.
    """
    dst_net, gateway = _check_route(dst, via, dev)
    rtnl(netns, lambda ipr: add_route_on(ipr, dst_net, gateway, dev, netns))
    emit(ip(netns, "route", "add", *_route_words(dst_net, gateway, dev)))


def remove_route(dst: str | IPNetwork, *, via: str | None = None, dev: str | None = None, netns: Target = None) -> None:
    """``ip route del DST [via GATEWAY] [dev DEV]``."""
    dst_net = network(dst)
    gateway = address(via) if via is not None else None

    def work(ipr: Any) -> None:
        spec = _route_spec(ipr, dst_net, gateway, dev, netns)
        route = " ".join(_route_words(dst_net, gateway, dev))
        kernel_call(
            _("remove route {route!r} in {where}").format(route=route, where=in_words(netns)),
            route,
            lambda: ipr.route("del", **spec),
            hints={errno.ESRCH: _("no such route: see links.routes()")},
        )

    rtnl(netns, work)
    emit(ip(netns, "route", "del", *_route_words(dst_net, gateway, dev)))


# -- looking ---------------------------------------------------------------------------------


def _read(want_routes: bool) -> tuple[builtins.list[Interface], builtins.list[Route]]:
    """In the worker thread, inside the namespace: dump it with netlab's own netlink reader."""
    here = os.stat("/proc/thread-self/ns/net").st_ino
    with netlink.open_route_socket() as sock:
        link_messages = netlink.links(sock)
        found = netlink.interfaces(link_messages, netlink.addresses(sock), netns=here)
        if not want_routes:
            return found, []
        names = {link.ifindex: link.name for link in link_messages}
        return found, netlink.named_routes(netlink.routes(sock), names)


def list(netns: Target = None) -> builtins.list[Interface]:
    """``ip -d addr``: the devices of a namespace, with their addresses (``lo`` first)."""
    return call(netns, _read, False)[0]


def addresses(netns: Target = None, *, dev: str | None = None, family: int | None = None) -> builtins.list[Address]:
    """``ip addr`` (``ip -4 addr show dev DEV``): every address in a namespace, or on one device.

    An ``Address`` equals its text, so a check reads as it means:
    ``links.addresses("netns1", dev="veth1", family=4) == ["10.1.1.1/24"]``.
    """
    if dev is not None:
        check_ifname(dev)
    if family not in (None, 4, 6):
        raise InvalidAddressError(
            _("family {family!r} is not 4 or 6").format(family=family), hint=_("family=4 or family=6"), subject=family
        )
    return [
        a
        for link in list(netns)
        for a in link.addresses
        if (dev is None or a.dev == dev) and (family is None or a.family == family)
    ]


def routes(netns: Target = None) -> builtins.list[Route]:
    """``ip route`` and ``ip -6 route``: the main routing table of a namespace."""
    return call(netns, _read, True)[1]
