"""Experiments of the article's second part, configuration: A4 which devices move, A5-A9 a veth pair.

The article connects netns1 to the root namespace with a veth pair, addresses both ends with
``ifconfig``, and pings across. Which devices may live in which namespace (A4) is where it says
too much; where its second ping ran (A9) is what its text cannot show.
"""

from __future__ import annotations

import shutil
import subprocess

from netlab.plumbing.i18n import _
from netlab.teach.reproduce.results import Observation
from netlab.teach.reproduce.scene import Scene
from netlab.teach.reproduce.steps import add_link, add_netns, configured_pair, ifconfig_up, veth_pair_into_netns1

__all__ = [
    "a_connected_pair",
    "addressed_in_netns1",
    "addressed_in_root",
    "moved_into_netns1",
    "ping_both_ways",
    "which_devices_move",
]


_MOVABLE = {  # kind -> how `ip link add NAME ...` makes one (a macvlan stacks on veth0, as on a real NIC)
    "macvlan": ("mv0", ("link", "veth0", "type", "macvlan")),
    "vxlan": ("vx0", ("type", "vxlan", "id", "42", "dstport", "4789")),
}


def which_devices_move(scene: Scene) -> Observation:
    """A4: lo and bridges are netns-local; veth, macvlan, vxlan (and physical NICs) move."""
    add_netns(scene, "netns1")
    add_netns(scene, "netns2")
    lo = scene.do("ip", "netns", "exec", "netns1", "ip", "link", "set", "lo", "netns", "netns2", check=False)
    add_link(scene, "br-try", "type", "bridge")
    bridge = scene.do("ip", "link", "set", "br-try", "netns", "netns2", check=False)
    made_inside = scene.do("ip", "-n", "netns1", "link", "add", "br-in", "type", "bridge", check=False)
    add_link(scene, "veth0", "type", "veth", "peer", "name", "veth1")
    moved: dict[str, bool | None] = {
        "veth": scene.do("ip", "link", "set", "veth1", "netns", "netns2", check=False).returncode == 0
    }
    for kind, (name, spec) in _MOVABLE.items():
        if not add_link(scene, name, *spec, check=False):
            moved[kind] = None  # this kernel cannot make one
            continue
        moved[kind] = scene.do("ip", "link", "set", name, "netns", "netns2", check=False).returncode == 0
    scene.look("ip", "-n", "netns2", "-br", "link")
    scene.snapshot()

    def refusal(proc: subprocess.CompletedProcess) -> str:
        if proc.returncode == 0:
            return _("moved (!)")
        return _("refused ({error})").format(error=proc.stderr.strip() or _("error"))

    def outcome(ok: bool | None) -> str:
        return _("moved") if ok else _("not available on this kernel") if ok is None else _("refused (!)")

    kinds = _(", ").join(_("{kind}: {outcome}").format(kind=kind, outcome=outcome(ok)) for kind, ok in moved.items())
    return Observation(
        _("lo: {lo}; bridge: {bridge}; a bridge created inside netns1: {inside}; {kinds}").format(
            lo=refusal(lo),
            bridge=refusal(bridge),
            inside=_("fine") if made_inside.returncode == 0 else _("failed"),
            kinds=kinds,
        ),
        ok=lo.returncode != 0
        and bridge.returncode != 0
        and made_inside.returncode == 0
        and moved["veth"] is True
        and all(ok is not False for ok in moved.values()),
        note=_("No physical NIC was moved: the sandbox has none, and moving yours would take your connection away."),
    )


def a_connected_pair(scene: Scene) -> Observation:
    """A5: one command makes both ends, each the other's peer."""
    add_link(scene, "veth0", "type", "veth", "peer", "name", "veth1")
    scene.look("ip", "-br", "link", "show", "type", "veth")
    ends = {d["ifname"]: d.get("link") for d in scene.look_json("ip", "-j", "link", "show", "type", "veth")}
    return Observation(
        _("; ").join(_("{name}'s peer is {peer}").format(name=name, peer=peer) for name, peer in sorted(ends.items()))
        or _("no veth devices"),
        ok=ends == {"veth0": "veth1", "veth1": "veth0"},
        note=_("That they are connected (a packet into one comes out of the other) is proven by A9's pings."),
    )


def moved_into_netns1(scene: Scene) -> Observation:
    """A6: after the move, veth1 is visible only inside netns1."""
    veth_pair_into_netns1(scene)
    in_root = scene.look("ip", "link", "show", "veth1").returncode == 0
    inside = scene.look("ip", "netns", "exec", "netns1", "ip", "-br", "link", "show", "veth1").returncode == 0
    scene.look("ip", "-br", "link", "show", "veth0")
    veth0 = (scene.look_json("ip", "-j", "link", "show", "veth0") or [{}])[0]
    scene.snapshot()
    return Observation(
        _(
            "{root}, {netns1}; veth0 now names its peer by ifindex {index} in namespace id {nsid} "
            "(ip shows veth0@if{index})"
        ).format(
            root=_("veth1 still in the root namespace") if in_root else _("veth1 no longer in the root namespace"),
            netns1=_("present in netns1") if inside else _("absent in netns1"),
            index=veth0.get("link_index", "?"),
            nsid=veth0.get("link_netnsid", "?"),
        ),
        ok=not in_root and inside and "link_netnsid" in veth0,
        note=_(
            "A device belongs to exactly one namespace; a veth pair is how two namespaces share a cable. "
            "The article's comment says 'assign veth1 to veth1': it means to netns1."
        ),
    )


def addressed_in_netns1(scene: Scene) -> Observation:
    """A7: the article's line as printed is unfinished shell; without the backtick it works."""
    veth_pair_into_netns1(scene)
    shell = "bash" if shutil.which("bash") else "sh"
    printed = scene.look(
        shell,
        "-n",
        "-c",
        "ip netns exec netns1 ifconfig veth1 10.1.1.1/24 up`",
        comment=_("-n: read the article's line as printed, run nothing"),
    )
    ifconfig_up(scene, "veth1", "10.1.1.1/24", netns="netns1")
    scene.look("ip", "netns", "exec", "netns1", "ip", "-br", "addr", "show", "veth1")
    veth1 = (scene.look_json("ip", "-n", "netns1", "-j", "addr", "show", "veth1") or [{}])[0]
    addresses = [f"{a['local']}/{a['prefixlen']}" for a in veth1.get("addr_info", []) if a.get("family") == "inet"]
    up = "UP" in veth1.get("flags", [])
    shell_error = printed.stderr.strip().splitlines()[0] if printed.returncode != 0 and printed.stderr.strip() else ""
    return Observation(
        _(
            "as printed, {shell} refuses the line ({error}); without the backtick: veth1 has {addresses}, is {state}, "
            "state {operstate}"
        ).format(
            shell=shell,
            error=shell_error or _("accepted it"),
            addresses=_(", ").join(addresses) or _("no IPv4 address"),
            state="UP" if up else "DOWN",
            operstate=veth1.get("operstate", "?"),
        ),
        ok=printed.returncode != 0 and addresses == ["10.1.1.1/24"] and up,
        note=_("State LOWERLAYERDOWN: veth1 is up, but its other end veth0 is not yet, so it has no carrier."),
    )


def addressed_in_root(scene: Scene) -> Observation:
    """A8: the root end, and the connected routes each namespace gets by itself."""
    veth_pair_into_netns1(scene)
    ifconfig_up(scene, "veth1", "10.1.1.1/24", netns="netns1")
    ifconfig_up(scene, "veth0", "10.1.1.2/24")
    scene.look("ip", "-br", "addr", "show", "veth0")
    root_route = scene.look("ip", "route", "show", "10.1.1.0/24").stdout.strip()
    inner_route = scene.look("ip", "netns", "exec", "netns1", "ip", "route").stdout.strip()
    states = {
        d["ifname"]: d.get("operstate")
        for d in scene.look_json("ip", "-j", "link", "show", "veth0")
        + scene.look_json("ip", "-n", "netns1", "-j", "link", "show", "veth1")
    }
    addresses = [
        f"{a['local']}/{a['prefixlen']}"
        for d in scene.look_json("ip", "-j", "addr", "show", "veth0")
        for a in d.get("addr_info", [])
        if a.get("family") == "inet"
    ]
    return Observation(
        _("veth0 has {addresses}; states {states}; connected routes: root '{root}', netns1 '{netns1}'").format(
            addresses=_(", ").join(addresses) or _("no IPv4 address"),
            states=states,
            root=root_route,
            netns1=inner_route,
        ),
        ok=addresses == ["10.1.1.2/24"]
        and states == {"veth0": "UP", "veth1": "UP"}
        and "dev veth0" in root_route
        and "10.1.1.0/24 dev veth1" in inner_route,
        note=_("The kernel adds a connected route when an address is added; each namespace has its own table."),
    )


# What bash's usual prompt (\\u@\\h:\\w#) is made of: user, host name, directory.
_PROMPT = 'echo "$(id -un)@$(uname -n):$PWD#"'


def _ping(scene: Scene, address: str, *, netns: str | None = None, comment: str = "") -> bool:
    inside = ["ip", "netns", "exec", netns] if netns else []
    return scene.do(*inside, "ping", "-c", "1", "-W", "2", address, check=False, comment=comment).returncode == 0


def _route(scene: Scene, address: str, *, netns: str | None = None) -> str:
    """The first line of ``ip route get ADDRESS``: which way a packet to it leaves."""
    inside = ["ip", "netns", "exec", netns] if netns else []
    out = scene.look(*inside, "ip", "route", "get", address).stdout.strip()
    return out.splitlines()[0].strip() if out else ""


def ping_both_ways(scene: Scene) -> Observation:
    """A9: the first ping crosses the pair; where the second ran the text does not show: both readings."""
    configured_pair(scene)
    there = _ping(scene, "10.1.1.1", comment=_("the article's first ping, at root@ubuntu:/run/netns#"))
    scene.comment(_("the second ping's prompt, root@ubuntu:/home/bytedance#, is user@host:directory; in each place:"))
    root_prompt = scene.look("sh", "-c", _PROMPT).stdout.strip()
    inner_prompt = scene.look(
        "ip", "netns", "exec", "netns1", "sh", "-c", _PROMPT, comment=_("a shell opened with ip netns exec netns1")
    ).stdout.strip()
    scene.comment(_("reading 1: the second ping ran in the root namespace"))
    as_root = _ping(scene, "10.1.1.2")
    root_route = _route(scene, "10.1.1.2")
    scene.comment(_("reading 2: it ran in a shell inside netns1"))
    as_netns1 = _ping(scene, "10.1.1.2", netns="netns1")
    inner_route = _route(scene, "10.1.1.2", netns="netns1")
    scene.snapshot()
    local = root_route.startswith("local 10.1.1.2") and " dev lo " in f"{root_route} "
    crosses = " dev veth1 " in f"{inner_route} "
    same = bool(root_prompt) and root_prompt == inner_prompt

    def replied(ok: bool) -> str:
        return _("replied") if ok else _("no reply")

    return Observation(
        _(
            "root -> 10.1.1.1: {there}. The second prompt looks {same} in both places (root: '{root_prompt}', "
            "netns1: '{netns1_prompt}'). Read as the root: 10.1.1.2 {as_root}, its own address ({root_route}), "
            "not across the pair. Read as netns1: 10.1.1.2 {as_netns1} across the pair ({netns1_route})"
        ).format(
            there=replied(there),
            same=_("the same") if same else _("different"),
            root_prompt=root_prompt,
            netns1_prompt=inner_prompt,
            as_root=replied(as_root),
            root_route=root_route,
            as_netns1=replied(as_netns1),
            netns1_route=inner_route,
        ),
        ok=there and same and as_root and local and as_netns1 and crosses,
        note=_("To test the way back without doubt, name the namespace: `ip netns exec netns1 ping 10.1.1.2`."),
    )
