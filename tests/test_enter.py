"""Running a command or a Python function inside a namespace (netlab.enter): ip netns exec and setns."""

from __future__ import annotations

import os

import pytest

from netlab import NEW, call, inodes, run


def test_run_shows_the_namespace_sysfs_and_returns_output(ns):
    result = run(ns, ["ls", "/sys/class/net"])
    assert result.returncode == 0 and result.stdout.split() == ["lo"]
    assert set(os.listdir("/sys/class/net")) >= {"lo"}  # the caller's /sys is unchanged
    failed = run(ns, ["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert (failed.returncode, failed.stdout, failed.stderr) == (3, "out\n", "err\n")


def test_call_runs_python_inside_and_returns(ns):
    assert call(ns, lambda: os.readlink("/proc/thread-self/ns/net")) == inodes.label(ns)
    assert call(NEW, inodes.inode) not in {inodes.inode(), inodes.inode(ns)}
    with pytest.raises(ZeroDivisionError):
        call(ns, lambda: 1 / 0)
    assert inodes.label() == os.readlink("/proc/thread-self/ns/net")
