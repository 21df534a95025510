"""Challenge: NAT, so that a container reaches the simulated internet.

c1 sits on bridge br0 behind the root namespace; the internet namespace has no route back to
10.0.0.0/24, so forwarding alone is not enough: the root must masquerade c1's address.
"""

from __future__ import annotations

from netlab.plumbing.i18n import N_, _
from netlab.teach import checks
from netlab.teach.challenges.base import INTERNET, UPLINK, Challenge, internet, new_lab

__all__ = ["nat"]


def nat() -> Challenge:
    """NAT, so that a namespace reaches the simulated internet."""
    lab = new_lab("challenge_nat")
    lab.bridge("br0")
    lab.add_address("br0", "10.0.0.1/24")
    lab.up("br0")
    lab.netns("c1")
    lab.connect("c1", address="10.0.0.2/24", gateway="10.0.0.1", bridge="br0")
    internet(lab)
    task = _(
        "c1 (10.0.0.2) sits on bridge br0 with a default route via 10.0.0.1. Make it reach the\n"
        "internet server {internet} (namespace internet, behind the root's uplink {uplink}), so that\n"
        "the server sees the root's address {uplink}, not 10.0.0.2."
    ).format(internet=INTERNET, uplink=UPLINK)
    return Challenge(
        N_("nat"), task, lab, lambda: checks.nat_to_internet("c1", internet="internet", address=INTERNET), leftovers=[]
    )
