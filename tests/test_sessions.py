"""Which lesson is open in which process: the records in /run/netlab/lessons, checked with stat, /proc, ps, ip netns."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import sh

from netlab import netns
from netlab.lab.machine import World, write_trusted
from netlab.teach import sessions

# A notebook's kernel with a lesson open: it begins the lesson, says so, and runs until its stdin closes.
NOTEBOOK = """
import sys
from netlab.lab.machine import World
from netlab.teach import sessions
sessions.begin(sys.argv[1], World.now())
print("open", flush=True)
sys.stdin.read()
"""


def started(pid: int) -> int:
    """Field 22 of /proc/PID/stat, read here: when the process started, in clock ticks since boot."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])


def net_inode(pid: int | str) -> int:
    return int(os.readlink(f"/proc/{pid}/ns/net").strip("net:[]"))


@pytest.fixture
def lessons() -> Iterator[Path]:
    """The lessons folder; what a test adds to it goes afterwards, and its mode comes back."""
    folder = sessions._dir()
    folder.mkdir(mode=0o755, parents=True, exist_ok=True)
    before, mode = set(os.listdir(folder)), folder.stat().st_mode & 0o7777
    yield folder
    folder.chmod(mode)
    for name in set(os.listdir(folder)) - before:
        path = folder / name
        if path.is_dir() and not path.is_symlink():
            path.rmdir()
        else:
            path.unlink()


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen]:
    """A live process that another record can name."""
    proc = subprocess.Popen(["sleep", "600"])
    yield proc
    proc.kill()
    proc.wait()


def open_notebook(lesson: str, *prefix: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [*prefix, sys.executable, "-c", NOTEBOOK, lesson], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline() == "open\n"
    return proc


def close_notebook(proc: subprocess.Popen) -> None:
    proc.communicate("", timeout=60)
    assert proc.returncode == 0


def record(owner: int, /, **changes: object) -> dict:
    """What ``begin`` writes for a lesson 03 open in process ``owner`` in this namespace, with ``changes``."""
    data = {"lesson": "03", "pid": owner, "start": started(owner), "netns": net_inode("self")}
    data["world"] = World.empty().to_json()
    return {**data, **changes}


def test_begin_writes_this_process_down_in_a_file_only_root_may_change_and_end_removes_it(lessons):
    session = sessions.begin("03", World.empty())
    file = lessons / f"{os.getpid()}.json"
    st = os.lstat(file)
    assert sh("stat", "-c", "%F %u %a", str(file)).stdout.strip() == "regular file 0 644"
    assert st.st_uid == 0 and not st.st_mode & 0o022 and not lessons.stat().st_mode & 0o022
    data = json.loads(file.read_text())
    assert (data["lesson"], data["pid"], data["start"]) == ("03", os.getpid(), started(os.getpid()))
    assert data["netns"] == net_inode("self") and World.from_json(data["world"]) == World.empty()
    assert session.alive and (session.pid, session.start) == (data["pid"], data["start"])
    assert sessions.others() == [] and file.exists()  # this process's own lesson is not another's
    sessions.end()
    assert not file.exists()
    sessions.end()  # twice: nothing to do


def test_a_lesson_open_in_another_process_is_listed_with_its_world_until_that_process_ends(ns, lessons):
    notebook = open_notebook("03")
    try:
        file = lessons / f"{notebook.pid}.json"
        (other,) = sessions.others()
        assert (other.lesson, other.pid, other.start) == ("03", notebook.pid, started(notebook.pid)) and other.alive
        assert sh("ps", "-o", "comm=", "-p", str(notebook.pid)).stdout.strip().startswith("python")
        # The world it began with, by identity: the namespace's inode as ls -i shows it, lo's ifindex as ip shows it.
        assert other.world.namespaces == {ns: int(sh("ls", "-i", str(netns.path(ns))).stdout.split()[0])}
        lo = next(link for link in json.loads(sh("ip", "-j", "link").stdout) if link["ifname"] == "lo")
        assert other.world.links[lo["ifindex"]] == "lo"
    finally:
        close_notebook(notebook)
    assert file.exists()  # nobody removed it: the notebook's kernel ended without a word
    assert sessions.others() == [] and not file.exists()  # a record of a process that is gone is stale


def test_a_record_whose_pid_now_runs_another_program_is_stale_and_removed(lessons, sleeper):
    file = lessons / f"{sleeper.pid}.json"
    assert write_trusted(file, record(sleeper.pid)) is None
    assert [s.pid for s in sessions.others()] == [sleeper.pid]  # with its true start time: a lesson open there
    assert write_trusted(file, record(sleeper.pid, start=started(sleeper.pid) + 1)) is None
    assert sessions.others() == [] and not file.exists()  # the same pid, another start: another program
    assert sleeper.poll() is None and sh("ps", "-o", "comm=", "-p", str(sleeper.pid)).stdout.strip() == "sleep"


def test_a_lesson_open_in_another_network_namespace_is_not_this_ones(ns, lessons):
    notebook = open_notebook("04", "ip", "netns", "exec", ns)  # ip execs Python: the same pid
    try:
        file = lessons / f"{notebook.pid}.json"
        assert sh("ip", "netns", "identify", str(notebook.pid)).stdout.split() == [ns]
        assert json.loads(file.read_text())["netns"] == net_inode(notebook.pid) != net_inode("self")
        assert sessions.others() == [] and file.exists()  # not listed here, and not stale either
    finally:
        close_notebook(notebook)
    assert sessions.others() == [] and not file.exists()


PLANTS = ["world-writable", "owned by nobody", "symlink", "not JSON", "a JSON list", "no world", "pid not a number"]


@pytest.mark.parametrize("plant", PLANTS)
def test_a_planted_or_malformed_record_is_ignored_and_left_alone(lessons, sleeper, tmp_path, plant):
    """Each names a live process in this namespace: trusted and whole, it would be a lesson open there."""
    file = lessons / f"{sleeper.pid}.json"
    assert write_trusted(file, record(sleeper.pid)) is None
    assert [s.pid for s in sessions.others()] == [sleeper.pid]
    file.unlink()
    target = tmp_path / "elsewhere.json"
    if plant == "world-writable":
        file.write_text(json.dumps(record(sleeper.pid)))
        file.chmod(0o666)
    elif plant == "owned by nobody":
        file.write_text(json.dumps(record(sleeper.pid)))
        try:
            os.chown(file, 65534, 65534)
        except OSError:  # rootless: no other user is mapped into this user namespace
            file.unlink()
            pytest.skip("no other user to own a record here (rootless)")
    elif plant == "symlink":
        target.write_text(json.dumps(record(sleeper.pid)))
        file.symlink_to(target)
    elif plant == "not JSON":
        file.write_text("{")
    elif plant == "a JSON list":
        file.write_text(json.dumps([record(sleeper.pid)]))
    elif plant == "no world":
        file.write_text(json.dumps({k: v for k, v in record(sleeper.pid).items() if k != "world"}))
    else:
        file.write_text(json.dumps(record(sleeper.pid, pid="sleep")))
    if plant not in ("world-writable", "symlink"):
        file.chmod(0o644)  # whatever the umask: only what is planted differs from a trusted record
    content = file.read_bytes()
    assert sessions.others() == []
    assert os.path.lexists(file) and file.read_bytes() == content  # neither used nor removed
    if plant == "symlink":
        assert file.is_symlink() and target.read_text() == json.dumps(record(sleeper.pid))


def test_a_lessons_folder_others_may_write_is_neither_written_nor_read(lessons, sleeper):
    assert write_trusted(lessons / f"{sleeper.pid}.json", record(sleeper.pid)) is None
    lessons.chmod(0o777)
    assert sh("stat", "-c", "%a", str(lessons)).stdout.strip() == "777"
    assert sessions.others() == []  # a record in it could have been put there by anyone
    session = sessions.begin("05", World.empty())
    assert session.lesson == "05" and not (lessons / f"{os.getpid()}.json").exists()
    assert sorted(os.listdir(lessons)) == [f"{sleeper.pid}.json"]


def test_a_record_with_a_number_out_of_range_is_skipped(lessons, sleeper):
    assert write_trusted(lessons / "1.json", record(sleeper.pid, pid=float("inf"))) is None  # JSON: Infinity
    assert write_trusted(lessons / f"{sleeper.pid}.json", record(sleeper.pid)) is None
    assert [s.pid for s in sessions.others()] == [sleeper.pid]


def test_a_folder_named_like_a_record_is_skipped(lessons, sleeper):
    (lessons / "2.json").mkdir(mode=0o755)
    assert write_trusted(lessons / f"{sleeper.pid}.json", record(sleeper.pid)) is None
    assert [s.pid for s in sessions.others()] == [sleeper.pid]
