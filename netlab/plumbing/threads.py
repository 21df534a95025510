"""Where netlab switches namespaces: a worker thread, never yours.

Namespaces belong to *threads*, not processes: ``unshare(CLONE_NEWNET)`` or ``setns`` in one
thread leaves every other thread where it was. netlab never switches the caller's thread (in
Jupyter that is the kernel's main thread). It hands the work to one long-lived worker thread,
which does what ``ip`` does in ``netns_save()`` / ``netns_restore()``: remember the namespace it
is in, switch, do the work, switch back.

Commands that also need a private mount table (``ip netns exec``) run in a throwaway thread
instead (``run_in_new_thread``): a thread cannot cheaply undo ``unshare(CLONE_NEWNS)``, so it
simply ends, and its mount table with it.
"""

from __future__ import annotations

import _thread
import os
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from netlab.plumbing import syscalls

T = TypeVar("T")

__all__ = ["netns_saved", "run_in_new_thread", "run_in_worker"]


@contextmanager
def netns_saved() -> Iterator[None]:
    """iproute2's netns_save()/netns_restore(): whatever happens inside, come back here.

    Only a thread that moved goes back: ``setns`` needs ``CAP_SYS_ADMIN``, which a call that stayed
    home may not have.
    """
    saved = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    home = os.fstat(saved).st_ino
    try:
        yield
    finally:
        try:
            if _here() != home:
                syscalls.setns(saved, syscalls.CLONE_NEWNET)
        finally:
            os.close(saved)


def _here() -> int:
    """The inode of the namespace the calling thread is in (one ``stat``, no file to close)."""
    return os.stat("/proc/thread-self/ns/net").st_ino


class _Worker(threading.Thread):
    """The thread that switches namespaces. Each job ends with it back home, or it retires.

    Handing a job over costs a thread wake-up each way: a plain lock (not an Event, which
    builds a Condition per wait) and no switching back when the job never left home keep it
    to a few tens of microseconds. A caller with many namespaces to visit sends one job for
    all of them (``netns.add_many``, ``Lab.star``).
    """

    def __init__(self) -> None:
        super().__init__(name="netlab-netns-worker", daemon=True)
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.pid = os.getpid()
        self.retired = False

    def run(self) -> None:
        home_fd = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        home = os.fstat(home_fd).st_ino
        while True:
            fn, done, outcome = self.jobs.get()
            try:
                outcome["value"] = fn()
            except BaseException as exc:  # handed back to the caller
                outcome["error"] = exc
            if not _go_home(home_fd, home):
                # Could not switch back: never run another job from the wrong namespace. Retire,
                # and hand what is queued to a fresh worker.
                with _worker_lock:
                    self.retired = True
                    while not self.jobs.empty():
                        _submit_locked(self.jobs.get())
                done.release()
                os.close(home_fd)
                return
            done.release()


def _go_home(home_fd: int, home: int) -> bool:
    """``netns_restore()``: back to the namespace ``home_fd`` shows, if the job left it."""
    try:
        if _here() == home:
            return True
        syscalls.setns(home_fd, syscalls.CLONE_NEWNET)
        return _here() == home
    except OSError:
        return False


_worker: _Worker | None = None
_worker_lock = threading.Lock()


def _submit_locked(job: tuple) -> _Worker:
    global _worker
    if _worker is None or _worker.retired or not _worker.is_alive() or _worker.pid != os.getpid():
        _worker = _Worker()
        _worker.start()
    _worker.jobs.put(job)
    return _worker


def _result(outcome: dict[str, Any]) -> Any:
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def run_in_worker(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call ``fn`` in the namespace worker thread; it returns to its own namespace afterwards."""
    if threading.current_thread() is _worker:  # nested call: already in the worker
        with netns_saved():
            return fn(*args, **kwargs)
    done, outcome = _thread.allocate_lock(), dict[str, Any]()
    done.acquire()  # released by the worker when the job is done
    with _worker_lock:
        _submit_locked((lambda: fn(*args, **kwargs), done, outcome))
    done.acquire()
    return _result(outcome)


def run_in_new_thread(fn: Callable[..., T], *args: Any, name: str = "netlab-thread", **kwargs: Any) -> T:
    """Call ``fn`` in a new thread that ends afterwards, taking its namespaces with it."""
    outcome: dict[str, Any] = {}

    def body() -> None:
        try:
            outcome["value"] = fn(*args, **kwargs)
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=body, name=name, daemon=True)
    thread.start()
    thread.join()
    return _result(outcome)
