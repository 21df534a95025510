"""A lesson's own door in the machine's firewall, and forwarding off where a lesson shows why it matters.

A lived-in machine may drop what it is not told to accept: ``iptables -P INPUT DROP`` on a server,
Docker's ``-P FORWARD DROP``. The article's pings would then fail for a reason the lesson is not
about. So a lesson start lets the lesson's own devices through, with rules that name only those
devices, inserted first, marked with a comment, and says so::

    iptables-legacy -I INPUT -i veth0 -m comment --comment "netlab lesson 02" -j ACCEPT
    ip6tables-legacy -I INPUT -i veth0 -m comment --comment "netlab lesson 08" -j ACCEPT

The policy stays DROP and nothing else of the firewall changes. These are a lesson's rules like any
other (new since the baseline, by their exact text, and the lesson's): the next lesson start and
``netlab reset`` take them out again. A firewall written in nft itself is only named: an accept in
one nft chain cannot overrule a drop in another, so no rule of ours could open it.
"""

from __future__ import annotations

import json
import shutil

from netlab import sysctl
from netlab.enter import run
from netlab.errors import NetlabError
from netlab.lab.machine import iptables_commands
from netlab.plumbing.commands import quiet
from netlab.plumbing.i18n import _

__all__ = ["DOORS", "DOORS6", "forwarding_off", "open_doors"]

# Chain, direction and device: what each lesson's traffic needs to pass a firewall that drops by default.
_BRIDGE_AND_UPLINK = [
    ("INPUT", "-i", "br0"),
    ("INPUT", "-i", "uplink"),
    ("FORWARD", "-i", "br0"),
    ("FORWARD", "-o", "br0"),
]
DOORS: dict[str, list[tuple[str, str, str]]] = {
    "02": [("INPUT", "-i", "veth0")],
    "03": _BRIDGE_AND_UPLINK,
    "05": _BRIDGE_AND_UPLINK,
}
# ... and in ip6tables: lesson 08 pings netns1 from the root namespace over IPv6 (neighbour discovery
# is no reply to anything, so a firewall that accepts only established traffic drops it).
DOORS6: dict[str, list[tuple[str, str, str]]] = {
    "08": [("INPUT", "-i", "veth0")],
}
MARK = "netlab lesson"  # the comment every door carries


def _policies(saver: str) -> dict[str, str]:
    """The filter table's chain policies of one iptables backend, from ``iptables-save``'s ``:INPUT DROP``.

    (``iptables-legacy -S`` or ``-save -t filter`` would load an empty filter table where there was
    none: a plain save lists only the tables there are.)
    """
    proc = run(None, [saver])
    found, table = {}, None
    for line in proc.stdout.splitlines() if proc.returncode == 0 else []:
        if line.startswith("*"):
            table = line[1:].strip()
        elif line.startswith(":") and table == "filter":
            chain, policy, *_counts = line[1:].split()
            found[chain] = policy
    return found


def open_doors(lesson: str | None) -> list[str]:
    """Let the lesson's devices through every iptables chain whose policy drops; returns what was done."""
    said = []
    for command, saver in iptables_commands():
        doors = (DOORS6 if command.startswith("ip6") else DOORS).get(lesson or "", [])
        policies = _policies(saver) if doors else {}
        for chain, direction, device in doors:
            if policies.get(chain) not in ("DROP", "REJECT"):
                continue
            rule = [chain, direction, device, "-m", "comment", "--comment", f"{MARK} {lesson}", "-j", "ACCEPT"]
            if run(None, [command, "-C", *rule]).returncode == 0:
                continue  # open already
            if run(None, [command, "-I", *rule]).returncode == 0:
                said.append(
                    _("{tool} drops {chain} by default here: let {device} in ({command})").format(
                        tool=command, chain=chain, device=device, command=f"{command} -I {' '.join(rule[:3])} ..."
                    )
                )
    if (DOORS.get(lesson or "") or DOORS6.get(lesson or "")) and (name := _nft_dropping()):
        said.append(
            _(
                "nft table {table} drops by default: the lesson's pings may fail; netlab changes no rule of yours"
            ).format(table=name)
        )
    return said


# The tables iptables-nft makes, in the ip and ip6 families only (never inet: `table inet filter` is
# a firewall of its own, Debian's /etc/nftables.conf).
IPTABLES_TABLES = frozenset({"filter", "nat", "mangle", "raw", "security"})


def _nft_dropping() -> str | None:
    """The first nft table (not iptables' own) with a base chain whose policy is drop."""
    if shutil.which("nft") is None:
        return None
    proc = run(None, ["nft", "-j", "list", "chains"])
    if proc.returncode != 0:
        return None
    for item in json.loads(proc.stdout or "{}").get("nftables", []):
        chain = item.get("chain", {})
        iptables_own = chain.get("family") in ("ip", "ip6") and chain.get("table") in IPTABLES_TABLES
        if chain.get("policy") == "drop" and chain.get("hook") in ("input", "forward") and not iptables_own:
            return f"{chain['family']} {chain['table']}"
    return None


# Lessons that show what forwarding does: their "ping that must fail" needs it off.
FORWARDING_SHOWN = frozenset({"03"})


def forwarding_off(lesson: str | None) -> list[str]:
    """On a machine that forwards already (a Docker host), turn forwarding off for a lesson that shows
    why it matters; the next lesson start and ``netlab reset`` put the machine's value back."""
    if lesson not in FORWARDING_SHOWN:
        return []
    try:
        if sysctl.get("net.ipv4.ip_forward") != "1":
            return []
        with quiet():
            sysctl.set("net.ipv4.ip_forward", "0")
    except NetlabError:
        return []
    return [
        _(
            "this machine forwards packets (net.ipv4.ip_forward=1): lesson {lesson} turns it off to show why "
            "it matters; its last cell, the next lesson and `netlab reset` put 1 back"
        ).format(lesson=lesson)
    ]
