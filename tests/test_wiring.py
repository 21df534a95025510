"""Bad input to the wiring: a clear NetlabError naming the object, a hint, and nothing changed."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import sh

from netlab import Lab, links, sysctl
from netlab.errors import (
    DeviceError,
    DeviceExistsError,
    DeviceNotFoundError,
    InvalidAddressError,
    InvalidNameError,
    NamespaceNotFoundError,
    NetlabError,
)


@pytest.fixture(scope="module")
def world():
    """netns1 with veth1 10.1.1.1/24 <-> veth0 10.1.1.2/24 here, a bridge br0, a default route in netns1."""
    with Lab("badinput") as lab:
        lab.netns("netns1")
        lab.connect(
            "netns1",
            address="10.1.1.1/24",
            ifname="veth1",
            host_ifname="veth0",
            host_address="10.1.1.2/24",
            gateway="10.1.1.2",
        )
        lab.bridge("br0")
        yield lab


def _addresses(*prefix: str) -> list:
    return sorted(
        (lk["ifname"], lk.get("master"), lk["address"], a["local"], a["prefixlen"])
        for lk in json.loads(sh(*prefix, "-j", "addr").stdout)
        for a in lk["addr_info"]
        if not a["local"].startswith("fe80")
    )


def _routes(*prefix: str) -> list:
    return sorted((r["dst"], r.get("gateway"), r.get("dev")) for r in json.loads(sh(*prefix, "-j", "route").stdout))


def state() -> tuple:
    """Everything the cases could change, as the independent tools show it (minus link-state flicker)."""
    return (
        _addresses("ip"),
        _addresses("ip", "-n", "netns1"),
        _routes("ip"),
        _routes("ip", "-n", "netns1"),
        sorted(lk["ifname"] for lk in json.loads(sh("ip", "-j", "link").stdout)),
        sorted(lk["ifname"] for lk in json.loads(sh("ip", "-n", "netns1", "-j", "link").stdout)),
        sh("ip", "netns", "list").stdout,
        sh("sysctl", "-n", "net.ipv4.ip_forward").stdout,
    )


CASES = [
    # (id, call(lab), error class, text the message must contain)
    ("name-too-long", lambda lab: links.veth("a" * 16, "b"), InvalidNameError, "a" * 16),
    ("name-with-space", lambda lab: links.veth("veth 9", "b"), InvalidNameError, "veth 9"),
    ("name-with-slash", lambda lab: links.bridge("br/0"), InvalidNameError, "br/0"),
    ("name-with-colon", lambda lab: links.up("eth0:1"), InvalidNameError, "eth0:1"),
    ("name-not-text", lambda lab: links.up(7), InvalidNameError, "7"),
    ("veth-ends-same-name", lambda lab: links.veth("vx", "vx"), DeviceExistsError, "vx"),
    ("veth-name-taken", lambda lab: links.veth("veth0", "vnew"), DeviceExistsError, "veth0"),
    ("veth-peer-taken-there", lambda lab: links.veth("vnew", "veth1", peer_netns="netns1"), DeviceExistsError, "veth1"),
    (
        "veth-peer-namespace-missing",
        lambda lab: links.veth("vnew", "vpeer", peer_netns="nowhere"),
        NamespaceNotFoundError,
        "nowhere",
    ),
    ("bridge-name-taken", lambda lab: links.bridge("br0"), DeviceExistsError, "br0"),
    ("bad-mac", lambda lab: links.bridge("brx", mac="02:zz:00:00:00:01"), InvalidAddressError, "02:zz"),
    ("move-lo", lambda lab: links.move("lo", "netns1"), DeviceError, "netns is immutable"),
    ("move-bridge", lambda lab: links.move("br0", "netns1"), DeviceError, "netns is immutable"),
    ("move-missing-device", lambda lab: links.move("ghost0", "netns1"), DeviceNotFoundError, "ghost0"),
    ("move-to-missing-namespace", lambda lab: links.move("veth0", "nowhere"), NamespaceNotFoundError, "nowhere"),
    ("move-name-taken-there", lambda lab: links.move("veth0", "netns1", new_name="veth1"), DeviceExistsError, "veth1"),
    ("up-missing-device", lambda lab: links.up("ghost0"), DeviceNotFoundError, "ghost0"),
    ("up-in-missing-namespace", lambda lab: links.up("eth0", netns="nowhere"), NamespaceNotFoundError, "nowhere"),
    ("rename-to-taken-name", lambda lab: links.rename("veth0", "br0"), DeviceExistsError, "br0"),
    ("delete-missing-device", lambda lab: links.delete("ghost0"), DeviceNotFoundError, "ghost0"),
    ("delete-lo", lambda lab: links.delete("lo", netns="netns1"), DeviceError, "lo"),
    ("attach-to-non-bridge", lambda lab: links.attach("veth0", "lo"), DeviceError, "not a bridge"),
    ("attach-to-missing-bridge", lambda lab: links.attach("veth0", "ghostbr"), DeviceNotFoundError, "ghostbr"),
    (
        "address-octet-too-big",
        lambda lab: links.add_address("veth0", "10.1.1.300/24"),
        InvalidAddressError,
        "10.1.1.300",
    ),
    ("address-prefix-too-long", lambda lab: links.add_address("veth0", "10.1.1.5/33"), InvalidAddressError, "/33"),
    ("address-without-prefix", lambda lab: links.add_address("veth0", "10.1.1.5"), InvalidAddressError, "prefix"),
    (
        "address-is-network",
        lambda lab: links.add_address("veth0", "10.1.1.0/24"),
        InvalidAddressError,
        "network address",
    ),
    ("address-is-broadcast", lambda lab: links.add_address("veth0", "10.1.1.255/24"), InvalidAddressError, "broadcast"),
    ("address-garbage", lambda lab: links.add_address("veth0", "banana/24"), InvalidAddressError, "banana"),
    ("address-v6-prefix", lambda lab: links.add_address("veth0", "fd00::1/129"), InvalidAddressError, "fd00::1/129"),
    ("address-already-used", lambda lab: links.add_address("br0", "10.1.1.2/24"), DeviceExistsError, "veth0"),
    (
        "address-on-missing-device",
        lambda lab: links.add_address("ghost0", "10.9.9.9/24"),
        DeviceNotFoundError,
        "ghost0",
    ),
    (
        "remove-absent-address",
        lambda lab: links.remove_address("veth0", "10.1.1.99/24"),
        DeviceNotFoundError,
        "10.1.1.99",
    ),
    (
        "route-gateway-unreachable",
        lambda lab: links.add_route("default", via="192.168.77.1"),
        DeviceError,
        "192.168.77.1",
    ),
    (
        "route-host-bits-set",
        lambda lab: links.add_route("10.0.0.1/24", via="10.1.1.1"),
        InvalidAddressError,
        "10.0.0.1/24",
    ),
    ("route-needs-via-or-dev", lambda lab: links.add_route("10.5.0.0/16"), InvalidAddressError, "10.5.0.0/16"),
    (
        "route-family-mismatch",
        lambda lab: links.add_route("10.5.0.0/16", via="fd00::1"),
        InvalidAddressError,
        "fd00::1",
    ),
    (
        "route-exists",
        lambda lab: links.add_route("default", via="10.1.1.2", netns="netns1"),
        DeviceExistsError,
        "default via 10.1.1.2",
    ),
    (
        "route-absent",
        lambda lab: links.remove_route("10.123.0.0/16", via="10.1.1.1"),
        DeviceNotFoundError,
        "10.123.0.0/16",
    ),
    ("sysctl-not-per-namespace", lambda lab: sysctl.set("kernel.hostname", "x"), InvalidNameError, "kernel.hostname"),
    ("sysctl-missing", lambda lab: sysctl.get("net.ipv4.no_such_thing"), InvalidNameError, "no_such_thing"),
    ("sysctl-path-escape", lambda lab: sysctl.get("net/../../etc/passwd"), InvalidNameError, "passwd"),
    (
        "sysctl-value-refused",
        lambda lab: sysctl.set("net.ipv4.ip_forward", "banana", netns="netns1"),
        NetlabError,
        "banana",
    ),
    (
        "sysctl-missing-namespace",
        lambda lab: sysctl.get("net.ipv4.ip_forward", netns="nowhere"),
        NamespaceNotFoundError,
        "nowhere",
    ),
    ("lab-name-invalid", lambda lab: Lab("my lab"), InvalidNameError, "my lab"),
    ("star-subnet-too-small", lambda lab: lab.star(10, subnet="10.9.0.0/29"), InvalidAddressError, "10.9.0.0/29"),
    ("star-name-too-long", lambda lab: lab.star(["a-very-long-namespace"]), InvalidNameError, "v-a-very-long"),
]


@pytest.mark.parametrize("call, error, mentions", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input_is_refused_clearly_and_changes_nothing(world, call, error, mentions):
    before = state()
    with pytest.raises(error) as err:
        call(world)
    assert isinstance(err.value, NetlabError)
    assert mentions in str(err.value), str(err.value)
    assert err.value.hint, f"no hint for: {err.value}"
    assert state() == before
    assert links.list("netns1")[1].name == "veth1"  # the world is intact


def test_there_are_at_least_25_cases():
    assert len(CASES) >= 25 and len({case[0] for case in CASES}) == len(CASES)


def test_a_huge_star_is_refused_before_anything_is_built():
    """star(10**9): the size is checked first; the names alone would need about 60 GB.

    Under a 2 GiB address-space limit, building anything first is a MemoryError, not a NetlabError.
    """
    code = (
        "import resource\n"
        "from netlab import Lab\n"
        "from netlab.errors import NetlabError\n"
        "resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"
        "with Lab() as lab:\n"
        "    try:\n"
        "        lab.star(10**9)\n"
        "    except NetlabError as exc:\n"
        "        print(type(exc).__name__, exc.message)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("InvalidNameError") and "1023" in result.stdout, result.stdout
