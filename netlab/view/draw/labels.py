"""What a drawing writes: the words on each box, chip and tile, before any geometry.

Each label is a list of lines ``(text, size in points, style)``; the layouts measure them, the
renderer draws them. Styles: ``title``, ``bold``, ``plain``, ``dim``, ``fact`` (forwarding,
NAT, who holds it), ``route`` (a route someone added) and ``warn`` (no way out).
"""

from __future__ import annotations

import time

from netlab.model import words
from netlab.plumbing.i18n import _
from netlab.view.snapshot import Interface, Namespace, Topology
from netlab.view.text import chosen_routes, no_default_route, route_words

__all__ = ["MIN_POINTS", "Line", "caption_text", "chip_lines", "header_lines", "hub_lines", "route_lines", "tile_lines"]

Line = tuple[str, float, str]  # (text, size in points, style)

MIN_POINTS = 6.0  # the smallest text any drawing uses: projector mode scales from it
MAX_ROUTES = 3  # routes written on a box; more are summed up in one line


def chip_lines(ns: Namespace, interface: Interface, topology: Topology) -> list[Line]:
    """An interface: name; kind and state; up to three addresses; where its peer is, if unseen."""
    kind = "" if interface.kind in ("veth",) else f"{interface.kind} · "
    lines: list[Line] = [(interface.name, 8.5, "bold"), (f"{kind}{interface.status}", 6.5, "dim")]
    addresses = list(interface.shown_addresses)
    if interface.kind == "loopback":
        addresses = [a for a in addresses if a.startswith("127.")] or addresses[:1]
    for address in addresses[:3]:
        lines.append((address, 7.5, "plain"))
    if len(addresses) > 3:
        lines.append((_("+{count} more").format(count=len(addresses) - 3), 6.5, "dim"))
    ref = interface.peer or interface.lower
    if ref is not None and (ref.netns is None or topology.by_inode(ref.netns) is None):
        where = _("a namespace being freed") if ref.netns is None else f"net:[{ref.netns}]"
        lines.append((_("peer: ifindex {index}").format(index=ref.index), 6.5, "dim"))
        lines.append((_("in {where}").format(where=where), 6.5, "dim"))
    return lines


def route_lines(ns: Namespace) -> list[Line]:
    """The routes someone added (default gateway first), or why there is no way out."""
    chosen = sorted(chosen_routes(ns), key=lambda r: (r.dst != "default", r.family))
    lines: list[Line] = [(route_words(r), 7.0, "route") for r in chosen[:MAX_ROUTES]]
    if len(chosen) > MAX_ROUTES:
        lines.append((_("+{count} more routes").format(count=len(chosen) - MAX_ROUTES), 6.5, "dim"))
    note = no_default_route(ns)
    if note:
        lines.append((note, 7.0, "warn"))
    return lines


def facts(ns: Namespace) -> list[str]:
    """Short facts for a header: where you are, forwarding, NAT, what holds an unnamed one."""
    found = []
    if ns.root:
        found.append(_("you are here"))
    if ns.outside:
        found.append(_("outside this lab"))
    if ns.ip_forward:
        found.append(_("forwarding on"))
    for rule in ns.nat or ():
        found.append(f"NAT {rule.action}" + (f" → {rule.to}" if rule.to else ""))
    if not ns.root and not ns.names:
        holder = words(ns.holders[0]) if ns.holders else _("nothing")
        found.append(_("held by {holders}").format(holders=holder))
    return found


def header_lines(ns: Namespace, *, routes: bool = True) -> list[Line]:
    """A namespace box's header: title, ``net:[INODE]``, facts, then its routes."""
    header: list[Line] = [(ns.heading, 11.0, "title"), (ns.label, 7.5, "dim")]
    found = facts(ns)
    if found:
        header.append((" · ".join(found), 7.0, "fact"))
    if routes:
        header += route_lines(ns)
    return header


def tile_lines(topology: Topology, ns: Namespace) -> list[tuple[str, Interface | None]]:
    """A compact tile: one line per interface (lo left out, peers abbreviated), its gateway."""
    lines: list[tuple[str, Interface | None]] = []
    shown = [i for i in ns.interfaces if i.kind != "loopback"]
    for interface in shown[:3]:
        text = interface.name
        if interface.shown_addresses:
            text += " " + interface.shown_addresses[0]
        ref = interface.peer or interface.lower
        if ref is not None and ref.netns is not None and ref.netns != ns.inode:
            other = topology.by_inode(ref.netns)
            text += f" ⇄{ref.name}@{other.heading if other else '?'}"
        lines.append((text, interface))
    if len(shown) > 3:
        lines.append((_("+{count} more interfaces").format(count=len(shown) - 3), None))
    if not shown:
        lo = next((i for i in ns.interfaces if i.kind == "loopback"), None)
        lines.append((_("only lo") + (f" ({lo.status})" if lo else ""), None))
    gateway = next((r for r in ns.routes if r.dst == "default" and r.family == 4), None)
    if gateway is not None:
        lines.append((route_words(gateway), None))
    elif no_default_route(ns):
        lines.append((_("no default route"), None))
    return lines


def hub_lines(ns: Namespace) -> list[str]:
    """A busy namespace's own interfaces, one line each (bridges with their port count), routes."""
    ports: dict[str, int] = {}
    for interface in ns.interfaces:
        if interface.master:
            ports[interface.master] = ports.get(interface.master, 0) + 1
    lines = []
    for interface in ns.interfaces:
        if interface.master or (interface.peer and interface.peer.netns not in (None, ns.inode)):
            continue
        line = f"{interface.name:<10} {interface.kind:<9} {interface.status:<10} {', '.join(interface.shown_addresses)}"
        if interface.name in ports:
            line += "   " + _("({count} ports)").format(count=ports[interface.name])
        lines.append(line.rstrip())
    wired = sum(1 for i in ns.interfaces if i.peer and i.peer.netns not in (None, ns.inode))
    if len(lines) > 5:
        lines = lines[:4] + [_("+{count} more interfaces").format(count=len(lines) - 4)]
    lines.append(
        _("{count} veth ends wired to the namespaces below (each tile names its peer here)").format(count=wired)
    )
    lines += [
        text if style == "warn" else _("route {route}").format(route=text) for text, _size, style in route_lines(ns)
    ]
    return lines


def caption_text(topology: Topology, note: str | None = None) -> str:
    """The line above a drawing: how many namespaces and interfaces, and when."""
    interfaces = sum(len(ns.interfaces) for ns in topology.namespaces)
    when = time.strftime("%H:%M:%S", time.localtime(topology.taken_at))
    count = len(topology.namespaces)
    namespaces = (_("{count} network namespace") if count == 1 else _("{count} network namespaces")).format(count=count)
    chips = (_("{count} interface") if interfaces == 1 else _("{count} interfaces")).format(count=interfaces)
    text = " · ".join([namespaces, chips, _("snapshot at {time}").format(time=when)])
    return f"{text} · {note}" if note else text
