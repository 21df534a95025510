"""Namespace inodes and their holders (netlab.inodes), checked with readlink, ls -i, lsns and findmnt."""

from __future__ import annotations

import json
import os
import sys
import threading
import time

import pytest
from conftest import sh

from netlab import inodes, netns, persist
from netlab.plumbing import syscalls


def test_label_matches_readlink():
    assert inodes.label() == os.readlink("/proc/self/ns/net")
    assert inodes.label(os.getppid()) == os.readlink(f"/proc/{os.getppid()}/ns/net")
    assert inodes.label(os.getpid(), tid=threading.get_native_id()) == os.readlink("/proc/thread-self/ns/net")


def test_symlink_dies_with_its_process(tmp_path):
    proc = persist.start_unshared(["sleep", "30"])
    link = persist.symlink(proc.pid, tmp_path / "container-netns")
    bound = persist.bind(proc.pid, tmp_path / "pinned")
    try:
        assert inodes.inode(link) == inodes.inode(bound)
    finally:
        proc.kill()
        proc.wait()
    assert not link.exists()  # dangling: /proc/PID is gone
    assert persist.is_bind_mounted(bound)
    persist.unbind(bound)


def test_namespaces_agree_with_lsns(ns):
    # Two scans of /proc (lsns's and ours) agree unless a process starts or ends in between: retry then.
    for _ in range(5):
        theirs = json.loads(sh("lsns", "-t", "net", "-J", "-o", "NS,NPROCS,PID").stdout)["namespaces"]
        ours = {i.inode: i for i in inodes.namespaces()}
        lsns_itself = {i.inode: 1 if i.current else 0 for i in ours.values()}  # lsns counts itself
        if all(
            int(r["ns"]) in ours and len(ours[int(r["ns"])].pids) + lsns_itself[int(r["ns"])] == int(r["nprocs"])
            for r in theirs
        ):
            break
    else:
        pytest.fail(f"lsns and netlab disagree: {theirs} vs {ours}")
    # Ours also lists the namespace only a bind mount holds. lsns lists it from util-linux 2.39 on
    # (with no process); before, only namespaces that have a process.
    assert inodes.inode(ns) in ours
    listed = {int(r["ns"]): int(r["nprocs"]) for r in theirs}
    if _lsns_version() >= (2, 39):
        assert listed.get(inodes.inode(ns)) == 0
    else:
        assert inodes.inode(ns) not in listed
    assert ours[inodes.inode()].current


def _lsns_version() -> tuple[int, int]:
    """``lsns from util-linux 2.42.4`` -> (2, 42)."""
    words = sh("lsns", "--version").stdout.split()
    major, minor = words[-1].split(".")[:2]
    return int(major), int(minor)


def test_thread_and_fd_holders(ns):
    ino = inodes.inode(ns)
    fd = os.open(netns.path(ns), os.O_RDONLY)
    try:
        netns.delete(ns)  # the name is gone...
        info = {i.inode: i for i in inodes.namespaces()}[ino]
        assert (os.getpid(), fd) in info.fds and info.names == []  # ...the open fd holds it

        ready, done = threading.Event(), threading.Event()

        def inside():
            syscalls.setns(fd, syscalls.CLONE_NEWNET)
            ready.set()
            done.wait(10)

        worker = threading.Thread(target=inside)
        worker.start()
        ready.wait(10)
        info = {i.inode: i for i in inodes.namespaces()}[ino]
        assert (os.getpid(), worker.native_id) in info.threads
        assert any("thread" in h for h in info.held_by)
        done.set()
        worker.join()
    finally:
        os.close(fd)
    # join() returns when the thread's Python code is done; the kernel ends the thread (and drops its
    # hold on the namespace) a moment later.
    deadline = time.monotonic() + 10
    while ino in {i.inode for i in inodes.namespaces()} and time.monotonic() < deadline:
        time.sleep(0.02)
    assert ino not in {i.inode for i in inodes.namespaces()}


# A host's /run, rebuilt in a throwaway mount namespace: systemd makes /run a shared mount, and there the
# first `ip netns add` of iproute2 < 7.0 bind-mounts /run/netns onto itself in /run's peer group, so every
# namespace is mounted twice on the same path (the article's doubled `mount` line; notebook 04, A13). This is
# the Vagrant VM (Debian 12, iproute2 6.1); the sandbox's own /run/netns is private and shows one mount.
_SHARED_RUN = """
set -e
mount -t tmpfs netlab-test /run     # a /run of its own; the sandbox's is untouched
mount --make-shared /run            # as systemd makes it
ip netns add netns1
if [ "$(grep -c ' /run/netns/netns1 ' /proc/self/mountinfo)" -lt 2 ]; then
    # iproute2 >= 7.0 gives /run/netns a peer group of its own (one mount): stack the second one by hand
    mount --bind /run/netns/netns1 /run/netns/netns1
    by_hand=1
fi
"$@"
[ -z "${by_hand:-}" ] || umount /run/netns/netns1   # ip's delete removes what ip made, both of it
ip netns delete netns1
echo "after delete: $(grep -c ' /run/netns/netns1 ' /proc/self/mountinfo || true) mounts"
"""

_HOLDERS = """
import json
from netlab import inodes
from netlab.view.snapshot import snapshot
info = next(i for i in inodes.namespaces() if "netns1" in i.names)
print(json.dumps({
    "lines": [m for _, m in inodes.nsfs_mounts() if m == "/run/netns/netns1"],
    "names": info.names, "mounts": info.mounts, "pids": info.pids, "held_by": info.held_by,
    "snapshot": list(snapshot().namespace("netns1").holders),
}))
"""


def test_a_namespace_mounted_twice_on_a_shared_run_has_one_holder():
    """Notebook 01 in the VM: `ip netns add netns1` on a shared /run; netns1 is held by one bind mount, not two."""
    out = sh(
        "unshare", "--mount", "--propagation", "private", "sh", "-c", _SHARED_RUN, "sh", sys.executable, "-c", _HOLDERS
    ).stdout
    seen = json.loads(out.splitlines()[0])
    assert seen["lines"] == ["/run/netns/netns1"] * 2  # mountinfo (and findmnt, mount) list it twice...
    held = ["bind mount /run/netns/netns1"]  # ...but it is one holder, removed by one `ip netns delete`
    assert (seen["names"], seen["mounts"], seen["pids"], seen["held_by"]) == (
        ["netns1"],
        ["/run/netns/netns1"],
        [],
        held,
    )
    assert seen["snapshot"] == held
    assert out.splitlines()[-1] == "after delete: 0 mounts"
