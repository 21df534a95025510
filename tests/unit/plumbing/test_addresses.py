"""How addresses are written: netlab.plumbing.addresses refuses what the kernel would take silently."""

from __future__ import annotations

import ipaddress

import pytest

from netlab.errors import InvalidAddressError
from netlab.plumbing import addresses


def test_an_address_needs_its_prefix():
    assert addresses.interface("10.1.1.1/24") == ipaddress.ip_interface("10.1.1.1/24")
    with pytest.raises(InvalidAddressError, match="no prefix length") as caught:
        addresses.interface("10.1.1.1")
    assert "'10.1.1.1/24'" in caught.value.hint


@pytest.mark.parametrize(("cidr", "which"), [("10.1.1.0/24", "network"), ("10.1.1.255/24", "broadcast")])
def test_network_and_broadcast_are_not_host_addresses(cidr, which):
    with pytest.raises(InvalidAddressError, match=which) as caught:
        addresses.interface(cidr)
    assert "10.1.1.1/24" in caught.value.hint


def test_route_destinations():
    assert addresses.network("default") == ipaddress.ip_network("0.0.0.0/0")
    assert addresses.network("default6") == ipaddress.ip_network("::/0")
    with pytest.raises(InvalidAddressError) as caught:
        addresses.network("10.0.0.1/24")
    assert "10.0.0.0/24" in caught.value.hint


def test_one_address_and_no_host_names():
    assert str(addresses.address(" 10.1.1.1 ")) == "10.1.1.1"
    with pytest.raises(InvalidAddressError, match="not an IP address"):
        addresses.address("example.com")


def test_mac_addresses_as_ip_prints_them():
    assert addresses.mac("02:AA:00:00:00:01") == "02:aa:00:00:00:01"
    assert addresses.mac(None) is None
    with pytest.raises(InvalidAddressError):
        addresses.mac("02:aa:00")
