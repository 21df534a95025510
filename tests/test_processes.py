"""A Lab's processes: where they run, their session, their end; cross-checked with ps, /proc, ip netns and lsns."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
from conftest import sh
from scenes import wait_until

from netlab import NEW, Lab, netns
from netlab.errors import NamespaceNotFoundError
from netlab.lab import journal


def running(pid: int) -> bool:
    """Is ``pid`` a process that still runs (not gone, not a zombie waiting for its parent)?"""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def ps(pid: int, *fields: str) -> list[str]:
    """``ps -o FIELD= -p PID``: the fields ps reads for ``pid``."""
    return sh("ps", "-o", ",".join(f"{f}=" for f in fields), "-p", str(pid)).stdout.split()


def net_link(pid: int | str) -> str:
    return os.readlink(f"/proc/{pid}/ns/net")


def test_a_lab_process_runs_inside_its_namespace_on_record():
    with Lab() as lab:
        lab.netns("srv")
        proc = lab.popen("srv", ["sleep", "600"])
        inode = int(sh("ls", "-i", str(netns.path("srv"))).stdout.split()[0])
        assert net_link(proc.pid) == f"net:[{inode}]" != net_link("self")
        assert sh("ip", "netns", "identify", str(proc.pid)).stdout.split() == ["srv"]
        assert [int(p) for p in sh("ip", "netns", "pids", "srv").stdout.split()] == [proc.pid]
        assert ps(proc.pid, "comm") == ["sleep"]
        on_record = lab.record.find("process", pid=proc.pid)
        assert on_record is not None and on_record["argv"] == ["sleep", "600"]
        assert "ip netns exec srv sleep 600" in str(lab.history)
    assert proc.returncode is not None and not running(proc.pid)
    assert not (journal.record_dir() / f"{lab.id}.jsonl").exists()
    assert f"kill {proc.pid}" in str(lab.history)


def test_it_leads_a_session_of_its_own_so_an_interrupt_of_the_callers_group_misses_it():
    with Lab() as lab:
        lab.netns("srv")
        proc = lab.popen("srv", ["sleep", "600"])
        pid, pgid, sid = (int(word) for word in ps(proc.pid, "pid", "pgid", "sid"))
        assert pid == pgid == sid == proc.pid
        assert pgid != os.getpgrp() and sid != os.getsid(0)
        assert os.getpgid(proc.pid) == proc.pid  # the kernel's own answer, as Kernel > Interrupt's killpg sees it
    assert not running(proc.pid)


def test_kept_in_the_callers_group_it_is_stopped_alone_and_the_group_is_spared():
    sibling = subprocess.Popen(["sleep", "600"])  # another member of our process group
    try:
        with Lab() as lab:
            lab.netns("srv")
            proc = lab.popen("srv", ["sleep", "600"], start_new_session=False)
            assert int(ps(proc.pid, "pgid")[0]) == os.getpgrp() == int(ps(sibling.pid, "pgid")[0])
        assert not running(proc.pid)
        assert running(sibling.pid) and sibling.poll() is None  # close signalled the process, never the group
    finally:
        sibling.kill()
        sibling.wait()


def test_what_the_process_started_goes_with_it_when_the_lab_closes():
    with Lab() as lab:
        lab.netns("srv")
        proc = lab.popen("srv", ["sh", "-c", "sleep 600 & echo $!; wait"], stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        child = int(proc.stdout.readline())
        assert int(ps(child, "pgid")[0]) == proc.pid  # in the lab process's group
        assert sh("ip", "netns", "identify", str(child)).stdout.split() == ["srv"]
        lab.close()
        proc.stdout.close()
    assert not running(proc.pid)
    wait_until(lambda: not running(child), what=f"pid {child} to go")
    assert sh("ps", "-o", "stat=", "-p", str(child), check=False).stdout.strip()[:1] in ("", "Z")


def test_processes_are_stopped_newest_first_and_each_is_taken_off_the_record():
    with Lab() as lab:
        lab.netns("srv")
        first = lab.popen("srv", ["sleep", "600"])
        second = lab.popen(None, ["sleep", "600"])
        assert [obj["pid"] for obj in lab.record.of("process")] == [first.pid, second.pid]
        record = journal.record_dir() / f"{lab.id}.jsonl"
        lab.close()
    kills = [line for line in str(lab.history).splitlines() if line.startswith("kill ")]
    assert kills == [f"kill {second.pid}", f"kill {first.pid}"]
    assert not running(first.pid) and not running(second.pid) and not record.exists()


def test_a_process_that_ignores_sigterm_is_killed_when_the_lab_closes():
    with Lab() as lab:
        lab.netns("srv")
        proc = lab.popen("srv", ["sh", "-c", "trap '' TERM; exec sleep 600"])  # sleep keeps TERM ignored
        wait_until(lambda: ps(proc.pid, "comm") == ["sleep"], what="sh to become sleep")
        ignored = int(Path(f"/proc/{proc.pid}/status").read_text().split("SigIgn:")[1].split()[0], 16)
        assert ignored & (1 << (signal.SIGTERM - 1))
    assert proc.returncode == -signal.SIGKILL and not running(proc.pid)


def test_what_a_sigterm_ignoring_process_started_goes_too():
    with Lab() as lab:
        lab.netns("srv")
        proc = lab.popen("srv", ["sh", "-c", "trap '' TERM; sleep 600 & echo $!; wait"], stdout=subprocess.PIPE)
        assert proc.stdout is not None
        child = int(proc.stdout.readline())
        proc.stdout.close()
    try:
        assert not running(proc.pid)
        # SIGKILL is sent to the group at close; the child dies when the kernel next runs it
        wait_until(lambda: not running(child), what=f"pid {child}, left by the lab's process, to go")
    finally:
        if running(child):  # the test's own leftover, by its pid
            os.kill(child, signal.SIGKILL)
            wait_until(lambda: not running(child), what=f"pid {child} to go")


def test_a_process_in_a_new_namespace_takes_that_namespace_with_it():
    def net_namespaces() -> set[str]:
        return set(sh("lsns", "-t", "net", "-n", "-o", "NS").stdout.split())

    with Lab() as lab:
        proc = lab.popen(NEW, ["sleep", "600"])
        wait_until(lambda: net_link(proc.pid) != net_link("self"), what="unshare -n to exec sleep")
        inode = net_link(proc.pid).strip("net:[]")
        assert sh("ip", "netns", "identify", str(proc.pid)).stdout.strip() == ""  # no name for it
        assert inode in net_namespaces()
        assert "unshare -n sleep 600" in str(lab.history)
    assert not running(proc.pid)
    wait_until(lambda: inode not in net_namespaces(), what="the namespace to be freed")


def test_a_start_that_fails_is_refused_in_one_line_and_leaves_nothing_on_record():
    with Lab() as lab:
        lab.netns("srv")
        with pytest.raises(NamespaceNotFoundError) as err:
            lab.popen("no-such-ns", ["sleep", "600"])
        assert "\n" not in err.value.message and "no-such-ns" in err.value.message and err.value.hint
        with pytest.raises(ValueError):
            lab.popen("srv", [])
        assert lab.record.of("process") == [] and sh("ip", "netns", "pids", "srv").stdout == ""
        lines = (journal.record_dir() / f"{lab.id}.jsonl").read_text()
        assert '"process"' not in lines
        proc = lab.popen("srv", ["sleep", "600"])  # the lab still works
        assert [obj["pid"] for obj in lab.record.of("process")] == [proc.pid]
    assert not running(proc.pid)
