"""A child's first words within a deadline, its end by pid, and its last words worth reading."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from netlab.plumbing import child


def _popen(script: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(["sh", "-c", script], start_new_session=True, **kwargs)


def _python(code: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code], start_new_session=True, **kwargs)


def test_read_within_returns_the_ready_line_and_knows_the_writer_is_alive():
    read_end, write_end = os.pipe()
    proc = _python(f"import os, time; os.write({write_end}, b'ready\\n'); time.sleep(60)", pass_fds=(write_end,))
    os.close(write_end)
    try:
        assert child.read_within(read_end, 10) == (b"ready\n", False)
    finally:
        os.close(read_end)
        child.end(proc)
    assert proc.returncode == -signal.SIGTERM


def test_read_within_stops_at_slirp4netns_one_without_a_newline():
    read_end, write_end = os.pipe()
    os.write(write_end, b"1")
    try:
        assert child.read_within(read_end, 10) == (b"1", False)
    finally:
        os.close(read_end)
        os.close(write_end)


def test_read_within_sees_at_once_that_the_writer_died():
    read_end, write_end = os.pipe()
    proc = _python(f"import os; os.write({write_end}, b'half'); raise SystemExit(3)", pass_fds=(write_end,))
    os.close(write_end)
    try:
        assert child.read_within(read_end, 60) == (b"half", True)  # not 60 s: the pipe closed
    finally:
        os.close(read_end)
    assert proc.wait() == 3


def test_read_within_gives_up_at_its_deadline():
    read_end, write_end = os.pipe()
    try:
        assert child.read_within(read_end, 0.05) == (b"", False)
    finally:
        os.close(read_end)
        os.close(write_end)


def test_file_within_returns_the_line_the_child_wrote(tmp_path):
    pid_file = tmp_path / "pid"
    proc = _popen(f"sleep 0.1; echo $$ > {pid_file}.new; mv {pid_file}.new {pid_file}; sleep 60")
    try:
        said, ended = child.file_within(pid_file, proc, 10)
    finally:
        child.end(proc)
    assert (said, ended) == (f"{proc.pid}\n".encode(), False)


def test_file_within_notices_the_child_ended_without_writing(tmp_path):
    proc = _popen("exit 1")
    assert child.file_within(tmp_path / "never", proc, 60) == (b"", True)
    assert proc.returncode == 1


def test_line_within_reads_one_line_or_nothing():
    proc = _popen("echo Serving HTTP; sleep 60", stdout=subprocess.PIPE)
    silent = _popen("sleep 60", stdout=subprocess.PIPE)
    try:
        assert child.line_within(proc, proc.stdout, 10) == b"Serving HTTP\n"
        assert child.line_within(silent, silent.stdout, 0.05) == b""
    finally:
        for p in (proc, silent):
            child.end(p)
            p.stdout.close()


def test_end_kills_a_child_that_ignores_sigterm(monkeypatch):
    monkeypatch.setattr(child, "STOP_SECONDS", 0.2)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print(1); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stdout.readline() == b"1\n"
    child.end(proc)
    proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL


def test_end_leaves_an_ended_child_alone():
    proc = _popen("exit 4")
    proc.wait()
    child.end(proc)
    assert proc.returncode == 4


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (b"starting\nFailed to open tun: Operation not permitted\n\n", "Failed to open tun: Operation not permitted"),
        (b"No such device\nFailed to send message to syslog\n", "No such device"),
        (b"", ""),
        (b"\xff bad bytes\n", "\ufffd bad bytes"),
    ],
)
def test_last_line_is_the_last_one_worth_reading(text, line):
    assert child.last_line(text) == line
