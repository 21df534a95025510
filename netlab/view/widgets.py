"""Two notebook widgets: a namespace explorer and a ping tester.

    from netlab.view.widgets import namespace_explorer, ping_tester
    namespace_explorer()      # pick a namespace: its links, addresses, routes, inode, holders
    ping_tester()             # from namespace X, ping address Y, see the result

Each returns a small object whose ``.widget`` is the ipywidgets box a notebook displays (the
object displays as it, too); its parts (``.dropdown``, ``.button``, ``.result`` ...) are
attributes, so the logic can be driven without a browser::

    tester = ping_tester()
    tester.source.value = tester.source.options[1][1]
    tester.destination.value = "10.1.1.1"
    tester.button.click()
    tester.result.value        # -> "ping 10.1.1.1 from netns1: 1/1 received, 0% loss ..."

Both read the kernel with ``snapshot()``; "Refresh" takes a new one. ipywidgets is imported
only when a widget is made. In projector mode (``netlab.view.settings``) their text is bigger.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from netlab.plumbing.i18n import _
from netlab.view.settings import settings
from netlab.view.snapshot import Namespace, Topology, snapshot
from netlab.view.text import no_default_route

if TYPE_CHECKING:
    from netlab.reach import PingResult

__all__ = ["NamespaceExplorer", "PingTester", "namespace_explorer", "ping_tester"]


def _choices(topology: Topology) -> list[tuple[str, int]]:
    return [(f"{ns.heading}  ·  {ns.label}", ns.inode) for ns in topology.namespaces]


def _pre_style() -> str:
    return ";".join(filter(None, ["margin:2px 0", settings.html_style()]))


def _cell(text: object) -> str:
    return f"<td style='padding:1px 10px 1px 0'>{html.escape(str(text))}</td>"


def describe(topology: Topology, ns: Namespace) -> str:
    """HTML: a namespace's identity, holders, interfaces and routes (what the explorer shows)."""
    state = {True: _("on"), False: _("off"), None: _("unknown")}
    if ns.nat:
        nat = "; ".join(str(r) for r in ns.nat)
    else:
        nat = _("none") if ns.nat == () else _("unknown")
    here = _(" (you are here)") if ns.root else ""
    facts = _("names: {names} · IP forwarding: {forwarding} · NAT: {nat}").format(
        names=", ".join(ns.names) or _("(none)"), forwarding=state[ns.ip_forward], nat=nat
    )
    held = _("held by: {holders}").format(holders="; ".join(ns.held_in_words) or _("nothing"))
    columns = (_("interface"), _("kind"), _("state"), _("addresses"), "MAC", "mtu", _("wired to"))
    parts = [
        f"<h4 style='margin:4px 0'>{html.escape(ns.heading)} <code>{ns.label}</code>{html.escape(here)}</h4>",
        f"<div>{html.escape(facts)}</div>",
        f"<div>{html.escape(held)}</div>",
        "<table style='margin-top:6px'><tr>"
        + "".join(f"<th align=left>{html.escape(column)}</th>" for column in columns)
        + "</tr>",
    ]
    for interface in ns.interfaces:
        wired = []
        other = topology.peer_of(ns, interface)
        if other:
            wired.append(_("veth peer {name} in {where}").format(name=other[1].name, where=other[0].heading))
        elif interface.peer:
            wired.append(_("veth peer ifindex {index} (namespace not visible)").format(index=interface.peer.index))
        if interface.master:
            wired.append(_("port of {bridge}").format(bridge=interface.master))
        parts.append(
            "<tr>"
            + "".join(
                _cell(v)
                for v in (
                    interface.name,
                    interface.kind,
                    f"{interface.status} (operstate {interface.state})",
                    ", ".join(interface.shown_addresses) or "-",
                    interface.mac,
                    interface.mtu,
                    "; ".join(wired) or "-",
                )
            )
            + "</tr>"
        )
    parts.append("</table>")
    routes = "".join(f"<li><code>{html.escape(str(r))}</code></li>" for r in ns.routes)
    none = html.escape(_("none"))
    heading = html.escape(_("routes (table main):"))
    parts.append(
        f"<div style='margin-top:6px'>{heading}<ul style='margin:2px 0'>{routes or f'<li>{none}</li>'}</ul></div>"
    )
    note = no_default_route(ns)
    if note:
        parts.append(f"<div style='color:#c92a2a'>{html.escape(note)}</div>")
    return f"<div style='{settings.html_style()}'>" + "".join(parts) + "</div>"


class NamespaceExplorer:
    """A dropdown of every namespace; the chosen one is described below it."""

    def __init__(self, *, topology: Topology | None = None) -> None:
        import ipywidgets as widgets

        self.topology = topology or snapshot()
        self.dropdown = widgets.Dropdown(
            options=_choices(self.topology), description=_("namespace"), layout=widgets.Layout(width="420px")
        )
        self.refresh_button = widgets.Button(
            description=_("Refresh"), icon="refresh", tooltip=_("take a new snapshot of the kernel's state")
        )
        self.details = widgets.HTML()
        self.dropdown.observe(lambda change: self._show(), names="value")
        self.refresh_button.on_click(lambda _button: self.refresh())
        self.widget = widgets.VBox([widgets.HBox([self.dropdown, self.refresh_button]), self.details])
        self._show()

    def refresh(self) -> None:
        """Snapshot again; keep the selection if that namespace still exists."""
        chosen = self.dropdown.value
        self.topology = snapshot()
        options = _choices(self.topology)
        self.dropdown.options = options
        if chosen in [inode for _, inode in options]:
            self.dropdown.value = chosen
        self._show()

    def select(self, which: str | int) -> None:
        """Choose a namespace by title, name or inode."""
        self.dropdown.value = self.topology.namespace(which).inode

    def _show(self) -> None:
        ns = self.topology.by_inode(self.dropdown.value) if self.dropdown.value is not None else None
        nothing = html.escape(_("no namespace chosen"))
        self.details.value = describe(self.topology, ns) if ns else f"<i>{nothing}</i>"

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


class PingTester:
    """Source namespace, destination address, count; the button runs ``netlab.reach.ping``."""

    def __init__(self, *, topology: Topology | None = None, count: int = 3) -> None:
        import ipywidgets as widgets

        self.topology = topology or snapshot()
        self.source = widgets.Dropdown(options=_choices(self.topology), description=_("from"))
        self.destination = widgets.Combobox(
            options=self._addresses(), placeholder="10.1.1.1", description="ping", ensure_option=False
        )
        self.count = widgets.BoundedIntText(
            value=count, min=1, max=20, description=_("count"), layout=widgets.Layout(width="140px")
        )
        self.button = widgets.Button(description="Ping", button_style="primary", icon="play")
        self.result = widgets.HTML()
        self.last: PingResult | Exception | None = None  # the last result, or what went wrong
        self.button.on_click(lambda _button: self.run())
        self.widget = widgets.VBox(
            [widgets.HBox([self.source, self.destination, self.count, self.button]), self.result]
        )

    def _addresses(self) -> list[str]:
        """Every address in the lab, as suggestions for the destination box."""
        found = []
        for _ns, interface in self.topology.interfaces():
            for address in interface.shown_addresses:
                if not address.startswith("127.") and address != "::1/128":
                    found.append(address.split("/")[0])
        return sorted(set(found))

    def choose(self, which: str | int) -> None:
        """Pick the source namespace by title, name or inode."""
        self.source.value = self.topology.namespace(which).inode

    def run(self) -> PingResult | Exception | None:
        """Ping now (what the button does); the result also lands in ``.result``."""
        from netlab.reach import ping

        address = self.destination.value.strip()
        ns = self.topology.by_inode(self.source.value)
        if ns is None or not address:
            advice = html.escape(_("choose a source namespace and an address"))
            self.result.value = f"<span style='color:#c92a2a'>{advice}</span>"
            return None
        self.button.disabled = True
        pinging = _("pinging {address} from {where}...").format(address=address, where=ns.heading)
        self.result.value = f"<i>{html.escape(pinging)}</i>"
        outcome: PingResult | Exception
        try:
            outcome = ping(ns.target, address, count=self.count.value, timeout=1.0)
            colour = "#2b8a3e" if outcome.ok else "#c92a2a"
            self.result.value = f"<pre style='color:{colour};{_pre_style()}'>{html.escape(str(outcome))}</pre>"
        except Exception as exc:  # a bad address or a vanished namespace: say so in the widget
            outcome = exc
            self.result.value = f"<pre style='color:#c92a2a;{_pre_style()}'>{html.escape(str(exc))}</pre>"
        finally:
            self.button.disabled = False
        self.last = outcome
        return outcome

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


def namespace_explorer(*, topology: Topology | None = None) -> NamespaceExplorer:
    """A namespace explorer over ``topology`` (default: a fresh snapshot)."""
    return NamespaceExplorer(topology=topology)


def ping_tester(*, topology: Topology | None = None, count: int = 3) -> PingTester:
    """A ping tester whose sources are the namespaces of ``topology`` (default: a fresh snapshot)."""
    return PingTester(topology=topology, count=count)
