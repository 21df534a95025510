"""Command rendering (netlab/plumbing/commands.py): each operation in the shell words that do the same."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from netlab.plumbing import commands
from netlab.plumbing.commands import Command, History, emit, in_netns, ip, quiet, recording
from netlab.targets import NEW


@pytest.mark.parametrize(
    ("target", "argv", "typed"),
    [
        (None, ["ip", "link"], "ip link"),
        ("netns1", ["ip", "link"], "ip netns exec netns1 ip link"),
        ("netns1", ["sysctl", "-w", "net.ipv4.ip_forward=1"], "ip netns exec netns1 sysctl -w net.ipv4.ip_forward=1"),
        (4242, ["ping", "-c", 1, "10.1.1.1"], "nsenter -t 4242 -n ping -c 1 10.1.1.1"),
        (Path("/var/run/netns/ns1"), ["ip", "addr"], "nsenter --net=/var/run/netns/ns1 ip addr"),
        (NEW, ["ip", "link"], "unshare -n ip link"),
    ],
)
def test_in_netns_gives_the_command_a_learner_would_type(target, argv, typed):
    assert shlex.join(in_netns(target, argv)) == typed


def test_ip_uses_the_short_form_for_a_name():
    # `ip -n netns1 link` is iproute2's shorthand for `ip netns exec netns1 ip link`.
    assert ip("netns1", "link", "set", "veth1", "up") == ["ip", "-n", "netns1", "link", "set", "veth1", "up"]
    assert shlex.join(ip(None, "addr", "add", "10.1.1.2/24", "dev", "veth0")) == "ip addr add 10.1.1.2/24 dev veth0"
    assert ip(77, "link") == ["nsenter", "-t", "77", "-n", "ip", "link"]
    assert ip(NEW, "link") == ["unshare", "-n", "ip", "link"]


def test_a_command_quotes_what_the_shell_would_split():
    assert str(Command(("ip", "netns", "exec", "my ns", "ip", "link"))) == "ip netns exec 'my ns' ip link"


def test_a_note_follows_as_a_shell_comment():
    command = Command(("nft", "add", "table", "ip", "nat"), note="iptables -t nat ...")
    assert str(command) == "nft add table ip nat\n    # iptables -t nat ..."


def test_history_prints_a_script_that_rebuilds_the_network():
    history = History([Command(("ip", "link", "add", "veth0", "type", "veth", "peer", "name", "veth1"))])
    history.append(Command(("ip", "link", "set", "veth1", "netns", "netns1")))
    assert str(history) == "ip link add veth0 type veth peer name veth1\nip link set veth1 netns netns1"
    assert history.script().splitlines() == ["#!/bin/sh", "set -e", *str(history).splitlines()]


def test_recording_collects_what_is_emitted_and_quiet_keeps_bookkeeping_out():
    with recording() as outer:
        emit(["ip", "netns", "add", "netns1"])
        with recording() as inner:
            emit(["ip", "link", "add", "veth0", "type", "veth", "peer", "name", "veth1"])
        with quiet():
            emit(["ip", "link", "set", "veth0", "alias", "netlab:demo"])
        with recording(outer) as same:  # recording into a history already being recorded: no doubles
            assert same is outer
            emit(["ip", "link", "set", "veth0", "up"])
    emit(["ip", "netns", "delete", "netns1"])  # nobody records this one
    assert [c.argv[:3] for c in outer] == [("ip", "netns", "add"), ("ip", "link", "add"), ("ip", "link", "set")]
    assert [str(c) for c in inner] == ["ip link add veth0 type veth peer name veth1"]


def test_echo_prints_each_command_as_it_runs(capsys):
    commands.echo(True)
    try:
        emit(["ip", "-n", "netns1", "link", "set", "lo", "up"])
    finally:
        commands.echo(False)
    emit(["ip", "link"])
    assert capsys.readouterr().out == "ip -n netns1 link set lo up\n"


def test_an_echoing_history_prints_only_its_own_commands(capsys):
    emit(["ip", "link"])
    with recording(History(echo=True)):
        emit(["ip", "addr"], note="same as ifconfig")
    assert capsys.readouterr().out == "ip addr\n    # same as ifconfig\n"
