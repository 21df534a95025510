"""``netlab reproduce``: run every experiment of the article on this kernel, and say what holds.

The article (``namespace 5: Network namespaces``) makes claims in three kinds of sentences:
commands with their output, prose ("a new namespace has a loopback device"), and two bullets
with no commands at all ("create a bridge, set ip_forward and NAT"). Each claim is one row of
``CLAIMS`` below, written as data::

    Claim(id="A3",
          step="ip netns exec netns1 ip link list",          # the article's own words
          says="a new namespace has a loopback device",      # what the article claims
          expected="only lo, and it is DOWN",                # what a correct kernel shows
          check=lo_only_and_down,                            # does it, looks, answers
          inaccuracy=None)                                   # or: what the article gets wrong

A check is a small function that gets a ``Scene``, does the article's steps as you would type
them (through ``netlab.run``, so each command really runs), looks with independent tools
(``ip``, ``findmnt``, ``ls -i``, ``nsenter``, ``mount``) and with netlab, and returns an
``Observation``: what it saw, and whether that is what ``expected`` says. The scene writes
down every command and its output (the report prints this transcript) and undoes what the
check made, even when the check fails half-way. Each claim starts from a clean world and
repeats the article's earlier steps it needs, so one failing row never spoils the next.

The verdict of a row (``model`` explains how a claim's kind decides it):

    holds                      observed what the article says
    article inaccurate         observed what really happens, which is not what the article says
    depends on version         the article is right on some versions of its tools; the row says which,
                               and the versions found here (``ip -V``, ``lsns --version``, ``uname -r``)
                               decide what is expected (``versions``)
    cannot tell from the text  the text does not show enough to decide; every reading was run
    differs                    observed something else: this kernel or machine does not behave as expected
    error                      the experiment could not run (a missing tool, a refused operation)

``netlab reproduce`` exits with status 1 only if a row differs or errs. It always runs inside a
private sandbox (``netlab sandbox``): outside one it re-executes itself in a new one, and inside
one whose names the article needs are already in use (a learner's lab), in a nested, fresh one.
Nothing it does reaches the machine's own network; the "internet" of the NAT rows is a
namespace it makes.

The parts, each a module of this package::

    model.py                the data: Claim, Observation, Verdict, Result, Report
    versions.py             the tools' versions, and the decisions that depend on them
    scene.py                Scene: run commands, keep the transcript, undo everything
    steps.py                the article's steps that several claims repeat
    experiments_netns.py    A1-A3    basic management: add, delete, exec
    experiments_veth.py     A4-A9    configuration: devices, a veth pair, pings
    experiments_internet.py A10a-d   bridge, forwarding, NAT
    experiments_pinning.py  A11-A16  how ip netns works: unshare, bind mount, nsenter, umount
    claims.py               CLAIMS, the table
    runner.py               run_claim, reproduce, and ``command`` (``netlab reproduce``)
    report.py               the report in Markdown or HTML
"""

from __future__ import annotations

from netlab.teach.reproduce.claims import CLAIMS
from netlab.teach.reproduce.results import Claim, Observation, Report, Result, Verdict
from netlab.teach.reproduce.runner import command, reproduce, run_claim
from netlab.teach.reproduce.scene import Scene, StepFailed
from netlab.teach.reproduce.versions import Versions

__all__ = [
    "CLAIMS",
    "Claim",
    "Observation",
    "Report",
    "Result",
    "Scene",
    "StepFailed",
    "Verdict",
    "Versions",
    "command",
    "reproduce",
    "run_claim",
]
