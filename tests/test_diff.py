"""Diffs of snapshots: the article, step by step, told back in sentences."""

from __future__ import annotations

import os
import re
import subprocess

import scenes
from scenes import shell

from netlab import diff, snapshot
from netlab.view.snapshot import interface_key

# The kernel updates a link's operstate a moment after `up`, in the background: whether a
# diff sees "state DOWN -> UP" now or one step later is timing, so the exact checks skip it.
TIMING = re.compile(r"can carry packets|stopped carrying|state \S+ → ")


def sentences(before, after) -> list[str]:
    return [line for line in diff(before, after).lines if not TIMING.search(line)]


def test_the_article_step_by_step():
    with scenes.cleanup(namespaces=("netns1",), links=("veth0",)):
        start = snapshot()
        shell("ip netns add netns1")
        step1 = snapshot()
        netns1 = step1.namespace("netns1")
        assert sentences(start, step1) == [f"new namespace netns1 ({netns1.label})"]

        shell("ip link add veth0 type veth peer name veth1")
        step2 = snapshot()
        assert sentences(step1, step2) == ["added veth pair veth0 ↔ veth1 in root"]
        assert diff(step1, step2).marks() == {
            interface_key(step2.root, "veth0"): "added",
            interface_key(step2.root, "veth1"): "added",
        }

        shell("ip link set veth1 netns netns1")
        step3 = snapshot()
        moved = diff(step2, step3)
        assert sentences(step2, step3) == ["veth1 moved from root to netns1"]
        assert moved.marks() == {interface_key(netns1, "veth1"): "added", interface_key(step3.root, "veth1"): "removed"}

        shell("ip netns exec netns1 ifconfig veth1 10.1.1.1/24 up", "ifconfig veth0 10.1.1.2/24 up")
        step4 = snapshot()
        assert sentences(step3, step4) == [
            "veth0 in root went UP",
            "veth0 in root got 10.1.1.2/24",
            "veth1 in netns1 went UP",
            "veth1 in netns1 got 10.1.1.1/24",
            "new route in root: 10.1.1.0/24 dev veth0 (connected: it came with the address)",
            "new route in netns1: 10.1.1.0/24 dev veth1 (connected: it came with the address)",
        ]
        assert not diff(step4, snapshot()) or all(TIMING.search(line) for line in diff(step4, snapshot()).lines)

        shell("ip netns delete netns1")
        step5 = snapshot(settle=2.0)  # the kernel frees netns1, and veth0 with it, in the background
        assert sentences(step4, step5) == [
            "removed veth0 from root (its peer veth1 went away with netns1: a veth pair dies together)",
            "route gone from root: 10.1.1.0/24 dev veth0 (connected: it came with the address)",
            f"namespace netns1 ({netns1.label}) is gone (and with it veth1)",
        ]


def test_a_move_flushes_addresses_and_brings_the_link_down():
    with scenes.cleanup(namespaces=("netns1",), links=("veth0",)):
        shell(
            "ip netns add netns1",
            "ip link add veth0 type veth peer name veth1",
            "ip addr add 10.1.1.1/24 dev veth1",
            "ip link set veth1 up",
        )
        before = snapshot()
        shell("ip link set veth1 netns netns1")
        assert sentences(before, snapshot()) == [
            "veth1 moved from root to netns1",
            "veth1 in netns1 went DOWN (moving an interface brings it down)",
            "veth1 in netns1 lost 10.1.1.1/24 (a move to another namespace flushes addresses)",
            "route gone from root: 10.1.1.0/24 dev veth1 (connected: it came with the address)",
        ]


def test_bridges_forwarding_and_nat_changes():
    with scenes.bridge_with_three():
        after = snapshot()
    before_lines = diff(after, snapshot(settle=2.0)).lines
    assert "root: IP forwarding turned off (net.ipv4.ip_forward=0)" in before_lines
    assert ("root: NAT rule removed: masquerade (table ip scene_nat, chain post)") in before_lines
    assert "removed br0 from root" in before_lines
    with scenes.cleanup(namespaces=("ns1",), links=("v1", "br0")):
        shell("ip link add br0 type bridge", "ip netns add ns1", "ip link add v1 type veth peer name eth0 netns ns1")
        start = snapshot()
        shell("ip link set v1 master br0")
        v1 = start.root.interface("v1")
        br0 = start.root.interface("br0")
        expected = ["v1 in root joined bridge br0"]
        if v1.mac != br0.mac:  # a bridge whose MAC was not set takes the lowest of its ports'
            expected.insert(
                0, f"br0 in root MAC {br0.mac} → {v1.mac} (a bridge takes the lowest MAC address of its ports)"
            )
        assert sentences(start, snapshot()) == expected


def test_a_name_lost_while_a_process_still_holds_the_namespace():
    with scenes.cleanup(namespaces=("gone",)):
        shell("ip netns add gone")
        proc = subprocess.Popen(["nsenter", "--net=/run/netns/gone", "sleep", "30"])
        try:
            scenes.wait_until(
                lambda: (
                    scenes.net_inode(proc.pid) == os.stat("/run/netns/gone").st_ino
                    and scenes._comm(proc.pid) == "sleep"
                )
            )
            before = snapshot()
            label = before.namespace("gone").label
            shell("ip netns delete gone")
            middle = snapshot()
            assert sentences(before, middle) == [
                f"{label} lost its name gone: still alive, held by process {proc.pid} (sleep)"
            ]
        finally:
            proc.kill()
            proc.wait()
        after = snapshot()
        assert sentences(middle, after) == [f"namespace {label}, held by process {proc.pid} (sleep) is gone"]


def test_no_change_means_an_empty_diff():
    first, second = snapshot(), snapshot()
    changes = diff(first, second)
    assert not changes and len(changes) == 0 and str(changes) == "no change"
    assert changes.marks() == {} and len(changes.union().namespaces) == len(second.namespaces)


def test_a_diff_reads_in_chinese_with_netlab_lang_zh_cn(monkeypatch):
    monkeypatch.setenv("NETLAB_LANG", "zh_CN")
    with scenes.cleanup(namespaces=("netns1",), links=("veth0",)):
        start = snapshot()
        shell("ip netns add netns1", "ip link add veth0 type veth peer name veth1")
        created = snapshot()
        label = created.namespace("netns1").label
        assert diff(start, created).lines == [
            f"新建了命名空间 netns1（{label}）",
            "在根命名空间中添加了虚拟网卡对（veth pair）veth0 ↔ veth1",
        ]
        assert diff(start, created).summary == "2 处变化"

        shell(
            "ip link set veth1 netns netns1",
            "ip netns exec netns1 ip addr add 10.1.1.1/24 dev veth1",
            "ip netns exec netns1 ip link set veth1 up",
            "ip addr add 10.1.1.2/24 dev veth0",
            "ip link set veth0 up",
        )
        wired = snapshot()
        assert diff(created, wired).lines == [
            "veth1 从根命名空间移到了 netns1",
            "netns1 中的 veth1 已启用（UP）",
            "netns1 中的 veth1 获得了地址 10.1.1.1/24",
            "根命名空间中的 veth0 已启用（UP）",
            "根命名空间中的 veth0 获得了地址 10.1.1.2/24",
            "根命名空间中有了新路由：10.1.1.0/24 dev veth0（直连路由：随地址一起出现）",
            "netns1 中有了新路由：10.1.1.0/24 dev veth1（直连路由：随地址一起出现）",
        ]
        assert str(diff(wired, wired)) == "没有变化"

        monkeypatch.setenv("NETLAB_LANG", "en")  # the same diff, back in the English the other tests check
        assert diff(created, wired).lines[:2] == ["veth1 moved from root to netns1", "veth1 in netns1 went UP"]
