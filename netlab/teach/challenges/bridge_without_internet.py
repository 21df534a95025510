"""Challenge: two containers on a bridge that reach each other, but not the internet.

The world starts with forwarding and NAT on, so a bridge with an address and a default route
would lead straight out: the check pings both ways, and towards the internet it must fail.
"""

from __future__ import annotations

from netlab.plumbing.i18n import N_, _
from netlab.teach import checks
from netlab.teach.challenges.base import INTERNET, Challenge, internet, new_lab

__all__ = ["isolated_bridge"]


def isolated_bridge() -> Challenge:
    """Two containers on a bridge that reach each other, but not the internet."""
    lab = new_lab("challenge_isolated")
    for name in ("c1", "c2"):
        lab.netns(name)
    internet(lab)
    lab.sysctl("net.ipv4.ip_forward", 1)
    lab.masquerade("10.0.0.0/24", out="uplink")
    task = _(
        "Containers c1 and c2 exist, with nothing but lo. Put them on a new bridge br0 in the root\n"
        "namespace, c1 as 10.0.0.2/24 and c2 as 10.0.0.3/24, so that they ping each other, while\n"
        "neither can reach the internet server {internet} (forwarding and NAT are already on here!)."
    ).format(internet=INTERNET)
    return Challenge(
        N_("isolated bridge"),
        task,
        lab,
        lambda: checks.bridge_isolated_from_internet(
            {"c1": "10.0.0.2", "c2": "10.0.0.3"}, bridge="br0", internet=INTERNET
        ),
        leftovers=["br0"],
    )
