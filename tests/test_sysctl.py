"""netlab.sysctl per namespace, cross-checked with `ip netns exec NS sysctl`, nsenter + /proc/sys, unshare and stat."""

from __future__ import annotations

import errno
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import sh
from scenes import wait_until

from netlab import NEW, netns, sysctl
from netlab.errors import InvalidNameError, NetlabError
from netlab.plumbing.commands import recording

FORWARD = "net.ipv4.ip_forward"
TTL = "net.ipv4.ip_default_ttl"


def tool(ns: str, key: str) -> str:
    """``ip netns exec NS sysctl -n KEY``: the sysctl tool's own reading."""
    return sh("ip", "netns", "exec", ns, "sysctl", "-n", key).stdout.strip()


def proc_file(ns: str, key: str) -> str:
    """The file behind ``key`` read by ``cat``, entered into the namespace by ``nsenter --net``."""
    return sh("nsenter", f"--net={netns.path(ns)}", "cat", "/proc/sys/" + key.replace(".", "/")).stdout.strip()


def one_line(err: NetlabError) -> None:
    assert "\n" not in err.message and err.hint and "\n" not in err.hint, str(err)


@pytest.fixture
def other_ns() -> Iterator[str]:
    """A second namespace made by netlab, removed after the test."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    netns.add(name)
    try:
        yield name
    finally:
        netns.delete(name)


def test_each_namespace_has_its_own_ip_forward_and_set_returns_the_old_value(ns, other_ns):
    root, before, theirs = sh("sysctl", "-n", FORWARD).stdout.strip(), tool(ns, FORWARD), tool(other_ns, FORWARD)
    assert sysctl.get(FORWARD, netns=ns) == before == proc_file(ns, FORWARD)
    new = "0" if before == "1" else "1"
    with recording() as history:
        assert sysctl.set(FORWARD, int(new), netns=ns) == before
    assert tool(ns, FORWARD) == proc_file(ns, FORWARD) == sysctl.get(FORWARD, netns=ns) == new
    # The other namespace and the root namespace kept their own value.
    assert tool(other_ns, FORWARD) == sysctl.get(FORWARD, netns=other_ns) == theirs
    assert sh("sysctl", "-n", FORWARD).stdout.strip() == sysctl.get(FORWARD) == root
    # The history is the command a learner would type, and typing it does the same.
    (command,) = str(history).splitlines()
    assert command == f"ip netns exec {ns} sysctl -w {FORWARD}={new}"
    assert sysctl.set(FORWARD, before, netns=ns) == new and tool(ns, FORWARD) == before
    sh(*command.split())
    assert proc_file(ns, FORWARD) == new


def test_a_name_a_path_a_pid_and_a_new_namespace_are_read_where_they_point(ns):
    sh("ip", "netns", "exec", ns, "sysctl", "-qw", f"{TTL}=77")
    sleeper = subprocess.Popen(["ip", "netns", "exec", ns, "sleep", "600"])  # ip execs sleep: the same pid
    try:
        wait_until(lambda: os.stat(f"/proc/{sleeper.pid}/ns/net").st_ino == netns.path(ns).stat().st_ino)
        assert sh("ip", "netns", "identify", str(sleeper.pid)).stdout.split() == [ns]
        assert sysctl.get(TTL, netns=ns) == sysctl.get(TTL, netns=netns.path(ns)) == "77"
        assert sysctl.get(TTL, netns=sleeper.pid) == "77"
    finally:
        sleeper.kill()
        sleeper.wait()
    # A brand-new namespace starts from the kernel's default, as one made by `unshare -n` does.
    fresh = sysctl.get(TTL, netns=NEW)
    assert fresh == sh("unshare", "-n", "sysctl", "-n", TTL).stdout.strip() != "77"
    assert sysctl.get(TTL) == sh("sysctl", "-n", TTL).stdout.strip() != "77"  # the root namespace: untouched


def test_a_device_setting_exists_only_in_the_namespace_of_its_device(ns):
    sh("ip", "-n", ns, "link", "add", "v-ns1", "type", "veth", "peer", "name", "eth0.5")
    dashed = "net.ipv4.conf.v-ns1.forwarding"
    sysctl.set(dashed, 1, netns=ns)
    assert tool(ns, dashed) == proc_file(ns, dashed) == "1"
    # A name with a dot, written with slashes as the sysctl tool takes it (its dotted form is eth0/5).
    slashed = "net/ipv4/conf/eth0.5/forwarding"
    assert sysctl.set(slashed, 1, netns=ns) == "0"
    assert tool(ns, slashed) == tool(ns, "net.ipv4.conf.eth0/5.forwarding") == sysctl.get(slashed, netns=ns) == "1"
    # The root namespace has no such device, so no such setting: the tool agrees.
    assert sh("sysctl", "-n", dashed, check=False).returncode != 0
    with pytest.raises(InvalidNameError) as err:
        sysctl.get(dashed)
    one_line(err.value)
    assert dashed in err.value.message and "device" in err.value.hint


NOT_PER_NAMESPACE = [
    "kernel.hostname",
    "vm.swappiness",
    "net",
    "",
    "net..ipv4.ip_forward",
    "net.ipv4.ip forward",
    "net.ipv4.*",
    "net/ipv4/../../kernel/hostname",
    "net.ipv4.ip_forward/../../../kernel/hostname",
    None,
    42,
]


@pytest.mark.parametrize("key", NOT_PER_NAMESPACE, ids=repr)
def test_a_name_that_is_not_a_namespace_setting_is_refused_in_one_line_and_nothing_changes(ns, key):
    machine = {name: Path(f"/proc/sys/{name}").read_text() for name in ("kernel/hostname", "vm/swappiness")}
    for call in (lambda: sysctl.get(key, netns=ns), lambda: sysctl.set(key, "1", netns=ns)):
        with pytest.raises(InvalidNameError) as err:
            call()
        one_line(err.value)
        assert repr(key) in err.value.message and "net." in err.value.hint
    assert {name: Path(f"/proc/sys/{name}").read_text() for name in machine} == machine


def test_a_setting_the_namespace_does_not_have_is_named_with_where_to_look(ns):
    with pytest.raises(InvalidNameError) as err:
        sysctl.set("net.ipv4.no_such_setting", 1, netns=ns)
    one_line(err.value)
    assert "net.ipv4.no_such_setting" in err.value.message and ns in err.value.message
    assert "sysctl -a" in err.value.hint
    assert sh("ip", "netns", "exec", ns, "sysctl", "-n", "net.ipv4.no_such_setting", check=False).returncode != 0


@pytest.mark.parametrize(
    "key, value",
    [(FORWARD, "abc"), (TTL, 0), (TTL, 256), (TTL, "64x")],
    ids=["forward=abc", "ttl=0", "ttl=256", "ttl=64x"],
)
def test_a_value_the_kernel_refuses_is_named_with_the_value_it_kept(ns, key, value):
    before = tool(ns, key)
    with pytest.raises(NetlabError) as err:
        sysctl.set(key, value, netns=ns)
    one_line(err.value)
    assert err.value.errno_code == errno.EINVAL
    assert f"{key}={str(value)!r}" in err.value.message and f"it is now {before!r}" in err.value.hint
    assert tool(ns, key) == proc_file(ns, key) == before
    # The sysctl tool is refused the same value by the same kernel.
    assert sh("ip", "netns", "exec", ns, "sysctl", "-qw", f"{key}={value}", check=False).returncode != 0


@pytest.mark.parametrize("value", [1.5, None, "", "  ", "1\n0", [1], b"1"], ids=repr)
def test_a_value_that_is_not_a_sysctl_value_is_refused_before_the_kernel_sees_it(ns, value):
    before = tool(ns, FORWARD)
    with recording() as history, pytest.raises(InvalidNameError) as err:
        sysctl.set(FORWARD, value, netns=ns)
    one_line(err.value)
    assert "int" in err.value.hint and len(history) == 0
    assert tool(ns, FORWARD) == before


def test_a_name_of_a_folder_of_settings_is_refused_in_one_line(ns):
    assert Path("/proc/sys/net/ipv4").is_dir()
    for call in (lambda: sysctl.get("net.ipv4", netns=ns), lambda: sysctl.set("net.ipv4", 1, netns=ns)):
        with pytest.raises(NetlabError) as err:
            call()
        one_line(err.value)


def test_a_device_with_a_dash_and_a_dot_in_its_name_is_read_in_the_slash_form(ns):
    sh("ip", "-n", ns, "link", "add", "v-x.5", "type", "veth", "peer", "name", "v-y")
    key = "net/ipv4/conf/v-x.5/forwarding"
    assert tool(ns, key) == "0"
    assert sysctl.get(key, netns=ns) == "0"


def test_a_read_only_setting_is_not_blamed_on_missing_privileges(ns):
    key = "net.ipv4.tcp_available_congestion_control"
    assert sh("stat", "-c", "%a", "/proc/sys/" + key.replace(".", "/")).stdout.strip() == "444"
    before = tool(ns, key)
    with pytest.raises(NetlabError) as err:
        sysctl.set(key, "reno", netns=ns)
    one_line(err.value)
    assert tool(ns, key) == before
    assert "sudo" not in err.value.hint, err.value.hint
