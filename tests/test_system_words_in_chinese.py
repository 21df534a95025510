"""The kernel's refusals quoted in the learner's language: real requests, real errnos, ``NETLAB_LANG=zh_CN``.

When netlab quotes the system's words for an errno ("File exists"), a Chinese reader reads them in Chinese
(``errors.reason``); in English they stay the system's words. Each request is cross-checked with ``ip``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import sh

from netlab import links, reach
from netlab.errors import DeviceExistsError, DeviceNotFoundError

NETLAB = str(Path(sys.executable).with_name("netlab"))


def _route_twice(ns: str) -> DeviceExistsError:
    links.up("lo", netns=ns)
    links.add_route("10.5.0.0/16", dev="lo", netns=ns)
    with pytest.raises(DeviceExistsError) as caught:
        links.add_route("10.5.0.0/16", dev="lo", netns=ns)
    assert sh("ip", "-n", ns, "route", "show", "10.5.0.0/16").stdout.count("10.5.0.0/16") == 1
    return caught.value


def test_a_route_added_twice_quotes_the_kernel_in_chinese(ns, monkeypatch):
    monkeypatch.setenv("NETLAB_LANG", "zh_CN")
    first = _route_twice(ns).message
    assert first.endswith("内核回答 '文件已存在'（EEXIST）"), first


def test_a_route_added_twice_quotes_the_kernel_in_english(ns, monkeypatch):
    monkeypatch.setenv("NETLAB_LANG", "en")
    first = _route_twice(ns).message
    assert first.endswith("the kernel says 'File exists' (EEXIST)"), first


def test_removing_a_route_that_is_not_there(ns, monkeypatch):
    monkeypatch.setenv("NETLAB_LANG", "zh_CN")
    links.up("lo", netns=ns)
    links.add_route("10.5.0.0/16", dev="lo", netns=ns)  # the table exists, without this route
    assert "10.6.0.0/16" not in sh("ip", "-n", ns, "route").stdout
    with pytest.raises(DeviceNotFoundError) as caught:
        links.remove_route("10.6.0.0/16", dev="lo", netns=ns)
    assert caught.value.message.endswith("内核回答 '没有那个进程'（ESRCH）"), caught.value.message


def test_a_refused_connection_is_reported_in_chinese(ns, monkeypatch):
    monkeypatch.setenv("NETLAB_LANG", "zh_CN")
    links.up("lo", netns=ns)
    assert "5001" not in sh("ip", "netns", "exec", ns, "ss", "-ltn").stdout
    result = reach.probe(ns, "127.0.0.1", 5001, server=ns, server_port=5002, timeout=1)
    assert not result.ok and result.error == "拒绝连接"
    assert str(result) == f"tcp {ns} -> 127.0.0.1:5001：失败：拒绝连接"


@pytest.mark.parametrize(("lang", "said"), [("zh_CN", "没有那个文件或目录"), ("en", "No such file or directory")])
def test_a_command_that_does_not_exist_in_a_sandbox(lang, said):
    env = {**os.environ, "NETLAB_LANG": lang}
    missing = subprocess.run([NETLAB, "sandbox", "--", "no-such-command-here"], capture_output=True, text=True, env=env)
    assert missing.returncode == 127 and missing.stderr == f"netlab sandbox: no-such-command-here: {said}\n"
