"""Name validation (netlab/names.py): what iproute2 and the kernel accept, checked before anything is made."""

from __future__ import annotations

from pathlib import Path

import pytest

from netlab.errors import InvalidNameError
from netlab.names import IFNAMSIZ, NAME_MAX, check_ifname, check_netns_name


@pytest.mark.parametrize("name", ["netns1", "a", "x" * NAME_MAX, "ns-with.dots_and-dashes", "é", " spaced "])
def test_netns_names_ip_accepts_come_back_unchanged(name):
    assert check_netns_name(name) == name


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("", "is empty"),
        (".", "means a directory"),
        ("..", "means a directory"),
        ("a/b", "contains '/'"),
        ("/run/netns/x", "contains '/'"),
        ("nul\0byte", "NUL"),
        ("x" * (NAME_MAX + 1), f"the limit is {NAME_MAX}"),
        ("é" * 128, "256 bytes long"),  # 128 characters, but 256 bytes: the limit counts bytes
    ],
)
def test_netns_names_ip_refuses_say_why(name, why):
    with pytest.raises(InvalidNameError) as caught:
        check_netns_name(name)
    assert why in caught.value.message
    assert caught.value.hint and caught.value.subject == name
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("name", [None, 3, b"netns1", Path("netns1")])
def test_a_netns_name_must_be_text(name):
    with pytest.raises(InvalidNameError, match="must be a str") as caught:
        check_netns_name(name)
    assert type(name).__name__ in caught.value.message


@pytest.mark.parametrize("name", ["veth0", "x" * (IFNAMSIZ - 1), "br-lan.10", "eth_0"])
def test_interface_names_the_kernel_accepts(name):
    assert check_ifname(name) == name


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("", "is empty"),
        (".", "is '.'"),
        ("..", "is '..'"),
        ("x" * IFNAMSIZ, f"at most {IFNAMSIZ - 1}"),  # 16 bytes: no room for the final NUL
        ("ééééééééé", "18 bytes long"),  # 9 characters, 18 bytes
        ("veth/0", "contains"),
        ("veth:0", "contains"),  # ':' was the old alias syntax (eth0:1)
        ("veth 0", "contains"),
        ("veth\t0", "contains"),
        ("veth\0", "contains"),
    ],
)
def test_interface_names_the_kernel_refuses_say_why(name, why):
    with pytest.raises(InvalidNameError) as caught:
        check_ifname(name)
    assert why in caught.value.message
    assert "veth0" in caught.value.hint


@pytest.mark.parametrize("name", [None, 0, b"veth0"])
def test_an_interface_name_must_be_text(name):
    with pytest.raises(InvalidNameError, match="must be a str"):
        check_ifname(name)
