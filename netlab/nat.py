"""NAT: private namespaces reach "the internet", and the internet reaches a service inside one.

The article's last bullet ("connect to the internet") in three steps, in the root namespace:
a bridge that the namespaces' veths plug into (``links``), ``net.ipv4.ip_forward=1``
(``sysctl``), and NAT, here. Two kinds of NAT:

*Masquerade* (source NAT): a packet from 10.0.0.2 leaving through the uplink gets the uplink's
own address as its source, so replies find their way back; the kernel's connection tracking
undoes the rewrite on the replies::

    nft add table inet netlab
    nft add chain inet netlab postrouting '{ type nat hook postrouting priority srcnat ; policy accept ; }'
    nft add rule inet netlab postrouting ip saddr 10.0.0.0/24 oifname '"uplink"' masquerade
    # iptables -t nat -A POSTROUTING -s 10.0.0.0/24 -o uplink -j MASQUERADE

*Port publishing* (destination NAT, ``docker run -p 8080:80``): a connection to port 8080 on
any of the root namespace's own addresses is sent on to 10.0.0.2:80. ``fib daddr type local``
("addressed to this namespace") keeps traffic that is only passing through untouched, and an
``output`` chain covers connections made from the root namespace itself::

    nft add rule inet netlab prerouting fib daddr type local tcp dport 8080 dnat ip to 10.0.0.2:80
    # iptables -t nat -A PREROUTING -p tcp --dport 8080 -m addrtype --dst-type LOCAL
    #          -j DNAT --to-destination 10.0.0.2:80

netlab runs ``nft -f -`` inside the namespace with the same statements, so a change is applied
whole or not at all, and keeps every rule in a table it owns (``inet netlab`` by default; a
``Lab`` uses ``inet netlab_<lab>``), so removing the table removes exactly its rules.
If a host firewall drops forwarded packets (a ``filter forward`` chain with policy drop,
as Docker installs), NAT alone is not enough: the sandbox and a fresh VM have none.

Reading the rules back, ``snapshot()`` does not run ``nft``: ``netlink_rules`` asks nftables
over its own netlink socket (``NETLINK_NETFILTER``, see ``netlab.netlink``) and decodes the
few expressions that translate addresses into ``model.NatRule`` objects, for every rule
in every table, netlab's or not (iptables-nft rules too).
"""

from __future__ import annotations

import errno
import ipaddress
import json
import os
import re
import socket
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from netlab import netlink
from netlab.enter import run
from netlab.errors import DeviceError, DeviceExistsError, DeviceNotFoundError, InvalidAddressError, InvalidNameError
from netlab.links import address as parse_address
from netlab.links import network as parse_network
from netlab.model import NatRule
from netlab.names import check_nft_ifname
from netlab.plumbing.commands import emit, in_netns
from netlab.plumbing.i18n import N_, _
from netlab.targets import Target, in_words, keyword

__all__ = [
    "DEFAULT_TABLE",
    "Published",
    "masquerade",
    "netlink_rules",
    "netlink_rules_or_none",
    "publish",
    "published",
    "remove_table",
    "ruleset",
    "tables",
    "unpublish",
]

DEFAULT_TABLE = "netlab"
FAMILY = "inet"  # one table for IPv4 and IPv6
_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_CHAINS = {
    "postrouting": "{ type nat hook postrouting priority srcnat ; policy accept ; }",
    "prerouting": "{ type nat hook prerouting priority dstnat ; policy accept ; }",
    "output": "{ type nat hook output priority -100 ; policy accept ; }",
}


def _check_table(table: str) -> str:
    if not isinstance(table, str) or not _TABLE_NAME.match(table):
        raise InvalidNameError(
            _("{table!r} is not an nft table name").format(table=table),
            hint=_("letters, digits and '_', starting with a letter, e.g. 'netlab'"),
            subject=table,
        )
    return table


def _nft(target: Target, args: Sequence[str], *, input: str | None = None, action: str) -> str:
    """Run ``nft ARGS`` inside ``target``; a failure becomes a DeviceError with nft's own words."""
    return _output(run(target, ["nft", *args], input=input), target, action)


def _output(proc, target: Target, action: str) -> str:
    if proc.returncode != 0:
        said = " ".join(line.strip() for line in proc.stderr.splitlines() if line.strip())[:500]
        raise DeviceError(
            _("cannot {action} in {where}: nft says: {said}").format(action=action, where=in_words(target), said=said),
            hint=_("check the rule with `nft list ruleset` in that namespace"),
            subject=action,
        )
    return proc.stdout


def _json(target: Target, args: Sequence[str], *, missing_ok: bool = False) -> list[dict]:
    """``nft -j ARGS`` parsed; a missing table is empty if ``missing_ok``, any other failure an error."""
    proc = run(target, ["nft", "-j", *args], env={**os.environ, "LC_ALL": "C"})  # stderr read below: untranslated
    if proc.returncode != 0 and missing_ok and "No such file or directory" in proc.stderr:
        return []
    return json.loads(_output(proc, target, _("read the nftables rules")) or "{}").get("nftables", [])


def tables(netns: Target = None) -> list[str]:
    """``nft list tables``: every table in the namespace, as ``"family name"``."""
    return [
        f"{item['table']['family']} {item['table']['name']}"
        for item in _json(netns, ["list", "tables"])
        if "table" in item
    ]


def ruleset(netns: Target = None, *, table: str | None = None) -> str:
    """``nft list ruleset`` (or ``nft list table inet TABLE``), as text."""
    args = ["list", "table", FAMILY, _check_table(table)] if table else ["list", "ruleset"]
    return _nft(netns, args, action=_("list the rules"))


def _apply(
    netns: Target, table: str, rules: list[tuple[list[str], str]], action: str, items: list[dict] | None = None
) -> None:
    """Create the table and chains if missing, add ``rules`` (statement, iptables note), all in one transaction."""
    items = _json(netns, ["list", "ruleset"]) if items is None else items
    exists = any(item.get("table", {}).get("name") == table and item["table"]["family"] == FAMILY for item in items)
    chains = {
        item["chain"]["name"]
        for item in items
        if "chain" in item and item["chain"]["table"] == table and item["chain"]["family"] == FAMILY
    }
    statements: list[tuple[list[str], str]] = []
    if not exists:
        statements.append((["add", "table", FAMILY, table], ""))
    needed = {words[4] for words, _note in rules}
    for chain in _CHAINS:
        if chain in needed and chain not in chains:
            statements.append((["add", "chain", FAMILY, table, chain, _CHAINS[chain]], ""))
    statements += rules
    _nft(netns, ["-f", "-"], input="".join(" ".join(words) + "\n" for words, _note in statements), action=action)
    for words, note in statements:
        emit(in_netns(netns, ["nft", *words]), note=note)


def _quoted(text: str) -> str:
    return '"' + text.replace('"', "") + '"'


def masquerade(subnet: str, *, out: str, netns: Target = None, table: str = DEFAULT_TABLE) -> None:
    """Source NAT: packets from ``subnet`` leaving through device ``out`` take ``out``'s address.

    ``nft add rule inet netlab postrouting ip saddr SUBNET oifname OUT masquerade``
    """
    net = parse_network(subnet)
    check_nft_ifname(out)
    _check_table(table)
    family = "ip" if net.version == 4 else "ip6"
    words = [
        "add",
        "rule",
        FAMILY,
        table,
        "postrouting",
        family,
        "saddr",
        str(net),
        "oifname",
        _quoted(out),
        "masquerade",
        "comment",
        _quoted(f"netlab masquerade {net} -> {out}"),
    ]
    tool = "iptables" if net.version == 4 else "ip6tables"
    note = f"{tool} -t nat -A POSTROUTING -s {net} -o {out} -j MASQUERADE"
    _apply(netns, table, [(words, note)], action=_("masquerade {subnet} out of {out!r}").format(subnet=net, out=out))


@dataclass(frozen=True)
class Published:
    """One published port: ``proto/port`` in ``table`` goes to ``to``."""

    proto: str
    port: int
    to: str
    table: str

    def __str__(self) -> str:
        return f"{self.proto}/{self.port} -> {self.to} (table {FAMILY} {self.table})"


_COMMENT = re.compile(r"^netlab publish (tcp|udp)/(\d+) -> (\S+)$")


def published(netns: Target = None, *, items: list[dict] | None = None) -> list[Published]:
    """The ports netlab published in a namespace, read back from the kernel (rule comments)."""
    found = []
    for item in _json(netns, ["list", "ruleset"]) if items is None else items:
        rule = item.get("rule")
        if rule and rule.get("chain") == "prerouting":
            match = _COMMENT.match(rule.get("comment", ""))
            if match:
                found.append(Published(match.group(1), int(match.group(2)), match.group(3), rule["table"]))
    return found


def _dnat_elsewhere(items: list[dict], proto: str, port: int) -> bool:
    """Is there any other DNAT rule on this destination port (nft, or iptables-nft)?"""
    for item in items:
        rule = item.get("rule")
        if not rule:
            continue
        exprs = rule.get("expr", [])
        has_dnat = any("dnat" in e for e in exprs)
        on_port = any(
            e.get("match", {}).get("left", {}).get("payload", {}) == {"protocol": proto, "field": "dport"}
            and e["match"].get("right") == port
            for e in exprs
            if isinstance(e, dict)
        )
        if has_dnat and on_port:
            return True
    return False


_NOT_A_PORT = {
    "destination": N_("{value!r} is not a destination port number"),
    "published": N_("{value!r} is not a published port number"),
}


def _port(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 65536:
        raise InvalidAddressError(_(_NOT_A_PORT[what]).format(value=value), hint=_("use 1 to 65535"), subject=value)
    return value


def _split_to(to: object) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]:
    if isinstance(to, tuple) and len(to) == 2:
        host, port = to
    elif isinstance(to, str) and to.count(":") == 1:
        host, _colon, port_text = to.partition(":")
        port = int(port_text) if port_text.isdigit() else port_text
    elif isinstance(to, str) and to.startswith("[") and "]:" in to:
        host, _bracket, port_text = to[1:].partition("]:")
        port = int(port_text) if port_text.isdigit() else port_text
    else:
        raise InvalidAddressError(
            _("{to!r} is not ADDRESS:PORT").format(to=to),
            hint=_("e.g. to='10.0.0.2:80' or ('10.0.0.2', 80)"),
            subject=to,
        )
    return parse_address(host), _port(port, "destination")


def publish(
    port: int, *, to: str | tuple[str, int], proto: str = "tcp", netns: Target = None, table: str = DEFAULT_TABLE
) -> None:
    """Destination NAT: connections to ``port`` on this namespace's own addresses go to ``to``.

    ``publish(8080, to="10.0.0.2:80")`` is ``docker run -p 8080:80`` for namespace 10.0.0.2.
    """
    _port(port, "published")
    host, dport = _split_to(to)
    if proto not in ("tcp", "udp"):
        raise InvalidAddressError(
            _("proto must be 'tcp' or 'udp', not {proto!r}").format(proto=proto), hint="proto='tcp'", subject=proto
        )
    _check_table(table)
    items = _json(netns, ["list", "ruleset"])
    for entry in published(netns, items=items):
        if entry.proto == proto and entry.port == port:
            raise DeviceExistsError(
                _("{proto} port {port} is already published in {where}: it goes to {to} (table {table})").format(
                    proto=proto, port=port, where=in_words(netns), to=entry.to, table=entry.table
                ),
                hint=_(
                    "pick another port, or unpublish it first: nat.unpublish({port}{keyword}, table={table!r})"
                ).format(port=port, keyword=keyword(netns), table=entry.table),
                subject=port,
            )
    if _dnat_elsewhere(items, proto, port):
        raise DeviceExistsError(
            _("{proto} port {port} is already forwarded by another DNAT rule in {where}").format(
                proto=proto, port=port, where=in_words(netns)
            ),
            hint=_("pick another port; see `nft list ruleset` (or `iptables -t nat -S`)"),
            subject=port,
        )
    target = f"[{host}]:{dport}" if host.version == 6 else f"{host}:{dport}"
    nat_family = "ip" if host.version == 4 else "ip6"
    comment = ["comment", _quoted(f"netlab publish {proto}/{port} -> {target}")]
    local = ["fib", "daddr", "type", "local", proto, "dport", str(port)]  # packets for this host's own port
    rewrite = ["dnat", nat_family, "to", target, *comment]
    pre = ["add", "rule", FAMILY, table, "prerouting", *local, *rewrite]
    loopback = "127.0.0.0/8" if host.version == 4 else "::1"
    out = ["add", "rule", FAMILY, table, "output", nat_family, "daddr", "!=", loopback, *local, *rewrite]
    tool = "iptables" if host.version == 4 else "ip6tables"
    dnat = f"-p {proto} --dport {port} -m addrtype --dst-type LOCAL -j DNAT --to-destination {target}"
    _apply(
        netns,
        table,
        [(pre, f"{tool} -t nat -A PREROUTING {dnat}"), (out, f"{tool} -t nat -A OUTPUT ! -d {loopback} {dnat}")],
        action=_("publish {proto} port {port}").format(proto=proto, port=port),
        items=items,
    )


def unpublish(port: int, *, proto: str = "tcp", netns: Target = None, table: str = DEFAULT_TABLE) -> None:
    """Remove the rules ``publish`` added for ``proto/port`` (``nft delete rule ... handle N``)."""
    _port(port, "published")
    _check_table(table)
    comment = re.compile(rf"^netlab publish {re.escape(proto)}/{port} -> ")
    handles = [
        (item["rule"]["chain"], item["rule"]["handle"])
        for item in _json(netns, ["list", "table", FAMILY, table], missing_ok=True)
        if "rule" in item and comment.match(item["rule"].get("comment", ""))
    ]
    if not handles:
        raise DeviceNotFoundError(
            _("{proto} port {port} is not published in table {table!r} of {where}").format(
                proto=proto, port=port, table=table, where=in_words(netns)
            ),
            hint=_("see what is: nat.published({netns})").format(netns="" if netns is None else repr(netns)),
            subject=port,
        )
    statements = [["delete", "rule", FAMILY, table, chain, "handle", str(handle)] for chain, handle in handles]
    _nft(
        netns,
        ["-f", "-"],
        input="".join(" ".join(words) + "\n" for words in statements),
        action=_("unpublish {proto} port {port}").format(proto=proto, port=port),
    )
    for words in statements:
        emit(in_netns(netns, ["nft", *words]))


def remove_table(table: str = DEFAULT_TABLE, *, netns: Target = None, missing_ok: bool = False) -> bool:
    """``nft delete table inet TABLE``: every rule netlab put there goes at once. True if it existed."""
    _check_table(table)
    if f"{FAMILY} {table}" not in tables(netns):
        if missing_ok:
            return False
        raise DeviceNotFoundError(
            _("there is no nft table {family} {table} in {where}").format(
                family=FAMILY, table=table, where=in_words(netns)
            ),
            hint=_("see the tables with nat.tables() or `nft list tables`"),
            subject=table,
        )
    _nft(netns, ["delete", "table", FAMILY, table], action=_("delete table {table}").format(table=table))
    emit(in_netns(netns, ["nft", "delete", "table", FAMILY, table]))
    return True


# nftables (linux/netfilter/nf_tables.h): rules, their expressions, and the NAT ones.
NFNL_SUBSYS_NFTABLES = 10
NFT_MSG_NEWRULE, NFT_MSG_GETRULE = 6, 7
NFTA_RULE_TABLE, NFTA_RULE_CHAIN, NFTA_RULE_EXPRESSIONS = 1, 2, 4
NFTA_EXPR_NAME, NFTA_EXPR_DATA = 1, 2
NFTA_IMMEDIATE_DREG, NFTA_IMMEDIATE_DATA, NFTA_DATA_VALUE = 1, 2, 1
NFTA_NAT_TYPE, NFTA_NAT_REG_ADDR_MIN, NFTA_NAT_REG_PROTO_MIN = 1, 3, 5
NFTA_MASQ_REG_PROTO_MIN, NFTA_REDIR_REG_PROTO_MIN = 2, 1
NFT_NAT_DNAT = 1
NFTA_TARGET_NAME = 1
NFT_FAMILIES = {1: "inet", 2: "ip", 3: "arp", 5: "netdev", 7: "bridge", 10: "ip6"}
NFGENMSG = struct.Struct("=BBH")  # nfgenmsg: family, version, resource id (big endian)


# -- reading the rules back over netlink (what snapshot() shows) --------------------------------


def netlink_rules(sock: netlink.NetlinkSocket) -> list[NatRule]:
    """The address-translating rules of the socket's namespace (nftables and iptables-nft).

    A rule is a list of expressions run like tiny machine code on registers: ``dnat to
    10.1.1.1:80`` is ``immediate reg1 = 10.1.1.1; immediate reg2 = 80; nat dnat addr reg1 proto
    reg2``. We follow the ``immediate`` loads to print the target. (Rules of the legacy
    ``iptables`` backend, ``ip_tables``, are not in nftables and are not listed.)
    """
    msgtype = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETRULE
    found = []
    for kind, data, offset, end in sock.dump(msgtype, NFGENMSG.pack(socket.AF_UNSPEC, 0, 0)):
        if kind != (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWRULE:
            continue
        family = NFT_FAMILIES.get(data[offset], str(data[offset]))
        attrs = netlink.attributes(data, offset + NFGENMSG.size, end)
        table, chain = netlink.text(attrs.get(NFTA_RULE_TABLE, b"")), netlink.text(attrs.get(NFTA_RULE_CHAIN, b""))
        registers: dict[int, bytes] = {}
        for _element, expression in netlink.attribute_list(attrs.get(NFTA_RULE_EXPRESSIONS, b"")):
            parts = dict(netlink.attribute_list(expression))
            name = netlink.text(parts.get(NFTA_EXPR_NAME, b""))
            args = dict(netlink.attribute_list(parts.get(NFTA_EXPR_DATA, b"")))
            rule = _nat_expression(name, args, registers)
            if rule is not None:
                action, to, tool = rule
                found.append(NatRule(action, table, chain, family, to, tool))
    return found


def _nat_expression(name: str, args: dict[int, bytes], registers: dict[int, bytes]) -> tuple | None:
    """(action, to, tool) if this expression translates addresses; remember register loads."""
    if name == "immediate" and NFTA_IMMEDIATE_DREG in args:
        value = dict(netlink.attribute_list(args.get(NFTA_IMMEDIATE_DATA, b""))).get(NFTA_DATA_VALUE)
        if value is not None:
            registers[netlink.be32(args[NFTA_IMMEDIATE_DREG])] = value
    elif name in ("masq", "redir"):
        port = _loaded_port(
            registers, args.get(NFTA_MASQ_REG_PROTO_MIN if name == "masq" else NFTA_REDIR_REG_PROTO_MIN)
        )
        return ("masquerade" if name == "masq" else "redirect"), (f"port {port}" if port else None), "nft"
    elif name == "nat":
        action = "dnat" if netlink.be32(args.get(NFTA_NAT_TYPE, b"\0\0\0\0")) == NFT_NAT_DNAT else "snat"
        to = _loaded_address(registers, args.get(NFTA_NAT_REG_ADDR_MIN))
        port = _loaded_port(registers, args.get(NFTA_NAT_REG_PROTO_MIN))
        if port:
            to = f"[{to}]:{port}" if to and ":" in to else f"{to or ''}:{port}"
        return action, to, "nft"
    elif name == "target":
        target = netlink.text(args.get(NFTA_TARGET_NAME, b""))
        if target in ("MASQUERADE", "SNAT", "DNAT", "REDIRECT", "NETMAP"):
            return {"MASQUERADE": "masquerade", "REDIRECT": "redirect"}.get(target, target.lower()), None, "iptables"
    return None


def _loaded(registers: dict[int, bytes], reg: bytes | None) -> bytes | None:
    return registers.get(netlink.be32(reg)) if reg else None


def _loaded_address(registers: dict[int, bytes], reg: bytes | None) -> str | None:
    value = _loaded(registers, reg)
    if value is None:
        return None
    return netlink.ip_text(value[:16] if len(value) >= 16 else value[:4])


def _loaded_port(registers: dict[int, bytes], reg: bytes | None) -> int | None:
    value = _loaded(registers, reg)
    return struct.unpack(">H", value[:2])[0] if value and len(value) >= 2 else None


def netlink_rules_or_none(sock: netlink.NetlinkSocket | None) -> list[NatRule] | None:
    """``netlink_rules``, or None when this kernel has no nftables to ask."""
    if sock is None:
        return None
    try:
        return netlink_rules(sock)
    except OSError as exc:
        if exc.errno in (errno.EOPNOTSUPP, errno.ENOENT, errno.EPROTONOSUPPORT, errno.EINVAL):
            return None
        raise
