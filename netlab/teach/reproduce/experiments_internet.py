"""Experiments of the article's two bullets on internet access (A10a-A10d), which have no commands.

"Create a bridge in the root namespace for the namespaces' veths; set ip_forward and the
matching NAT." Each part is shown necessary: containers on a bridge (A10a), no forwarding, no
passage (A10b), no NAT, no way back (A10c), and all three together (A10d). The "internet" is a
namespace at 203.0.113.1 (reserved for documentation: never a real host) behind an uplink veth.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from netlab.plumbing.i18n import _
from netlab.teach.reproduce.results import Observation
from netlab.teach.reproduce.scene import Scene

if TYPE_CHECKING:
    from netlab.lab.lab import Lab

__all__ = ["bridge_joins_containers", "forwarding_is_needed", "masquerade_works", "nat_is_needed"]


def _containers_on_a_bridge(scene: Scene) -> Lab:
    lab = scene.lab()
    lab.bridge("br0")
    lab.add_address("br0", "10.0.0.1/24")
    lab.up("br0")
    for name, address in (("c1", "10.0.0.2/24"), ("c2", "10.0.0.3/24")):
        lab.netns(name)
        lab.connect(name, address=address, gateway="10.0.0.1", bridge="br0")
    return lab


def _with_an_internet(scene: Scene) -> Lab:
    lab = _containers_on_a_bridge(scene)
    lab.netns("internet")
    lab.connect("internet", address="203.0.113.1/24", host_ifname="uplink", host_address="203.0.113.2/24")
    return lab


_UNANSWERED = 0.5  # seconds to wait for what must not arrive; what must arrive returns at once


def _replied(ok: bool) -> str:
    return _("replied") if ok else _("no reply")


def bridge_joins_containers(scene: Scene) -> Observation:
    """A10a: a bridge in the root namespace with the containers' veths as ports."""
    lab = _containers_on_a_bridge(scene)
    ports = sorted(d["ifname"] for d in scene.look_json("ip", "-j", "link", "show", "master", "br0"))
    scene.look("ip", "-br", "link", "show", "master", "br0")
    neighbour = lab.ping("c1", "10.0.0.3", timeout=2)
    gateway = lab.ping("c1", "10.0.0.1", timeout=2)
    scene.kit('lab.ping("c1", "10.0.0.3"), lab.ping("c1", "10.0.0.1")', f"{neighbour}\n{gateway}")
    scene.snapshot()
    return Observation(
        _("br0's ports: {ports}; c1 -> c2: {neighbour}; c1 -> gateway 10.0.0.1 (br0): {gateway}").format(
            ports=_(", ").join(ports) or _("none"),
            neighbour=_replied(neighbour.ok),
            gateway=_replied(gateway.ok),
        ),
        ok=ports == ["v-c1", "v-c2"] and neighbour.ok and gateway.ok,
        note=_("The bridge is a switch for the root ends of the veths; its own address is the containers' gateway."),
    )


def forwarding_is_needed(scene: Scene) -> Observation:
    """A10b: with ip_forward=0 nothing passes from c1 to the internet; with 1 it does."""
    lab = _with_an_internet(scene)
    inherited = scene.look("sysctl", "-n", "net.ipv4.ip_forward", comment=_("the value this namespace started with"))
    lab.sysctl("net.ipv4.ip_forward", 0)
    blocked = lab.probe("c1", "203.0.113.1", 8000, server="internet", proto="udp", timeout=_UNANSWERED)
    lab.sysctl("net.ipv4.ip_forward", 1)
    inside_c1 = scene.look(
        "ip", "netns", "exec", "c1", "sysctl", "net.ipv4.ip_forward", comment=_("each namespace has its own")
    ).stdout.strip()
    passed = lab.probe("c1", "203.0.113.1", 8000, server="internet", proto="udp", timeout=2)
    scene.kit(
        'lab.probe("c1", "203.0.113.1", 8000, server="internet", proto="udp")  # forwarding 0, then 1',
        f"{blocked}\n{passed}",
    )
    return Observation(
        _("ip_forward=0: {blocked}; ip_forward=1: {passed}; inside c1: {inside}").format(
            blocked=_("a datagram arrived (!)") if blocked.ok else _("nothing arrived"),
            passed=_("the internet received the datagram") if passed.ok else _("still nothing"),
            inside=inside_c1,
        ),
        ok=not blocked.ok and passed.ok,
        note=_(
            "This namespace started with ip_forward={value}: by default a new namespace copies its IPv4 settings "
            "from the machine's initial one (net.core.devconf_inherit_init_net), so set it explicitly, as Docker does."
        ).format(value=inherited.stdout.strip() or "?"),
    )


def nat_is_needed(scene: Scene) -> Observation:
    """A10c: forwarding alone: the internet sees 10.0.0.2 and has no way back to it."""
    lab = _with_an_internet(scene)
    lab.sysctl("net.ipv4.ip_forward", 1)
    datagram = lab.probe("c1", "203.0.113.1", 8000, server="internet", proto="udp", timeout=2)
    connection = lab.probe("c1", "203.0.113.1", 8000, server="internet", timeout=_UNANSWERED)
    scene.kit(
        'lab.probe("c1", "203.0.113.1", 8000, server="internet", proto="udp"); ... proto="tcp"',
        f"{datagram}\n{connection}",
    )
    routes = scene.look("ip", "-n", "internet", "route").stdout
    seen = datagram.seen_from[0] if datagram.seen_from else None
    return Observation(
        _("udp: the internet saw source {source}; tcp: {tcp}; {route}").format(
            source=seen or _("nothing"),
            tcp=_("connected (!)") if connection.ok else _("no answer ({error})").format(error=connection.error or "?"),
            route=_("the internet has a route to 10.0.0.0/24")
            if "10.0.0.0/24" in routes
            else _("the internet has no route to 10.0.0.0/24"),
        ),
        ok=seen == "10.0.0.2" and not connection.ok and "10.0.0.0/24" not in routes,
        note=_("Private addresses are not routed on the internet: replies to 10.0.0.2 have nowhere to go."),
    )


def masquerade_works(scene: Scene) -> Observation:
    """A10d: with masquerading, c1 reaches the internet, which sees the uplink's address."""
    lab = _with_an_internet(scene)
    lab.sysctl("net.ipv4.ip_forward", 1)
    lab.masquerade("10.0.0.0/24", out="uplink")
    scene.look("nft", "list", "table", "inet", lab.table)
    connection = lab.probe("c1", "203.0.113.1", 8000, server="internet", timeout=2)
    echo = lab.ping("c1", "203.0.113.1", timeout=2)
    scene.kit(
        'lab.probe("c1", "203.0.113.1", 8000, server="internet"); lab.ping("c1", "203.0.113.1")',
        f"{connection}\n{echo}",
    )
    scene.snapshot()
    local = connection.local[0] if connection.local else None
    seen = connection.seen_from[0] if connection.seen_from else None
    return Observation(
        _("tcp: c1 connected from {local}, the internet saw {seen}; ping c1 -> 203.0.113.1: {echo}").format(
            local=local or "?",
            seen=_("{address} (masqueraded)").format(address=seen or _("nothing"))
            if connection.nat
            else seen or _("nothing"),
            echo=_replied(echo.ok),
        ),
        ok=connection.ok and connection.nat and local == "10.0.0.2" and seen == "203.0.113.2" and echo.ok,
        note=_(
            "Docker's recipe: bridge + default route via it + ip_forward + masquerade. The 'internet' here is a "
            "namespace at 203.0.113.1; nothing left this machine."
        ),
    )
