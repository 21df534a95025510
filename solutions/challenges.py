"""Reference solutions to the challenges in notebooks/05-challenges.ipynb. Spoiler alert!

Each function solves one challenge on its starting state with plain `ip`, `sysctl` and `nft`
commands, as a learner would type them; tests/test_checks.py runs each one against its check.
"""

from __future__ import annotations

import subprocess

from netlab.inodes import namespaces
from netlab.teach.challenges import Challenge


def sh(*commands: str) -> None:
    for command in commands:
        subprocess.run(["sh", "-c", command], check=True)


def isolated_bridge(ch: Challenge) -> None:
    sh("ip link add br0 type bridge", "ip link set br0 up")
    for name, address in (("c1", "10.0.0.2/24"), ("c2", "10.0.0.3/24")):
        sh(f"ip link add v-{name} type veth peer name eth0 netns {name}",
           f"ip link set v-{name} master br0 up",
           f"ip -n {name} addr add {address} dev eth0",
           f"ip -n {name} link set eth0 up")
    # No address on br0 and no default route: the containers have no way out.


def router(ch: Challenge) -> None:
    sh("ip link add to-router type veth peer name to-left",
       "ip link set to-router netns left", "ip link set to-left netns router",
       "ip link add to-right type veth peer name to-router2",
       "ip link set to-right netns router", "ip link set to-router2 netns right",
       "ip -n left addr add 10.0.1.2/24 dev to-router", "ip -n left link set to-router up",
       "ip -n router addr add 10.0.1.1/24 dev to-left", "ip -n router link set to-left up",
       "ip -n router addr add 10.0.2.1/24 dev to-right", "ip -n router link set to-right up",
       "ip -n right addr add 10.0.2.2/24 dev to-router2", "ip -n right link set to-router2 up",
       "ip -n left route add default via 10.0.1.1", "ip -n right route add default via 10.0.2.1",
       "ip netns exec router sysctl -qw net.ipv4.ip_forward=1")


def nat(ch: Challenge) -> None:
    sh("sysctl -qw net.ipv4.ip_forward=1",
       "nft add table ip solution",
       "nft 'add chain ip solution postrouting { type nat hook postrouting priority srcnat; }'",
       "nft add rule ip solution postrouting ip saddr 10.0.0.0/24 oifname uplink masquerade")


def publish(ch: Challenge) -> None:
    sh("nft add table ip solution",
       "nft 'add chain ip solution prerouting { type nat hook prerouting priority dstnat; }'",
       "nft add rule ip solution prerouting iifname uplink tcp dport 8080 dnat to 10.0.0.2:80")


def deleted_namespace(ch: Challenge) -> None:
    held = next(ns for ns in namespaces() if ns.inode == ch.facts["inode"])
    ch.facts["answer"] = held.pids[0]


def undo(ch: Challenge) -> None:
    """What the solutions made outside the challenge's lab."""
    subprocess.run(["nft", "delete", "table", "ip", "solution"], capture_output=True)
