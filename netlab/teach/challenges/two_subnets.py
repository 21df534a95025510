"""Challenge: a router namespace joining two subnets (left 10.0.1.0/24, right 10.0.2.0/24).

Two veth pairs, four addresses, two default routes, and the one setting a router needs:
forwarding, in the router's own namespace.
"""

from __future__ import annotations

from netlab.plumbing.i18n import N_, _
from netlab.teach import checks
from netlab.teach.challenges.base import Challenge, new_lab

__all__ = ["router"]


def router() -> Challenge:
    """A router namespace joining two subnets."""
    lab = new_lab("challenge_router")
    for name in ("left", "right", "router"):
        lab.netns(name)
    task = _(
        "Namespaces left, right and router exist. Connect left to router (10.0.1.2/24 <-> 10.0.1.1/24)\n"
        "and router to right (10.0.2.1/24 <-> 10.0.2.2/24) with veth pairs, and make left and right\n"
        "ping each other through router. (What must router do with packets that are not for it?)"
    )
    return Challenge(
        N_("router"),
        task,
        lab,
        lambda: checks.router_between(
            "left", "right", router="router", right_address="10.0.2.2", left_address="10.0.1.2"
        ),
    )
