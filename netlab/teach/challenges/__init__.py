"""Challenges: a starting state built for you, a task, and a check that says what is missing.

Each challenge builds its starting world in a ``Lab`` (so it is taken down again, whatever you
added inside its namespaces), tells you the task, and checks the kernel's state when you ask::

    ch = challenges.router()
    print(ch.task)
    ...                      # your ip commands or netlab calls
    ch.check()               # ✘ not yet ... hint: ...
    ch.close()               # removes the lab and the devices the task asked you to create

Reference solutions live outside the notebooks folder (``solutions/challenges.py``), so that
scrolling never gives them away; the tests run each one against its check.
"""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from netlab import links
from netlab.enter import call
from netlab.lab.lab import Lab
from netlab.teach import checks
from netlab.teach.checks import CheckResult

__all__ = ["Challenge", "isolated_bridge", "deleted_namespace", "nat", "publish", "router"]

INTERNET = "203.0.113.1"  # the simulated internet's server (a documentation address)
UPLINK = "203.0.113.2"  # the root namespace's address towards it

WEB_SERVER = """
import http.server
class Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"hello from c1\\n")
    def log_message(self, *args): pass
http.server.HTTPServer(("0.0.0.0", 80), Page).serve_forever()
"""


@dataclass
class Challenge:
    """A starting state (``lab``), a ``task`` in words, and the ``check`` of the goal."""

    name: str
    task: str
    lab: Lab
    checker: Callable[[], CheckResult]
    leftovers: list[str] = field(default_factory=list)  # root-namespace devices the task creates
    facts: dict[str, object] = field(default_factory=dict)
    baseline: set[str] = field(default_factory=lambda: {link.name for link in links.list()})

    def check(self) -> CheckResult:
        """Look at the kernel now: done, or what is missing and a hint."""
        return self.checker()

    def answer(self, value: object) -> CheckResult:
        """Give an answer (for challenges that ask a question) and check it."""
        self.facts["answer"] = value
        return self.check()

    def close(self) -> None:
        """Take the starting state down, and the root-namespace devices the task asked you to make."""
        try:
            self.lab.close()
        finally:
            present = {link.name for link in links.list()}
            for name in self.leftovers:
                if name in present and name not in self.baseline:  # made after the challenge began
                    links.delete(name)
            # Veths whose other end was in a deleted namespace go away too, a moment later: the
            # kernel frees a namespace's devices in the background. Wait for that, briefly.
            deadline = time.monotonic() + 3
            while {link.name for link in links.list()} - self.baseline and time.monotonic() < deadline:
                time.sleep(0.05)

    def __repr__(self) -> str:
        return f"Challenge {self.name!r}:\n{self.task}"


def _internet(lab: Lab) -> None:
    """The simulated internet: namespace ``internet`` at 203.0.113.1, reached through ``uplink``."""
    lab.netns("internet")
    lab.connect("internet", address=f"{INTERNET}/24", host_ifname="uplink", host_address=f"{UPLINK}/24")


def isolated_bridge() -> Challenge:
    """Two containers on a bridge that reach each other, but not the internet."""
    lab = Lab("challenge_isolated")
    for name in ("c1", "c2"):
        lab.netns(name)
    _internet(lab)
    lab.sysctl("net.ipv4.ip_forward", 1)
    lab.masquerade("10.0.0.0/24", out="uplink")
    task = (
        "Containers c1 and c2 exist, with nothing but lo. Put them on a new bridge br0 in the root\n"
        "namespace, c1 as 10.0.0.2/24 and c2 as 10.0.0.3/24, so that they ping each other, while\n"
        f"neither can reach the internet server {INTERNET} (forwarding and NAT are already on here!)."
    )
    return Challenge(
        "isolated bridge",
        task,
        lab,
        lambda: checks.bridge_isolated_from_internet(
            {"c1": "10.0.0.2", "c2": "10.0.0.3"}, bridge="br0", internet=INTERNET
        ),
        leftovers=["br0"],
    )


def router() -> Challenge:
    """A router namespace joining two subnets."""
    lab = Lab("challenge_router")
    for name in ("left", "right", "router"):
        lab.netns(name)
    task = (
        "Namespaces left, right and router exist. Connect left to router (10.0.1.2/24 <-> 10.0.1.1/24)\n"
        "and router to right (10.0.2.1/24 <-> 10.0.2.2/24) with veth pairs, and make left and right\n"
        "ping each other through router. (What must router do with packets that are not for it?)"
    )
    return Challenge(
        "router",
        task,
        lab,
        lambda: checks.router_between(
            "left", "right", router="router", right_address="10.0.2.2", left_address="10.0.1.2"
        ),
    )


def nat() -> Challenge:
    """NAT, so that a namespace reaches the simulated internet."""
    lab = Lab("challenge_nat")
    lab.bridge("br0")
    lab.add_address("br0", "10.0.0.1/24")
    lab.up("br0")
    lab.netns("c1")
    lab.connect("c1", address="10.0.0.2/24", gateway="10.0.0.1", bridge="br0")
    _internet(lab)
    task = (
        f"c1 (10.0.0.2) sits on bridge br0 with a default route via 10.0.0.1. Make it reach the\n"
        f"internet server {INTERNET} (namespace internet, behind the root's uplink {UPLINK}), so that\n"
        f"the server sees the root's address {UPLINK}, not 10.0.0.2."
    )
    return Challenge(
        "nat", task, lab, lambda: checks.nat_to_internet("c1", internet="internet", address=INTERNET), leftovers=[]
    )


def publish() -> Challenge:
    """Publish a port of an HTTP server running in a namespace."""
    challenge = nat()
    lab = challenge.lab
    try:
        lab.sysctl("net.ipv4.ip_forward", 1)
        lab.masquerade("10.0.0.0/24", out="uplink")
        lab.popen("c1", [sys.executable, "-c", WEB_SERVER])
        _wait_for_listener("c1", 80)
    except BaseException:
        lab.close()
        raise
    challenge.name = "publish"
    challenge.task = (
        f"A web server runs in c1 on port 80. Publish it on the root namespace's port 8080, so that\n"
        f"the internet namespace gets its page from http://{UPLINK}:8080/ (like docker run -p 8080:80)."
    )
    challenge.checker = lambda: checks.port_published(8080, address=UPLINK, client="internet", expect="hello from c1")
    return challenge


def deleted_namespace() -> Challenge:
    """Find which process keeps a deleted namespace alive."""
    lab = Lab("challenge_ghost")
    lab.netns("ghost")
    sleeper = lab.popen("ghost", ["sleep", "3600"])
    ghost_inode = lab.record.find("netns", name="ghost")["inode"]
    lab.delete_netns("ghost")
    challenge = Challenge(
        "deleted namespace",
        (
            "A namespace called ghost was deleted (ip netns delete ghost), yet it is still alive: a process\n"
            f"keeps it. Its inode was {ghost_inode}. Find that process, and give its pid with .answer(PID)."
        ),
        lab,
        lambda: checks.deleted_namespace_holder(challenge.facts.get("answer", -1), inode=ghost_inode),
        facts={"inode": ghost_inode, "pid": sleeper.pid},
    )
    return challenge


def _wait_for_listener(ns: str, port: int, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        probe = call(ns, socket.socket)
        try:
            probe.settimeout(0.2)
            probe.connect(("127.0.0.1", port))
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
        finally:
            probe.close()
