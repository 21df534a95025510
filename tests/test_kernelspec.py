"""The netlab kernelspec: every Jupyter kernel, and every restart, gets a private network world."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

import pytest
from conftest import sh

jupyter_client = pytest.importorskip("jupyter_client")
from jupyter_client.kernelspec import KernelSpecManager  # noqa: E402

from netlab.app.kernelspec import DISPLAY_NAME, KERNEL_NAME, check_connection, kernel_spec  # noqa: E402

NETLAB = str(Path(sys.executable).with_name("netlab"))
JUPYTER = str(Path(sys.executable).with_name("jupyter"))

# The article's scene, as a learner types it in a notebook, then a mark of our own and a wait for
# the other kernel: both scenes exist at the same moment when the pings run.
SCENE = """
import json, os, pathlib, subprocess, time
def sh(cmd):
    return subprocess.run(cmd, shell=True, check=True, capture_output=True, text=True).stdout
sh("ip netns add netns1")
sh("ip link add veth0 type veth peer name veth1")
sh("ip link set veth1 netns netns1")
sh("ip netns exec netns1 ifconfig veth1 10.1.1.1/24 up")
sh("ifconfig veth0 10.1.1.2/24 up")
sh("ip link add mark-{me} type veth peer name mark-{me}p")
barrier = pathlib.Path({barrier!r})
(barrier / "{me}").touch()
deadline = time.monotonic() + 30
while len(list(barrier.iterdir())) < 2 and time.monotonic() < deadline:
    time.sleep(0.05)
print(json.dumps({{
    "together": len(list(barrier.iterdir())) == 2,
    "kernel_net": os.readlink("/proc/self/ns/net"),
    "netns": sh("ip netns list").split(),
    "netns1_inode": os.stat("/run/netns/netns1").st_ino,
    "links": sorted(l["ifname"] for l in json.loads(sh("ip -j link"))),
    "veth0_mac": json.loads(sh("ip -j link show veth0"))[0]["address"],
    "ping_from_root": sh("ping -c 2 -W 2 10.1.1.1"),
    "ping_from_netns1": sh("ip netns exec netns1 ping -c 2 -W 2 10.1.1.2"),
}}))
"""


@pytest.fixture
def kernels_dir(tmp_path: Path) -> Path:
    """The kernelspec installed under a private prefix, as `netlab kernelspec install --prefix` does."""
    out = sh(NETLAB, "kernelspec", "install", "--prefix", str(tmp_path / "prefix")).stdout
    kernels = tmp_path / "prefix/share/jupyter/kernels"
    assert str(kernels / KERNEL_NAME) in out
    return kernels


@pytest.fixture
def start_kernel(kernels_dir: Path):
    """Start kernels from the netlab kernelspec over ipc; shut them all down afterwards."""
    # Unix socket paths are short (107 bytes): keep the connection files in a short directory.
    runtime = Path(tempfile.mkdtemp(prefix="nk-", dir="/tmp"))
    started = []

    def start(kernels: Path = kernels_dir):
        manager = jupyter_client.KernelManager(
            kernel_name=KERNEL_NAME,
            transport="ipc",
            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels)]),
            connection_file=str(runtime / f"kernel-{uuid.uuid4()}.json"),
        )
        manager.start_kernel()
        started.append(manager)
        client = manager.client()
        client.start_channels()
        client.wait_for_ready(timeout=60)
        return manager, client

    yield start
    for manager in started:
        manager.shutdown_kernel(now=True)
    shutil.rmtree(runtime, ignore_errors=True)


def _reply_output(client, msg_id: str) -> str:
    """Wait for the reply to ``msg_id``; return the cell's stdout, raising if the cell raised."""
    out, status = [], None
    while status != "idle":
        msg = client.get_iopub_msg(timeout=60)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            raise AssertionError("cell failed:\n" + "\n".join(msg["content"]["traceback"]))
        elif msg["msg_type"] == "status":
            status = msg["content"]["execution_state"]
    reply = client.get_shell_msg(timeout=60)
    while reply["parent_header"].get("msg_id") != msg_id:  # e.g. a late answer to wait_for_ready
        reply = client.get_shell_msg(timeout=60)
    assert reply["content"]["status"] == "ok", reply["content"]
    return "".join(out)


def run_cell(client, code: str) -> str:
    return _reply_output(client, client.execute(textwrap.dedent(code)))


def test_install_makes_a_kernelspec_jupyter_lists(kernels_dir):
    listed = subprocess.run(
        [JUPYTER, "kernelspec", "list", "--json"],
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ, JUPYTER_PATH=str(kernels_dir.parent)),
    ).stdout
    spec = json.loads(listed)["kernelspecs"][KERNEL_NAME]["spec"]
    assert spec["display_name"] == DISPLAY_NAME == "Python 3 (netlab sandbox)"
    # The `netlab` command may run as .venv/bin/python3 and this test as .venv/bin/python (pip picks
    # the script's interpreter name): the same interpreter under two names.
    python, *args = spec["argv"]
    assert args == kernel_spec()["argv"][1:] == ["-m", "netlab.app.kernelspec", "-f", "{connection_file}"]
    assert os.path.realpath(python) == os.path.realpath(sys.executable)
    assert Path(python).parent == Path(sys.executable).parent  # the venv's, not the base Python's
    assert (kernels_dir / KERNEL_NAME / "logo-64x64.png").exists()


def test_two_kernels_build_the_same_scene_at_once_in_separate_worlds(start_kernel, tmp_path):
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    (_, alice), (_, bob) = start_kernel(), start_kernel()
    # Both cells are sent before either reply is read: the two kernels work at the same time.
    ids = {
        name: client.execute(SCENE.format(me=name, barrier=str(barrier))) for name, client in (("a", alice), ("b", bob))
    }
    seen = {
        name: json.loads(_reply_output(client, ids[name]).splitlines()[-1])
        for name, client in (("a", alice), ("b", bob))
    }
    a, b = seen["a"], seen["b"]
    assert a["together"] and b["together"], "the two scenes did not overlap in time"
    server_net = os.readlink("/proc/self/ns/net")
    assert len({a["kernel_net"], b["kernel_net"], server_net}) == 3  # three different worlds
    for me, other in (("a", "b"), ("b", "a")):
        world = seen[me]
        assert world["netns"][0] == "netns1" and len(world["netns"]) <= 3  # `netns1 (id: 0)`: only its own
        assert "veth0" in world["links"] and f"mark-{me}" in world["links"]
        assert f"mark-{other}" not in world["links"]  # the neighbour's scene is invisible
        assert " 0% packet loss" in world["ping_from_root"] and " 0% packet loss" in world["ping_from_netns1"]
    assert a["veth0_mac"] != b["veth0_mac"]  # two different veth0, same name
    # And the server's own world saw none of it.
    assert "veth0" not in sh("ip", "-br", "link").stdout
    assert sh("ip", "netns", "list").stdout == ""


def test_a_kernel_restart_gives_a_fresh_world(start_kernel):
    manager, client = start_kernel()
    launcher = manager.provisioner.pid  # the kernel's launcher, as this (outer) process numbers it
    before = run_cell(
        client,
        """
        import subprocess
        old_kernel = True
        subprocess.run(["ip", "netns", "add", "netns1"], check=True)
        print(subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split())
    """,
    )
    assert "['netns1']" in before
    manager.restart_kernel(now=True)
    client.wait_for_ready(timeout=60)
    after = run_cell(
        client,
        """
        import subprocess
        listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
        print("old_kernel" in globals(), listed)
    """,
    )
    # A new kernel process, and its world is empty again: netns1 went with the old kernel.
    # (Not namespace inodes: the kernel reuses a freed namespace's inode number. Not the pid the
    # kernel sees: in its own PID namespace every kernel is process 2.)
    assert after.split() == ["False", "[]"]
    assert manager.provisioner.pid != launcher


def test_a_kernel_sees_only_its_own_processes_but_all_of_the_machines_files(start_kernel):
    # Straight in /tmp: not the working directory, not $HOME. A private network, not private files.
    outside = Path(tempfile.mkdtemp(dir="/tmp"))
    try:
        _, client = start_kernel()
        seen = _look_from_inside(client, outside)
    finally:
        outside.rmdir()
    pids = dict(zip(seen["ps"][::2], seen["ps"][1::2], strict=True))
    # PID 1 of its own PID namespace is the sandbox's init, then the kernel, then what the kernel ran.
    assert pids["1"] == "netlab-init" and pids["2"].startswith("python") and seen["me"] == 2, pids
    assert sorted(pids.values()) == ["netlab-init", "ps", pids["2"]]
    assert len(list(Path("/proc").glob("[0-9]*"))) > len(pids)  # this test's sandbox has more, unseen
    here = os.readlink("/proc/self/ns/net")[5:-1]
    listed = dict(zip(seen["lsns"][::2], seen["lsns"][1::2], strict=True))
    with_processes = [ns for ns, count in listed.items() if count != "0"]
    assert len(with_processes) == 1 and with_processes != [here]  # only its own network namespace
    # Newer lsns (2.42, not 2.38) also lists namespaces that only a socket holds: the kernel's ends of its Unix
    # sockets to this Jupyter client were made in the client's namespace (the connecting side's).
    assert set(listed) - set(with_processes) <= {here}
    assert seen["outside"]  # and the machine's /tmp, as every program on it sees it


def test_a_kernel_from_a_venv_in_tmp_starts(start_kernel, venv_in_tmp, tmp_path):
    """A clone in /tmp has its environment there: its kernels start (they exited 127, their Python hidden)."""
    sh(str(venv_in_tmp / "bin/python"), "-m", "netlab", "kernelspec", "install", "--prefix", str(tmp_path / "venv"))
    _, client = start_kernel(tmp_path / "venv/share/jupyter/kernels")
    assert run_cell(client, "import sys; print(sys.prefix)").strip() == str(venv_in_tmp)


def _look_from_inside(client, outside: Path) -> dict:
    """What a kernel sees: its processes, network namespaces, and whether ``outside`` exists."""
    return json.loads(
        run_cell(
            client,
            f"""
            import json, os, subprocess
            def out(*argv):
                return subprocess.run(argv, capture_output=True, text=True).stdout.split()
            print(json.dumps({{
                "ps": out("ps", "-e", "-o", "pid=,comm="),
                "lsns": out("lsns", "-t", "net", "-n", "-o", "NS,NPROCS"),
                "me": os.getpid(),
                "outside": os.path.exists({str(outside)!r}),
            }}))
        """,
        ).splitlines()[-1]
    )


def test_interrupt_reaches_the_sandboxed_kernel(start_kernel):
    manager, client = start_kernel()
    msg_id = client.execute("import time; time.sleep(60)")
    while client.get_iopub_msg(timeout=30)["content"].get("execution_state") != "busy":
        pass
    time.sleep(0.5)
    manager.interrupt_kernel()  # Kernel > Interrupt: SIGINT to the kernel's process group
    reply = client.get_shell_msg(timeout=30)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = client.get_shell_msg(timeout=30)
    assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "KeyboardInterrupt"


def _connection(tmp: Path, **changes: object) -> Path:
    info = {
        "transport": "ipc",
        "ip": str(tmp / "kernel-1-ipc"),
        "shell_port": 1,
        "iopub_port": 2,
        "stdin_port": 3,
        "control_port": 4,
        "hb_port": 5,
        "key": "k",
        "signature_scheme": "hmac-sha256",
    }
    info.update(changes)
    path = tmp / "kernel-1.json"
    path.write_text(json.dumps(info))
    return path


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"transport": "tcp", "ip": "127.0.0.1"}, "--KernelManager.transport=ipc"),
        ({"ip": "kernel-ipc"}, "relative"),
        ({"ip": "/tmp/" + "x" * 120}, "JUPYTER_RUNTIME_DIR"),
    ],
)
def test_the_launcher_refuses_what_cannot_work_and_says_why(tmp_path, changes, says):
    result = sh(sys.executable, "-m", "netlab.app.kernelspec", "-f", str(_connection(tmp_path, **changes)), check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("netlab kernel: ") and says in result.stderr


def test_the_launcher_accepts_a_good_connection(tmp_path):
    check_connection(json.loads(_connection(tmp_path).read_text()))
