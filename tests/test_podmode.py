"""Pod mode for real: the lab inside a local stand-in for a netlab pod (tests/pod_emulation.py).

The pod's security context from classroom/k8s/values.yaml, built here step by step (its own user
namespace with 65536 ids, the capability bounding set cut to the lessons' four, the Localhost
seccomp profile, an unmasked /proc), with ``NETLAB_POD_MODE=1``. In there, the kernel tests and
notebooks 01-03 must pass as they do on a laptop: what the cluster will run has run.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import IO

import pytest
from pod_emulation import CAPABILITIES, seccomp_available, wide_map_possible

REPO = Path(__file__).resolve().parent.parent
EMULATION = Path(__file__).resolve().with_name("pod_emulation.py")
NETLAB = str(Path(sys.executable).with_name("netlab"))
# The kernel tests that exercise what a pod restricts: namespaces, mounts, links, NAT, sockets, kernels.
KERNEL_TESTS = ["test_netns.py", "test_links.py", "test_nat.py", "test_reach.py", "test_inodes.py", "test_persist.py",
                "test_enter.py", "test_kernelspec.py"]  # fmt: skip
CAP_BITS = {"net_admin": 12, "net_bind_service": 10, "net_raw": 13, "sys_admin": 21}

pytestmark = pytest.mark.skipif(
    not seccomp_available(),
    reason="needs setpriv, /usr/bin/python3 and libseccomp (Debian: util-linux, python3, libseccomp2)",
)


def in_pod(
    *command: str, procmount: str = "unmasked", user: str | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, str(EMULATION), "--procmount", procmount, *(["--user", user] if user else []), "--"]
    argv += command
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=REPO)


def pytest_in_pod(*args: str) -> subprocess.CompletedProcess[str]:
    """Run pytest on ``args`` in a netlab sandbox in the pod, as a student's kernel runs there."""
    return in_pod(NETLAB, "sandbox", "--", sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args)


def passed(result: subprocess.CompletedProcess[str]) -> int:
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    found = re.search(r"(\d+) passed", result.stdout)
    assert found, result.stdout[-2000:]
    return int(found.group(1))


def test_the_emulated_pod_has_the_pods_security_context() -> None:
    probe = (
        "cat /proc/self/uid_map; grep -E '^(CapBnd|Seccomp):' /proc/self/status; echo mode=$NETLAB_POD_MODE; "
        "unshare --user true && echo userns=yes || echo userns=no; unshare --net true && echo netns=yes; "
        "findmnt -n -o FSTYPE /proc"
    )
    result = in_pod("sh", "-c", probe)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    if wide_map_possible():
        assert re.search(r"^\s*1\s+100001\s+65535$", out, re.M), out  # 65536 ids, as a pod has
    bounding = int(re.search(r"CapBnd:\s*([0-9a-f]+)", out).group(1), 16)  # type: ignore[union-attr]
    assert bounding == sum(1 << CAP_BITS[name] for name in CAPABILITIES)
    assert re.search(r"Seccomp:\s*2", out)  # a filter is loaded
    assert "mode=1" in out
    assert "userns=no" in out and "netns=yes" in out  # the profile refuses a nested user namespace only
    assert out.rstrip().endswith("proc")


def test_kernel_tests_pass_in_a_pod() -> None:
    assert passed(pytest_in_pod(*(f"tests/{name}" for name in KERNEL_TESTS))) > 50


NOTEBOOK_RUN = """
import sys
from pathlib import Path
sys.path[:0] = ["tests"]
from test_notebooks import run_notebook  # the notebook test's runner: every cell, then its tagged checks
for path in sys.argv[1:]:
    for _ in range(2):  # re-runnable from the top, as the notebook test proves
        run_notebook(Path(path))
    print("ran", Path(path).stem)
"""


def test_notebooks_01_to_03_pass_in_a_pod() -> None:
    # Through the notebook test's own runner (its timing files are not written from in here).
    paths = [f"notebooks/{name}.ipynb" for name in ("01-basic-management", "02-veth-pair", "03-internet-access")]
    result = in_pod(NETLAB, "sandbox", "--", sys.executable, "-c", NOTEBOOK_RUN, *paths)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert result.stdout.split("\n")[-4:-1] == [f"ran {Path(p).stem}" for p in paths]


def test_the_lessons_need_no_unmasked_proc_in_pod_mode() -> None:
    # With the runtime's default masks (read-only /proc/sys...), a sandbox still mounts its own
    # /proc and sets net sysctls: its mount namespace belongs to the pod's own user namespace.
    script = "ip netns add netns1 && sysctl -qw net.ipv4.ip_forward=1 && cat /proc/sys/net/ipv4/ip_forward"
    result = in_pod(NETLAB, "sandbox", "--", "sh", "-c", script, procmount="default")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1"]
    masked = in_pod("sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward", procmount="default")
    assert masked.returncode != 0 and "Read-only file system" in masked.stderr  # the pod's own /proc/sys


@pytest.mark.skipif(not wide_map_possible(), reason="needs ids beyond root in the pod (run as root)")
def test_pod_mode_refuses_a_non_root_user_with_a_hint() -> None:
    # Debian's own Python, and a copy of the package any user can read: this environment and the
    # clone may both live where only the machine's root can (a clone in /root is mode 0700).
    public = Path(tempfile.mkdtemp(prefix="netlab-pod-", dir="/var/tmp"))  # the emulated pod's /tmp is its own
    try:
        public.chmod(0o755)
        shutil.copytree(REPO / "netlab", public / "netlab", ignore=shutil.ignore_patterns("__pycache__"))
        command = ["env", f"PYTHONPATH={public}", "/usr/bin/python3", "-m", "netlab", "sandbox", "--", "true"]
        result = in_pod(*command, user="1000:100")
    finally:
        shutil.rmtree(public)
    assert result.returncode != 0
    assert "pod mode (NETLAB_POD_MODE=1) runs as root of the pod's own user namespace" in result.stderr
    assert "hostUsers: false" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_lab_runs_in_the_pods_own_network() -> None:
    # Pod mode: `netlab lab` puts no sandbox around JupyterLab (the pod is the private world), so
    # the server answers on the pod's own 127.0.0.1, and no netlab-init runs in the pod.
    script = f"""
{shlex.quote(NETLAB)} lab --port 18888 >/tmp/lab.log 2>&1 &
lab=$!
python=$(dirname {shlex.quote(NETLAB)})/python
"$python" - <<'EOF'
import json, time, urllib.request
for _ in range(600):
    try:
        print(json.load(urllib.request.urlopen("http://127.0.0.1:18888/api", timeout=2))["version"] and "answered")
        break
    except OSError:
        time.sleep(0.2)
EOF
ps -eo comm= | grep -c netlab-init || true
kill $lab; wait $lab
grep -o "in this machine's own network namespace" /tmp/lab.log
"""
    result = in_pod("sh", "-c", script, timeout=300)
    lines = result.stdout.split("\n")
    assert "answered" in lines, result.stdout + result.stderr
    assert lines[lines.index("answered") + 1] == "0"  # no sandbox's PID 1 in the pod
    assert "in this machine's own network namespace" in result.stdout


# -- the image itself, in the emulated pod ---------------------------------------------------------

BUILT_ARCHIVE = REPO / "build/netlab-image.oci.tar"
LAB_PROBE = r"""
import json, os, re, sys, time, urllib.request
from jupyter_client import BlockingKernelClient
from netlab.app.labserver import running_labs

def api(path, method="GET"):
    request = urllib.request.Request(f"http://127.0.0.1:8888/api/{path}?token={token}", method=method)
    return json.load(urllib.request.urlopen(request, timeout=5))

for _ in range(900):
    found = re.search(r"token=(\S+)", open("/tmp/lab.log").read())
    if found:
        token = found.group(1)
        try:
            specs = api("kernelspecs")
            break
        except OSError:
            pass
    time.sleep(0.2)
else:
    sys.exit("the lab did not answer:\n" + open("/tmp/lab.log").read())
print("kernelspecs", specs["default"], sorted(specs["kernelspecs"]))
kernel = api("kernels", method="POST")
(lab,) = running_labs()  # the lab's own Jupyter runtime directory holds its kernels' connection files
client = BlockingKernelClient(connection_file=str(lab.runtime / f"kernel-{kernel['id']}.json"))
client.load_connection_file()
client.start_channels()
client.wait_for_ready(timeout=120)
out = []
code = "import os; os.system('ip netns add netns1'); "
code += "print(sorted(os.listdir('/run/netns')), os.readlink('/proc/self/ns/net'))"
client.execute_interactive(code, timeout=120, output_hook=lambda m: out.append(m["content"].get("text", "")))
listed, net = "".join(out).rsplit(" ", 1)
print("kernel world", listed, "own network" if net.strip() != os.readlink("/proc/self/ns/net") else "the pod's network")
"""


@pytest.fixture(scope="module")
def image_root() -> tuple[Path, list[str]]:
    """The built image (scripts/image), unpacked layer by layer as a runtime does; and its environment."""
    if not BUILT_ARCHIVE.exists():
        pytest.skip("no built image (scripts/image builds build/netlab-image.oci.tar)")
    with tarfile.open(BUILT_ARCHIVE) as archive:

        def blob(digest: str) -> IO[bytes]:
            member = archive.extractfile(f"blobs/sha256/{digest.split(':')[1]}")
            assert member is not None
            return member

        index = json.loads(archive.extractfile("index.json").read())  # type: ignore[union-attr]
        manifest = json.loads(blob(index["manifests"][0]["digest"]).read())
        config = json.loads(blob(manifest["config"]["digest"]).read())
        root = REPO / "build/image-cache" / f"rootfs-{manifest['config']['digest'].split(':')[1][:16]}"
        if not (root / ".unpacked").exists():
            if not os.access(REPO / "build", os.W_OK):
                pytest.skip("cannot unpack the image here (build/ is not writable)")
            for old in root.parent.glob("rootfs-*"):  # an earlier build's, unpacked: one is enough
                shutil.rmtree(old, ignore_errors=True)
            root.mkdir(parents=True)
            for layer in manifest["layers"]:
                with tarfile.open(fileobj=blob(layer["digest"]), mode="r:gz") as tar:
                    tar.extractall(root, numeric_owner=True, filter="fully_trusted")  # our own layers
            (root / ".unpacked").touch()
    return root, config["config"]["Env"]


def in_image(root: Path, env: list[str], *command: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """``command`` through the image's entrypoint, in the emulated pod, with the image's environment."""
    entry = ["env", "-i", *env, "/usr/bin/tini", "-g", "--", "/opt/netlab/bin/netlab-pod", *command]
    argv = [sys.executable, str(EMULATION), "--rootfs", str(root), "--", *entry]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


def test_the_image_builds_a_world_in_the_pod(image_root: tuple[Path, list[str]]) -> None:
    script = (
        'ls "$HOME/netlab-lessons" | grep -c "ipynb$"; '
        "netlab sandbox -- sh -c 'ip netns add netns1 && ip netns list && nft add table ip nat && "
        "ping -c 1 -W 1 127.0.0.1 >/dev/null && echo ping-ok'; "
        "ls /usr/share/fonts/opentype/noto | grep -c CJK"
    )
    result = in_image(*image_root, "sh", "-c", script)
    assert result.returncode == 0, result.stdout + result.stderr
    lessons, netns, ping, fonts = result.stdout.split()
    assert int(lessons) >= 6  # the entrypoint copied the lessons into the student's home
    assert (netns, ping) == ("netns1", "ping-ok")
    assert int(fonts) > 0


def test_the_images_lab_starts_netlab_kernels_in_the_pod(image_root: tuple[Path, list[str]]) -> None:
    # No arguments: the entrypoint's `netlab lab`, in pod mode; its kernels are the netlab kernelspec's.
    script = f"""
/opt/netlab/bin/netlab-pod >/tmp/lab.log 2>&1 &
lab=$!
python3 -c {shlex.quote(LAB_PROBE)}
kill $lab; wait $lab || true
"""
    result = in_image(*image_root, "sh", "-c", script, timeout=600)
    assert "kernelspecs netlab ['netlab']" in result.stdout, result.stdout + result.stderr
    assert "kernel world ['netns1'] own network" in result.stdout, result.stdout + result.stderr
