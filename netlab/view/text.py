"""A snapshot as text: a terminal tree (``netlab show``), Graphviz DOT and Mermaid.

The tree reads like ``ip -br addr`` run in every namespace, with the wiring filled in (the
state column is UP, NO-CARRIER or DOWN from the link's flags, see ``Interface.status``)::

    root · net:[4026532178] · you are here · forwarding off
    ├── lo     loopback  UP    127.0.0.1/8, ::1/128
    ├── veth0  veth      UP    10.1.1.2/24  ⇄ veth1 @ netns1
    └── routes
        └── 10.1.1.0/24 dev veth0 proto kernel scope link src 10.1.1.2
    netns1 · net:[4026532302] · forwarding off
    ├── lo     loopback  DOWN
    ├── veth1  veth      UP    10.1.1.1/24  ⇄ veth0 @ root
    └── routes
        ├── 10.1.1.0/24 dev veth1 proto kernel scope link src 10.1.1.1
        └── # no default route: reaches only 10.1.1.0/24

Bridge ports are drawn under their bridge. A namespace with an address but no default route
says so: that is why its ``ping 8.8.8.8`` fails with "Network is unreachable" (the root
namespace is left out: where you are, the host's routes are not the lesson).

``to_dot`` output renders with ``dot -Tsvg``; ``to_mermaid`` output pastes into a Markdown
cell of JupyterLab 4.1+ or a GitHub README.
"""

from __future__ import annotations

import re

from netlab.model import words
from netlab.plumbing.i18n import _
from netlab.view.snapshot import Interface, Namespace, Route, Topology, interface_key

__all__ = ["chosen_routes", "no_default_route", "route_words", "to_dot", "to_mermaid", "tree"]

_GREEN, _RED, _YELLOW, _BOLD, _DIM, _RESET = "\033[32m", "\033[31m", "\033[33m", "\033[1m", "\033[2m", "\033[0m"


def _peer_text(topology: Topology, ns: Namespace, interface: Interface) -> str:
    ref = interface.peer or interface.lower
    if ref is None:
        return ""
    arrow = "⇄" if interface.peer else "↳"
    if ref.netns is None:
        return _("{arrow} ifindex {index} in a namespace this snapshot cannot see").format(arrow=arrow, index=ref.index)
    other = topology.by_inode(ref.netns)
    where = _("here") if ref.netns == ns.inode else (other.heading if other else f"net:[{ref.netns}]")
    return f"{arrow} {ref.name or f'ifindex {ref.index}'} @ {where}"


def _holders(items: list[str]) -> str:
    shown = "; ".join(words(item) for item in items[:3])
    return shown + (_(" and {count} more").format(count=len(items) - 3) if len(items) > 3 else "")


def _facts(ns: Namespace) -> list[str]:
    """The header words: inode, who holds it (beyond its own name), forwarding, NAT."""
    facts = [ns.label]
    if ns.root:
        facts.append(_("you are here"))
    if ns.outside:
        facts.append(_("outside this lab"))
    own = {f"bind mount {mount}" for mount in ns.mounts if mount.rsplit("/", 1)[-1] in ns.names}
    others = [holder for holder in ns.holders if holder not in own]
    if not ns.root:
        if ns.names and others:
            facts.append(_("also held by {holders}").format(holders=_holders(others)))
        elif not ns.names:
            facts.append(_("held by {holders}").format(holders=_holders(others) or _("nothing")))
    if ns.ip_forward is not None:
        facts.append(_("forwarding on") if ns.ip_forward else _("forwarding off"))
    for rule in ns.nat or ():
        if rule.to:
            facts.append(_("NAT {action} to {address}").format(action=rule.action, address=rule.to))
        else:
            facts.append(f"NAT {rule.action}")
    return facts


def _state(interface: Interface, color: bool) -> str:
    text = interface.status
    if not color:
        return text
    tint = _GREEN if interface.running else (_YELLOW if interface.up else _RED)
    return f"{tint}{text}{_RESET}"


# -- routes worth pointing at ----------------------------------------------------------------------


def chosen_routes(ns: Namespace) -> list[Route]:
    """The routes someone added (``ip route add``), not those the kernel made for an address."""
    return [
        route
        for route in ns.routes
        if route.protocol != "kernel" and route.type not in ("local", "broadcast", "multicast", "anycast")
    ]


def route_words(route: Route) -> str:
    """A route as ``ip route`` starts it: ``default via 10.0.0.1 dev eth0`` (no proto, metric)."""
    words = [route.dst] if route.type == "unicast" else [route.type, route.dst]
    if route.via:
        words += ["via", route.via]
    if route.dev:
        words += ["dev", route.dev]
    return " ".join(words)


def no_default_route(ns: Namespace) -> str | None:
    """Why packets to the internet go nowhere, if they do: an address but no IPv4 default route.

    None for the root namespace, for a namespace with no IPv4 address (nothing to route yet)
    and for one that has a default route.
    """
    if ns.root or any(r.dst == "default" and r.family == 4 for r in ns.routes):
        return None
    if not any(a.family == 4 and a.scope == "global" for i in ns.interfaces for a in i.addresses):
        return None
    if any(r.family == 4 for r in chosen_routes(ns)):
        return _("no default route: other networks only through the routes above")
    subnets = [r.dst for r in ns.routes if r.family == 4 and r.protocol == "kernel" and r.scope == "link"]
    if len(subnets) == 1:
        return _("no default route: reaches only {subnet}").format(subnet=subnets[0])
    if len(subnets) == 2:
        return _("no default route: reaches only {subnet} and {other}").format(subnet=subnets[0], other=subnets[1])
    return _("no default route: reaches only its own subnets")


def _row(
    topology: Topology,
    ns: Namespace,
    interface: Interface,
    widths: tuple[int, int, int],
    *,
    color: bool,
    indent: int = 0,
) -> str:
    """One interface line: name, kind, state, addresses, peer; columns ``widths`` wide."""
    width_name, width_kind, width_state = widths
    state = _state(interface, color) + " " * (width_state - len(interface.status))
    name = f"{interface.name:<{max(width_name - indent, len(interface.name) + 1)}}"
    words = f"{name}{interface.kind:<{width_kind}}{state}" + ", ".join(interface.shown_addresses)
    peer = _peer_text(topology, ns, interface)
    return (words.rstrip() + ("  " + peer if peer else "")).rstrip()


def tree(topology: Topology, *, routes: bool = True, color: bool = False) -> str:
    """Every namespace, its interfaces (bridge ports under their bridge) and its routes.

    Under the routes, a namespace with an address but no default route gets a ``#`` note.
    """
    lines: list[str] = []
    for ns in topology.namespaces:
        title = f"{_BOLD}{ns.heading}{_RESET}" if color else ns.heading
        lines.append(" · ".join([title, *_facts(ns)]))
        ports: dict[str, list[Interface]] = {}
        top: list[Interface] = []
        for interface in ns.interfaces:
            if interface.master and any(i.name == interface.master for i in ns.interfaces):
                ports.setdefault(interface.master, []).append(interface)
            else:
                top.append(interface)
        widths = (
            max((len(i.name) for i in ns.interfaces), default=2) + 2,
            max((len(i.kind) for i in ns.interfaces), default=4) + 2,
            max((len(i.status) for i in ns.interfaces), default=4) + 2,
        )
        route_lines = [str(r) for r in ns.routes] if routes else []
        note = no_default_route(ns) if routes else None
        if note:
            route_lines.append(f"# {note}")
        for n, interface in enumerate(top):
            last = n == len(top) - 1 and not route_lines
            lines.append(("└── " if last else "├── ") + _row(topology, ns, interface, widths, color=color))
            children = ports.get(interface.name, [])
            for m, port in enumerate(children):
                stem = ("    " if last else "│   ") + ("└── " if m == len(children) - 1 else "├── ")
                lines.append(stem + _row(topology, ns, port, widths, color=color, indent=4))
        if route_lines:
            lines.append("└── " + _("routes"))
            for m, route in enumerate(route_lines):
                text = f"{_DIM}{route}{_RESET}" if color else route
                lines.append("    " + ("└── " if m == len(route_lines) - 1 else "├── ") + text)
    return "\n".join(lines)


# -- Graphviz -------------------------------------------------------------------------------------


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(topology: Topology) -> str:
    """Graphviz DOT: a cluster per namespace, a node per interface, veth and bridge-port edges."""
    out = [
        "graph netlab {",
        '  graph [rankdir=LR, fontname="Helvetica", compound=true, nodesep=0.3];',
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    for ns in topology.namespaces:
        style = 'style="rounded,bold", color="#1f4e79", penwidth=2' if ns.root else 'style="rounded", color="#555555"'
        out.append(f"  subgraph cluster_{ns.inode} {{")
        out.append(f"    label={_dot_quote(ns.heading + chr(10) + ns.label)}; {style};")
        for interface in ns.interfaces:
            fill = "#c8e6c9" if interface.running else ("#fff3c4" if interface.up else "#eeeeee")
            line = "dashed" if not interface.up else "solid"
            label = "\n".join([interface.name, *interface.shown_addresses, interface.status])
            shape = ", shape=box3d" if interface.kind == "bridge" else ""
            out.append(
                f"    {_dot_quote(interface_key(ns, interface.name))} [label={_dot_quote(label)}, "
                f'fillcolor="{fill}", style="rounded,filled,{line}"{shape}];'
            )
        if not ns.interfaces:
            empty = _dot_quote(_("(no interfaces)"))
            out.append(f'    {_dot_quote(ns.key)} [label={empty}, shape=plaintext, style=""];')
        out.append("  }")
    for (ns_a, a), (ns_b, b) in topology.veth_pairs():
        out.append(
            f"  {_dot_quote(interface_key(ns_a, a.name))} -- {_dot_quote(interface_key(ns_b, b.name))} "
            '[label="veth", penwidth=2];'
        )
    for ns, bridge, ports in topology.bridges():
        for port in ports:
            port_word = _dot_quote(_("port"))
            out.append(
                f"  {_dot_quote(interface_key(ns, port.name))} -- {_dot_quote(interface_key(ns, bridge.name))} "
                f"[style=dotted, label={port_word}];"
            )
    out.append("}")
    return "\n".join(out) + "\n"


# -- Mermaid --------------------------------------------------------------------------------------


def _mermaid_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", text)


def _mermaid_label(text: str) -> str:
    return '"' + text.replace('"', "#quot;").replace("\n", "<br/>") + '"'


def to_mermaid(topology: Topology) -> str:
    """A Mermaid flowchart: a subgraph per namespace, veth pairs as links, bridge ports dotted."""
    out = ["flowchart LR"]
    classes: dict[str, list[str]] = {"up": [], "waiting": [], "down": []}
    for ns in topology.namespaces:
        out.append(f"  subgraph ns_{ns.inode}[{_mermaid_label(ns.heading + ' · ' + ns.label)}]")
        for interface in ns.interfaces:
            node = "if_" + _mermaid_id(f"{ns.inode}_{interface.name}")
            label = "\n".join([f"{interface.name} ({interface.status})", *interface.shown_addresses])
            shape = ("[[", "]]") if interface.kind == "bridge" else ("(", ")")
            out.append(f"    {node}{shape[0]}{_mermaid_label(label)}{shape[1]}")
            state = "up" if interface.running else ("waiting" if interface.up else "down")
            classes[state].append(node)
        if not ns.interfaces:
            nothing = _mermaid_label(_("(no interfaces)"))
            out.append(f"    empty_{ns.inode}[{nothing}]")
        out.append("  end")
    for (ns_a, a), (ns_b, b) in topology.veth_pairs():
        out.append(
            f"  if_{_mermaid_id(f'{ns_a.inode}_{a.name}')} <-->|veth| if_{_mermaid_id(f'{ns_b.inode}_{b.name}')}"
        )
    port_word = _("port")
    for ns, bridge, ports in topology.bridges():
        for port in ports:
            out.append(
                f"  if_{_mermaid_id(f'{ns.inode}_{port.name}')} -.-|{port_word}| "
                f"if_{_mermaid_id(f'{ns.inode}_{bridge.name}')}"
            )
    out.append("  classDef up fill:#c8e6c9,stroke:#2e7d32")
    out.append("  classDef waiting fill:#fff3c4,stroke:#b28704")
    out.append("  classDef down fill:#eeeeee,stroke:#888888,stroke-dasharray: 4 3")
    for name, nodes in classes.items():
        if nodes:
            out.append(f"  class {','.join(nodes)} {name}")
    root = next((ns for ns in topology.namespaces if ns.root), None)
    if root is not None:
        out.append(f"  style ns_{root.inode} stroke:#1f4e79,stroke-width:3px")
    return "\n".join(out) + "\n"
