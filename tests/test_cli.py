"""The netlab command, run as a learner runs it."""

from __future__ import annotations

import os
import pwd
import shutil
import sys
from pathlib import Path

import pytest
from conftest import sh

NETLAB = str(Path(sys.executable).with_name("netlab"))


def test_netns_subcommands_mirror_ip():
    sh(NETLAB, "netns", "add", "cli1")
    try:
        assert sh("ip", "netns", "list").stdout.split() == ["cli1"]
        assert sh(NETLAB, "netns", "list").stdout.split() == ["cli1"]
        assert sh(NETLAB, "netns", "exec", "cli1", "ip", "-br", "link").stdout.startswith("lo")
        assert "net:[" in sh(NETLAB, "lsns").stdout
    finally:
        sh(NETLAB, "netns", "delete", "cli1")
    assert sh("ip", "netns", "list").stdout == ""


def test_cli_errors_name_the_problem():
    result = sh(NETLAB, "netns", "delete", "nope", check=False)
    assert result.returncode == 1
    assert "'nope' does not exist" in result.stderr and "hint:" in result.stderr
    result = sh(NETLAB, "netns", "add", "a/b", check=False)
    assert result.returncode == 1 and "invalid namespace name" in result.stderr


def test_nested_sandbox_is_a_fresh_world(ns):
    inner = sh(NETLAB, "sandbox", "--", "sh", "-c", "ip -br link; ls /run/netns; readlink /proc/self/ns/net")
    lines = inner.stdout.splitlines()
    assert lines[0].split()[0] == "lo" and ",UP" in lines[0]  # lo is up in a sandbox
    assert ns not in inner.stdout and len(lines) == 2
    assert lines[-1] != os.readlink("/proc/self/ns/net")


def _real_root() -> bool:
    """Root of the machine, not uid 0 of a user namespace (there, other uids are not mapped)."""
    return os.getuid() == 0 and Path("/proc/self/uid_map").read_text().split() == ["0", "0", "4294967295"]


@pytest.mark.skipif(not _real_root(), reason="needs the machine's root to switch to an ordinary user")
def test_rootless_sandbox_runs_the_article_as_nobody():
    if not shutil.which("setpriv"):
        pytest.skip("setpriv (util-linux) not installed")
    nobody = pwd.getpwnam("nobody")
    script = (
        "ip netns add netns1 && ip link add veth0 type veth peer name veth1 && "
        "ip link set veth1 netns netns1 && ip netns exec netns1 ip addr add 10.1.1.1/24 dev veth1 && "
        "ip netns exec netns1 ip link set veth1 up && ip addr add 10.1.1.2/24 dev veth0 && "
        "ip link set veth0 up && id -u && ip netns exec netns1 ip -br addr show veth1"
    )
    result = sh(
        "setpriv",
        f"--reuid={nobody.pw_uid}",
        f"--regid={nobody.pw_gid}",
        "--clear-groups",
        NETLAB,
        "sandbox",
        "--",
        "sh",
        "-c",
        script,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "0"  # root inside the user namespace
    assert "10.1.1.1/24" in result.stdout


def test_a_killed_sandbox_leaves_nothing_behind():
    """kill -9 in the middle of a lesson: the sandbox's world, its namespaces and processes all go with it."""
    import signal
    import subprocess
    import time

    from netlab import inodes

    script = (
        "ip netns add lesson && ip link add veth0 type veth peer name veth1 && "
        "ip link set veth1 netns lesson && (ip netns exec lesson sleep 60 &) && "
        "readlink /proc/self/ns/net && ls -i /run/netns/lesson && sleep 60"
    )
    proc = subprocess.Popen(
        [NETLAB, "sandbox", "--", "sh", "-c", script], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    world = int(proc.stdout.readline().strip()[5:-1])  # the sandbox's own network namespace
    lesson = int(proc.stdout.readline().split()[0])  # the namespace made inside it
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    deadline = time.monotonic() + 5
    while {world, lesson} & {info.inode for info in inodes.namespaces()}:
        assert time.monotonic() < deadline, "the killed sandbox's namespaces are still alive"
        time.sleep(0.05)
    # The autouse fixture then checks that namespaces, links, mounts and children here are as before.
