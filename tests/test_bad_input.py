"""Bad input: each case gets the right error class, a hint, and leaves nothing behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from netlab import NEW, call, inodes, netns, persist, popen, run
from netlab.errors import (
    InvalidNameError,
    NamespaceExistsError,
    NamespaceNotFoundError,
    NetlabError,
    StaleNamespaceError,
    ToolMissingError,
)
from netlab.names import check_ifname

BAD_NETNS_NAMES = ["", ".", "..", "a/b", "../etc", "/run/netns/x", "x" * 256, "é" * 128, "nul\0byte"]


@pytest.mark.parametrize("name", BAD_NETNS_NAMES)
@pytest.mark.parametrize("operation", [netns.add, netns.delete, netns.exists, netns.pids])
def test_invalid_namespace_names_are_refused(operation, name):
    with pytest.raises(InvalidNameError) as err:
        operation(name)
    assert err.value.hint and isinstance(err.value, ValueError)
    assert os.listdir(netns.run_dir()) == [] if netns.run_dir().exists() else True


@pytest.mark.parametrize("name", [None, 3.5, b"bytes", Path("netns1")])
def test_a_name_must_be_text(name):
    with pytest.raises(InvalidNameError):
        netns.add(name)


def test_longest_valid_name_works():
    name = "n" * 255
    netns.add(name)
    try:
        assert netns.list() == [name]
    finally:
        netns.delete(name)


@pytest.mark.parametrize("name", ["", "a" * 16, "veth 0", "a:b", "a/b", ".", "..", "é" * 8])
def test_invalid_interface_names(name):
    with pytest.raises(InvalidNameError):
        check_ifname(name)


def test_fifteen_byte_interface_name_is_fine():
    assert check_ifname("a" * 15) == "a" * 15


def test_existing_name(ns):
    with pytest.raises(NamespaceExistsError) as err:
        netns.add(ns)
    assert isinstance(err.value, FileExistsError)


@pytest.mark.parametrize("target", ["missing", Path("/run/netns/missing"), 999999999, -4])
def test_missing_targets(target):
    with pytest.raises(NamespaceNotFoundError):
        run(target, ["true"])
    with pytest.raises(NamespaceNotFoundError):
        inodes.inode(target)


@pytest.mark.parametrize("pid", [0, -1, 999999999, True, "12"])
def test_attach_bad_pid(ns_name, pid):
    with pytest.raises(NamespaceNotFoundError):
        netns.attach(ns_name, pid)
    assert not (netns.run_dir() / ns_name).exists()


def test_identify_bad_pid():
    with pytest.raises(NamespaceNotFoundError):
        netns.identify(999999999)


def test_not_a_namespace_file(tmp_path):
    plain = tmp_path / "plain"
    plain.touch()
    with pytest.raises(StaleNamespaceError):
        call(plain, lambda: None)


def test_missing_tool(ns):
    with pytest.raises(ToolMissingError) as err:
        run(ns, ["no-such-tool-netlab"])
    assert "install" in err.value.hint


def test_empty_command_and_bad_target_type(ns):
    with pytest.raises(ValueError):
        popen(ns, [])
    with pytest.raises(TypeError):
        run(3.5, ["true"])


def test_every_error_is_a_netlab_error():
    for cls in (InvalidNameError, NamespaceExistsError, NamespaceNotFoundError, StaleNamespaceError, ToolMissingError):
        assert issubclass(cls, NetlabError)


def test_unbind_requires_a_bind_mount(tmp_path):
    with pytest.raises(NamespaceNotFoundError):
        persist.unbind(tmp_path / "never-made")


def test_new_namespace_target_cannot_be_deleted_by_name():
    with pytest.raises(InvalidNameError):
        netns.delete(str(NEW) + "/x")
