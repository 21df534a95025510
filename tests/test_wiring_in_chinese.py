"""Wiring, NAT, sysctl and capture speak the learner's language: real mistakes, real kernel, Chinese first lines.

Each test makes the mistake a learner makes, against a real namespace, with ``NETLAB_LANG=zh_CN``, and reads
the error the learner would read: its first line (the problem) and its hint are Chinese, the names and
commands in it stay as typed. The kernel is cross-checked with ``ip``: the refused request changed nothing.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import sh

from netlab import links, nat, sysctl
from netlab.capture import capture
from netlab.errors import DeviceError, DeviceExistsError, DeviceNotFoundError, InvalidNameError
from netlab.plumbing.frames import FilterError
from netlab.targets import in_words

HAN = re.compile(r"[\u4e00-\u9fff]")
NETLAB = str(Path(sys.executable).with_name("netlab"))


def first_line(error: BaseException) -> str:
    return str(error).splitlines()[0]


def test_a_bad_capture_filter_is_explained_in_chinese(ns, chinese):
    with pytest.raises(FilterError) as caught:
        capture("lo", netns=ns, filter="icmp andd host 10.0.0.2")
    assert first_line(caught.value) == "无法解析过滤条件 'icmp andd host 10.0.0.2'：卡在 'andd'"
    assert caught.value.hint.startswith("可用 arp、icmp") and "and/or" in caught.value.hint


def test_the_same_mistake_in_english_is_unchanged(ns, monkeypatch):
    monkeypatch.setenv("NETLAB_LANG", "en")
    with pytest.raises(FilterError) as caught:
        capture("lo", netns=ns, filter="icmp andd host 10.0.0.2")
    assert first_line(caught.value) == "cannot read the filter 'icmp andd host 10.0.0.2' at 'andd'"


def test_capturing_on_a_missing_interface_names_the_ones_there(ns, chinese):
    with pytest.raises(DeviceNotFoundError) as caught:
        capture("nosuch0", netns=ns, timeout=1)
    assert first_line(caught.value) == f"接口 'nosuch0' 不存在于{in_words(ns)}"
    there = [line.split()[0] for line in sh("ip", "-n", ns, "-br", "link").stdout.splitlines()]
    assert caught.value.hint == f"那里的接口有 {', '.join(there)}；可以用 ip netns exec {ns} ip -br link 列出"


def test_a_taken_name_is_refused_in_chinese_and_nothing_is_made(ns, chinese):
    with pytest.raises(DeviceExistsError) as caught:
        links.veth("lo", "x0", netns=ns)
    assert first_line(caught.value) == f"名为 'lo' 的设备已经存在于{in_words(ns)}（loopback #1）"
    assert HAN.search(caught.value.hint) and f"links.delete('lo', netns='{ns}')" in caught.value.hint
    assert "x0" not in sh("ip", "-n", ns, "-br", "link").stdout


def test_lo_cannot_move_and_the_hint_says_why_in_chinese(ns, chinese):
    with pytest.raises(DeviceError) as caught:
        links.move("lo", to=None, netns=ns)
    assert "把 'lo' 移到另一个命名空间" in first_line(caught.value)
    assert caught.value.hint.startswith("lo 和网桥是 'netns-local' 的")
    assert "lo" in sh("ip", "-n", ns, "-br", "link").stdout  # still there


def test_attaching_to_something_not_a_bridge(ns, chinese):
    with pytest.raises(DeviceError) as caught:
        links.attach("lo", "lo", netns=ns)
    assert first_line(caught.value) == f"'lo'（{in_words(ns)}）是 loopback，不是网桥"
    assert caught.value.hint == f"先创建一个网桥：links.bridge('br0', netns='{ns}')"


def test_unpublishing_a_port_never_published(ns, chinese):
    with pytest.raises(DeviceNotFoundError) as caught:
        nat.unpublish(8080, netns=ns)
    assert first_line(caught.value) == f"tcp 端口 8080 没有发布在表 'netlab' 中（{in_words(ns)}）"
    assert caught.value.hint == f"查看已发布的端口：nat.published('{ns}')"
    assert "netlab" not in sh("ip", "netns", "exec", ns, "nft", "list", "tables").stdout


def test_a_sysctl_of_a_missing_device(ns, chinese):
    with pytest.raises(InvalidNameError) as caught:
        sysctl.get("net.ipv4.conf.nosuch0.forwarding", netns=ns)
    assert first_line(caught.value) == f"sysctl 'net.ipv4.conf.nosuch0.forwarding' 不存在于{in_words(ns)}"
    assert HAN.search(caught.value.hint)


def test_netlab_capture_on_the_command_line_speaks_chinese(ns):
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "NETLAB_LANG": "zh_CN"}
    proc = subprocess.run(
        [NETLAB, "capture", "-n", ns, "lo", "icmp", "andd"], capture_output=True, text=True, env=env, timeout=60
    )
    assert proc.returncode != 0
    assert "无法解析过滤条件 'icmp andd'：卡在 'andd'" in proc.stderr
    assert "Traceback" not in proc.stderr
