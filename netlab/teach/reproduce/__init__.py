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

The verdict of a row:

    holds               observed what the article says
    article inaccurate  observed what really happens, which is not quite what the article says
                        (the row says what really happens)
    differs             observed something else: this kernel or machine does not behave as expected
    error               the experiment could not run (a missing tool, a refused operation)

``netlab reproduce`` exits with status 1 if any row differs or errs. It always runs inside a
private sandbox (``netlab sandbox``): outside one it re-executes itself in a new one, and inside
one whose names the article needs are already in use (a learner's lab), in a nested, fresh one.
Nothing it does reaches the machine's own network; the "internet" of the NAT rows is a
namespace it makes.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from netlab.lab.lab import Lab
    from netlab.view.snapshot import Topology

__all__ = [
    "CLAIMS",
    "Claim",
    "Observation",
    "Report",
    "Result",
    "Scene",
    "Verdict",
    "command",
    "reproduce",
    "run_claim",
]

RUN_DIR = Path("/run/netns")  # where `ip netns` keeps its names (the article's /var/run/netns)
COMMAND_TIMEOUT = 30  # seconds; no step of the article takes more than a fraction of one
TRANSCRIPT_LINES = 14  # output lines kept per command in the report


# -- verdicts, claims and results ----------------------------------------------------------------


class Verdict(str, Enum):
    """How what we observed compares with what the article says."""

    HOLDS = "holds"
    INACCURATE = "article inaccurate"
    DIFFERS = "differs"
    ERROR = "error"

    @property
    def failed(self) -> bool:
        """A claim that should hold did not (or could not be tried): the run fails."""
        return self in (Verdict.DIFFERS, Verdict.ERROR)

    def __str__(self) -> str:
        return self.value


@dataclass
class Observation:
    """What a check saw (one sentence), and whether it is what the claim expects.

    ``note`` adds what the reader should know about this particular run (a tool that was
    missing and replaced, a number that differs from the article's for a good reason).
    """

    observed: str
    ok: bool
    note: str = ""


@dataclass(frozen=True)
class Claim:
    """One row of the article's step map: its words, what a correct kernel shows, and the check."""

    id: str
    step: str  # the article's command or sentence, verbatim
    says: str  # what the article claims, in English
    expected: str  # what must be observed for the claim to hold
    check: Callable[[Scene], Observation]
    inaccuracy: str | None = None  # where the article is wrong, and what really happens


@dataclass
class Result:
    """A claim after it ran: verdict, what was seen, the transcript and maybe a diagram."""

    claim: Claim
    verdict: Verdict
    observed: str
    note: str = ""
    transcript: str = ""
    diagram: Topology | None = None
    seconds: float = 0.0

    @property
    def what_really_happens(self) -> str:
        """For an inaccurate claim, the correction; otherwise empty."""
        return (self.claim.inaccuracy or "") if self.verdict is Verdict.INACCURATE else ""


@dataclass
class Report:
    """Every result, and the machine they were observed on (kernel, tool versions)."""

    results: list[Result]
    machine: list[tuple[str, str]] = field(default_factory=list)
    started: float = field(default_factory=time.time)
    seconds: float = 0.0

    def count(self, verdict: Verdict) -> int:
        return sum(result.verdict is verdict for result in self.results)

    @property
    def ok(self) -> bool:
        """True when no claim differs or errs (inaccurate claims are fine: we know the truth)."""
        return not any(result.verdict.failed for result in self.results)

    @property
    def exit_status(self) -> int:
        return 0 if self.ok else 1

    def summary(self) -> str:
        """``19 claims: 13 hold, 6 article inaccurate, 0 differ, 0 errors``."""
        plural = {
            Verdict.HOLDS: "hold",
            Verdict.INACCURATE: "article inaccurate",
            Verdict.DIFFERS: "differ",
            Verdict.ERROR: "errors",
        }
        claims = "claim" if len(self.results) == 1 else "claims"
        return f"{len(self.results)} {claims}: " + ", ".join(f"{self.count(v)} {plural[v]}" for v in Verdict)

    def markdown(self) -> str:
        from netlab.teach.reproduce.report import markdown

        return markdown(self)

    def html(self) -> str:
        from netlab.teach.reproduce.report import html

        return html(self)

    def write(self, path: str | os.PathLike, *, format: str | None = None) -> Path:
        """Write the report to ``path``: HTML (diagrams embedded) or Markdown, by ``format`` or suffix."""
        from netlab.teach.reproduce.report import write

        return write(self, Path(path), format=format)


# -- the scene: run the article's commands, keep a transcript, undo everything -------------------


class StepFailed(Exception):
    """A step of the article failed where it should not (its command's own words are the message)."""


class Scene:
    """One experiment's workspace.

    ``do`` runs one of the article's steps and ``look`` one observation, both as shell commands
    through ``netlab.run``; both go into the transcript with their output. ``kit`` notes what a
    netlab call returned. ``undo`` registers how to take back what a step made; ``close`` runs
    those newest first, whatever happened. A ``lab()`` is closed the same way, and its history
    (the ``ip``/``nft``/``sysctl`` commands it stands for) joins the transcript.
    """

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.diagram: Topology | None = None
        self._undo: list[Callable[[], object]] = []
        self._lab: Lab | None = None
        self._lab_seen = 0

    # The transcript ----------------------------------------------------------------------------

    def _sync_lab(self) -> None:
        if self._lab is not None:
            for line in self._lab.history[self._lab_seen :]:
                self.lines.append(f"$ {line}")
            self._lab_seen = len(self._lab.history)

    def _write(self, argv: Sequence[str], output: str, comment: str) -> None:
        self._sync_lab()
        self.lines.append(f"$ {shlex.join(argv)}" + (f"    # {comment}" if comment else ""))
        kept = output.rstrip("\n").splitlines()
        if len(kept) > TRANSCRIPT_LINES:
            kept = kept[:TRANSCRIPT_LINES] + [f"... ({len(kept) - TRANSCRIPT_LINES} more lines)"]
        self.lines.extend(kept)

    def comment(self, text: str) -> None:
        self._sync_lab()
        self.lines.append(f"# {text}")

    def kit(self, call: str, value: object) -> None:
        """Note what a netlab call answered (the kit's own view, next to the tools')."""
        self._sync_lab()
        self.lines.append(f">>> {call}")
        self.lines.append(str(value))

    @property
    def transcript(self) -> str:
        self._sync_lab()
        return "\n".join(self.lines)

    # Running commands ---------------------------------------------------------------------------

    def _run(self, argv: Sequence[str]) -> subprocess.CompletedProcess:
        from netlab.enter import run

        return run(None, list(argv), timeout=COMMAND_TIMEOUT)

    def do(self, *argv: str, check: bool = True, comment: str = "") -> subprocess.CompletedProcess:
        """One of the article's steps. ``check``: a non-zero exit is a failure of the experiment."""
        proc = self._run(argv)
        self._write(argv, proc.stdout + proc.stderr, comment)
        if check and proc.returncode != 0:
            said = (proc.stderr or proc.stdout).strip() or f"exit status {proc.returncode}"
            raise StepFailed(f"`{shlex.join(argv)}` failed: {said}")
        return proc

    def look(self, *argv: str, show: bool = True, comment: str = "") -> subprocess.CompletedProcess:
        """An observation with an independent tool. ``show=False`` keeps its output (JSON) out of the transcript."""
        proc = self._run(argv)
        self._write(argv, (proc.stdout + proc.stderr) if show else "", comment)
        return proc

    def look_json(self, *argv: str) -> list[dict[str, Any]]:
        """``ip -j ...`` parsed; an error (no such device) is an empty list."""
        proc = self.look(*argv, show=False, comment="JSON, read by the check")
        return json.loads(proc.stdout) if proc.returncode == 0 and proc.stdout.strip() else []

    def start(self, *argv: str, comment: str = "", new_netns: bool = False) -> subprocess.Popen:
        """A background process (``CMD &``), stopped at the end if the check has not stopped it."""
        from netlab import enter, persist

        quiet = {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        proc = persist.start_unshared(argv, **quiet) if new_netns else enter.popen(None, list(argv), **quiet)
        shown = ["unshare", "-n", *argv] if new_netns else list(argv)
        self._write(shown, "", f"& -> pid {proc.pid}" + (f"; {comment}" if comment else ""))
        self.undo(lambda: _stop(proc))
        return proc

    def stop(self, proc: subprocess.Popen, *, comment: str = "") -> None:
        """``kill PID``, and wait until it is gone."""
        self._write(["kill", str(proc.pid)], "", comment)
        _stop(proc)

    # Undo, labs, diagrams ------------------------------------------------------------------------

    def undo(self, fn: Callable[[], object]) -> None:
        self._undo.append(fn)

    def lab(self) -> Lab:
        """A netlab ``Lab`` for this experiment, closed with the scene."""
        from netlab.lab.lab import Lab

        lab = Lab()
        self._lab, self._lab_seen = lab, 0
        self.undo(lab.close)
        return lab

    def snapshot(self) -> None:
        """Keep a picture of what the kernel holds now (``netlab.snapshot``) for the report."""
        try:
            from netlab.view.snapshot import snapshot

            self.diagram = snapshot()
        except Exception as exc:
            self.comment(f"no diagram: {type(exc).__name__}: {exc}")

    def close(self) -> list[str]:
        """Undo everything, newest first; return what could not be undone (the transcript stops here)."""
        self._sync_lab()
        self._lab = None  # the lab's own clean-up commands stay out of the transcript, like the scene's
        errors = []
        while self._undo:
            fn = self._undo.pop()
            try:
                fn()
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
        return errors


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def _wait_for(condition: Callable[[], bool], timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


# -- the article's steps, shared by the claims that build on them ---------------------------------


def _link_exists(name: str) -> bool:
    return subprocess.run(["ip", "link", "show", "dev", name], capture_output=True).returncode == 0


def _delete_link_if_present(name: str) -> None:
    if _link_exists(name):
        subprocess.run(["ip", "link", "delete", name], capture_output=True, check=True)


def _delete_netns_if_present(name: str) -> None:
    from netlab import netns

    if name in netns.list() or name in netns.stale():
        netns.delete(name)


def _add_netns(scene: Scene, name: str) -> None:
    """``ip netns add NAME`` (A1)."""
    scene.do("ip", "netns", "add", name)
    scene.undo(lambda: _delete_netns_if_present(name))


def _add_link(scene: Scene, name: str, *spec: str, check: bool = True) -> bool:
    """``ip link add NAME SPEC...`` in the root namespace; True if the kernel made it."""
    made = scene.do("ip", "link", "add", name, *spec, check=check).returncode == 0
    scene.undo(lambda: _delete_link_if_present(name))
    return made


def _veth_pair_into_netns1(scene: Scene) -> None:
    """A1, A5, A6: netns1, the pair veth0/veth1, and veth1 moved into netns1."""
    _add_netns(scene, "netns1")
    _add_link(scene, "veth0", "type", "veth", "peer", "name", "veth1")
    scene.do("ip", "link", "set", "veth1", "netns", "netns1")


def _ifconfig_up(scene: Scene, device: str, cidr: str, *, netns: str | None = None) -> None:
    """The article's ``ifconfig DEV CIDR up``; ``ip addr add`` + ``ip link set up`` if net-tools is missing."""
    inside = ["ip", "netns", "exec", netns] if netns else []
    if shutil.which("ifconfig") or shutil.which("ifconfig", path="/usr/sbin:/sbin"):
        scene.do(*inside, "ifconfig", device, cidr, "up")
    else:
        scene.comment("ifconfig (net-tools) is not installed: the same with ip")
        scene.do(*inside, "ip", "addr", "add", cidr, "dev", device)
        scene.do(*inside, "ip", "link", "set", device, "up")


def _configured_pair(scene: Scene) -> None:
    """A1, A5-A8: the article's pair, addressed and up on both ends."""
    _veth_pair_into_netns1(scene)
    _ifconfig_up(scene, "veth1", "10.1.1.1/24", netns="netns1")
    _ifconfig_up(scene, "veth0", "10.1.1.2/24")


def _holders(scene: Scene, ino: int) -> list[str] | None:
    """What netlab says keeps namespace ``ino`` alive (None: it no longer exists)."""
    from netlab import inodes

    info = next((i for i in inodes.namespaces() if i.inode == ino), None)
    held = None if info is None else info.held_by
    scene.kit(
        f"[i.held_by for i in netlab.namespaces() if i.inode == {ino}]",
        "[] (no such namespace: freed)" if held is None else held,
    )
    return held


def _inode_of(ls_output: str) -> int:
    """The number ``ls -i FILE`` prints first."""
    return int(ls_output.split()[0])


def _pin_an_unshared_process(scene: Scene) -> tuple[subprocess.Popen, Path, int]:
    """A12 + A13: ``unshare -n`` in the first shell; ``touch`` + ``mount --bind`` in the second.

    The article calls the file netns1 in one shell and ns1 in the other; it is one file: ns1 here.
    """
    from netlab import inodes

    proc = scene.start("sleep", "60", new_netns=True, comment="the article's first shell, `unshare -n bash`")
    born = inodes.inode(proc.pid)
    file = RUN_DIR / "ns1"
    scene.do("touch", str(file))
    scene.undo(lambda: _unpin(file))
    scene.do("mount", "--bind", f"/proc/{proc.pid}/ns/net", str(file))
    return proc, file, born


def _unpin(file: Path) -> None:
    from netlab import persist

    if persist.is_bind_mounted(file):
        persist.unbind(file)
    elif file.exists():
        file.unlink()


# -- the claims, one check each ------------------------------------------------------------------


def named_and_pinned(scene: Scene) -> Observation:
    """A1: a name is a bind mount of the namespace onto a file; nothing else needs to hold it."""
    _add_netns(scene, "netns1")
    fstype = scene.look(
        "stat",
        "-f",
        "-c",
        "%T",
        "/var/run/netns/netns1",
        comment="the file system of what the path shows: nsfs, a namespace",
    ).stdout.strip()
    ino = _inode_of(scene.look("ls", "-i", "/var/run/netns/netns1").stdout)
    mountinfo = scene.look("grep", "nsfs", "/proc/self/mountinfo").stdout
    pids = scene.look("ip", "netns", "pids", "netns1").stdout.split()
    listed = str(ino) in scene.look("lsns", "-t", "net", "-n", "-o", "NS", show=False).stdout.split()
    scene.comment(f"lsns lists namespaces through their processes: net:[{ino}] is {'' if listed else 'not '}among them")
    held = _holders(scene, ino) or []
    scene.snapshot()
    in_mountinfo = f"net:[{ino}] /run/netns/netns1 " in mountinfo
    only_mounts = bool(held) and all(h.startswith("bind mount ") for h in held)
    var_run = "/var/run is a symlink to /run" if os.path.realpath("/var/run") == "/run" else "/var/run is not /run here"
    return Observation(
        f"/var/run/netns/netns1 is an {fstype or 'unmounted'} mount of net:[{ino}] "
        f"({'listed' if in_mountinfo else 'NOT listed'} in mountinfo); processes inside: {len(pids)}"
        f"{'; lsns lists it' if listed else ' (lsns does not even list it)'}; held by: {', '.join(held) or 'nothing'}",
        ok=fstype == "nsfs" and in_mountinfo and not pids and only_mounts,
        note=f"{var_run}: `ip netns` really works in /run/netns. lsns finds namespaces through processes, so "
        "it misses those only a mount keeps (netlab.namespaces() and `netlab lsns` show them).",
    )


def deleted_and_freed(scene: Scene) -> Observation:
    """A2: delete removes the name; the namespace goes when its last holder does."""
    _add_netns(scene, "netns1")
    ino = _inode_of(scene.look("ls", "-i", "/run/netns/netns1").stdout)
    sleeper = scene.start("ip", "netns", "exec", "netns1", "sleep", "60", comment="something inside it")
    entered = _wait_for(lambda: _proc_inode(sleeper.pid) == ino)
    scene.do("ip", "netns", "delete", "netns1")
    file_gone = not (RUN_DIR / "netns1").exists()
    mounted = scene.look(
        "grep", "-c", f"net:\\[{ino}\\]", "/proc/self/mountinfo", comment="mounts of that namespace"
    ).stdout.strip() not in ("", "0")
    listed = scene.look("ip", "netns", "list").stdout.split()
    held_while_running = _holders(scene, ino)
    scene.stop(sleeper, comment="its last holder")
    held_after = _holders(scene, ino)
    kept_alive = entered and bool(held_while_running) and any(f"process {sleeper.pid}" in h for h in held_while_running)
    return Observation(
        f"file {'gone' if file_gone else 'still there'}, mount {'still there' if mounted else 'gone'}, "
        f"`ip netns list` {'empty' if not listed else 'shows ' + ' '.join(listed)}; "
        f"net:[{ino}] {'lived on, held by the sleep inside it' if kept_alive else 'was not kept alive by its process'}, "
        f"and {'was freed' if held_after is None else 'is still held'} once that process exited",
        ok=file_gone and not mounted and "netns1" not in listed and kept_alive and held_after is None,
        note="`ip netns delete` only removes the name; the kernel frees the namespace when nothing holds it "
        "(a process, a thread, an open fd or another mount).",
    )


def _proc_inode(pid: int) -> int | None:
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino
    except OSError:
        return None


def lo_only_and_down(scene: Scene) -> Observation:
    """A3: a new namespace has one device, lo, and it is down."""
    _add_netns(scene, "netns1")
    scene.do("ip", "netns", "exec", "netns1", "ip", "link", "list")
    devices = scene.look_json("ip", "-n", "netns1", "-j", "link", "show")
    names = [d["ifname"] for d in devices]
    lo = devices[0] if devices else {}
    up = "UP" in lo.get("flags", [])
    return Observation(
        f"devices: {', '.join(names) or 'none'}; lo is {'UP' if up else 'DOWN'} "
        f"(flags <{','.join(lo.get('flags', []))}>, state {lo.get('operstate', '?')})",
        ok=names == ["lo"] and not up,
        note="Not even 127.0.0.1 answers until `ip link set lo up` inside the namespace.",
    )


_MOVABLE = {  # kind -> how `ip link add NAME ...` makes one (a macvlan stacks on veth0, as on a real NIC)
    "macvlan": ("mv0", ("link", "veth0", "type", "macvlan")),
    "vxlan": ("vx0", ("type", "vxlan", "id", "42", "dstport", "4789")),
}


def which_devices_move(scene: Scene) -> Observation:
    """A4: lo and bridges are netns-local; veth, macvlan, vxlan (and physical NICs) move."""
    _add_netns(scene, "netns1")
    _add_netns(scene, "netns2")
    lo = scene.do("ip", "netns", "exec", "netns1", "ip", "link", "set", "lo", "netns", "netns2", check=False)
    _add_link(scene, "br-try", "type", "bridge")
    bridge = scene.do("ip", "link", "set", "br-try", "netns", "netns2", check=False)
    made_inside = scene.do("ip", "-n", "netns1", "link", "add", "br-in", "type", "bridge", check=False)
    _add_link(scene, "veth0", "type", "veth", "peer", "name", "veth1")
    moved: dict[str, bool | None] = {
        "veth": scene.do("ip", "link", "set", "veth1", "netns", "netns2", check=False).returncode == 0
    }
    for kind, (name, spec) in _MOVABLE.items():
        if not _add_link(scene, name, *spec, check=False):
            moved[kind] = None  # this kernel cannot make one
            continue
        moved[kind] = scene.do("ip", "link", "set", name, "netns", "netns2", check=False).returncode == 0
    scene.look("ip", "-n", "netns2", "-br", "link")
    scene.snapshot()

    def refusal(proc: subprocess.CompletedProcess) -> str:
        return "moved (!)" if proc.returncode == 0 else f"refused ({proc.stderr.strip() or 'error'})"

    kinds = ", ".join(
        f"{kind}: {'moved' if ok else 'not available on this kernel' if ok is None else 'refused (!)'}"
        for kind, ok in moved.items()
    )
    return Observation(
        f"lo: {refusal(lo)}; bridge: {refusal(bridge)}; a bridge created inside netns1: "
        f"{'fine' if made_inside.returncode == 0 else 'failed'}; {kinds}",
        ok=lo.returncode != 0
        and bridge.returncode != 0
        and made_inside.returncode == 0
        and moved["veth"] is True
        and all(ok is not False for ok in moved.values()),
        note="No physical NIC was moved: the sandbox has none, and moving yours would take your connection away.",
    )


def a_connected_pair(scene: Scene) -> Observation:
    """A5: one command makes both ends, each the other's peer."""
    _add_link(scene, "veth0", "type", "veth", "peer", "name", "veth1")
    scene.look("ip", "-br", "link", "show", "type", "veth")
    ends = {d["ifname"]: d.get("link") for d in scene.look_json("ip", "-j", "link", "show", "type", "veth")}
    return Observation(
        "; ".join(f"{name}'s peer is {peer}" for name, peer in sorted(ends.items())) or "no veth devices",
        ok=ends == {"veth0": "veth1", "veth1": "veth0"},
        note="That they are connected (a packet into one comes out of the other) is proven by A9's pings.",
    )


def moved_into_netns1(scene: Scene) -> Observation:
    """A6: after the move, veth1 is visible only inside netns1."""
    _veth_pair_into_netns1(scene)
    in_root = scene.look("ip", "link", "show", "veth1").returncode == 0
    inside = scene.look("ip", "netns", "exec", "netns1", "ip", "-br", "link", "show", "veth1").returncode == 0
    scene.look("ip", "-br", "link", "show", "veth0")
    veth0 = (scene.look_json("ip", "-j", "link", "show", "veth0") or [{}])[0]
    scene.snapshot()
    return Observation(
        f"veth1 {'still' if in_root else 'no longer'} in the root namespace, {'present' if inside else 'absent'} in "
        f"netns1; veth0 now names its peer by ifindex {veth0.get('link_index', '?')} in namespace id "
        f"{veth0.get('link_netnsid', '?')} (ip shows veth0@if{veth0.get('link_index', '?')})",
        ok=not in_root and inside and "link_netnsid" in veth0,
        note="A device belongs to exactly one namespace; a veth pair is how two namespaces share a cable. "
        "The article's comment says 'assign veth1 to veth1': it means to netns1.",
    )


def addressed_in_netns1(scene: Scene) -> Observation:
    """A7: the article's line as printed is unfinished shell; without the backtick it works."""
    _veth_pair_into_netns1(scene)
    shell = "bash" if shutil.which("bash") else "sh"
    printed = scene.look(
        shell,
        "-n",
        "-c",
        "ip netns exec netns1 ifconfig veth1 10.1.1.1/24 up`",
        comment="-n: read the article's line as printed, run nothing",
    )
    _ifconfig_up(scene, "veth1", "10.1.1.1/24", netns="netns1")
    scene.look("ip", "netns", "exec", "netns1", "ip", "-br", "addr", "show", "veth1")
    veth1 = (scene.look_json("ip", "-n", "netns1", "-j", "addr", "show", "veth1") or [{}])[0]
    addresses = [f"{a['local']}/{a['prefixlen']}" for a in veth1.get("addr_info", []) if a.get("family") == "inet"]
    up = "UP" in veth1.get("flags", [])
    shell_error = printed.stderr.strip().splitlines()[0] if printed.returncode != 0 and printed.stderr.strip() else ""
    return Observation(
        f"as printed, {shell} refuses the line ({shell_error or 'accepted it'}); without the backtick: veth1 has "
        f"{', '.join(addresses) or 'no IPv4 address'}, is {'UP' if up else 'DOWN'}, state "
        f"{veth1.get('operstate', '?')}",
        ok=printed.returncode != 0 and addresses == ["10.1.1.1/24"] and up,
        note="State LOWERLAYERDOWN: veth1 is up, but its other end veth0 is not yet, so it has no carrier.",
    )


def addressed_in_root(scene: Scene) -> Observation:
    """A8: the root end, and the connected routes each namespace gets by itself."""
    _veth_pair_into_netns1(scene)
    _ifconfig_up(scene, "veth1", "10.1.1.1/24", netns="netns1")
    _ifconfig_up(scene, "veth0", "10.1.1.2/24")
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
        f"veth0 has {', '.join(addresses) or 'no IPv4 address'}; states {states}; connected routes: root "
        f"'{root_route}', netns1 '{inner_route}'",
        ok=addresses == ["10.1.1.2/24"]
        and states == {"veth0": "UP", "veth1": "UP"}
        and "dev veth0" in root_route
        and "10.1.1.0/24 dev veth1" in inner_route,
        note="The kernel adds a connected route when an address is added; each namespace has its own table.",
    )


def ping_both_ways(scene: Scene) -> Observation:
    """A9: from the root to netns1, and from inside netns1 back (not at the root prompt)."""
    _configured_pair(scene)
    there = scene.do("ping", "-c", "1", "-W", "2", "10.1.1.1", check=False)
    back = scene.do(
        "ip",
        "netns",
        "exec",
        "netns1",
        "ping",
        "-c",
        "1",
        "-W",
        "2",
        "10.1.1.2",
        check=False,
        comment="the article's second ping, from where it must run",
    )
    route = scene.look(
        "ip", "route", "get", "10.1.1.2", comment="where the article's second ping really went"
    ).stdout.strip()
    route = route.splitlines()[0].strip() if route else ""
    scene.snapshot()
    local = route.startswith("local 10.1.1.2") and " dev lo " in f"{route} "
    return Observation(
        f"root -> 10.1.1.1: {'replied' if there.returncode == 0 else 'no reply'}; netns1 -> 10.1.1.2: "
        f"{'replied' if back.returncode == 0 else 'no reply'}; at the root prompt 10.1.1.2 is "
        f"{'local (' + route + ')' if local else 'not local: ' + route}",
        ok=there.returncode == 0 and back.returncode == 0 and local,
    )


# The "internet access" bullets (A10): containers on a bridge, an "internet" namespace at
# 203.0.113.1 (reserved for documentation: never a real host) behind an uplink veth.


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
        f"br0's ports: {', '.join(ports) or 'none'}; c1 -> c2: {'replied' if neighbour.ok else 'no reply'}; "
        f"c1 -> gateway 10.0.0.1 (br0): {'replied' if gateway.ok else 'no reply'}",
        ok=ports == ["v-c1", "v-c2"] and neighbour.ok and gateway.ok,
        note="The bridge is a switch for the root ends of the veths; its own address is the containers' gateway.",
    )


def forwarding_is_needed(scene: Scene) -> Observation:
    """A10b: with ip_forward=0 nothing passes from c1 to the internet; with 1 it does."""
    lab = _with_an_internet(scene)
    inherited = scene.look("sysctl", "-n", "net.ipv4.ip_forward", comment="the value this namespace started with")
    lab.sysctl("net.ipv4.ip_forward", 0)
    blocked = lab.probe("c1", "203.0.113.1", 8000, server="internet", proto="udp", timeout=_UNANSWERED)
    lab.sysctl("net.ipv4.ip_forward", 1)
    inside_c1 = scene.look(
        "ip", "netns", "exec", "c1", "sysctl", "net.ipv4.ip_forward", comment="each namespace has its own"
    ).stdout.strip()
    passed = lab.probe("c1", "203.0.113.1", 8000, server="internet", proto="udp", timeout=2)
    scene.kit(
        'lab.probe("c1", "203.0.113.1", 8000, server="internet", proto="udp")  # forwarding 0, then 1',
        f"{blocked}\n{passed}",
    )
    return Observation(
        f"ip_forward=0: {'nothing arrived' if not blocked.ok else 'a datagram arrived (!)'}; ip_forward=1: "
        f"{'the internet received the datagram' if passed.ok else 'still nothing'}; inside c1: {inside_c1}",
        ok=not blocked.ok and passed.ok,
        note=f"This namespace started with ip_forward={inherited.stdout.strip() or '?'}: by default a new namespace "
        "copies its IPv4 settings from the machine's initial one (net.core.devconf_inherit_init_net), so set "
        "it explicitly, as Docker does.",
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
        f"udp: the internet saw source {seen or 'nothing'}; tcp: "
        f"{'connected (!)' if connection.ok else 'no answer (' + (connection.error or '?') + ')'}; the internet has "
        f"{'a' if '10.0.0.0/24' in routes else 'no'} route to 10.0.0.0/24",
        ok=seen == "10.0.0.2" and not connection.ok and "10.0.0.0/24" not in routes,
        note="Private addresses are not routed on the internet: replies to 10.0.0.2 have nowhere to go.",
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
        f"tcp: c1 connected from {local or '?'}, the internet saw {seen or 'nothing'}"
        f"{' (masqueraded)' if connection.nat else ''}; ping c1 -> 203.0.113.1: {'replied' if echo.ok else 'no reply'}",
        ok=connection.ok and connection.nat and local == "10.0.0.2" and seen == "203.0.113.2" and echo.ok,
        note="Docker's recipe: bridge + default route via it + ip_forward + masquerade. The 'internet' here is a "
        "namespace at 203.0.113.1; nothing left this machine.",
    )


def readlink_names_a_namespace(scene: Scene) -> Observation:
    """A11: readlink /proc/$$/ns/net prints net:[INODE], the same inode netlab reads."""
    from netlab import inodes

    shell = scene.do("sh", "-c", "readlink /proc/$$/ns/net").stdout.strip()
    ours = inodes.label()
    scene.kit("netlab.label()", ours)
    try:
        init = os.readlink("/proc/1/ns/net")
    except OSError:
        init = None  # rootless: process 1 is not ours to look at
    where = f"this machine's initial namespace is {init}; " if init else ""
    return Observation(
        f"the shell prints {shell}; netlab.label() says {ours}",
        ok=shell == ours and re.fullmatch(r"net:\[\d+\]", shell) is not None,
        note=f"The article's net:[4026531840] is its own host's initial namespace. Here the lab's root namespace is "
        f"the sandbox's ({ours}); {where}inode numbers differ between machines and kernels: compare them, "
        "never hard-code them.",
    )


def unshare_makes_another(scene: Scene) -> Observation:
    """A12: unshare -n starts a process in a new namespace: another inode, only lo."""
    from netlab import inodes

    out = scene.do("unshare", "-n", "sh", "-c", "echo $$; readlink /proc/$$/ns/net; ip -br link").stdout.split("\n")
    root = inodes.label()
    scene.kit("netlab.label()", root)
    inside = out[1].strip() if len(out) > 1 else ""
    devices = [line.split()[0] for line in out[2:] if line.strip()]
    return Observation(
        f"inside unshare -n: {inside or '?'} (root: {root}); devices: {', '.join(devices) or 'none'}",
        ok=inside.startswith("net:[") and inside != root and devices == ["lo"],
        note="The article runs an interactive `unshare -n bash`; here `sh -c` runs the same commands in it.",
    )


_PROPAGATION_SCRIPT = """\
set -e
while umount -l /run/netns 2>/dev/null; do :; done        # forget the pins this mount table inherited:
while umount -l /run/netns/ns1 2>/dev/null; do :; done    # they are not part of the demo
n=$(mount | grep -c "on /run/netns/ns1 type nsfs" || true); echo "inherited: $n"
mount -t tmpfs netlab-demo /run               # a fresh /run, in this throwaway mount namespace
mount --make-shared /run                      # as on a host: systemd makes every mount shared
ip netns add first                            # the first ip netns add on a host: /run/netns becomes
                                              # a self-bind mount in the same peer group as /run
touch /run/netns/ns1
mount --bind /proc/$1/ns/net /run/netns/ns1   # the bind mount of the article
mount | grep nsfs                             # and its mount command
findmnt -o TARGET,FSTYPE,PROPAGATION -R /run
"""


def bind_mount_shows_in_mount(scene: Scene) -> Observation:
    """A13: mount shows the nsfs bind mount; twice where /run/netns propagates into /run."""
    proc, file, born = _pin_an_unshared_process(scene)
    here = scene.look("sh", "-c", "mount | grep nsfs").stdout
    scene.comment("the same on a host-like /run, in a throwaway mount namespace (nothing leaks out):")
    replica = scene.look("unshare", "--mount", "sh", "-c", _PROPAGATION_SCRIPT, "sh", str(proc.pid)).stdout
    line = f"nsfs on {file} type nsfs"
    inherited = re.search(r"^inherited: (\d+)", replica, re.M)
    count_here = here.count(line)
    count_replica = replica.count(line) - (int(inherited.group(1)) if inherited else 0)
    return Observation(
        f"`mount` lists '{line}' {count_here} time(s) in the sandbox (its /run/netns propagates nowhere), and "
        f"{count_replica} times on a host-like /run where `ip netns add` made /run/netns a shared self-bind",
        ok=count_here >= 1 and count_replica == 2,
    )


def survives_its_process(scene: Scene) -> Observation:
    """A14: after the process exits, ls -i shows the same inode: the bind mount holds it."""
    proc, file, born = _pin_an_unshared_process(scene)
    before = _inode_of(scene.look("ls", "-i", str(file)).stdout)
    scene.stop(proc, comment="the article's `exit` in the first shell")
    after = _inode_of(scene.look("ls", "-i", str(file)).stdout)
    held = _holders(scene, after) or []
    scene.snapshot()
    return Observation(
        f"ls -i: {before} before the exit, {after} after (the process was in {born}); held by: "
        f"{', '.join(held) or 'nothing'}",
        ok=before == after == born and bool(held) and all(h.startswith("bind mount ") for h in held),
    )


def nsenter_goes_back_in(scene: Scene) -> Observation:
    """A15: nsenter --net=FILE enters the pinned namespace, with no process left in it."""
    from netlab import enter

    proc, file, born = _pin_an_unshared_process(scene)
    scene.stop(proc, comment="exit")
    theirs = scene.do("sh", "-c", "cd /run/netns && nsenter --net=./ns1 readlink /proc/self/ns/net").stdout.strip()
    ours = enter.run(file, ["readlink", "/proc/self/ns/net"], timeout=COMMAND_TIMEOUT).stdout.strip()
    scene.kit(f"netlab.run(Path('{file}'), ['readlink', '/proc/self/ns/net']).stdout", ours)
    return Observation(
        f"nsenter sees {theirs or '?'}, netlab.run(Path) sees {ours or '?'}; pinned: net:[{born}]",
        ok=theirs == ours == f"net:[{born}]",
        note="The article's `nsenter --net=./ns1 bash` runs in /run/netns; here a command replaces the shell.",
    )


def umount_frees_it(scene: Scene) -> Observation:
    """A16: umount drops the last holder: the namespace is freed (the empty file stays)."""
    from netlab import netns

    proc, file, born = _pin_an_unshared_process(scene)
    scene.stop(proc, comment="exit")
    scene.do("sh", "-c", "cd /run/netns && umount ./ns1", comment="the article: umount ./netns1")
    held = _holders(scene, born)
    listed = scene.look("ip", "netns", "list").stdout.split()
    stale = netns.stale()
    scene.kit("netlab.netns.stale()", stale)
    scene.do("rm", str(file))
    return Observation(
        f"net:[{born}] {'freed' if held is None else 'still held by ' + ', '.join(held)}; the empty file stays: "
        f"`ip netns list` still shows {' '.join(listed) or 'nothing'} until `rm`",
        ok=held is None and "ns1" in listed and "ns1" in stale,
        note="umount only removes the mount: the file it covered remains, a stale name that `ip netns exec` cannot "
        "enter. `ip netns delete` does both (umount2 MNT_DETACH, then unlink).",
    )


# -- the table ------------------------------------------------------------------------------------

_NAMES = (
    "The article touches and binds /var/run/netns/netns1 in its second shell, but lists ns1 in `mount`, "
    "runs `ls -i ns1` and `nsenter --net=./ns1`, then unmounts ./netns1: one file with two names. "
    "netlab uses ns1 throughout."
)

CLAIMS: tuple[Claim, ...] = (
    Claim(
        "A1",
        "ip netns add netns1",
        "creates netns1 and a bind mount under /var/run/netns that keeps it alive with no process in it",
        "/run/netns/netns1 is an nsfs bind mount (findmnt, mountinfo); `ip netns pids` is empty; only the mount "
        "holds the namespace",
        named_and_pinned,
    ),
    Claim(
        "A2",
        "ip netns delete netns1",
        "deletes netns1",
        "the file and its mount are gone; the namespace lives on while a process holds it, and is freed when the "
        "last holder goes",
        deleted_and_freed,
    ),
    Claim(
        "A3",
        "ip netns exec netns1 ip link list",
        "runs `ip link list` inside netns1: a new namespace has a loopback device",
        "only lo, and it is DOWN",
        lo_only_and_down,
    ),
    Claim(
        "A4",
        "新的 net ns 有环回(lo)设备, 其他设备(虚拟网卡, bridge等)也可以存在, 物理网卡只能在 root ns 中",
        "a new namespace has lo; other devices (virtual NICs, bridges) can be in it too; physical NICs can only "
        "be in the root namespace",
        "lo and bridges refuse to move ('The interface netns is immutable'), a bridge can be created inside any "
        "namespace; veth, macvlan and vxlan devices move",
        which_devices_move,
        inaccuracy="Too strong. Physical NICs can move to any namespace (`ip link set eth1 netns NAME`: how a "
        "card or an SR-IOV function is handed to a container). What cannot move are netns-local "
        "devices: lo (every namespace has its own) and bridges (make one where it is needed).",
    ),
    Claim(
        "A5",
        "ip link add veth0 type veth peer name veth1",
        "creates a veth pair: what veth0 sends, veth1 receives, and the other way round",
        "veth0 and veth1 exist, each the other's peer",
        a_connected_pair,
    ),
    Claim(
        "A6",
        "ip link set veth1 netns netns1",
        "moves veth1 into netns1",
        "veth1 is gone from the root namespace and present in netns1; veth0 names its peer by ifindex and namespace id",
        moved_into_netns1,
    ),
    Claim(
        "A7",
        "ip netns exec netns1 ifconfig veth1 10.1.1.1/24 up`",
        "gives veth1 its address and brings it up",
        "the line as printed is a shell syntax error; without the backtick, veth1 has 10.1.1.1/24 and is UP",
        addressed_in_netns1,
        inaccuracy="The line ends in a stray backtick: a shell reads it as the start of a command substitution and "
        'waits for the closing one (bash: "unexpected EOF while looking for matching ``\'"). Without '
        "it the command works.",
    ),
    Claim(
        "A8",
        "ifconfig veth0 10.1.1.2/24 up",
        "gives veth0 its address and brings it up",
        "veth0 has 10.1.1.2/24 and both ends are UP; a connected route to 10.1.1.0/24 appears in each namespace",
        addressed_in_root,
    ),
    Claim(
        "A9",
        "ping 10.1.1.1 / ping 10.1.1.2",
        "the two namespaces reach each other: ping 10.1.1.1 from the root, ping 10.1.1.2 back",
        "ping 10.1.1.1 from the root and ping 10.1.1.2 from inside netns1 both get replies",
        ping_both_ways,
        inaccuracy="The article runs its second ping at a root prompt (root@ubuntu:/home/bytedance#). There "
        "10.1.1.2 is the root namespace's own address, answered through lo: that ping never crosses "
        "the pair. The way back is tested from inside netns1: `ip netns exec netns1 ping 10.1.1.2`.",
    ),
    Claim(
        "A10a",
        "根据来自 netns1 中的 veth 设备在 root ns 中创建bridge",
        "to reach the internet, create a bridge in the root namespace for the namespaces' veth devices",
        "with their veths as ports of br0 (10.0.0.1/24), c1 and c2 reach each other and their gateway",
        bridge_joins_containers,
    ),
    Claim(
        "A10b",
        "在 root ns 中配置 ip_forward",
        "set ip_forward in the root namespace",
        "with net.ipv4.ip_forward=0 nothing from c1 reaches the internet namespace; with 1 it does",
        forwarding_is_needed,
    ),
    Claim(
        "A10c",
        "和相应的 nat",
        "... and the matching NAT",
        "without NAT the internet sees the private source 10.0.0.2 and cannot answer: a TCP connection fails",
        nat_is_needed,
    ),
    Claim(
        "A10d",
        "在 root ns 中配置 ip_forward 和相应的 nat",
        "with the bridge, ip_forward and NAT, a namespace reaches the internet",
        "with masquerading out of the uplink, c1 connects to 203.0.113.1, which sees the uplink's 203.0.113.2",
        masquerade_works,
    ),
    Claim(
        "A11",
        "readlink /proc/$$/ns/net",
        "prints the current network namespace's inode: net:[4026531840] in the root namespace",
        "net:[INODE], the same inode netlab reads (netlab.label())",
        readlink_names_a_namespace,
    ),
    Claim(
        "A12",
        "unshare -n bash",
        "starts a shell in a new network namespace",
        "its readlink differs from the root namespace's; it has only lo",
        unshare_makes_another,
    ),
    Claim(
        "A13",
        "touch /var/run/netns/netns1; mount --bind /proc/90883/ns/net /var/run/netns/netns1; mount",
        "pins the namespace to a file; `mount` shows 'nsfs on /run/netns/ns1 type nsfs (rw)', twice",
        "`mount` shows the nsfs bind mount: once here, twice on a host-like /run (mount propagation)",
        bind_mount_shows_in_mount,
        inaccuracy=_NAMES + " The doubled `nsfs on /run/netns/ns1` line is not a typo but mount propagation: "
        "on a host /run is a shared mount, and the first `ip netns add` bind-mounts /run/netns onto "
        "itself in /run's peer group, so the bind mount propagates to /run underneath and `mount` "
        "lists both (reproduced above in a throwaway mount namespace).",
    ),
    Claim(
        "A14",
        "exit; ls -i ns1",
        "after the process exits, the bind mount keeps the namespace: same inode",
        "ls -i shows the same inode before and after the exit; only the bind mount holds the namespace",
        survives_its_process,
        inaccuracy=_NAMES,
    ),
    Claim(
        "A15",
        "nsenter --net=./ns1 bash",
        "the pinned namespace can be entered again",
        "nsenter --net=FILE (and netlab.run(Path)) run in the pinned namespace",
        nsenter_goes_back_in,
        inaccuracy=_NAMES,
    ),
    Claim(
        "A16",
        "umount ./netns1",
        "removes the bind mount",
        "after umount nothing holds the namespace: it is freed; the empty file stays until rm",
        umount_frees_it,
    ),
)

# Every name the claims use: if one is taken, the claims run in a fresh sandbox instead.
ARTICLE_NETNS = ("netns1", "netns2", "ns1", "c1", "c2", "internet")
ARTICLE_LINKS = ("veth0", "veth1", "mv0", "vx0", "br-try", "br0", "v-c1", "v-c2", "uplink")


# -- running the claims ---------------------------------------------------------------------------


def _world() -> set[str]:
    """What a claim could leave behind in the lab's root namespace, read with the system's tools."""
    from netlab import inodes, netns

    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    names = {line.split(": ")[1].split("@")[0] for line in links.splitlines() if ": " in line}
    world = {f"namespace {name}" for name in netns.list() + netns.stale()}
    world |= {f"link {name}" for name in names}
    world |= {f"nsfs mount {mount}" for _, mount in inodes.nsfs_mounts()}
    if shutil.which("nft"):
        tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
        world |= {f"nft {line.strip()}" for line in tables.splitlines() if line.strip()}
    return world


def run_claim(claim: Claim) -> Result:
    """Run one claim's check in a scene of its own, clean up, and decide the verdict."""
    before = _world()
    scene = Scene()
    started = time.monotonic()
    observation: Observation | None = None
    problem = ""
    try:
        observation = claim.check(scene)
    except Exception as exc:
        problem = f"{type(exc).__name__}: {exc}".strip()
    finally:
        undo_errors = scene.close()
    left = sorted(_world() - before)
    if undo_errors:
        problem += ("; " if problem else "") + "could not clean up: " + "; ".join(undo_errors)
    if left:
        problem += ("; " if problem else "") + "left behind: " + ", ".join(left)
    if observation is None or problem:
        verdict = Verdict.ERROR
        observed = problem if observation is None else f"{observation.observed} ({problem})"
    else:
        verdict = Verdict.DIFFERS if not observation.ok else Verdict.INACCURATE if claim.inaccuracy else Verdict.HOLDS
        observed = observation.observed
    return Result(
        claim,
        verdict,
        observed,
        note=observation.note if observation else "",
        transcript=scene.transcript,
        diagram=scene.diagram,
        seconds=time.monotonic() - started,
    )


def reproduce(claims: Sequence[Claim] = CLAIMS, *, progress: TextIO | None = sys.stderr) -> Report:
    """Run ``claims`` in order; print one line per claim to ``progress``; return the report."""
    from netlab.teach.reproduce.report import machine

    report = Report(results=[], machine=machine())
    started = time.monotonic()
    width = max((len(c.id) for c in claims), default=2)
    for number, claim in enumerate(claims, 1):
        if progress is not None:
            step = claim.step if claim.step.isascii() else claim.says  # the article's prose is Chinese
            step = step if len(step) <= 48 else step[:47] + "…"
            print(f"[{number:>2}/{len(claims)}] {claim.id:<{width}}  {step:<48} ", end="", file=progress, flush=True)
        result = run_claim(claim)
        report.results.append(result)
        if progress is not None:
            print(f"{result.verdict} ({result.seconds:.2f} s)", file=progress, flush=True)
            if result.verdict.failed:
                print(f"         observed: {result.observed}", file=progress, flush=True)
    report.seconds = time.monotonic() - started
    return report


# -- the `netlab reproduce` command ---------------------------------------------------------------

DEFAULT_OUTPUT = "netlab-reproduce.html"
FRESH_ENV = "NETLAB_REPRODUCE_FRESH"


def article_names_in_use() -> list[str]:
    """The names the claims need that this world already uses (a learner's lab, say).

    Plain files and one ``ip`` process only: this runs before the sandbox is entered, while the
    process must still be single-threaded (``unshare`` of a user namespace requires it).
    """
    taken = [name for name in ARTICLE_NETNS if (RUN_DIR / name).exists()]
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    present = {line.split(": ")[1].split("@")[0] for line in links.splitlines() if ": " in line}
    return taken + [name for name in ARTICLE_LINKS if name in present]


def _fresh_sandbox(argv: list[str], why: str) -> None:
    """Re-execute ``netlab reproduce ARGV`` in a new sandbox (never returns)."""
    from netlab.sandbox import exec_in_sandbox

    print(f"netlab reproduce: {why}: running in a fresh sandbox (`netlab sandbox`)", file=sys.stderr, flush=True)
    os.environ[FRESH_ENV] = "1"
    exec_in_sandbox([sys.executable, "-m", "netlab.app.cli", "reproduce", *argv])


def command(
    outputs: Sequence[str] | None = None,
    *,
    format: str | None = None,
    claims: Sequence[Claim] = CLAIMS,
    progress: TextIO | None = sys.stderr,
) -> int:
    """``netlab reproduce [--output PATH]... [--format md|html]``: run, write the report(s), return the exit status."""
    from netlab.sandbox import in_sandbox

    outputs = list(outputs or [DEFAULT_OUTPUT])
    argv = [word for path in outputs for word in ("--output", path)] + (["--format", format] if format else [])
    if not in_sandbox():
        _fresh_sandbox(argv, "not in a sandbox")
    taken = article_names_in_use()
    if taken and os.environ.get(FRESH_ENV) != "1":
        _fresh_sandbox(argv, f"this sandbox already uses {', '.join(taken)}")
    if taken:
        print(f"netlab reproduce: a fresh sandbox, yet {', '.join(taken)} exist", file=sys.stderr)
        return 2
    report = reproduce(claims, progress=progress)
    written = [report.write(path, format=format) for path in outputs]
    print(f"\n{report.summary()} in {report.seconds:.1f} s")
    for path in written:
        print(f"report: {path}")
    if not report.ok:
        failed = [r.claim.id for r in report.results if r.verdict.failed]
        print(f"netlab reproduce: {len(failed)} claim(s) did not hold: {', '.join(failed)}", file=sys.stderr)
    return report.exit_status
