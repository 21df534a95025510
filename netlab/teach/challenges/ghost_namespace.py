"""Challenge: a deleted namespace that is still alive. Which process keeps it?

``ip netns delete`` only removes the name; the namespace lives while something holds it.
"""

from __future__ import annotations

from netlab import inodes
from netlab.lab.lab import Lab
from netlab.plumbing.i18n import N_, _
from netlab.teach import checks
from netlab.teach.challenges.base import Challenge

__all__ = ["deleted_namespace"]


def deleted_namespace() -> Challenge:
    """Find which process keeps a deleted namespace alive."""
    lab = Lab("challenge_ghost")
    lab.netns("ghost")
    sleeper = lab.popen("ghost", ["sleep", "3600"])
    ghost_inode = inodes.inode("ghost")
    lab.delete_netns("ghost")
    challenge = Challenge(
        N_("deleted namespace"),
        _(
            "A namespace called ghost was deleted (ip netns delete ghost), yet it is still alive: a process\n"
            "keeps it. Its inode was {inode}. Find that process, and give its pid with .answer(PID)."
        ).format(inode=ghost_inode),
        lab,
        lambda: checks.deleted_namespace_holder(_pid(challenge.facts.get("answer")), inode=ghost_inode),
        facts={"inode": ghost_inode, "pid": sleeper.pid},
    )
    return challenge


def _pid(answer: object) -> int:
    """The answer as a pid (``1234`` or ``"1234"``); anything else is no process (-1)."""
    try:
        return int(str(answer))
    except ValueError:
        return -1
