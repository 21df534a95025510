"""Which thread runs a call (netlab's one worker, or a throwaway thread), and how its result or error comes back."""

# Real threads; no call here switches namespaces. A call made from inside the worker (a nested one)
# restores the thread's namespace with setns, so it is tried only in a child process.

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import pytest

from netlab.plumbing.threads import run_in_new_thread, run_in_worker

REPO = Path(__file__).resolve().parents[3]
WORKER_NAME = "netlab-netns-worker"


def _whoami(*args, **kwargs) -> tuple[threading.Thread, tuple, dict]:
    return threading.current_thread(), args, kwargs


def test_run_in_worker_runs_the_call_on_netlabs_worker_thread_never_the_callers():
    worker, args, kwargs = run_in_worker(_whoami, 1, "two", three=3)
    assert worker is not threading.current_thread()
    assert worker.name == WORKER_NAME and worker.daemon and worker.is_alive()  # it stays, for the next call
    assert (args, kwargs) == ((1, "two"), {"three": 3})


def test_every_caller_thread_reaches_the_same_worker_and_gets_its_own_results():
    idents: set[int] = set()
    busy = threading.Lock()  # held while a job runs: a second job at the same time could not take it
    overlapped = []
    results: dict[int, list[int]] = {}

    def job(caller: int, n: int) -> int:
        if not busy.acquire(blocking=False):
            overlapped.append((caller, n))
            return -1
        try:
            idents.add(threading.get_ident())
            time.sleep(0.0005)
            return caller * 1000 + n
        finally:
            busy.release()

    def caller(k: int) -> None:
        results[k] = [run_in_worker(job, k, n) for n in range(25)]

    callers = [threading.Thread(target=caller, args=(k,)) for k in range(6)]
    for thread in callers:
        thread.start()
    for thread in callers:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in callers)
    assert overlapped == []  # one job at a time
    assert results == {k: [k * 1000 + n for n in range(25)] for k in range(6)}
    assert idents == {run_in_worker(threading.get_ident)}  # one long-lived worker for everyone


class _Stop(BaseException):
    """Not an Exception: like KeyboardInterrupt or SystemExit, it must come back too."""


def test_an_error_comes_back_to_the_caller_as_raised_and_the_worker_keeps_serving():
    worker = run_in_worker(threading.current_thread)
    refused = ValueError("no such namespace")

    def fail(error: BaseException) -> None:
        raise error

    with pytest.raises(ValueError) as err:
        run_in_worker(fail, refused)
    assert err.value is refused
    assert any(entry.name == "fail" for entry in err.traceback)  # the worker's frames are in the traceback
    stop = _Stop()
    with pytest.raises(_Stop) as err:
        run_in_worker(fail, stop)
    assert err.value is stop
    assert run_in_worker(threading.current_thread) is worker


def test_run_in_new_thread_runs_each_call_in_a_fresh_named_thread_that_has_ended_when_it_returns():
    first, args, kwargs = run_in_new_thread(_whoami, "a", name="netlab-exec", b=2)
    second, _, _ = run_in_new_thread(_whoami)
    assert (args, kwargs) == (("a",), {"b": 2})  # name= is the thread's, not the call's
    assert (first.name, second.name) == ("netlab-exec", "netlab-thread")
    assert first is not second and threading.current_thread() not in (first, second)
    assert not first.is_alive() and not second.is_alive()
    assert first is not run_in_worker(threading.current_thread)


def test_run_in_new_thread_hands_back_the_value_or_the_very_error_raised():
    assert run_in_new_thread(sorted, [3, 1, 2], reverse=True) == [3, 2, 1]
    missing = FileNotFoundError(2, "No such file or directory", "/run/netns/nope")

    def fail() -> None:
        raise missing

    with pytest.raises(FileNotFoundError) as err:
        run_in_new_thread(fail)
    assert err.value is missing
    stop = _Stop()

    def interrupted() -> None:
        raise stop

    with pytest.raises(_Stop) as caught:
        run_in_new_thread(interrupted)
    assert caught.value is stop


def test_a_forked_child_gets_a_worker_of_its_own():
    """The parent's worker does not survive fork(): the child's first call starts a new one, never waits forever."""
    parent_worker = run_in_worker(threading.current_thread)
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Python 3.12+: fork() with threads running
        pid = os.fork()
    if pid == 0:  # the child: answer through the pipe, and leave without running pytest's cleanup
        code = 1
        try:
            os.close(read_end)
            worker = run_in_worker(threading.current_thread)
            said = {"pid": os.getpid(), "value": run_in_worker(lambda: 6 * 7), "worker": worker.name}
            said["new"] = worker is not parent_worker and worker.is_alive()
            os.write(write_end, json.dumps(said).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    try:
        ready, _, _ = select.select([read_end], [], [], 30)
        answer = os.read(read_end, 4096) if ready else b""
    finally:
        os.close(read_end)
        if not answer:
            os.kill(pid, signal.SIGKILL)  # our own child, stuck
        _, status = os.waitpid(pid, 0)
    assert json.loads(answer) == {"pid": pid, "value": 42, "worker": WORKER_NAME, "new": True}
    assert os.waitstatus_to_exitcode(status) == 0
    assert parent_worker.is_alive() and run_in_worker(threading.current_thread) is parent_worker


NESTED = """
import json, threading
from netlab.plumbing.threads import run_in_worker
caps = int(next(l for l in open("/proc/self/status") if l.startswith("CapEff:")).split()[1], 16)
said = {"cap_sys_admin": bool(caps >> 21 & 1)}
try:
    said["value"], said["thread"] = run_in_worker(lambda: run_in_worker(lambda: (2, threading.current_thread().name)))
except OSError as exc:
    said["error"] = f"{type(exc).__name__}: {exc}"
print(json.dumps(said))
"""


def test_a_nested_call_runs_inline_in_the_worker_even_without_the_right_to_switch_namespaces():
    """Run as a process that may not setns (root's child without CAP_SYS_ADMIN, or any plain user)."""
    argv = [sys.executable, "-c", NESTED]
    if os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("setpriv (util-linux) is needed to start a child without CAP_SYS_ADMIN")
        argv = ["setpriv", "--bounding-set=-sys_admin", *argv]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=REPO)
    if done.returncode != 0:
        pytest.skip(f"could not start the child: {done.stderr.strip()[-200:]}")
    said = json.loads(done.stdout)
    if said["cap_sys_admin"]:
        pytest.skip("the child can setns (CAP_SYS_ADMIN, e.g. in a user namespace): the defect does not show")
    assert said.get("error") is None, said["error"]
    assert (said["value"], said["thread"]) == (2, WORKER_NAME)
