"""Named namespaces: netlab against the real kernel, cross-checked with ip, findmnt and ls."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import sh

from netlab import inodes, netns, persist, run
from netlab.errors import NamespaceExistsError, NamespaceNotFoundError, StaleNamespaceError
from netlab.plumbing import syscalls

NETLAB = str(Path(sys.executable).with_name("netlab"))


def test_add_makes_an_nsfs_bind_mount_that_ip_sees(ns):
    file = netns.run_dir() / ns
    assert sh("findmnt", "-n", "-o", "FSTYPE", str(file)).stdout.strip() == "nsfs"
    assert ns in sh("ip", "netns", "list").stdout.split()
    assert netns.exists(ns) and netns.list() == [ns]
    # ls -i and our inode agree, and the namespace is not the caller's.
    ls_inode = int(sh("ls", "-i", str(file)).stdout.split()[0])
    assert inodes.inode(ns) == ls_inode != inodes.inode()


def test_new_namespace_has_only_lo_and_it_is_down(ns):
    out = sh("ip", "netns", "exec", ns, "ip", "-o", "link").stdout.splitlines()
    assert len(out) == 1 and ": lo:" in out[0]
    assert "state DOWN" in out[0] and ",UP" not in out[0]


def test_run_dir_becomes_a_shared_mount(ns):
    # One line per mount on the directory, the top one last: on a machine where `ip netns add` ran before
    # (its own shared /run/netns), a rootless sandbox's /run/netns lies on top of the machine's copy.
    propagation = sh("findmnt", "-n", "-o", "PROPAGATION", str(netns.run_dir())).stdout.split()
    assert propagation[-1] == "shared"


def test_namespace_outlives_every_process(ns):
    # No process is inside it, yet it exists: the bind mount holds it.
    assert netns.pids(ns) == []
    info = next(i for i in inodes.namespaces() if i.inode == inodes.inode(ns))
    assert info.pids == [] and info.mounts == [str(netns.run_dir() / ns)] and info.names == [ns]


def test_caller_thread_never_moves():
    before = inodes.label()
    netns.add("stay")
    threads_after_one = threading.active_count()
    netns.add("stay2")
    try:
        assert inodes.label() == before
        assert os.readlink("/proc/thread-self/ns/net") == before
        assert threading.active_count() == threads_after_one  # one worker, reused
        worker = next(t for t in threading.enumerate() if t.name == "netlab-netns-worker")
        assert os.readlink(f"/proc/self/task/{worker.native_id}/ns/net") == before  # it came back
    finally:
        netns.delete("stay")
        netns.delete("stay2")


def test_ip_made_namespace_is_seen_and_deleted_by_netlab():
    sh("ip", "netns", "add", "from-ip")
    assert netns.exists("from-ip") and "from-ip" in netns.list()
    assert run("from-ip", ["ip", "-br", "link"]).stdout.startswith("lo")
    netns.delete("from-ip")
    assert sh("ip", "netns", "list").stdout == ""


def test_netlab_made_namespace_is_deleted_by_ip(ns_name):
    netns.add(ns_name)
    sh("ip", "netns", "delete", ns_name)
    assert not netns.exists(ns_name) and netns.list() == []


def test_delete_unmounts_and_removes_the_file(ns_name):
    netns.add(ns_name)
    ino = inodes.inode(ns_name)
    netns.delete(ns_name)
    assert not (netns.run_dir() / ns_name).exists()
    assert sh("findmnt", "-n", "-t", "nsfs", check=False).stdout == ""
    assert ino not in {i.inode for i in inodes.namespaces()}


def test_identify_and_pids_agree_with_ip(ns):
    sleeper = subprocess.Popen(["ip", "netns", "exec", ns, "sleep", "30"])  # ip execs sleep: same pid
    try:
        _wait_until(lambda: netns.identify(sleeper.pid) == [ns])
        assert sh("ip", "netns", "identify", str(sleeper.pid)).stdout.split() == [ns]
        assert netns.pids(ns) == [sleeper.pid]
        assert [int(p) for p in sh("ip", "netns", "pids", ns).stdout.split()] == netns.pids(ns)
        assert netns.identify("self") == []
    finally:
        sleeper.kill()
        sleeper.wait()


def _wait_until(condition, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def test_attach_names_a_process_namespace(ns_name):
    proc = persist.start_unshared(["sleep", "30"])
    try:
        netns.attach(ns_name, proc.pid)
        assert netns.identify(proc.pid) == [ns_name]
        assert sh("ip", "netns", "identify", str(proc.pid)).stdout.split() == [ns_name]
        assert inodes.inode(ns_name) == inodes.inode(proc.pid)
    finally:
        proc.kill()
        proc.wait()
    # The process is gone; the name keeps the namespace.
    assert netns.exists(ns_name) and netns.pids(ns_name) == []


def test_ip_netns_attach_is_seen_by_netlab(ns_name):
    proc = persist.start_unshared(["sleep", "30"])
    try:
        sh("ip", "netns", "attach", ns_name, str(proc.pid))
        assert netns.identify(proc.pid) == [ns_name]
    finally:
        proc.kill()
        proc.wait()


def test_stale_entry_is_reported_and_removable():
    stale = netns.run_dir() / "crashed"
    stale.touch()
    try:
        assert netns.list() == [] and netns.stale() == ["crashed"]
        assert not netns.exists("crashed")
        # ip shows it as a namespace but cannot enter it: that is why we report it.
        assert "crashed" in sh("ip", "netns", "list").stdout
        assert sh("ip", "netns", "exec", "crashed", "true", check=False).returncode != 0
        with pytest.raises(StaleNamespaceError):
            netns.add("crashed")
        with pytest.raises(StaleNamespaceError):
            run("crashed", ["true"])
        netns.delete("crashed")
        assert netns.stale() == [] and not stale.exists()
    finally:
        stale.unlink(missing_ok=True)


def test_add_twice_is_refused_and_keeps_the_first(ns):
    ino = inodes.inode(ns)
    with pytest.raises(NamespaceExistsError) as err:
        netns.add(ns)
    assert ns in str(err.value) and err.value.hint
    assert inodes.inode(ns) == ino


def test_add_rolls_back_when_the_bind_mount_fails(ns_name, monkeypatch):
    # Fault injection: the kernel call itself is real up to the mount, which we make fail.
    def refuse(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(syscalls, "mount", refuse)
    with pytest.raises(OSError):
        netns.attach(ns_name, os.getpid())
    monkeypatch.undo()
    assert not (netns.run_dir() / ns_name).exists()


def test_delete_missing_and_pids_missing_raise(ns_name):
    with pytest.raises(NamespaceNotFoundError):
        netns.delete(ns_name)
    with pytest.raises(NamespaceNotFoundError):
        netns.pids(ns_name)


def test_run_dir_can_point_elsewhere(tmp_path, monkeypatch):
    private = tmp_path / "netns"
    monkeypatch.setenv(netns.RUN_DIR_ENV, str(private))
    netns.add("elsewhere")
    try:
        assert netns.list() == ["elsewhere"]
        assert sh("findmnt", "-n", "-o", "FSTYPE", str(private / "elsewhere")).stdout.strip() == "nsfs"
        assert sh("ip", "netns", "list").stdout == ""  # ip only looks in /run/netns
    finally:
        netns.delete("elsewhere")
        syscalls.umount2(private, syscalls.MNT_DETACH)  # the shared bind mount add() made


def test_delete_of_a_symlink_removes_the_link_and_never_unmounts_its_target(ns):
    """containerlab names namespaces with symlinks; `ip netns delete` would unmount what one points to."""
    link = netns.run_dir() / f"{ns}-link"
    link.symlink_to(netns.run_dir() / ns)
    try:
        result = sh(NETLAB, "netns", "delete", link.name, check=False)
        assert result.returncode == 0 and result.stderr == "", result.stderr
        assert not os.path.lexists(link)
        assert sh("findmnt", "-n", "-o", "FSTYPE", str(netns.run_dir() / ns)).stdout.strip() == "nsfs"
        assert netns.list() == [ns]
    finally:
        link.unlink(missing_ok=True)


# The first `add` stops between steps 4 and 6: its file is there, still empty, not yet a namespace.
PAUSED_ADD = """
import sys
from netlab import netns

pin = netns._pin_new_namespace


def paused(file):
    print("file made, not pinned yet", flush=True)
    sys.stdin.readline()
    pin(file)


netns._pin_new_namespace = paused
netns.add(sys.argv[1])
"""


def _waits_for_a_lock(pid: int) -> bool:
    """Is process ``pid`` blocked in flock()? ``/proc/locks`` marks a waiter with ``->``."""
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if fields[1] == "->" and int(fields[5]) == pid:
            return True
    return False


def test_two_adds_of_one_name_at_once_the_second_is_told_it_exists(ns_name, english):
    """The loser of a race is told "already exists", never that the winner's half-made file is a crash's."""
    first = subprocess.Popen(
        [sys.executable, "-c", PAUSED_ADD, ns_name], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    second = None
    try:
        assert first.stdout is not None and first.stdout.readline()
        second = subprocess.Popen([NETLAB, "netns", "add", ns_name], stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while second.poll() is None and not _waits_for_a_lock(second.pid):  # it answers, or waits its turn
            assert time.monotonic() < deadline, "the second add neither answered nor waited for the lock"
            time.sleep(0.01)
        first.communicate("go\n", timeout=60)
        assert first.returncode == 0
        _out, said = second.communicate(timeout=60)
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
    assert second.returncode == 1 and "already exists" in said and "plain file" not in said, said
    assert len([line for line in said.splitlines() if line.startswith("netlab")]) == 1
    assert netns.list() == [ns_name]
