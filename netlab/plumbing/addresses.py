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
from netlab.plumbing.i18n import N_, _

__all__ = ["IPInterface", "IPNetwork", "address", "interface", "mac", "network"]

IPInterface: TypeAlias = ipaddress.IPv4Interface | ipaddress.IPv6Interface  # an address with its prefix
IPNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network  # a route's destination
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
HOST_BITS_SET = " has host bits set"  # how ipaddress says "a host address, not a network"

# How the ipaddress module says why it refuses a text, word for word, so the learner can read it in
# their own language: each sentence is the module's, with its facts as {placeholders}.
_REFUSALS = [
    N_("{value} does not appear to be an IPv4 or IPv6 address"),
    N_("{value} does not appear to be an IPv4 or IPv6 network"),
    N_("{value} does not appear to be an IPv4 or IPv6 interface"),
    N_("{network} has host bits set"),
    N_("Octet {octet} (> 255) not permitted in {address}"),
    N_("Expected 4 octets in {address}"),
    N_("Only decimal digits permitted in {octet} in {address}"),
    N_("Leading zeros are not permitted in {octet} in {address}"),
    N_("{netmask} is not a valid netmask"),
]


def _pattern(sentence: str) -> re.Pattern[str]:
    """``"Expected 4 octets in {address}"`` -> a regex matching the filled-in sentence, one group a placeholder."""
    parts = re.split(r"\{(\w+)\}", sentence)  # literal, name, literal, name, ..., literal
    return re.compile("".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)" for i, part in enumerate(parts)))


_REFUSED = [(_pattern(sentence), sentence) for sentence in _REFUSALS]


def refusal(exc: ValueError) -> str:
    """Why ipaddress refused a text (``str(exc)``), in the learner's language; English as the module said it."""
    said = str(exc)
    for pattern, sentence in _REFUSED:
        match = pattern.fullmatch(said)
        if match:
            return _(sentence).format(**match.groupdict())
    return said


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
                _("{cidr!r} is not an IP address with a prefix: {reason}").format(cidr=cidr, reason=refusal(exc)),
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
        reason = refusal(exc)  # the ipaddress module's own words
        hint = _("write a network such as '10.0.0.0/24', or 'default'")
        if str(exc).endswith(HOST_BITS_SET):
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
