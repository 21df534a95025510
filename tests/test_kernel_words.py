"""The kernel's own sentences, quoted in the learner's language: real refusals, ``NETLAB_LANG=zh_CN`` or English.

Besides an errno, the kernel often says why it refused a request, in a sentence of its own (netlink's
extended ack; ``ip`` prints it as ``Error: ...``). Each case provokes one such sentence with netlab's own
calls, checks that ``ip`` meets the very same sentence on this kernel, and that netlab quotes it in Chinese
(``errors.kernel_words``) or, in English, word for word.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import NamedTuple

import pytest
from conftest import sh

from netlab import links, netns
from netlab.errors import _KERNEL_WORDS, NetlabError


class Case(NamedTuple):
    provoke: Callable[[str, str], None]  # (namespace, other namespace): the netlab call the kernel refuses
    command: Callable[[str, str], list[str]]  # the same request with ip
    english: str  # the kernel's sentence
    chinese: str  # what a Chinese reader reads instead
    code: str  # the errno's name


def _move_a_bridge(ns: str, other: str) -> None:
    links.bridge("br0", netns=ns)
    links.move("br0", other, netns=ns)


def _bridge_into_a_bridge(ns: str, other: str) -> None:
    links.bridge("br0", netns=ns)
    links.bridge("br1", netns=ns)
    links.attach("br1", "br0", netns=ns)


def _via_a_local_address(ns: str, other: str) -> None:
    links.veth("va", "vb", netns=ns)
    links.add_address("va", "fd01::1/64", netns=ns)
    links.add_route("fd09::/64", via="fd01::1", dev="va", netns=ns)


CASES = {
    "move-lo": Case(
        lambda ns, other: links.move("lo", other, netns=ns),
        lambda ns, other: ["ip", "-n", ns, "link", "set", "lo", "netns", other],
        "The interface netns is immutable",
        "该接口的网络命名空间不可更改",
        "EINVAL",
    ),
    "move-bridge": Case(
        _move_a_bridge,
        lambda ns, other: ["ip", "-n", ns, "link", "set", "br0", "netns", other],
        "The interface netns is immutable",
        "该接口的网络命名空间不可更改",
        "EINVAL",
    ),
    "bridge-to-bridge": Case(
        _bridge_into_a_bridge,
        lambda ns, other: ["ip", "-n", ns, "link", "set", "br1", "master", "br0"],
        "Can not enslave a bridge to a bridge",
        "不能把网桥接入另一个网桥",
        "ELOOP",
    ),
    "unreachable-gateway": Case(
        lambda ns, other: links.add_route("10.9.0.0/16", via="10.77.0.1", netns=ns),
        lambda ns, other: ["ip", "-n", ns, "route", "add", "10.9.0.0/16", "via", "10.77.0.1"],
        "Nexthop has invalid gateway",
        "下一跳的网关无效",
        "ENETUNREACH",
    ),
    "route-on-a-down-device": Case(
        lambda ns, other: links.add_route("10.9.0.0/16", dev="lo", netns=ns),
        lambda ns, other: ["ip", "-n", ns, "route", "add", "10.9.0.0/16", "dev", "lo"],
        "Device for nexthop is not up",
        "下一跳所用的设备没有启用",
        "ENETDOWN",
    ),
    "ipv6-route-on-a-down-device": Case(
        lambda ns, other: links.add_route("fd09::/64", dev="lo", netns=ns),
        lambda ns, other: ["ip", "-n", ns, "route", "add", "fd09::/64", "dev", "lo"],
        "Nexthop device is not up",
        "下一跳设备没有启用",
        "ENETDOWN",
    ),
    "ipv6-gateway-is-local": Case(
        _via_a_local_address,
        lambda ns, other: ["ip", "-n", ns, "route", "add", "fd09::/64", "via", "fd01::1", "dev", "va"],
        "Gateway can not be a local address",
        "网关不能是本机地址",
        "EINVAL",
    ),
    "no-route-table-yet": Case(
        lambda ns, other: links.remove_route("10.6.0.0/16", dev="lo", netns=ns),
        lambda ns, other: ["ip", "-n", ns, "route", "del", "10.6.0.0/16", "dev", "lo"],
        "FIB table does not exist",
        "FIB 路由表不存在",
        "ESRCH",
    ),
    "remove-missing-ipv4-address": Case(
        lambda ns, other: links.remove_address("lo", "127.0.0.2/8", netns=ns),
        lambda ns, other: ["ip", "-n", ns, "addr", "del", "127.0.0.2/8", "dev", "lo"],
        "ipv4: Address not found",
        "ipv4：找不到该地址",
        "EADDRNOTAVAIL",
    ),
    "remove-missing-ipv6-address": Case(
        lambda ns, other: links.remove_address("lo", "fd00::3/64", netns=ns),
        lambda ns, other: ["ip", "-n", ns, "addr", "del", "fd00::3/64", "dev", "lo"],
        "ipv6: address not found",
        "ipv6：找不到该地址",
        "EADDRNOTAVAIL",
    ),
    "unspecified-ipv6-address": Case(
        lambda ns, other: links.add_address("lo", "::/64", netns=ns),
        lambda ns, other: ["ip", "-n", ns, "addr", "add", "::/64", "dev", "lo"],
        "ipv6: Invalid address",
        "ipv6：无效的地址",
        "EADDRNOTAVAIL",
    ),
    "ipv6-multicast-address": Case(
        lambda ns, other: links.add_address("lo", "ff02::5/64", netns=ns),
        lambda ns, other: ["ip", "-n", ns, "addr", "add", "ff02::5/64", "dev", "lo"],
        'ipv6: Cannot assign multicast address without "IFA_F_MCAUTOJOIN" flag',
        'ipv6：没有 "IFA_F_MCAUTOJOIN" 标志时不能配置组播地址',
        "EADDRNOTAVAIL",
    ),
}


@pytest.fixture
def other() -> Iterator[str]:
    """A second namespace, for a device to (fail to) move to."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    netns.add(name)
    yield name
    netns.delete(name)


def _refusal(case: Case, ns: str, other: str) -> NetlabError:
    with pytest.raises(NetlabError) as caught:
        case.provoke(ns, other)
    return caught.value


def test_every_sentence_in_the_table_is_provoked_here():
    assert {case.english for case in CASES.values()} == _KERNEL_WORDS


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_the_kernel_says_it_in_chinese(case, ns, other, monkeypatch):
    monkeypatch.setenv("NETLAB_LANG", "zh_CN")
    message = _refusal(case, ns, other).message
    assert message.endswith(f"内核回答 {case.chinese!r}（{case.code}）"), message
    refused = sh(*case.command(ns, other), check=False)  # ip meets the same sentence, in English
    assert refused.returncode != 0 and refused.stderr == f"Error: {case.english}.\n"


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_the_kernel_says_it_word_for_word_in_english(case, ns, other, monkeypatch):
    monkeypatch.setenv("NETLAB_LANG", "en")
    message = _refusal(case, ns, other).message
    assert message.endswith(f"the kernel says {case.english!r} ({case.code})"), message
    assert case.chinese not in message
