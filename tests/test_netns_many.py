"""Many namespaces in one trip to the worker: add_many, unnamed + attach_fd; cross-checked with ip and findmnt."""

from __future__ import annotations

import os

import pytest
from conftest import sh

from netlab import inodes, netns
from netlab.errors import NamespaceExistsError


def test_add_many_makes_each_one_like_ip_netns_add():
    names = [f"many{i}" for i in range(20)]
    try:
        netns.add_many(names)
        assert sorted(sh("ip", "netns", "list").stdout.split()) == sorted(names) == netns.list()
        for name in names:
            assert sh("findmnt", "-n", "-o", "FSTYPE", str(netns.path(name))).stdout.strip() == "nsfs"
            assert sh("ip", "-n", name, "-o", "link").stdout.count("\n") == 1  # only lo
        assert len({inodes.inode(name) for name in names} | {inodes.inode()}) == 21  # all different
        assert inodes.inode() == os.stat("/proc/self/ns/net").st_ino  # the caller never moved
    finally:
        for name in netns.list():
            netns.delete(name)


def test_add_many_is_all_or_nothing():
    sh("ip", "netns", "add", "taken")
    try:
        with pytest.raises(NamespaceExistsError):
            netns.add_many(["free1", "free2", "taken", "free3"])
        assert netns.list() == ["taken"] and netns.stale() == []
    finally:
        sh("ip", "netns", "delete", "taken")


def test_unnamed_namespaces_live_while_held_and_attach_fd_names_them():
    held = netns.unnamed(3, lambda: os.stat("/proc/thread-self/ns/net").st_ino)
    try:
        inos = [ino for _, ino in held]
        assert len(set(inos) | {inodes.inode()}) == 4 and netns.list() == []  # alive, yet nameless
        netns.attach_fd("held1", held[0][0])
        assert inodes.inode("held1") == inos[0]
        assert "held1" in sh("ip", "netns", "list").stdout.split()
        assert sh("findmnt", "-n", "-o", "FSTYPE", str(netns.path("held1"))).stdout.strip() == "nsfs"
        with pytest.raises(NamespaceExistsError):
            netns.attach_fd("held1", held[1][0])
        assert netns.list() == ["held1"] and netns.stale() == []
    finally:
        for fd, _ in held:
            os.close(fd)
        for name in netns.list():
            netns.delete(name)
