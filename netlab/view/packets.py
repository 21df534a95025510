"""Packets on screen: a table, a ladder diagram across capture points, and a live notebook view.

    from netlab.capture import capture
    from netlab.view.packets import ladder, live, table
    with capture(("c1", "eth0"), "uplink", proto="icmp") as cap:
        netlab.ping("c1", "203.0.113.1")
    table(cap)          # one row per packet and point: time, point, direction, MACs, summary
    ladder(cap)         # one lane per capture point; each packet crosses the lanes where it was seen
    live(capture(...))  # a table that grows while the capture runs, then a pcap download link

How to read a ladder: lanes are capture points, left to right in the order you named them; time
runs down, one row per packet. A packet seen at several points is one arrow from where it was
seen first to where it was seen last, with a dot at each point. When the same packet looks
different at two points, as when NAT rewrites its source, each point gets its own label and
the rewritten ones are orange: masquerading shows ``10.0.0.2`` at the bridge and
``203.0.113.2`` at the uplink. "The same packet" means the same IP id and payload (or ARP
bytes), which NAT does not touch.

Importing this module teaches IPython to show a ``Capture`` as its table. The live view obeys
ipywidgets' rule for background threads: it never writes through ``with output:`` (ipywidgets
issue #2358), it sets the value of an HTML widget.
"""

from __future__ import annotations

import base64
import html
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netlab.capture import Capture, Packet
from netlab.plumbing.i18n import N_, _
from netlab.view.settings import settings

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["Html", "LiveCapture", "PacketTable", "journeys", "ladder", "live", "pcap_link", "table"]

Packets = Capture | Iterable[Packet]
COLOURS = {"ARP": "#e8590c", "ICMP": "#1c7ed6", "ICMPv6": "#1971c2", "TCP": "#2b8a3e", "UDP": "#7048e8"}
REWRITTEN = "#d9480f"
# Column headings, translated when shown (the learner's language is chosen then).
HEADINGS = ("#", N_("time"), N_("point"), N_("dir"), N_("src MAC"), N_("dst MAC"), N_("summary"))


def _list(packets: Packets) -> list[Packet]:
    return list(packets)


# -- the table -------------------------------------------------------------------------------


@dataclass
class PacketTable:
    """Packets as rows: ``print(t)`` for text, a notebook shows HTML."""

    packets: list[Packet]
    macs: bool = True
    limit: int | None = None

    def rows(self) -> list[tuple[str, ...]]:
        shown = self.packets if self.limit is None else self.packets[-self.limit :]
        first = len(self.packets) - len(shown) + 1
        rows: list[tuple[str, ...]] = []
        for number, p in enumerate(shown, start=first):
            row = (str(number), f"{p.time:.6f}", p.point, p.direction, p.src_mac, p.dst_mac, p.summary)
            rows.append(row if self.macs else row[:4] + row[6:])
        return rows

    def headings(self) -> tuple[str, ...]:
        """The column headings, in the learner's language."""
        shown = HEADINGS if self.macs else HEADINGS[:4] + HEADINGS[6:]
        return tuple(_(h) if h != "#" else h for h in shown)

    def __str__(self) -> str:
        rows = [self.headings(), *self.rows()]
        widths = [max(_columns(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
        lines = [
            "  ".join(cell + " " * (w - _columns(cell)) for cell, w in zip(r, widths, strict=False)) + "  " + r[-1]
            for r in rows
        ]
        return "\n".join(lines) if self.packets else _("(no packets)")

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))

    def _repr_html_(self) -> str:
        return table_html(self.packets, macs=self.macs, limit=self.limit)


def _columns(text: str) -> int:
    """How many terminal columns ``text`` takes: a Chinese character takes two."""
    return len(text) + sum(1 for char in text if unicodedata.east_asian_width(char) in ("W", "F"))


def table(packets: Packets, *, macs: bool = True, limit: int | None = None) -> PacketTable:
    """A packet table (the last ``limit`` packets, if given); ``macs=False`` leaves out the MACs."""
    return PacketTable(_list(packets), macs=macs, limit=limit)


def table_html(packets: Sequence[Packet], *, macs: bool = True, limit: int | None = None) -> str:
    """The table as HTML, one colour per protocol."""
    t = PacketTable(list(packets), macs=macs, limit=limit)
    shown = t.packets if limit is None else t.packets[-limit:]
    # Every cell on one line and to the left (JupyterLab right-aligns table cells): a wide table scrolls
    # sideways in its own box instead of breaking "echo request" or 方向 in two on a 1280-pixel screen.
    cell = "text-align:left;white-space:nowrap;padding:1px 8px 1px 0"
    head = "".join(f"<th style='{cell}'>{h}</th>" for h in t.headings())
    body = []
    for packet, row in zip(shown, t.rows(), strict=True):
        colour = COLOURS.get(packet.protocol, "#495057")
        cells = "".join(f"<td style='{cell}'>{html.escape(c)}</td>" for c in row[:-1])
        cells += f"<td style='{cell};color:{colour}'><code>{html.escape(row[-1])}</code></td>"
        body.append(f"<tr>{cells}</tr>")
    more = len(t.packets) - len(shown)
    note = "<div><i>{}</i></div>".format(_("{count} earlier packets not shown").format(count=more)) if more > 0 else ""
    if not t.packets:
        return "<div class='netlab-packets'><i>{}</i></div>".format(_("no packets"))
    style = settings.html_style()
    return (
        f"<div class='netlab-packets' style='overflow-x:auto;{style}'>{note}<table style='font-size:90%'>"
        f"<tr>{head}</tr>{''.join(body)}</table></div>"
    )


# -- the ladder ------------------------------------------------------------------------------


@dataclass
class Journey:
    """One packet, seen at one or more capture points (in time order)."""

    sightings: list[Packet] = field(default_factory=list)

    @property
    def points(self) -> list[str]:
        return [p.point for p in self.sightings]


def journeys(packets: Packets, *, window: float = 0.5) -> list[Journey]:
    """Group the sightings of each packet: same key (see ``netlab.plumbing.frames``), other point, soon after."""
    found: list[Journey] = []
    open_by_key: dict[bytes, list[Journey]] = {}
    for packet in sorted(_list(packets), key=lambda p: p.timestamp):
        journey = None
        for candidate in open_by_key.get(packet.key, []) if packet.key else []:
            last = candidate.sightings[-1]
            if packet.point not in candidate.points and packet.timestamp - last.timestamp <= window:
                journey = candidate
                break
        if journey is None:
            journey = Journey()
            found.append(journey)
            open_by_key.setdefault(packet.key, []).append(journey)
        journey.sightings.append(packet)
    return found


def short_label(p: Packet) -> str:
    """Two short lines for the ladder: addresses, then what the packet is."""
    if p.protocol == "ARP":
        if p.what == "who-has":
            return f"ARP who-has {p.dst}?\ntell {p.src}"
        if p.what == "is-at":
            return f"ARP {p.src}\nis-at {p.src_mac}"
    if p.src is None:
        return p.summary
    src = f"{p.src}:{p.sport}" if p.sport is not None else p.src
    dst = f"{p.dst}:{p.dport}" if p.dport is not None else p.dst
    return f"{src} → {dst}\n{p.protocol} {p.what}"


def ladder(
    packets: Packets,
    *,
    points: Sequence[str] | None = None,
    limit: int = 40,
    title: str | None = None,
    path: str | Path | None = None,
) -> Figure:
    """Draw the ladder (see the module docstring); return the matplotlib Figure, save to ``path``.

    ``points`` orders the lanes (default: a Capture's points, or the order they first appear);
    ``limit`` draws the first packets only.
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyBboxPatch

    from netlab.view.draw.measure import families

    if isinstance(packets, Capture):
        lanes = list(points or [p.label for p in packets.points])
        kinds = {p.label: _("root namespace") if p.netns is None else p.where for p in packets.points}
    else:
        lanes = list(points or dict.fromkeys(p.point for p in packets))
        kinds = {}
    every = [j for j in journeys(packets) if any(p.point in lanes for p in j.sightings)]
    shown = every[:limit]
    rows = max(len(shown), 1)
    width = 1.3 + 3.3 * max(len(lanes), 1)
    height = 1.4 + 0.62 * rows
    small = 7.5
    prose: dict[str, Any] = {
        "fontfamily": families()
    }  # the learner's language, maybe Chinese: a font that has its glyphs
    figure = Figure(figsize=(width, height), dpi=settings.diagram_dpi(small))
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(-0.9, len(lanes) - 0.4)
    axes.set_ylim(rows + 0.45, -1.8)
    axes.axis("off")
    x = {lane: i for i, lane in enumerate(lanes)}
    for lane, i in x.items():
        axes.plot([i, i], [-0.6, rows - 0.3], color="#adb5bd", lw=1.2, zorder=1)
        axes.add_patch(
            FancyBboxPatch((i - 0.42, -1.25), 0.84, 0.55, boxstyle="round,pad=0.02", fc="#e7f5ff", ec="#1c7ed6")
        )
        axes.text(i, -1.05, lane, ha="center", va="center", fontsize=10, weight="bold")
        axes.text(i, -0.82, kinds.get(lane, ""), ha="center", va="center", fontsize=small, color="#495057", **prose)
    if title:
        axes.text(-0.85, -1.55, title, fontsize=10, va="center", **prose)
    start = shown[0].sightings[0].timestamp if shown else 0.0
    rewritten = [_journey(axes, journey, row, x, start, small) for row, journey in enumerate(shown)]
    if any(rewritten):
        note = _("orange, bold: the same packet rewritten (NAT) since the point where it was seen first")
        axes.text(len(lanes) - 0.45, rows + 0.1, note, ha="right", fontsize=small, color=REWRITTEN, **prose)
    if not shown:
        axes.text((len(lanes) - 1) / 2, 0, _("no packets"), ha="center", color="#868e96", fontsize=10, **prose)
    if len(every) > len(shown):
        first = _("first {shown} of {count} packets").format(shown=len(shown), count=len(every))
        axes.text(-0.85, rows, first, fontsize=small, color="#868e96", **prose)
    if path is not None:
        from netlab.view.draw import save

        save(figure, path)
    _show_figures_in_notebooks()
    return figure


def _journey(axes: Any, journey: Journey, row: int, x: dict[str, int], start: float, small: float) -> bool:
    """Draw one packet's row; True if it looked different somewhere (NAT)."""
    seen = [p for p in journey.sightings if p.point in x]
    first = seen[0]
    colour = COLOURS.get(first.protocol, "#495057")
    axes.text(-0.85, row, f"+{first.timestamp - start:.6f} s", va="center", fontsize=small, color="#495057")
    xs = [x[p.point] for p in seen]
    if len(seen) > 1:
        axes.annotate(
            "",
            xy=(xs[-1], row),
            xytext=(xs[0], row),
            arrowprops={"arrowstyle": "-|>", "color": colour, "lw": 1.6, "shrinkA": 0, "shrinkB": 4},
            zorder=2,
        )
    for px in xs:
        axes.plot([px], [row], "o", color=colour, ms=5, zorder=3)
    labels = [short_label(p) for p in seen]
    if len(set(labels)) == 1:  # the same everywhere: one label, over the middle of the arrow
        axes.text(sum(xs) / len(xs), row - 0.1, labels[0], ha="center", va="bottom", fontsize=small, color=colour)
        return False
    for px, text in zip(xs, labels, strict=True):
        changed = text != labels[0]
        axes.text(
            px,
            row - 0.1,
            text,
            ha="center",
            va="bottom",
            fontsize=small,
            color=REWRITTEN if changed else colour,
            weight="bold" if changed else "normal",
            bbox={"fc": "white", "ec": "none", "alpha": 0.8, "pad": 0.5},
        )
    return True


def _show_figures_in_notebooks() -> None:
    """Let a Figure returned as a cell's last value show as a picture (our figures skip pyplot)."""
    import sys

    if "IPython" not in sys.modules:
        return
    from IPython import get_ipython
    from matplotlib.figure import Figure

    shell = get_ipython()
    if shell is None:
        return
    formatter = shell.display_formatter.formatters["image/png"]
    try:
        formatter.lookup_by_type(Figure)
    except KeyError:
        from netlab.view.draw import figure_png

        formatter.for_type(Figure, figure_png)


# -- in a notebook: a download link and the live view -----------------------------------------


class Html(str):
    """Text that a notebook shows as HTML (a link, a table)."""

    def _repr_html_(self) -> str:
        return str(self)


def pcap_link(packets: Packets, *, name: str = "capture.pcap") -> Html:
    """A link that downloads the packets as a pcap file (for Wireshark), from the page itself."""
    if isinstance(packets, Capture):
        data = packets.pcap()
        count = len(packets)
    else:
        captured = _list(packets)
        from io import BytesIO

        from netlab.plumbing.frames import write_pcap

        out = BytesIO()
        count = write_pcap(out, ((p.timestamp, p.frame, p.length) for p in captured))
        data = out.getvalue()
    href = "data:application/vnd.tcpdump.pcap;base64," + base64.b64encode(data).decode("ascii")
    return Html(
        f"<a download='{html.escape(name)}' href='{href}' class='netlab-pcap'>"
        f"⬇ {html.escape(name)}</a> "
        + _("({count} packets, {size} bytes: open it in Wireshark, or {command})").format(
            count=count, size=len(data), command=f"<code>tcpdump -nr {html.escape(name)}</code>"
        )
    )


class LiveCapture:
    """A table that grows while ``capture`` runs; when it ends, a pcap download link."""

    def __init__(self, capture: Capture, *, rows: int = 30, every: float = 0.25, name: str = "capture.pcap"):
        import ipywidgets as widgets

        self.capture = capture
        self.rows, self.every, self.name = rows, every, name
        self.status = widgets.HTML()
        self.table = widgets.HTML()
        self.link = widgets.HTML()
        self.stop_button = widgets.Button(description=_("Stop"), icon="stop", button_style="warning")
        self.stop_button.on_click(lambda _button: self.capture.stop())  # the watcher then shows the link
        self.widget = widgets.VBox([widgets.HBox([self.stop_button, self.status]), self.table, self.link])
        self._shown = -1  # how many packets the table shows
        self._lock = threading.Lock()
        self.refresh()
        self._watcher = threading.Thread(target=self._watch, name="netlab-capture-view", daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        """Every ``every`` seconds, show what is new, until the capture ends; then the pcap link."""
        while not self.capture.wait(self.every):
            if len(self.capture) != self._shown:
                self.refresh()
        self.refresh()

    def refresh(self) -> None:
        """Show the capture as it is now: set the widgets' values (safe from any thread)."""
        with self._lock:
            cap = self.capture
            self._shown = len(cap)
            where = ", ".join(p.label for p in cap.points)
            state = _("capturing") if cap.running else _("not started") if cap.started is None else _("stopped")
            drops = _(", {count} dropped by the kernel").format(count=cap.dropped) if cap.dropped else ""
            self.status.value = _("{state} on {where}: {count} packets{drops}").format(
                state=f"<b>{state}</b>", where=html.escape(where), count=len(cap), drops=drops
            )
            self.table.value = table_html(list(cap), limit=self.rows)
            if not cap.running and cap.started is not None:
                self.stop_button.disabled = True
                self.link.value = str(pcap_link(cap, name=self.name))

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


def live(capture: Capture, *, rows: int = 30, name: str = "capture.pcap") -> LiveCapture:
    """The live view of a running capture (show it as a cell's last value)."""
    return LiveCapture(capture, rows=rows, name=name)


def _register_display() -> None:
    """Show a Capture as its packet table in a notebook (IPython's HTML formatter)."""
    import sys

    if "IPython" not in sys.modules:
        return
    from IPython import get_ipython

    shell = get_ipython()
    if shell is not None:
        shell.display_formatter.formatters["text/html"].for_type(Capture, lambda cap: table_html(list(cap)))


_register_display()
