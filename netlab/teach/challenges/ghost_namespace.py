"""Challenge: a deleted namespace that is still alive. Which process keeps it?

``ip netns delete`` only removes the name; the namespace lives while something holds it.
"""

from __future__ import annotations

import re

from netlab import inodes
from netlab.plumbing.i18n import N_, _
from netlab.teach import checks
from netlab.teach.challenges.base import Challenge, InvalidAnswerError, new_lab

__all__ = ["deleted_namespace"]


def deleted_namespace() -> Challenge:
    """Find which process keeps a deleted namespace alive."""
    lab = new_lab("challenge_ghost")
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
        read_answer=_read_pid,
    )
    return challenge


def _pid(answer: object) -> int:
    """The answer given (a pid, read by ``_read_pid``); -1 (no process) before any answer."""
    return answer if isinstance(answer, int) else -1


def _read_pid(challenge: Challenge, answer: object) -> int:
    """``1234`` or ``"1234"`` (copied from a terminal); anything else is refused, in one line."""
    text = answer.strip() if isinstance(answer, str) else answer
    if isinstance(text, int) and not isinstance(text, bool) and text >= 0:
        return text
    if isinstance(text, str) and re.fullmatch(r"[0-9]{1,10}", text):
        return int(text)
    raise InvalidAnswerError(
        _("{answer!r} is not a pid: the answer is a process id, a whole number like 4242").format(answer=answer),
        hint=_("give the pid you found: {call}").format(call=f"{challenge.variable}.answer(4242)"),
        subject=answer,
    )
