"""The netlab command, run as a learner runs it."""

from __future__ import annotations

import os
import pwd
import shutil
import sys
import uuid
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
    # scripts/as-user: nobody reaches the repository and .venv wherever they are (a clone in /root).
    result = sh(
        str(Path(__file__).resolve().parents[1] / "scripts" / "as-user"),
        "--user",
        nobody.pw_name,
        "--",
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


def test_cli_error_paths_are_one_line_each(tmp_path):
    """Bad input on the command line: a usage error or one `netlab: ...` line (and its hint), never a traceback."""
    cases = [
        (["netns", "exec", "nowhere"], "which command?"),
        (["netns", "exec", "nowhere", "--"], "which command?"),
        (["show", "--png", str(tmp_path / "missing" / "x.png")], "no directory"),
        (["show", "--png", str(tmp_path / "x.unknownext")], "must end in .png, .svg, .pdf"),
        (["lab", "--port", "99999"], "is not a TCP port"),
        (["lab", "--port", "http"], "is not a TCP port"),
        (["reproduce", "--output", str(tmp_path)], "is a directory"),
        (["reproduce", "--output", str(tmp_path / "no" / "r.html")], "no directory"),
        (["kernelspec", "install", "--prefix", "/proc/no/such/dir"], "netlab: "),
        (["netns", "attach", "x", "999999999"], "no process"),
        (["netns", "add", "a/b"], "invalid namespace name"),
    ]
    for argv, said in cases:
        result = sh(NETLAB, *argv, check=False)
        assert result.returncode in (1, 2), (argv, result)
        assert "Traceback" not in result.stderr and said in result.stderr, (argv, result.stderr)
        errors = [line for line in result.stderr.splitlines() if line.startswith("netlab")]
        assert len(errors) == 1, (argv, result.stderr)


def test_a_killed_lab_server_leaves_no_folder_or_socket(tmp_path):
    """`netlab lab` killed with SIGKILL: its folder (with JupyterLab's socket) goes all the same."""
    import subprocess
    import time

    code = (
        "import os, signal, socket, sys, tempfile\n"
        "from pathlib import Path\n"
        "from netlab.app.labserver import _remove_when_gone\n"
        "workdir = Path(tempfile.mkdtemp(prefix='netlab-lab-', dir=sys.argv[1]))\n"
        "socket.socket(socket.AF_UNIX).bind(str(workdir / 'jupyter.sock'))\n"
        "_remove_when_gone(workdir)\n"
        "print(workdir, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == -9
    workdir = Path(proc.stdout.strip())
    assert workdir.parent == tmp_path
    deadline = time.monotonic() + 10
    while workdir.exists():  # the janitor runs on its own; give it the time a busy machine needs
        assert time.monotonic() < deadline, f"{workdir} is still there"
        time.sleep(0.05)


def test_cleanup_of_a_lab_not_on_record_names_the_labs_that_are(english):
    """`netlab cleanup --lab TYPO` beside a lab on record: a typo, not "no labs on record"."""
    from netlab import Lab

    name = f"cli_{uuid.uuid4().hex[:8]}"
    with Lab(name):
        result = sh(NETLAB, "cleanup", "--lab", "typo", check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("netlab")]
    assert len(errors) == 1 and errors[0].startswith("netlab: no lab named typo; on record: ")
    assert name in errors[0].partition("on record: ")[2].split(", "), errors
