"""Experiments of the article's first part, basic management: A1 add, A2 delete, A3 exec.

``ip netns add`` names a namespace by bind-mounting it onto a file in /run/netns; ``delete``
removes the name, and the kernel frees the namespace when its last holder goes; ``exec`` runs a
command inside, where a new namespace has only ``lo``, DOWN.
"""

from __future__ import annotations

import os

from netlab.plumbing.i18n import _
from netlab.teach.reproduce.results import Observation
from netlab.teach.reproduce.scene import Scene, wait_for
from netlab.teach.reproduce.steps import RUN_DIR, add_netns, holder_words, holders, inode_of
from netlab.teach.reproduce.versions import lsns_lists_bind_mounted

__all__ = ["deleted_and_freed", "lo_only_and_down", "named_and_pinned"]


def named_and_pinned(scene: Scene) -> Observation:
    """A1: a name is a bind mount of the namespace onto a file; nothing else needs to hold it."""
    add_netns(scene, "netns1")
    fstype = scene.look(
        "stat",
        "-f",
        "-c",
        "%T",
        "/var/run/netns/netns1",
        comment=_("the file system of what the path shows: nsfs, a namespace"),
    ).stdout.strip()
    ino = inode_of(scene.look("ls", "-i", "/var/run/netns/netns1").stdout)
    mountinfo = scene.look("grep", "nsfs", "/proc/self/mountinfo").stdout
    pids = scene.look("ip", "netns", "pids", "netns1").stdout.split()
    listed = str(ino) in scene.look("lsns", "-t", "net", "-n", "-o", "NS", show=False).stdout.split()
    lsns_should = lsns_lists_bind_mounted(scene.versions)
    among = (
        _("lsns -t net: net:[{inode}] is among the namespaces it lists")
        if listed
        else _("lsns -t net: net:[{inode}] is not among the namespaces it lists")
    )
    scene.comment(among.format(inode=ino))
    held = holders(scene, ino) or []
    scene.snapshot()
    in_mountinfo = f"net:[{ino}] /run/netns/netns1 " in mountinfo
    only_mounts = bool(held) and all(h.startswith("bind mount ") for h in held)
    var_run = (
        _("/var/run is a symlink to /run") if os.path.realpath("/var/run") == "/run" else _("/var/run is not /run here")
    )
    return Observation(
        _(
            "/var/run/netns/netns1 is an {fstype} mount of net:[{inode}] ({mountinfo}); processes inside: {count}"
            "; {lsns}; held by: {holders}"
        ).format(
            fstype=fstype or _("unmounted"),
            inode=ino,
            mountinfo=_("listed in mountinfo") if in_mountinfo else _("NOT listed in mountinfo"),
            count=len(pids),
            lsns=_("lsns lists it") if listed else _("lsns does not list it"),
            holders=holder_words(held),
        ),
        ok=fstype == "nsfs" and in_mountinfo and not pids and only_mounts,
        note=_(
            "{var_run}: `ip netns` really works in /run/netns. {lsns} "
            "netlab.namespaces() and `netlab lsns` show every namespace, whatever holds it."
        ).format(var_run=var_run, lsns=_lsns_note(listed, lsns_should, scene)),
    )


def _lsns_note(listed: bool, should: bool | None, scene: Scene) -> str:
    """What lsns lists depends on its version: say which rule applies here, and whether it did."""
    version = scene.versions.util_linux
    rule = _(
        "util-linux before 2.39 finds namespaces through processes only, so its lsns misses one that only a "
        "mount keeps; 2.39 and later list it too."
    )
    if should is None:
        return _("{rule} (This lsns's version is unknown.)").format(rule=rule)
    if listed is should:
        here = (
            _("{rule} Here util-linux {version}: lsns lists it.")
            if should
            else _("{rule} Here util-linux {version}: lsns does not.")
        )
    else:
        here = (
            _("{rule} Here util-linux {version}: lsns lists it (yet here it did the opposite).")
            if should
            else _("{rule} Here util-linux {version}: lsns does not (yet here it did the opposite).")
        )
    return here.format(rule=rule, version=version)


def deleted_and_freed(scene: Scene) -> Observation:
    """A2: delete removes the name; the namespace goes when its last holder does."""
    add_netns(scene, "netns1")
    ino = inode_of(scene.look("ls", "-i", "/run/netns/netns1").stdout)
    sleeper = scene.start("ip", "netns", "exec", "netns1", "sleep", "60", comment=_("something inside it"))
    entered = wait_for(lambda: _proc_inode(sleeper.pid) == ino)
    scene.do("ip", "netns", "delete", "netns1")
    file_gone = not (RUN_DIR / "netns1").exists()
    mounted = scene.look(
        "grep", "-c", f"net:\\[{ino}\\]", "/proc/self/mountinfo", comment=_("mounts of that namespace")
    ).stdout.strip() not in ("", "0")
    listed = scene.look("ip", "netns", "list").stdout.split()
    held_while_running = holders(scene, ino)
    scene.stop(sleeper, comment=_("its last holder"))
    held_after = holders(scene, ino)
    kept_alive = entered and any(f"process {sleeper.pid}" in h for h in held_while_running or [])
    return Observation(
        _("{file}, {mount}, {listing}; net:[{inode}] {lifetime}, and {end} once that process exited").format(
            file=_("file gone") if file_gone else _("file still there"),
            mount=_("mount still there") if mounted else _("mount gone"),
            listing=_("`ip netns list` shows {names}").format(names=" ".join(listed))
            if listed
            else _("`ip netns list` empty"),
            inode=ino,
            lifetime=_("lived on, held by the sleep inside it")
            if kept_alive
            else _("was not kept alive by its process"),
            end=_("was freed") if held_after is None else _("is still held"),
        ),
        ok=file_gone and not mounted and "netns1" not in listed and kept_alive and held_after is None,
        note=_(
            "`ip netns delete` only removes the name; the kernel frees the namespace when nothing holds it "
            "(a process, a thread, an open fd or another mount)."
        ),
    )


def _proc_inode(pid: int) -> int | None:
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino
    except OSError:
        return None


def lo_only_and_down(scene: Scene) -> Observation:
    """A3: a new namespace has one device, lo, and it is down."""
    add_netns(scene, "netns1")
    scene.do("ip", "netns", "exec", "netns1", "ip", "link", "list")
    devices = scene.look_json("ip", "-n", "netns1", "-j", "link", "show")
    names = [d["ifname"] for d in devices]
    lo = devices[0] if devices else {}
    up = "UP" in lo.get("flags", [])
    return Observation(
        _("devices: {devices}; lo is {state} (flags <{flags}>, state {operstate})").format(
            devices=_(", ").join(names) or _("none"),
            state="UP" if up else "DOWN",
            flags=",".join(lo.get("flags", [])),
            operstate=lo.get("operstate", "?"),
        ),
        ok=names == ["lo"] and not up,
        note=_("Not even 127.0.0.1 answers until `ip link set lo up` inside the namespace."),
    )
