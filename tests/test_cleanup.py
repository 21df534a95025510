"""Crash recovery: kill -9 in the middle of a build, then `netlab cleanup` removes exactly what the lab made."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import sh

from netlab import Lab, nat, netns, sysctl
from netlab.lab import cleanup, journal

NETLAB = str(Path(sys.executable).with_name("netlab"))

CRASHY = textwrap.dedent("""
    import itertools, sys
    from netlab import Lab
    lab = Lab("crashy")
    lab.bridge("br-crash")
    lab.add_address("br-crash", "10.77.0.1/16")
    lab.up("br-crash")
    lab.sysctl("net.ipv4.ip_forward", 1)
    lab.masquerade("10.77.0.0/16", out="br-crash")
    lab.veth("cv0", "cv1")                      # a pair with both ends in the root namespace
    for i in itertools.count(1):
        name = f"crash{i}"
        lab.netns(name)
        lab.connect(name, address=f"10.77.{i // 250}.{i % 250 + 2}/16", bridge="br-crash", gateway="10.77.0.1")
        if i == 3:
            print("MARK", flush=True)           # the parent kills us from here on, mid-build
        if i == 400:
            break
    input()
""")


def root_links() -> set[str]:
    return {lk["ifname"] for lk in json.loads(sh("ip", "-j", "link").stdout)}


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return sh(NETLAB, *args, check=False)


@pytest.mark.parametrize("delay", [0.0, 0.03])
def test_kill_9_mid_build_then_cleanup_removes_exactly_the_labs_objects(delay):
    original_forward = sysctl.get("net.ipv4.ip_forward")
    # Foreign objects, made with plain `ip`: cleanup must not touch them.
    sh("ip", "netns", "add", "foreign1")
    sh("ip", "link", "add", "fveth0", "type", "veth", "peer", "name", "fveth1")
    try:
        with Lab("live") as live:  # a second lab, alive the whole time
            live.netns("live1")
            live.bridge("br-live")
            live.sysctl("net.ipv4.ip_forward", 1)
            live.masquerade("10.88.0.0/16", out="br-live")
            baseline_links, baseline_tables = root_links(), set(nat.tables())

            child = subprocess.Popen(
                [sys.executable, "-c", CRASHY],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            assert child.stdout.readline() == "MARK\n", child.stderr.read()
            time.sleep(delay)
            child.send_signal(signal.SIGKILL)
            child.wait()
            child.stdout.close(), child.stderr.close(), child.stdin.close()

            # The crash left things behind ...
            crashed = journal.read(journal.record_dir() / "crashy.jsonl")
            assert crashed is not None and not crashed.alive
            assert any(n.startswith("crash") for n in netns.list()) and "br-crash" in root_links()

            result = run_cli("cleanup")
            assert result.returncode == 0, result.stdout + result.stderr
            assert "lab 'crashy'" in result.stdout and "lab 'live'" in result.stdout and "skipped" in result.stdout

            # ... and now none of it is left, while everything else is untouched.
            assert netns.list() == ["foreign1", "live1"] and netns.stale() == []
            assert root_links() == baseline_links
            assert {"fveth0", "fveth1", "br-live"} <= root_links()
            assert set(nat.tables()) == baseline_tables == {"inet netlab_live"}
            assert sysctl.get("net.ipv4.ip_forward") == "1"  # the live lab still needs it
            assert journal.lab_ids() == ["live"]

            again = run_cli("cleanup")  # repeating is harmless
            assert again.returncode == 0 and "crashy" not in again.stdout
            assert netns.list() == ["foreign1", "live1"] and root_links() == baseline_links
        assert sysctl.get("net.ipv4.ip_forward") == original_forward  # the live lab, closing, put it back
    finally:
        sh("ip", "netns", "delete", "foreign1")
        sh("ip", "link", "delete", "fveth0")


def crash(code: str) -> None:
    """Run a lab in a child that dies without any cleanup (os._exit skips finally and atexit)."""
    subprocess.run(
        [sys.executable, "-c", "from netlab import Lab\n" + textwrap.dedent(code) + "\nimport os; os._exit(9)"],
        check=False,
    )


def test_a_name_reused_by_someone_else_is_left_alone():
    crash("""
        lab = Lab("reuse")
        lab.netns("reused")
        lab.veth("rv0", "rv1")
        lab.sysctl("net.ipv4.conf.all.accept_redirects", 0)
    """)
    # Someone deletes the lab's things and makes their own under the same names.
    sh("ip", "netns", "delete", "reused")
    sh("ip", "netns", "add", "reused")
    sh("ip", "link", "delete", "rv0")
    sh("ip", "link", "add", "rv0", "type", "veth", "peer", "name", "rv1")
    sh("sysctl", "-w", "net.ipv4.conf.all.accept_redirects=1")
    try:
        (report,) = cleanup.cleanup()
        assert report.removed == []
        assert any("reused" in item and "another namespace" in item for item in report.left)
        assert any("accept_redirects" in item and "changed since" in item for item in report.left)
        assert netns.list() == ["reused"] and {"rv0", "rv1"} <= root_links()
        assert journal.lab_ids() == []
    finally:
        sh("ip", "netns", "delete", "reused")
        sh("ip", "link", "delete", "rv0")


def test_a_bridge_that_took_a_lab_veths_mac_is_not_the_lab_s():
    crash("""
        lab = Lab("macs")
        lab.veth("mv0", "mv1")
    """)
    # A learner plugs the lab's veth into a bridge of their own: the bridge takes the port's MAC.
    sh("ip", "link", "add", "learner-br", "type", "bridge")
    sh("ip", "link", "set", "mv0", "master", "learner-br")
    try:
        links = json.loads(sh("ip", "-j", "link", "show").stdout)
        mac = {link["ifname"]: link["address"] for link in links}
        assert mac["learner-br"] == mac["mv0"]
        (report,) = cleanup.cleanup()
        assert "learner-br" in root_links() and not {"mv0", "mv1"} & root_links()
        assert not any("learner-br" in item for item in report.removed)
    finally:
        sh("ip", "link", "delete", "learner-br")
        sh("ip", "link", "delete", "mv0", check=False)


def test_dry_run_changes_nothing_and_labs_lists_owners():
    crash("""
        lab = Lab("dry")
        lab.netns("dry1")
        lab.bridge("br-dry")
    """)
    try:
        listed = run_cli("labs").stdout
        assert "lab 'dry'" in listed and "(gone)" in listed
        dry = run_cli("cleanup", "--dry-run")
        assert "(dry run)" in dry.stdout and "namespace dry1" in dry.stdout and "br-dry" in dry.stdout
        assert netns.list() == ["dry1"] and "br-dry" in root_links() and journal.lab_ids() == ["dry"]
        assert "no lab named other; on record: dry" in run_cli("cleanup", "--lab", "other").stderr  # a typo
        assert netns.list() == ["dry1"]
        run_cli("cleanup", "--lab", "dry")
        assert netns.list() == [] and "br-dry" not in root_links() and journal.lab_ids() == []
        assert "nothing to clean up" in run_cli("cleanup").stdout
    finally:
        cleanup.cleanup()


def test_stale_file_from_a_crash_between_create_and_mount():
    record_dir = journal.record_dir()
    record_dir.mkdir(exist_ok=True)
    now = time.time()
    lines = [
        {"ev": "lab", "lab": "torn", "pid": 999999999, "start": 1, "root": 1, "time": now},
        {"ev": "netns", "seq": 1, "name": "torn1", "inode": 12345, "time": now - 5},
    ]
    (record_dir / "torn.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    netns.run_dir().mkdir(exist_ok=True)
    (netns.run_dir() / "torn1").touch()  # what `ip netns add` leaves when it dies before the bind mount
    assert netns.stale() == ["torn1"]
    (report,) = cleanup.cleanup()
    assert any("stale namespace file" in item for item in report.removed)
    assert netns.stale() == [] and journal.lab_ids() == []


def test_cleanup_all_also_takes_down_a_running_lab():
    lab = Lab("running")
    lab.netns("r1")
    lab.bridge("br-r")
    (skipped,) = cleanup.cleanup()
    assert skipped.skipped and netns.list() == ["r1"]
    (report,) = cleanup.cleanup(all=True)
    assert len(report.removed) == 2 and netns.list() == [] and "br-r" not in root_links()
    assert lab.close() is not None  # closing afterwards finds nothing left to do, and does not fail


def test_a_dead_owner_is_told_apart_from_a_reused_pid():
    lab = Lab("me")
    try:
        assert lab.record.alive
        fake = journal.Record(lab="x", path=Path("/nonexistent"), pid=os.getpid(), start=1, root=0, created=0)
        assert not fake.alive  # same pid, other start time: another process
    finally:
        lab.close()


# Lab.star builds in batches: the whole batch is journaled, then named, wired and configured.
# The child dies (os._exit: no finally, no atexit) at a chosen point of the build, or is killed.
STAR_CRASH = textwrap.dedent("""
    import os, sys
    from netlab import Lab, netns
    from netlab.lab import wiring

    where, after = sys.argv[1], int(sys.argv[2])
    calls = [0]

    def dying(real):
        def wrapper(*args, **kwargs):
            calls[0] += 1
            if calls[0] > after:
                os._exit(9)
            return real(*args, **kwargs)
        return wrapper

    if where == "name":        # naming the namespaces (bind mounts): after AFTER of them
        netns.attach_fd = dying(netns.attach_fd)
    elif where == "send":      # netlink batches: 1 finds the bridge, 1 per chunk makes the pairs, then 2 per namespace
        wiring.send_batch = dying(wiring.send_batch)
    lab = Lab("starcrash")
    print("MARK", flush=True)
    lab.star(250, bridge="br-sc", prefix="sc", subnet="10.66.0.0/16")
    input()
""")


def assert_star_crash_cleaned_up() -> None:
    crashed = journal.read(journal.record_dir() / "starcrash.jsonl")
    assert crashed is not None and not crashed.alive
    result = run_cli("cleanup")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "lab 'starcrash'" in result.stdout and "error" not in result.stdout
    assert netns.list() == [] and netns.stale() == []
    assert not {name for name in root_links() if name.startswith("v-sc") or name == "br-sc"}
    assert journal.lab_ids() == []


@pytest.mark.parametrize(
    "where, after",
    [
        ("name", 0),  # the first batch journaled (200 namespaces, 400 veth ends), nothing named: nothing exists
        ("name", 120),  # 120 named, 80 only held by the dead process, no veth yet
        ("send", 1),  # 200 named and wired to the bridge, not configured inside
        ("send", 403),  # the first batch done, the second named and wired, not configured
    ],
)
def test_a_crash_inside_a_batched_star_is_cleaned_up(where, after):
    child = subprocess.run(
        [sys.executable, "-c", STAR_CRASH, where, str(after)], capture_output=True, text=True, check=False
    )
    assert child.returncode == 9 and child.stdout == "MARK\n", child.stderr
    made = [name for name in netns.list() if name.startswith("sc")]
    assert len(made) == {("name", 0): 0, ("name", 120): 120, ("send", 1): 200, ("send", 403): 250}[(where, after)]
    assert_star_crash_cleaned_up()


@pytest.mark.parametrize("delay", [0.05, 0.3])
def test_kill_9_during_a_batched_star_then_cleanup(delay):
    child = subprocess.Popen(
        [sys.executable, "-c", STAR_CRASH, "none", "0"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout.readline() == "MARK\n", child.stderr.read()
    time.sleep(delay)  # not a synchronisation: where the kill lands does not matter, every point must be safe
    child.send_signal(signal.SIGKILL)
    child.wait()
    child.stdout.close(), child.stderr.close(), child.stdin.close()
    assert_star_crash_cleaned_up()
