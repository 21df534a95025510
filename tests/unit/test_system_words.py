"""The system's own words in the learner's language: errno texts (``errors.reason``) and ipaddress's reasons.

In English both are the system's words byte for byte (``os.strerror`` on this C library, ipaddress's message);
with ``NETLAB_LANG=zh_CN`` the same facts in Chinese.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import re

import pytest

from netlab.errors import _REASONS, InvalidAddressError, permission_error, reason
from netlab.plumbing import addresses
from netlab.plumbing.i18n import translation

HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("code", sorted(_REASONS), ids=lambda code: errno.errorcode[code])
def test_the_table_says_what_the_system_says(code):
    assert _REASONS[code] == os.strerror(code)


@pytest.mark.parametrize("code", sorted(_REASONS), ids=lambda code: errno.errorcode[code])
def test_every_text_in_the_table_has_its_chinese(code):
    chinese = translation("zh_CN").gettext(_REASONS[code])
    assert chinese != _REASONS[code] and HAN.search(chinese)


def test_in_english_nothing_changes(english):
    for code in range(1, 134):
        assert reason(code) == os.strerror(code)
        assert reason(OSError(code, os.strerror(code), "/some/path")) == os.strerror(code)
    assert reason(OSError(errno.EPERM, "unshare: Operation not permitted")) == "unshare: Operation not permitted"


@pytest.mark.parametrize(
    ("err", "chinese"),
    [
        (errno.EEXIST, "文件已存在"),
        (errno.EBUSY, "设备或资源忙"),
        (errno.ENETUNREACH, "网络不可达"),
        (errno.ERANGE, "数值结果超出范围"),
        (FileNotFoundError(errno.ENOENT, "No such file or directory", "/nowhere"), "没有那个文件或目录"),
        (OSError(errno.EPERM, "unshare: Operation not permitted"), "unshare: 不允许的操作"),  # how syscalls words it
    ],
)
def test_in_chinese_the_system_words_are_chinese(err, chinese, monkeypatch):
    monkeypatch.setenv("NETLAB_LANG", "zh_CN")
    assert reason(err) == chinese


def test_what_is_not_the_system_words_stays_as_it_is(chinese):
    assert reason(OSError(errno.EADDRNOTAVAIL, "ipv4: Address not found")) == "ipv4: Address not found"  # extack
    assert reason(errno.ENOTRECOVERABLE) == os.strerror(errno.ENOTRECOVERABLE)  # not in the table
    assert reason(TimeoutError("timed out")) == "timed out"  # no errno: the exception's text
    err = OSError(errno.EEXIST, "File exists")
    reason(err)
    assert err.strerror == "File exists"  # the exception itself is untouched


def test_a_real_error_from_a_real_call(chinese, tmp_path):
    with pytest.raises(FileExistsError) as caught:
        os.mkdir(tmp_path)
    assert caught.value.strerror == "File exists" and reason(caught.value) == "文件已存在"


def test_a_permission_error_quotes_the_system_in_chinese(chinese):
    err = permission_error("创建网络命名空间", PermissionError(errno.EPERM, "Operation not permitted"))
    assert err.message == "不允许创建网络命名空间：EPERM（不允许的操作）"
    assert err.strerror == err.message and err.errno == errno.EPERM


def _ipaddress_says(parse, text: str) -> ValueError:
    with pytest.raises(ValueError) as caught:
        parse(text)
    return caught.value


LIBRARY = [
    (ipaddress.ip_interface, "10.1.1.256/24", "'10.1.1.256/24' 不是带前缀的 IPv4 或 IPv6 地址"),
    (ipaddress.ip_network, "10.1.1.0/33", "'10.1.1.0/33' 不是 IPv4 或 IPv6 网络"),
    (ipaddress.ip_address, "10.1.1", "'10.1.1' 不是 IPv4 或 IPv6 地址"),
    (ipaddress.ip_network, "10.1.1.1/24", "10.1.1.1/24 的主机位不全为零"),
    (ipaddress.IPv4Address, "10.1.1.256", "'10.1.1.256' 中的 256 大于 255，不允许"),
    (ipaddress.IPv4Address, "10.1.1", "'10.1.1' 应当由 4 个以点分隔的数字组成"),
    (ipaddress.IPv4Address, "10.1.x.1", "'10.1.x.1' 中的 'x' 只能由十进制数字组成"),
    (ipaddress.IPv4Address, "10.01.1.1", "'10.01.1.1' 中的 '01' 不允许有前导零"),
    (ipaddress.IPv4Network, "10.1.1.0/33", "'33' 不是有效的网络掩码或前缀长度"),
]


@pytest.mark.parametrize(("parse", "text", "chinese"), LIBRARY, ids=[text for _parse, text, _zh in LIBRARY])
def test_ipaddress_reasons_in_both_languages(parse, text, chinese, monkeypatch):
    said = _ipaddress_says(parse, text)
    monkeypatch.setenv("NETLAB_LANG", "en")
    assert addresses.refusal(said) == str(said)
    monkeypatch.setenv("NETLAB_LANG", "zh_CN")
    assert addresses.refusal(said) == chinese


def test_an_impossible_octet_is_refused_in_chinese(chinese):
    with pytest.raises(InvalidAddressError) as caught:
        addresses.interface("10.1.1.256/24")
    said = "'10.1.1.256/24' 不是带前缀的 IPv4 或 IPv6 地址"  # ipaddress's reason
    assert caught.value.message == f"'10.1.1.256/24' 不是带前缀的 IP 地址：{said}"


def test_the_same_octet_in_english_is_unchanged(english):
    with pytest.raises(InvalidAddressError) as caught:
        addresses.interface("10.1.1.256/24")
    assert caught.value.message == (
        "'10.1.1.256/24' is not an IP address with a prefix: "
        "'10.1.1.256/24' does not appear to be an IPv4 or IPv6 interface"
    )
