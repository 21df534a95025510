"""What a drawing writes: the words on each box, chip and tile, before any geometry.

Each label is a list of lines ``(text, size in points, style)``; the layouts measure them, the
renderer draws them. Styles: ``title``, ``bold``, ``plain``, ``dim``, ``fact`` (forwarding,
NAT, who holds it), ``route`` (a route someone added) and ``warn`` (no way out).
"""

from __future__ import annotations

import time

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
        lines.append((f"+{len(addresses) - 3} more", 6.5, "dim"))
    ref = interface.peer or interface.lower
    if ref is not None and (ref.netns is None or topology.by_inode(ref.netns) is None):
        where = "a namespace being freed" if ref.netns is None else f"net:[{ref.netns}]"
        lines.append((f"peer: ifindex {ref.index}", 6.5, "dim"))
        lines.append((f"in {where}", 6.5, "dim"))
    return lines


def route_lines(ns: Namespace) -> list[Line]:
    """The routes someone added (default gateway first), or why there is no way out."""
    chosen = sorted(chosen_routes(ns), key=lambda r: (r.dst != "default", r.family))
    lines: list[Line] = [(route_words(r), 7.0, "route") for r in chosen[:MAX_ROUTES]]
    if len(chosen) > MAX_ROUTES:
        lines.append((f"+{len(chosen) - MAX_ROUTES} more routes", 6.5, "dim"))
    note = no_default_route(ns)
    if note:
        lines.append((note, 7.0, "warn"))
    return lines


def facts(ns: Namespace) -> list[str]:
    """Short facts for a header: where you are, forwarding, NAT, what holds an unnamed one."""
    found = []
    if ns.root:
        found.append("you are here")
    if ns.outside:
        found.append("outside this lab")
    if ns.ip_forward:
        found.append("forwarding on")
    for rule in ns.nat or ():
        found.append(f"NAT {rule.action}" + (f" → {rule.to}" if rule.to else ""))
    if not ns.root and not ns.names:
        found.append(f"held by {ns.holders[0]}" if ns.holders else "held by nothing")
    return found


def header_lines(ns: Namespace, *, routes: bool = True) -> list[Line]:
    """A namespace box's header: title, ``net:[INODE]``, facts, then its routes."""
    header: list[Line] = [(ns.title, 11.0, "title"), (ns.label, 7.5, "dim")]
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
            text += f" ⇄{ref.name}@{other.title if other else '?'}"
        lines.append((text, interface))
    if len(shown) > 3:
        lines.append((f"+{len(shown) - 3} more interfaces", None))
    if not shown:
        lo = next((i for i in ns.interfaces if i.kind == "loopback"), None)
        lines.append(("only lo" + (f" ({lo.status})" if lo else ""), None))
    gateway = next((r for r in ns.routes if r.dst == "default" and r.family == 4), None)
    if gateway is not None:
        lines.append((route_words(gateway), None))
    elif no_default_route(ns):
        lines.append(("no default route", None))
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
        words = (
            f"{interface.name:<10} {interface.kind:<9} {interface.status:<10} {', '.join(interface.shown_addresses)}"
        )
        if interface.name in ports:
            words += f"   ({ports[interface.name]} ports)"
        lines.append(words.rstrip())
    wired = sum(1 for i in ns.interfaces if i.peer and i.peer.netns not in (None, ns.inode))
    if len(lines) > 5:
        lines = lines[:4] + [f"+{len(lines) - 4} more interfaces"]
    lines.append(f"{wired} veth ends wired to the namespaces below (each tile names its peer here)")
    lines += [text if style == "warn" else f"route {text}" for text, _, style in route_lines(ns)]
    return lines


def caption_text(topology: Topology, note: str | None = None) -> str:
    """The line above a drawing: how many namespaces and interfaces, and when."""
    interfaces = sum(len(ns.interfaces) for ns in topology.namespaces)
    when = time.strftime("%H:%M:%S", time.localtime(topology.taken_at))
    count = len(topology.namespaces)
    text = (
        f"{count} network namespace{'s' if count != 1 else ''} · {interfaces} interface"
        f"{'s' if interfaces != 1 else ''} · snapshot at {when}"
    )
    return f"{text} · {note}" if note else text
