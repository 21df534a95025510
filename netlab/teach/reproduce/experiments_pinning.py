"""Experiments of the article's third part, how ``ip netns`` works: A11-A16, by hand.

A namespace has an inode (``readlink /proc/$$/ns/net``, A11); ``unshare -n`` makes another
(A12); bind-mounting ``/proc/PID/ns/net`` onto a file pins it (A13), so it outlives its process
(A14), can be entered again (A15), and goes with the ``umount`` (A16). That is all
``ip netns add`` does.
"""

from __future__ import annotations

import re

from netlab.plumbing.i18n import N_, _
from netlab.teach.reproduce.results import Observation
from netlab.teach.reproduce.scene import COMMAND_TIMEOUT, Scene
from netlab.teach.reproduce.steps import holder_words, holders, inode_of, pin, pin_an_unshared_process
from netlab.teach.reproduce.versions import nsfs_lines_on_a_host

__all__ = [
    "bind_mount_shows_in_mount",
    "nsenter_goes_back_in",
    "readlink_names_a_namespace",
    "survives_its_process",
    "umount_frees_it",
    "unshare_makes_another",
]


def readlink_names_a_namespace(scene: Scene) -> Observation:
    """A11: readlink /proc/$$/ns/net prints net:[INODE], the same inode netlab reads."""
    from netlab import inodes

    shell = scene.do("sh", "-c", "readlink /proc/$$/ns/net").stdout.strip()
    ours = inodes.label()
    scene.kit("netlab.label()", ours)
    return Observation(
        _("the shell prints {shell}; netlab.label() says {label}").format(shell=shell, label=ours),
        ok=shell == ours and re.fullmatch(r"net:\[\d+\]", shell) is not None,
        note=_(
            "The article's net:[4026531840] is its own host's initial namespace. Here the lab's root namespace is "
            "the sandbox's ({label}); inode numbers differ between machines and kernels: compare them, "
            "never hard-code them."
        ).format(label=ours),
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
        _("inside unshare -n: {inside} (root: {root}); devices: {devices}").format(
            inside=inside or "?", root=root, devices=_(", ").join(devices) or _("none")
        ),
        ok=inside.startswith("net:[") and inside != root and devices == ["lo"],
        note=_("The article runs an interactive `unshare -n bash`; here `sh -c` runs the same commands in it."),
    )


# A13's replica, line by line: the shell, padded to where its comment starts, and the comment (for the
# reader, so in the reader's language; the shell ignores it).
_PROPAGATION_STEPS: tuple[tuple[str, str], ...] = (
    ("set -e", ""),
    ("while umount -l /run/netns 2>/dev/null; do :; done        ", N_("forget the pins this mount table inherited:")),
    ("while umount -l /run/netns/ns1 2>/dev/null; do :; done    ", N_("they are not part of the demo")),
    ('n=$(mount | grep -c "on /run/netns/ns1 type nsfs" || true); echo "inherited: $n"', ""),
    ("mount -t tmpfs netlab-demo /run               ", N_("a fresh /run, in this throwaway mount namespace")),
    ("mount --make-shared /run                      ", N_("as on a host: systemd makes every mount shared")),
    (
        "ip netns add first                            ",
        N_(
            "the first ip netns add on a host: /run/netns becomes a\n"
            "self-bind mount, in the peer group of /run before iproute2 7.0"
        ),
    ),
    ("touch /run/netns/ns1", ""),
    ("mount --bind /proc/$1/ns/net /run/netns/ns1   ", N_("the bind mount of the article")),
    ("mount | grep nsfs                             ", N_("and its mount command")),
    ("findmnt -o TARGET,FSTYPE,PROPAGATION -R /run", ""),
)


def _propagation_script() -> str:
    """The script run in A13's throwaway mount namespace, its comments in the reader's language."""
    lines = []
    for code, comment in _PROPAGATION_STEPS:
        if not comment:
            lines.append(code)
            continue
        first, *more = _(comment).split("\n")
        lines.append(f"{code}# {first}")
        lines += [" " * len(code) + f"# {line}" for line in more]
    return "\n".join(lines) + "\n"


def _as_predicted(expected: int | None, scene: Scene) -> str:
    ip = scene.versions.iproute2
    if expected is None:
        return _("this ip's version is unknown, so once and twice are both right")
    if expected == 2:
        return _("as iproute2 {version} (< 7.0) predicts: its self-bind of /run/netns joins /run's peer group").format(
            version=ip
        )
    return _(
        "as iproute2 {version} (7.0 or later) predicts: /run/netns gets a peer group of its own (commit 82c8b9fe)"
    ).format(version=ip)


def bind_mount_shows_in_mount(scene: Scene) -> Observation:
    """A13: mount shows the nsfs bind mount; on a host-like /run twice or once, as the iproute2 version decides."""
    proc, file, born = pin_an_unshared_process(scene)
    here = scene.look("sh", "-c", "mount | grep nsfs").stdout
    scene.comment(_("the same on a host-like /run, in a throwaway mount namespace (nothing leaks out):"))
    replica = scene.look("unshare", "--mount", "sh", "-c", _propagation_script(), "sh", str(proc.pid)).stdout
    line = f"nsfs on {file} type nsfs"
    inherited = re.search(r"^inherited: (\d+)", replica, re.M)
    count_here = here.count(line)
    count_replica = replica.count(line) - (int(inherited.group(1)) if inherited else 0)
    expected = nsfs_lines_on_a_host(scene.versions)
    return Observation(
        _(
            "`mount` lists '{line}' {here} time(s) in the sandbox (its /run/netns propagates nowhere), and "
            "{host} time(s) on a host-like /run after `ip netns add`, {predicted}"
        ).format(line=line, here=count_here, host=count_replica, predicted=_as_predicted(expected, scene)),
        ok=count_here >= 1 and (count_replica == expected if expected else count_replica in (1, 2)),
        note=_("The article calls this file netns1 and ns1: that slip is counted once, under A15."),
    )


def survives_its_process(scene: Scene) -> Observation:
    """A14: after the process exits, ls -i shows the same inode: the bind mount holds it."""
    proc, file, born = pin_an_unshared_process(scene)
    before = inode_of(scene.look("ls", "-i", str(file)).stdout)
    scene.stop(proc, comment=_("the article's `exit` in the first shell"))
    after = inode_of(scene.look("ls", "-i", str(file)).stdout)
    held = holders(scene, after) or []
    scene.snapshot()
    return Observation(
        _("ls -i: {before} before the exit, {after} after (the process was in {born}); held by: {holders}").format(
            before=before, after=after, born=born, holders=holder_words(held)
        ),
        ok=before == after == born and bool(held) and all(h.startswith("bind mount ") for h in held),
        note=_("The article's file is netns1 in one shell and ns1 in the other: that slip is counted once, under A15."),
    )


def nsenter_goes_back_in(scene: Scene) -> Observation:
    """A15: nsenter --net=FILE enters the pinned namespace; the article's two names for FILE do not."""
    from netlab import enter

    proc, literal, born = pin_an_unshared_process(scene, name="netns1")
    scene.comment(_("the second shell made netns1; the first shell's next command names it ns1:"))
    lost = scene.do("sh", "-c", "cd /run/netns && ls -i ns1", check=False)
    scene.do("umount", str(literal))
    scene.do("rm", str(literal))
    scene.comment(_("one file, one name (netlab uses ns1): pin it again, exit, go back in"))
    file = pin(scene, proc.pid, "ns1")
    scene.stop(proc, comment="exit")
    theirs = scene.do("sh", "-c", "cd /run/netns && nsenter --net=./ns1 readlink /proc/self/ns/net").stdout.strip()
    ours = enter.run(file, ["readlink", "/proc/self/ns/net"], timeout=COMMAND_TIMEOUT).stdout.strip()
    scene.kit(f"netlab.run(Path('{file}'), ['readlink', '/proc/self/ns/net']).stdout", ours)
    why = (lost.stderr.strip().splitlines() or ["?"])[-1] if lost.returncode != 0 else _("it found one (!)")
    return Observation(
        _(
            "taken literally, the first shell finds no ns1 ({why}); with one name, nsenter sees {theirs}, "
            "netlab.run(Path) sees {ours}; pinned: net:[{born}]"
        ).format(why=why, theirs=theirs or "?", ours=ours or "?", born=born),
        ok=lost.returncode != 0 and theirs == ours == f"net:[{born}]",
        note=_("The article's `nsenter --net=./ns1 bash` runs in /run/netns; here a command replaces the shell."),
    )


def umount_frees_it(scene: Scene) -> Observation:
    """A16: umount drops the last holder: the namespace is freed (the empty file stays)."""
    from netlab import netns

    proc, file, born = pin_an_unshared_process(scene)
    scene.stop(proc, comment="exit")
    scene.do(
        "sh",
        "-c",
        "cd /run/netns && umount ./ns1",
        comment=_("the article: {command}").format(command="umount ./netns1"),
    )
    held = holders(scene, born)
    listed = scene.look("ip", "netns", "list").stdout.split()
    stale = netns.stale()
    scene.kit("netlab.netns.stale()", stale)
    scene.do("rm", str(file))
    return Observation(
        _("net:[{inode}] {state}; the empty file stays: `ip netns list` still shows {names} until `rm`").format(
            inode=born,
            state=_("freed") if held is None else _("still held by {holders}").format(holders=holder_words(held)),
            names=" ".join(listed) or _("nothing"),
        ),
        ok=held is None and "ns1" in listed and "ns1" in stale,
        note=_(
            "umount only removes the mount: the file it covered remains, a stale name that `ip netns exec` cannot "
            "enter. `ip netns delete` does both (umount2 MNT_DETACH, then unlink)."
        ),
    )
