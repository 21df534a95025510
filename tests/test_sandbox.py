"""`netlab sandbox`: a private world of processes, namespaces and mounts, cross-checked with ps, lsns, findmnt.

Private for the network, never for the learner's files: /tmp, the working directory and the Python
stay the machine's.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import sh

from netlab.sandbox import INIT_NAME

NETLAB = str(Path(sys.executable).with_name("netlab"))


def _processes() -> dict[str, str]:
    """pid -> command name, as `ps -e` shows them here."""
    words = sh("ps", "-e", "-o", "pid=,comm=").stdout.split()
    return dict(zip(words[::2], words[1::2], strict=True))


def test_ps_and_lsns_show_only_the_sandbox():
    script = "ps -e -o pid=,comm=; echo --; lsns -t net -n -o NS,NPROCS; echo --; read wait"
    proc = subprocess.Popen(
        [NETLAB, "sandbox", "--", "sh", "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        ps_part = "".join(iter(proc.stdout.readline, "--\n"))
        lsns_part = "".join(iter(proc.stdout.readline, "--\n"))
        outside = _processes()  # while the sandbox is still running
        ours = {line.split()[0] for line in sh("lsns", "-t", "net", "-n", "-o", "NS").stdout.splitlines()}
    finally:
        proc.communicate("go\n")
    words = ps_part.split()
    inside = dict(zip(words[::2], words[1::2], strict=True))
    # PID 1 is the sandbox's init, 2 the command; nothing of the world it was started from.
    assert inside["1"] == INIT_NAME and inside["2"] == "sh" and sorted(inside.values()) == [INIT_NAME, "ps", "sh"]
    # From out here we see into it (a PID namespace hides only upward): its init and shell, and us.
    assert len(outside) > len(inside) and list(outside.values()).count(INIT_NAME) >= 2
    assert outside[str(os.getpid())].startswith("python") and "python" not in " ".join(inside.values())
    listed = dict(zip(lsns_part.split()[::2], lsns_part.split()[1::2], strict=True))
    with_processes = [ns for ns, count in listed.items() if count != "0"]
    here = os.readlink("/proc/self/ns/net")[5:-1]
    assert len(with_processes) == 1 and here not in listed  # its own namespace only, not ours
    assert with_processes[0] in ours and here in ours


def test_netlab_namespaces_inside_lists_only_the_sandbox():
    code = "import netlab; print(*sorted(i.inode for i in netlab.namespaces()))"
    inner = sh(NETLAB, "sandbox", "--", sys.executable, "-c", code).stdout.split()
    assert len(inner) == 1 and int(inner[0]) != os.stat("/proc/self/ns/net").st_ino


def test_exit_status_is_the_commands():
    assert sh(NETLAB, "sandbox", "--", "sh", "-c", "exit 7", check=False).returncode == 7
    assert sh(NETLAB, "sandbox", "--", "sh", "-c", "kill -KILL $$", check=False).returncode == 128 + 9
    missing = sh(NETLAB, "sandbox", "--", "no-such-command-here", check=False)
    assert missing.returncode == 127 and "no-such-command-here" in missing.stderr
    assert "Traceback" not in missing.stderr


def _line(proc: subprocess.Popen, timeout: float = 30) -> str:
    """The next line ``proc`` prints, or "" if none comes within ``timeout`` (a hang fails, never blocks)."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    return proc.stdout.readline() if ready else ""


def test_sigterm_reaches_the_command_through_pid_1():
    script = 'trap "echo got TERM; exit 3" TERM; echo ready; while :; do sleep 0.1; done'
    proc = subprocess.Popen([NETLAB, "sandbox", "--", "sh", "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert _line(proc) == "ready\n"
        proc.send_signal(signal.SIGTERM)  # to `netlab sandbox` only, not its process group
        assert _line(proc) == "got TERM\n"
        assert proc.wait(timeout=30) == 3
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()


@pytest.mark.parametrize("delay", [0.0, 0.01, 0.03, 0.06, 0.1, 0.15, 0.2, 0.3])
def test_a_sigterm_at_any_moment_of_the_start_ends_the_sandbox(delay):
    """Sent while the sandbox is still forking its PID 1 and the command, SIGTERM is never lost.

    PID 1 of a PID namespace drops a signal it has no handler for; the sandbox blocks the signals it
    forwards across each fork, so one that comes early waits for the handler instead.
    """
    script = 'trap "exit 3" TERM; while :; do sleep 0.1; done'
    proc = subprocess.Popen([NETLAB, "sandbox", "--", "sh", "-c", script])
    try:
        time.sleep(delay)  # not a synchronisation: each delay hits another moment of the start
        proc.send_signal(signal.SIGTERM)
        # Killed before it set its own handler (-15), the command killed before its trap (143), or the trap (3).
        assert proc.wait(timeout=30) in (-signal.SIGTERM, 128 + signal.SIGTERM, 3)
    finally:
        proc.kill()
        proc.wait()


def test_pid_1_reaps_orphans():
    # Three orphans: their parent (a subshell) exits at once, so they become children of PID 1.
    script = (
        "for i in 1 2 3; do (sh -c 'exit 0' &); done; "
        'for i in $(seq 100); do z=$(ps -e -o stat= | grep -c "^Z"); [ "$z" = 0 ] && break; sleep 0.05; done; '
        'echo "zombies: $z"'
    )
    assert sh(NETLAB, "sandbox", "--", "sh", "-c", script).stdout.split() == ["zombies:", "0"]


def test_the_machines_files_stay_visible_and_what_it_writes_stays(tmp_path):
    outside = Path(tempfile.mkdtemp(dir="/tmp"))  # straight in /tmp: not the working directory, not $HOME
    try:
        (outside / "mine").touch()
        (tmp_path / "here").touch()
        check = f"ls; ls {outside}; echo written > {outside}/report"
        result = subprocess.run(
            [NETLAB, "sandbox", "--", "sh", "-c", check], cwd=tmp_path, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["here", "mine"]
        assert (outside / "report").read_text() == "written\n"  # still there: the sandbox ended, the file stays
    finally:
        shutil.rmtree(outside)


def test_a_python_in_tmp_runs_in_the_sandbox(venv_in_tmp):
    """`netlab sandbox` from a virtual environment in /tmp (a clone's there) runs that environment's Python."""
    python = str(venv_in_tmp / "bin/python")
    code = "import sys, netlab; print(sys.prefix)"
    result = subprocess.run(
        [python, "-m", "netlab", "sandbox", "--", python, "-c", code], cwd="/", capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr  # was 127: "netlab sandbox: /tmp/.../python: No such file"
    assert result.stdout.strip() == str(venv_in_tmp)


@pytest.mark.parametrize("state", ["/var/lib/netlab", "/var/lib/cni"])
def test_state_under_var_lib_is_the_sandboxes_own(state):
    """A lesson's baseline (/var/lib/netlab) and CNI's IPAM state (/var/lib/cni): in a sandbox, a tmpfs of its own."""
    name = Path(state).name
    script = (
        f'test "$(findmnt -n -o FSTYPE {state})" = tmpfs || exit 3; '  # checked before anything is written
        f'echo "[$(ls -A {state})]"; touch {state}/written-in-the-sandbox; ls /var/lib'
    )
    result = sh(NETLAB, "sandbox", "--", "sh", "-c", script, check=False)
    assert result.returncode == 0, result.stderr  # 3: the machine's own directory
    empty, *listed = result.stdout.split()
    assert empty == "[]"  # a fresh one
    assert not Path(state, "written-in-the-sandbox").exists()  # what it wrote stayed in there
    assert name in listed and {*listed} - {"netlab", "cni"} == {*os.listdir("/var/lib")} - {"netlab", "cni"}


CHROOT = """
set -e
root=$ROOT
for dir in /usr /etc /dev "$BASE" "$VENV" "$REPO"; do mkdir -p "$root$dir"; mount --rbind "$dir" "$root$dir"; done
for dir in /bin /sbin /lib /lib64; do  # symlinks into /usr on a merged-/usr system
    if [ -L "$dir" ]; then ln -s "$(readlink "$dir")" "$root$dir"
    elif [ -d "$dir" ]; then mkdir -p "$root$dir"; mount --rbind "$dir" "$root$dir"; fi
done
mkdir -p "$root/proc" "$root/sys" "$root/run" "$root/tmp" "$root/var/lib/kept"
mount -t proc proc "$root/proc"
before=$(findmnt -rn -o TARGET)
chroot "$root" "$@"
# What the sandbox mounted in the chroot must stay in the sandbox's own mount table.
findmnt -rn -o TARGET | grep -vxF "$before" | sed 's/^/leaked: /' || true
"""


@pytest.mark.skipif(not shutil.which("chroot"), reason="needs chroot (coreutils)")
def test_works_in_a_chroot_where_root_is_no_mount_point(tmp_path):
    """In a chroot `/` is a plain directory: `mount --make-rprivate /` alone fails there (EINVAL)."""
    repo = str(Path(__file__).resolve().parent.parent)
    python = {"BASE": os.path.realpath(sys.base_prefix), "VENV": os.path.realpath(sys.prefix)}
    env = dict(os.environ, ROOT=str(tmp_path), REPO=repo, **python)
    inner = (
        "awk '$5 == \"/\"' /proc/self/mountinfo | wc -l; "  # is / a mount point in here?
        "ps -e -o comm= > /tmp/ps; tr '\\n' ' ' < /tmp/ps; echo; ip netns add c1; "
        "echo $(ls /var/lib) $(ls /run)"  # made in the sandbox: the chroot had no /run/netns, /var/lib/{netlab,cni}
    )
    # A mount namespace of this test's own, shared like a systemd host's: a leak would show in it.
    result = subprocess.run(
        ["unshare", "--mount", "--propagation", "shared", "sh", "-c", CHROOT, "chroot", NETLAB, "sandbox", "--"]
        + ["sh", "-c", inner],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "0"  # inside the chroot, / is no mount point
    assert sorted(lines[1].split()) == [INIT_NAME, "ps", "sh"]  # the sandbox's processes only
    assert lines[2].split() == ["cni", "kept", "netlab", "netlab", "netns"]
    assert len(lines) == 3, result.stdout  # and nothing leaked out
    assert sorted(os.listdir(tmp_path / "var/lib")) == ["kept"] and os.listdir(tmp_path / "run") == []
