"""Errors speak the learner's language: the first line (the problem) as well as the hint.

Real errors from the real functions, read with ``NETLAB_LANG=zh_CN`` and with English.
"""

from __future__ import annotations

import re

import pytest

from netlab import enter, netns
from netlab.errors import InvalidAddressError, InvalidNameError, NamespaceNotFoundError, NetlabError
from netlab.names import check_ifname, check_netns_name
from netlab.plumbing import addresses

CJK = re.compile(r"[\u4e00-\u9fff]")


def _raised(fn, *args) -> NetlabError:
    with pytest.raises(NetlabError) as caught:
        fn(*args)
    return caught.value


@pytest.fixture
def empty_run_dir(tmp_path, monkeypatch):
    """An empty run directory of our own: every name in it is missing, nothing is mounted."""
    monkeypatch.setenv(netns.RUN_DIR_ENV, str(tmp_path))
    return tmp_path


CASES = [
    (
        check_netns_name,
        ("a/b",),
        InvalidNameError,
        "invalid namespace name 'a/b': it contains '/'; a name is never taken as a path",
        "无效的命名空间名字 'a/b'：包含 '/'；名字永远不会被当作路径",
    ),
    (
        check_ifname,
        ("x" * 16,),
        InvalidNameError,
        f"invalid interface name {'x' * 16!r}: it is 16 bytes long; the kernel allows at most 15",
        f"无效的接口名字 {'x' * 16!r}：长 16 字节；内核最多允许 15 字节",
    ),
    (
        addresses.interface,
        ("10.1.1.0/24",),
        InvalidAddressError,
        "10.1.1.0/24 is the network address of 10.1.1.0/24, not a host address",
        "10.1.1.0/24 是 10.1.1.0/24 的网络地址，不是主机地址",
    ),
    (
        addresses.network,
        ("10.0.0.1/24",),
        InvalidAddressError,
        "'10.0.0.1/24' is not a route destination: 10.0.0.1/24 has host bits set",
        "'10.0.0.1/24' 不是有效的路由目的地：10.0.0.1/24 的主机位不全为零",
    ),
    (
        netns.delete,
        ("missing",),
        NamespaceNotFoundError,
        "namespace 'missing' does not exist ({run_dir}/missing)",
        "命名空间 'missing' 不存在（{run_dir}/missing）",
    ),
    (
        enter.netns_file,
        ("missing",),
        NamespaceNotFoundError,
        "namespace 'missing' does not exist",
        "命名空间 'missing' 不存在",
    ),
]


@pytest.mark.parametrize(("fn", "args", "kind", "english", "chinese"), CASES, ids=lambda x: getattr(x, "__name__", ""))
def test_the_first_line_is_chinese_in_a_chinese_session(fn, args, kind, english, chinese, empty_run_dir, monkeypatch):
    monkeypatch.setenv("NETLAB_LANG", "zh_CN")
    err = _raised(fn, *args)
    assert isinstance(err, kind)
    first, hint = str(err).split("\n")
    assert first == err.message == chinese.format(run_dir=empty_run_dir)
    assert hint.startswith("  提示：") and CJK.search(hint)


@pytest.mark.parametrize(("fn", "args", "kind", "english", "chinese"), CASES, ids=lambda x: getattr(x, "__name__", ""))
def test_the_first_line_stays_english_otherwise(fn, args, kind, english, chinese, empty_run_dir, monkeypatch):
    for variable in ("NETLAB_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    err = _raised(fn, *args)
    assert isinstance(err, kind)
    first, hint = str(err).split("\n")
    assert first == err.message == english.format(run_dir=empty_run_dir)
    assert hint.startswith("  hint: ") and not CJK.search(str(err))


def test_an_os_error_keeps_the_translated_message_as_its_strerror(empty_run_dir, monkeypatch):
    monkeypatch.setenv("NETLAB_LANG", "zh_CN")
    err = _raised(netns.delete, "missing")
    assert isinstance(err, FileNotFoundError) and err.strerror == err.message and CJK.search(err.strerror)
