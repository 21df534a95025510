"""Keeping a namespace alive with a bind mount (netlab.persist): the article's last section, with nsenter."""

from __future__ import annotations

import os

import pytest
from conftest import sh

from netlab import inodes, netns, persist, run
from netlab.errors import NamespaceExistsError, NamespaceNotFoundError


def test_article_persistence_flow():
    """unshare -n; touch; mount --bind; exit; ls -i; nsenter --net=; umount."""
    file = netns.run_dir() / "ns1"
    proc = persist.start_unshared(["sleep", "30"])
    try:
        born = os.readlink(f"/proc/{proc.pid}/ns/net")  # readlink /proc/$$/ns/net in that shell
        assert born != inodes.label()
        persist.bind(proc.pid, file)
        assert sh("findmnt", "-n", "-o", "FSTYPE", str(file)).stdout.strip() == "nsfs"
    finally:
        proc.kill()
        proc.wait()
    # The process has exited; `ls -i` still shows the same inode.
    assert f"net:[{sh('ls', '-i', str(file)).stdout.split()[0]}]" == born
    # nsenter --net=FILE works, from both nsenter and netlab, and they agree.
    theirs = sh("nsenter", f"--net={file}", "readlink", "/proc/self/ns/net").stdout.strip()
    ours = run(file, ["readlink", "/proc/self/ns/net"]).stdout.strip()
    assert theirs == ours == born
    persist.unbind(file)
    assert not file.exists()
    assert int(born[5:-1]) not in {i.inode for i in inodes.namespaces()}


def test_bind_refuses_existing_file_and_unbind_a_plain_one(tmp_path):
    taken = tmp_path / "taken"
    taken.touch()
    with pytest.raises(NamespaceExistsError):
        persist.bind(os.getpid(), taken)
    with pytest.raises(NamespaceNotFoundError):
        persist.unbind(taken)
    assert taken.exists() and not persist.is_bind_mounted(taken)
