"""The classroom route for real: a local JupyterHub with classroom/jupyterhub_config.py, two students.

Both log in, start their servers and, at the same moment, build the article's scene (netns1, veth0
and veth1, 10.1.1.1/24 <-> 10.1.1.2/24, pings both ways) in kernels of the netlab kernelspec. Each
must see only its own world. Everything listens on 127.0.0.1 inside the test sandbox, and every
process the hub started must be gone at the end.

The test swaps only what a test machine needs: DummyAuthenticator (any password) and
SimpleLocalProcessSpawner (every student runs as this user, homes in a temporary folder), so it
creates no system accounts. All the rest is the example config, loaded as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from conftest import sh

requests = pytest.importorskip("requests")
pytest.importorskip("jupyterhub")
from helpers.terminal_socket import screen_of  # noqa: E402
from test_kernelspec import SCENE  # noqa: E402
from tornado.httpclient import HTTPRequest  # noqa: E402
from tornado.websocket import websocket_connect  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
STUDENTS = ("alice", "bob")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _descendants(pid: int) -> dict[int, str]:
    """Every live process under ``pid``, with its start time (to tell a reused pid apart)."""
    parents: dict[int, int] = {}
    started: dict[int, str] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
        started[int(stat.parent.name)] = fields[19]
    found, frontier = {}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, ppid in parents.items():
            if ppid == parent and child not in found:
                found[child] = started[child]
                frontier.append(child)
    return found


def _alive(pid: int, start: str) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19] == start
    except OSError:
        return False


def _hub_config(tmp: Path, short: Path, kernels_prefix: Path, ports: dict[str, int]) -> Path:
    config = tmp / "test_hub_config.py"
    allow_root = ', "--allow-root"' if os.getuid() == 0 else ""
    config.write_text(f"""
c = get_config()
load_subconfig({str(REPO / "classroom/jupyterhub_config.py")!r})
# What only a test machine needs: any password, no system accounts, everything on 127.0.0.1.
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.admin_users = set()
c.Authenticator.allow_all = True
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = {str(short / "home/{username}")!r}
c.JupyterHub.bind_url = "http://127.0.0.1:{ports["public"]}"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{ports["hub"]}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{ports["proxy_api"]}"
c.JupyterHub.db_url = "sqlite:///{tmp / "jupyterhub.sqlite"}"
c.JupyterHub.cookie_secret_file = {str(tmp / "cookie_secret")!r}
c.ConfigurableHTTPProxy.pid_file = {str(tmp / "proxy.pid")!r}
c.JupyterHub.cleanup_servers = True
c.Spawner.args = c.Spawner.args + ["--ServerApp.ip=127.0.0.1"{allow_root}]
c.Spawner.environment = {{**c.Spawner.environment,  # the classroom PATH, plus:
    "JUPYTER_PATH": {str(kernels_prefix / "share/jupyter")!r},   # the kernelspec, installed for this test
    "JUPYTER_RUNTIME_DIR": lambda spawner: {str(short)!r} + "/run-" + spawner.user.name,  # short socket paths
}}
""")
    return config


class Student:
    """One browser's worth of state: a login cookie, then an API token for the student's server."""

    def __init__(self, base: str, name: str) -> None:
        self.base, self.name = base, name
        self.session = requests.Session()
        self.token = ""

    def log_in(self) -> None:
        page = self.session.get(f"{self.base}/hub/login", timeout=30)
        assert page.status_code == 200
        xsrf = self.session.cookies.get("_xsrf", path="/hub/")
        answer = self.session.post(
            f"{self.base}/hub/login?next=",
            allow_redirects=False,
            timeout=30,
            data={"username": self.name, "password": "anything", "_xsrf": xsrf},
        )
        assert answer.status_code == 302, answer.text[:500]
        # As the logged-in student (cookie + XSRF header), ask the hub for an API token.
        xsrf = self.session.cookies.get("_xsrf", path="/hub/")  # logging in issued a new one
        made = self.session.post(
            f"{self.base}/hub/api/users/{self.name}/tokens",
            timeout=30,
            headers={"X-XSRFToken": xsrf, "Referer": f"{self.base}/hub/home"},
            json={"note": "netlab classroom test", "expires_in": 900},
        )
        assert made.status_code == 201, made.text
        self.token = made.json()["token"]
        self.session.headers["Authorization"] = f"token {self.token}"

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.session.request(method, f"{self.base}{path}", timeout=60, **kwargs)

    def start_server(self) -> None:
        started = self.api("POST", f"/hub/api/users/{self.name}/server")
        assert started.status_code in (201, 202), started.text

    def wait_ready(self, seconds: float = 120) -> None:
        deadline = time.monotonic() + seconds
        while True:
            server = self.api("GET", f"/hub/api/users/{self.name}").json()["servers"].get("", {})
            if server.get("ready"):
                return
            assert time.monotonic() < deadline, f"{self.name}'s server did not start: {server}"
            time.sleep(0.3)

    async def run_cell(self, kernel_id: str, code: str) -> str:
        """Run a cell through the kernel's websocket, as JupyterLab does; return its stdout."""
        ws_url = f"{self.base.replace('http', 'ws', 1)}/user/{self.name}/api/kernels/{kernel_id}/channels"
        conn = await websocket_connect(HTTPRequest(ws_url, headers={"Authorization": f"token {self.token}"}))
        msg_id, session = uuid.uuid4().hex, uuid.uuid4().hex
        conn.write_message(
            json.dumps(
                {
                    "header": {
                        "msg_id": msg_id,
                        "msg_type": "execute_request",
                        "username": self.name,
                        "session": session,
                        "date": "",
                        "version": "5.3",
                    },
                    "parent_header": {},
                    "metadata": {},
                    "channel": "shell",
                    "buffers": [],
                    "content": {
                        "code": code,
                        "silent": False,
                        "store_history": False,
                        "user_expressions": {},
                        "allow_stdin": False,
                        "stop_on_error": True,
                    },
                }
            )
        )
        out, replied, idle = [], None, False
        try:
            while replied is None or not idle:
                raw = await asyncio.wait_for(conn.read_message(), timeout=90)
                assert raw is not None, "the kernel's websocket closed"
                msg = json.loads(raw)
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                if msg["msg_type"] == "stream":
                    out.append(msg["content"]["text"])
                elif msg["msg_type"] == "error":
                    out.append("\n".join(msg["content"]["traceback"]))
                elif msg["msg_type"] == "status":
                    idle = msg["content"]["execution_state"] == "idle"
                elif msg["msg_type"] == "execute_reply":
                    replied = msg["content"]["status"]
        finally:
            conn.close()
        assert replied == "ok", "".join(out)
        return "".join(out)

    async def run_in_terminal(self, command: str) -> str:
        """Open a JupyterLab terminal, type ``command``, return what the screen showed until it exits."""
        made = self.api("POST", f"/user/{self.name}/api/terminals")
        assert made.status_code == 200, made.text
        name = made.json()["name"]
        ws_url = f"{self.base.replace('http', 'ws', 1)}/user/{self.name}/terminals/websocket/{name}"
        return await screen_of(ws_url, self.token, command, timeout=30)


@pytest.fixture
def hub(tmp_path):
    """A running JupyterHub with the classroom config; stopped, with every process it made, after."""
    if not (BIN / "configurable-http-proxy").exists() and not shutil.which("configurable-http-proxy"):
        pytest.skip("configurable-http-proxy is not installed (NETLAB_EXTRAS=test,classroom scripts/install)")
    short = Path(tempfile.mkdtemp(prefix="nh-", dir="/tmp"))  # Unix socket paths must stay under 108 bytes
    prefix = tmp_path / "prefix"
    sh(str(BIN / "netlab"), "kernelspec", "install", "--prefix", str(prefix))
    ports = {name: _free_port() for name in ("public", "hub", "proxy_api")}
    config = _hub_config(tmp_path, short, prefix, ports)
    env = dict(os.environ, PATH=f"{BIN}:{os.environ['PATH']}")
    log = (tmp_path / "hub.log").open("w")
    proc = subprocess.Popen(
        [str(BIN / "jupyterhub"), "-f", str(config)],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{ports['public']}"
    seen: dict[int, str] = {}
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / "hub.log").read_text()[-3000:]
            try:
                if requests.get(f"{base}/hub/api/", timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "the hub did not answer"
            time.sleep(0.3)
        yield base, short / "home", lambda: seen.update(_descendants(proc.pid))
    finally:
        seen.update(_descendants(proc.pid))
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # the hub stops the servers and the proxy it started
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()
        deadline = time.monotonic() + 20
        while (left := [pid for pid, start in seen.items() if _alive(pid, start)]) and time.monotonic() < deadline:
            time.sleep(0.2)
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(short, ignore_errors=True)
        assert not left, f"processes the hub started outlived it: {left}\n" + (tmp_path / "hub.log").read_text()[-3000:]


def test_two_students_build_the_same_scene_at_once_each_in_their_own_world(hub, tmp_path):
    base, homes, record_processes = hub
    students = [Student(base, name) for name in STUDENTS]
    for student in students:
        student.log_in()
        student.start_server()
    for student in students:
        student.wait_ready()

    kernels = {}
    for student in students:
        specs = student.api("GET", f"/user/{student.name}/api/kernelspecs").json()
        assert specs["default"] == "netlab" and list(specs["kernelspecs"]) == ["netlab"]
        assert specs["kernelspecs"]["netlab"]["spec"]["display_name"] == "Python 3 (netlab sandbox)"
        made = student.api("POST", f"/user/{student.name}/api/kernels", json={})
        assert made.status_code == 201, made.text
        kernels[student.name] = made.json()["id"]
    # Each student got a copy of the notebooks, in their own home.
    for name in STUDENTS:
        copied = sorted(p.name for p in (homes / name / "netlab-lessons").glob("*.ipynb"))
        assert copied and copied == sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))
    record_processes()

    # Where both kernels meet: a folder of this machine's, which each kernel's sandbox sees as it is.
    barrier = Path(tempfile.mkdtemp(prefix="netlab-barrier-", dir="/tmp"))

    async def both() -> list[str]:
        return await asyncio.gather(
            *(s.run_cell(kernels[s.name], SCENE.format(me=s.name[0], barrier=str(barrier))) for s in students)
        )

    try:
        outputs = asyncio.run(both())
    finally:
        shutil.rmtree(barrier, ignore_errors=True)
    record_processes()
    worlds = {s.name: json.loads(out.splitlines()[-1]) for s, out in zip(students, outputs, strict=True)}
    alice, bob = worlds["alice"], worlds["bob"]
    assert alice["together"] and bob["together"], "the two scenes did not overlap in time"
    assert len({alice["kernel_net"], bob["kernel_net"], os.readlink("/proc/self/ns/net")}) == 3
    for me, other in (("alice", "b"), ("bob", "a")):
        world = worlds[me]
        assert world["netns"][0] == "netns1" and "veth0" in world["links"]
        assert f"mark-{me[0]}" in world["links"] and f"mark-{other}" not in world["links"]
        assert " 0% packet loss" in world["ping_from_root"] and " 0% packet loss" in world["ping_from_netns1"]
    assert alice["veth0_mac"] != bob["veth0_mac"]
    # The hub's (and this test's) world saw none of it.
    assert "veth0" not in sh("ip", "-br", "link").stdout and sh("ip", "netns", "list").stdout == ""

    # A terminal is a private world too: root there, no netns1, not the kernel's world nor the hub's.
    screen = asyncio.run(
        students[0].run_in_terminal(
            'echo "uid=$(id -u) $(readlink /proc/self/ns/net) netns=[$(ip netns list)] netlab=$(command -v netlab)"'
        )
    )
    line = next(line for line in screen.splitlines() if line.startswith("uid="))
    uid, net, netns, netlab_found = line.split()
    assert uid == "uid=0" and netns == "netns=[]"
    assert netlab_found.endswith("/bin/netlab"), line  # the login profile did not hide it
    assert net not in (alice["kernel_net"], os.readlink("/proc/self/ns/net"))
