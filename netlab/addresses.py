"""How addresses are written, checked before anything is created.

The kernel takes what it is given: ``ip addr add 10.1.1.1 dev veth1`` (no prefix) silently means
``/32``, and then nothing else is on the "subnet"; ``10.1.1.0/24`` as a host address is the
network's own number. These checks refuse such input with a hint, the way ``names`` does for
names::

    interface("10.1.1.1/24")   an address with its prefix     (ip addr add)
    network("10.0.0.0/24")     a route destination, or default (ip route add)
    address("10.1.1.1")        one address: a gateway, a ping target
    mac("02:00:00:00:00:01")   a link-layer address
"""

from __future__ import annotations

import ipaddress
import re
from typing import TypeAlias

from netlab.errors import InvalidAddressError
from netlab.i18n import _

__all__ = ["IPInterface", "IPNetwork", "address", "interface", "mac", "network"]

IPInterface: TypeAlias = ipaddress.IPv4Interface | ipaddress.IPv6Interface  # an address with its prefix
IPNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network  # a route's destination
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
HOST_BITS_SET = " has host bits set"  # how ipaddress says "a host address, not a network"


def interface(cidr: object) -> IPInterface:
    """``"10.1.1.1/24"`` as an address *with* its prefix; refuse what ``ip addr add`` would regret.

    The prefix is required: without it ``ip`` silently uses /32, and then nothing else is on
    the "subnet". For IPv4, the network and broadcast addresses of the prefix are refused too.
    """
    if isinstance(cidr, (ipaddress.IPv4Interface, ipaddress.IPv6Interface)):
        value = cidr
    else:
        text = str(cidr).strip() if isinstance(cidr, str) else None
        if text is None or "/" not in text:
            raise InvalidAddressError(
                _("{cidr!r} has no prefix length").format(cidr=cidr),
                hint=_("write the address with its prefix, as the article does: '10.1.1.1/24' (or '/32' on purpose)"),
                subject=cidr,
            )
        try:
            value = ipaddress.ip_interface(text)
        except ValueError as exc:
            raise InvalidAddressError(
                _("{cidr!r} is not an IP address with a prefix: {reason}").format(cidr=cidr, reason=exc),
                hint=_("e.g. '10.1.1.1/24' or 'fd00::1/64'"),
                subject=cidr,
            ) from None
    net = value.network
    if value.version == 4 and net.prefixlen < 31 and value.ip in (net.network_address, net.broadcast_address):
        if value.ip == net.network_address:
            problem = _("{value} is the network address of {net}, not a host address")
        else:
            problem = _("{value} is the broadcast address of {net}, not a host address")
        hosts = _("{first} to {last}").format(first=net.network_address + 1, last=net.broadcast_address - 1)
        raise InvalidAddressError(
            problem.format(value=value, net=net),
            hint=_("pick a host address from {hosts}, e.g. '{example}'").format(
                hosts=hosts, example=f"{net.network_address + 1}/{net.prefixlen}"
            ),
            subject=cidr,
        )
    return value


def network(dst: object) -> IPNetwork:
    """A route destination: ``"default"``, ``"default6"`` or a network such as ``"10.0.0.0/24"``."""
    if dst in ("default", "0/0"):
        return ipaddress.ip_network("0.0.0.0/0")
    if dst == "default6":
        return ipaddress.ip_network("::/0")
    if isinstance(dst, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
        return dst
    try:
        return ipaddress.ip_network(str(dst))
    except ValueError as exc:
        reason = str(exc)  # the ipaddress module's own words
        hint = _("write a network such as '10.0.0.0/24', or 'default'")
        if reason.endswith(HOST_BITS_SET):
            reason = _("{network} has host bits set").format(network=reason.removesuffix(HOST_BITS_SET))
            hint = _("a route goes to a whole network: use '{network}'").format(
                network=ipaddress.ip_interface(str(dst)).network
            )
        raise InvalidAddressError(
            _("{dst!r} is not a route destination: {reason}").format(dst=dst, reason=reason), hint=hint, subject=dst
        ) from None


def address(value: object) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """A single IP address (a gateway, a ping target); names are refused: nothing goes to DNS."""
    try:
        return ipaddress.ip_address(value.strip() if isinstance(value, str) else value)  # type: ignore[arg-type]
    except ValueError:
        raise InvalidAddressError(
            _("{value!r} is not an IP address").format(value=value),
            hint=_("write a literal address such as '10.1.1.1' (no prefix, no host name)"),
            subject=value,
        ) from None


def mac(mac: str | None) -> str | None:
    """A MAC address as ``ip link`` prints it (lower case), or None."""
    if mac is not None and not (isinstance(mac, str) and _MAC.match(mac.lower())):
        raise InvalidAddressError(
            _("{mac!r} is not a MAC address").format(mac=mac), hint=_("e.g. '02:00:00:00:00:01'"), subject=mac
        )
    return mac.lower() if mac else None
