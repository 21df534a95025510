"""How many students fit on one machine? N simulated students on a real JupyterHub, measured.

    netlab sandbox -- .venv/bin/python bench/bench_classroom.py [--students 5 10 20] [--json FILE]

For each N: a JupyterHub with classroom/jupyterhub_config.py on 127.0.0.1 (as tests/test_classroom.py
runs it: any password, every student as this user), N students log in and start their servers
at once; then, all at the same time, each opens a kernel of the netlab kernelspec and runs every
code cell of notebook 02 through the kernel's websocket (as JupyterLab does), then a second
kernel for notebook 03. Both kernels stay open, as a student's tabs do.

Per student it reports: the time from opening the first kernel to the end of notebook 03, the CPU
seconds its processes used for that (server, kernel launchers, sandboxes, kernels, `ip`/`nft`
children), and the memory they hold at the end (PSS, the fair share of shared pages, and RSS).
The machine's load average goes with the figures: on a shared machine, time stretches with load;
CPU seconds and memory do not.

Heavy (20 students: 60 Python processes, about 10 GB): not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from test_classroom import BIN, Student, _descendants, _free_port, _hub_config  # noqa: E402
from tornado.httpclient import HTTPRequest  # noqa: E402
from tornado.websocket import websocket_connect  # noqa: E402

NOTEBOOKS = ("02-veth-pair.ipynb", "03-internet-access.ipynb")
TICK = os.sysconf("SC_CLK_TCK")


def code_cells(name: str) -> list[str]:
    cells = json.loads((REPO / "notebooks" / name).read_text())["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


async def run_code(student: Student, kernel_id: str, code: str, timeout: float = 600) -> str:
    """One cell through the kernel's websocket: "ok", or the error's name and value."""
    url = f"{student.base.replace('http', 'ws', 1)}/user/{student.name}/api/kernels/{kernel_id}/channels"
    conn = await websocket_connect(HTTPRequest(url, headers={"Authorization": f"token {student.token}"}))
    msg_id = uuid.uuid4().hex
    header = {"msg_id": msg_id, "msg_type": "execute_request", "username": student.name,
              "session": uuid.uuid4().hex, "date": "", "version": "5.3"}  # fmt: skip
    content = {"code": code, "silent": False, "store_history": True, "user_expressions": {}, "allow_stdin": False,
               "stop_on_error": True}  # fmt: skip
    message = {"header": header, "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
               "content": content}  # fmt: skip
    conn.write_message(json.dumps(message))
    status: str | None = None
    idle = False
    try:
        while status is None or not idle:
            raw = await asyncio.wait_for(conn.read_message(), timeout=timeout)
            if raw is None:
                raise RuntimeError("the kernel's websocket closed")
            msg = json.loads(raw)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "execute_reply":
                reply = msg["content"]
                status = "ok" if reply["status"] == "ok" else f"{reply.get('ename')}: {reply.get('evalue')}"
            elif msg["msg_type"] == "status":
                idle = msg["content"]["execution_state"] == "idle"
    finally:
        conn.close()
    return status


async def student_works(student: Student) -> dict[str, Any]:
    """Notebook 02 in one kernel, then 03 in another: the time it took and the cells that failed."""
    started = time.monotonic()
    failed = []
    for name in NOTEBOOKS:
        # As JupyterLab opens a notebook: a session for its path, so the kernel starts in ~/netlab.
        session = {"path": f"netlab/{name}", "type": "notebook", "name": name, "kernel": {"name": "netlab"}}
        made = await asyncio.to_thread(student.api, "POST", f"/user/{student.name}/api/sessions", json=session)
        if made.status_code != 201:
            raise RuntimeError(f"{student.name}: no kernel: {made.text[:300]}")
        for number, code in enumerate(code_cells(name), 1):
            status = await run_code(student, made.json()["kernel"]["id"], code)
            if status != "ok":
                failed.append(f"{name} code cell {number}: {status[:300]}")
    return {"seconds": time.monotonic() - started, "failed_cells": len(failed), "failures": failed}


def server_pid(name: str) -> int:
    """The student's Jupyter server: the process whose environment says JUPYTERHUB_USER=name."""
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            env = environ.read_bytes().split(b"\0")
        except OSError:
            continue
        if f"JUPYTERHUB_USER={name}".encode() in env and b"JUPYTERHUB_API_TOKEN" in b"".join(env):
            pid = int(environ.parent.name)
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"jupyterhub-singleuser" in cmdline or b"singleuser" in cmdline:
                return pid
    raise LookupError(f"no server process for {name}")


def tree_usage(pid: int) -> dict[str, float]:
    """Memory (PSS, RSS in MiB) and CPU seconds (own + reaped children) of ``pid`` and its live descendants."""
    pss = rss = cpu = 0.0
    for proc in [pid, *_descendants(pid)]:
        try:
            fields = Path(f"/proc/{proc}/stat").read_text().rsplit(")", 1)[1].split()
            rollup = Path(f"/proc/{proc}/smaps_rollup").read_text()
        except OSError:
            continue  # ended meanwhile
        cpu += sum(int(f) for f in fields[11:15]) / TICK  # utime stime cutime cstime
        for line in rollup.splitlines():
            if line.startswith("Pss:"):
                pss += int(line.split()[1]) / 1024
            elif line.startswith("Rss:"):
                rss += int(line.split()[1]) / 1024
    return {"pss_mib": pss, "rss_mib": rss, "cpu_s": cpu, "processes": 1 + len(_descendants(pid))}


def mem_available_mib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run_class(n: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="netlab-bench-"))
    short = Path(tempfile.mkdtemp(prefix="nb-", dir="/tmp"))
    prefix = tmp / "prefix"
    subprocess.run([str(BIN / "netlab"), "kernelspec", "install", "--prefix", str(prefix)], check=True,
                   capture_output=True)  # fmt: skip
    ports = {name: _free_port() for name in ("public", "hub", "proxy_api")}
    config = _hub_config(tmp, short, prefix, ports)
    with open(config, "a") as extra:  # N servers starting at once on a small machine need time
        extra.write("\nc.JupyterHub.concurrent_spawn_limit = 0\nc.Spawner.start_timeout = 600\n")
    log = (tmp / "hub.log").open("w")
    env = dict(os.environ, PATH=f"{BIN}:{os.environ['PATH']}")
    hub = subprocess.Popen([str(BIN / "jupyterhub"), "-f", str(config)], cwd=tmp, env=env, stdout=log,
                           stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    base = f"http://127.0.0.1:{ports['public']}"
    try:
        import requests

        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(f"{base}/hub/api/", timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline or hub.poll() is not None:
                raise RuntimeError("the hub did not start:\n" + (tmp / "hub.log").read_text()[-2000:])
            time.sleep(0.3)
        students = [Student(base, f"s{i:02d}") for i in range(1, n + 1)]
        for student in students:
            student.log_in()
        available_before = mem_available_mib()
        spawn_started = time.monotonic()
        for student in students:
            student.start_server()
        for student in students:
            student.wait_ready(seconds=600)
        spawn_seconds = time.monotonic() - spawn_started
        pids = {s.name: server_pid(s.name) for s in students}
        idle = {name: tree_usage(pid) for name, pid in pids.items()}
        load_before = os.getloadavg()

        async def everyone() -> list[dict[str, Any]]:
            return await asyncio.gather(*(student_works(s) for s in students))

        work_started = time.monotonic()
        results = asyncio.run(everyone())
        work_seconds = time.monotonic() - work_started
        load_after = os.getloadavg()
        busy = {name: tree_usage(pid) for name, pid in pids.items()}
        available_after = mem_available_mib()
        hub_usage = tree_usage(hub.pid)
    finally:
        hub.send_signal(signal.SIGTERM)
        try:
            hub.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(hub.pid, signal.SIGKILL)
            hub.wait()
        log.close()
        shutil.rmtree(short, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
    per = [
        {
            "student": s.name,
            "seconds": r["seconds"],
            "failed_cells": r["failed_cells"],
            "failures": r["failures"],
            "cpu_s": busy[s.name]["cpu_s"] - idle[s.name]["cpu_s"],
            "pss_mib": busy[s.name]["pss_mib"],
            "rss_mib": busy[s.name]["rss_mib"],
            "idle_pss_mib": idle[s.name]["pss_mib"],
        }
        for s, r in zip(students, results, strict=True)
    ]
    everything_pss = hub_usage["pss_mib"]  # the hub's tree holds the proxy and every student's processes
    return {
        "students": n,
        "spawn_seconds": spawn_seconds,
        "work_seconds": work_seconds,
        "load_before": load_before,
        "load_after": load_after,
        "failed_cells": sum(int(p["failed_cells"]) for p in per),
        "median": {
            k: statistics.median(float(p[k]) for p in per)
            for k in ("seconds", "cpu_s", "pss_mib", "rss_mib", "idle_pss_mib")
        },  # fmt: skip
        "max": {k: max(float(p[k]) for p in per) for k in ("seconds", "cpu_s", "pss_mib", "rss_mib")},
        "hub_tree_pss_mib": everything_pss,
        "mem_available_drop_mib": available_before - available_after,
        "cpus": os.cpu_count(),
        "per_student": per,
    }


def report(result: dict[str, Any]) -> str:
    med, top = result["median"], result["max"]
    assert isinstance(med, dict) and isinstance(top, dict)
    return (
        f"N={result['students']:>3}  time/student {med['seconds']:6.1f} s (max {top['seconds']:6.1f})  "
        f"CPU/student {med['cpu_s']:5.1f} s  PSS/student {med['pss_mib']:5.0f} MiB (idle server "
        f"{med['idle_pss_mib']:4.0f})  RSS {med['rss_mib']:5.0f} MiB  all {result['hub_tree_pss_mib']:6.0f} MiB PSS  "
        f"spawn {result['spawn_seconds']:5.1f} s  failed cells {result['failed_cells']}  "
        f"load {result['load_before'][0]:.1f}->{result['load_after'][0]:.1f} on {result['cpus']} CPUs"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, nargs="+", default=[5, 10, 20])
    parser.add_argument("--json", type=Path, help="write every figure here too")
    args = parser.parse_args()
    if not (BIN / "configurable-http-proxy").exists() and not shutil.which("configurable-http-proxy"):
        raise SystemExit("bench: configurable-http-proxy is missing (NETLAB_EXTRAS=test,classroom scripts/install)")
    results = []
    for n in args.students:
        result = run_class(n)
        print(report(result), flush=True)
        for student in result["per_student"]:
            for failure in student["failures"]:
                print(f"  {student['student']}: {failure}", flush=True)
        results.append(result)
        if args.json:
            args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
