"""The article's steps that several claims build on, each a few ``Scene`` commands.

Each claim starts from a clean world, so a claim about step A8 first repeats A1, A5, A6 and A7
(``configured_pair``); these helpers are those repeated steps, named after the article's.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from netlab.plumbing.i18n import N_, _
from netlab.teach.reproduce.scene import Scene

__all__ = [
    "RUN_DIR",
    "add_link",
    "add_netns",
    "configured_pair",
    "holder_words",
    "holders",
    "ifconfig_up",
    "inode_of",
    "pin",
    "pin_an_unshared_process",
    "veth_pair_into_netns1",
]

RUN_DIR = Path("/run/netns")  # where `ip netns` keeps its names (the article's /var/run/netns)


def _link_exists(name: str) -> bool:
    return subprocess.run(["ip", "link", "show", "dev", name], capture_output=True).returncode == 0


def _delete_link_if_present(name: str) -> None:
    if _link_exists(name):
        subprocess.run(["ip", "link", "delete", name], capture_output=True, check=True)


def _delete_netns_if_present(name: str) -> None:
    from netlab import netns

    if name in netns.list() or name in netns.stale():
        netns.delete(name)


def add_netns(scene: Scene, name: str) -> None:
    """``ip netns add NAME`` (A1)."""
    scene.do("ip", "netns", "add", name)
    scene.undo(lambda: _delete_netns_if_present(name))


def add_link(scene: Scene, name: str, *spec: str, check: bool = True) -> bool:
    """``ip link add NAME SPEC...`` in the root namespace; True if the kernel made it."""
    made = scene.do("ip", "link", "add", name, *spec, check=check).returncode == 0
    scene.undo(lambda: _delete_link_if_present(name))
    return made


def veth_pair_into_netns1(scene: Scene) -> None:
    """A1, A5, A6: netns1, the pair veth0/veth1, and veth1 moved into netns1."""
    add_netns(scene, "netns1")
    add_link(scene, "veth0", "type", "veth", "peer", "name", "veth1")
    scene.do("ip", "link", "set", "veth1", "netns", "netns1")


def ifconfig_up(scene: Scene, device: str, cidr: str, *, netns: str | None = None) -> None:
    """The article's ``ifconfig DEV CIDR up``; ``ip addr add`` + ``ip link set up`` if net-tools is missing."""
    inside = ["ip", "netns", "exec", netns] if netns else []
    if scene.versions.ifconfig:
        scene.do(*inside, "ifconfig", device, cidr, "up")
    else:
        scene.comment(_("ifconfig (net-tools) is not installed: the same with ip"))
        scene.do(*inside, "ip", "addr", "add", cidr, "dev", device)
        scene.do(*inside, "ip", "link", "set", device, "up")


def configured_pair(scene: Scene) -> None:
    """A1, A5-A8: the article's pair, addressed and up on both ends."""
    veth_pair_into_netns1(scene)
    ifconfig_up(scene, "veth1", "10.1.1.1/24", netns="netns1")
    ifconfig_up(scene, "veth0", "10.1.1.2/24")


def holders(scene: Scene, ino: int) -> list[str] | None:
    """What netlab says keeps namespace ``ino`` alive (None: it no longer exists)."""
    from netlab import inodes

    info = next((i for i in inodes.namespaces() if i.inode == ino), None)
    held = None if info is None else info.held_by
    scene.kit(
        f"[i.held_by for i in netlab.namespaces() if i.inode == {ino}]",
        _("[] (no such namespace: freed)") if held is None else held,
    )
    return held


# What keeps a namespace alive, as netlab.inodes words it, and the same in the reader's language.
_HOLDERS = (
    (re.compile(r"process (?P<pid>\d+) \((?P<command>.*)\)"), N_("process {pid} ({command})")),
    (re.compile(r"thread (?P<tid>\d+) of process (?P<pid>\d+)"), N_("thread {tid} of process {pid}")),
    (re.compile(r"open fd (?P<fd>\d+) of process (?P<pid>\d+)"), N_("open fd {fd} of process {pid}")),
    (re.compile(r"bind mount (?P<path>.+)"), N_("bind mount {path}")),
)


def _holder(text: str) -> str:
    for pattern, words in _HOLDERS:
        match = pattern.fullmatch(text)
        if match:
            return _(words).format(**match.groupdict())
    return text


def holder_words(held: list[str] | None) -> str:
    """``held`` (what ``holders`` found) as one phrase for the report: ``bind mount /run/netns/ns1, ...``."""
    return _(", ").join(_holder(h) for h in held or []) or _("nothing")


def inode_of(ls_output: str) -> int:
    """The number ``ls -i FILE`` prints first."""
    return int(ls_output.split()[0])


def pin(scene: Scene, pid: int, name: str) -> Path:
    """A13's second shell: ``touch /var/run/netns/NAME; mount --bind /proc/PID/ns/net /var/run/netns/NAME``."""
    file = RUN_DIR / name
    scene.do("touch", str(file))
    scene.undo(lambda: _unpin(file))
    scene.do("mount", "--bind", f"/proc/{pid}/ns/net", str(file))
    return file


def pin_an_unshared_process(scene: Scene, *, name: str = "ns1") -> tuple[subprocess.Popen, Path, int]:
    """A12 + A13: ``unshare -n`` in the first shell; ``touch`` + ``mount --bind`` in the second.

    The article calls the file netns1 in one shell and ns1 in the other; it is one file: ns1 here.
    """
    from netlab import inodes

    proc = scene.start("sleep", "60", new_netns=True, comment=_("the article's first shell, `unshare -n bash`"))
    born = inodes.inode(proc.pid)
    return proc, pin(scene, proc.pid, name), born


def _unpin(file: Path) -> None:
    from netlab import persist

    if persist.is_bind_mounted(file):
        persist.unbind(file)
    elif file.exists():
        file.unlink()
