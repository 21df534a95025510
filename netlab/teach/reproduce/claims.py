"""The article's claims, as data: one ``Claim`` per step or sentence, in the article's order.

The ids are those of netlab's step map (A1-A16, with the internet bullets as A10a-A10d). Each
claim names its check (in the ``experiments_*`` modules); ``inaccuracy``, ``versions`` or
``unclear`` say what kind of claim it is (see ``model``). Each slip of the article is counted
once: the file with two names (netns1, ns1) runs through A13-A16 and is A15's.
"""

from __future__ import annotations

from netlab.plumbing.i18n import N_
from netlab.teach.reproduce.experiments_internet import (
    bridge_joins_containers,
    forwarding_is_needed,
    masquerade_works,
    nat_is_needed,
)
from netlab.teach.reproduce.experiments_netns import deleted_and_freed, lo_only_and_down, named_and_pinned
from netlab.teach.reproduce.experiments_pinning import (
    bind_mount_shows_in_mount,
    nsenter_goes_back_in,
    readlink_names_a_namespace,
    survives_its_process,
    umount_frees_it,
    unshare_makes_another,
)
from netlab.teach.reproduce.experiments_veth import (
    a_connected_pair,
    addressed_in_netns1,
    addressed_in_root,
    moved_into_netns1,
    ping_both_ways,
    which_devices_move,
)
from netlab.teach.reproduce.results import Claim

__all__ = ["ARTICLE_LINKS", "ARTICLE_NETNS", "CLAIMS"]

_NAMES = N_(
    "The article touches and binds /var/run/netns/netns1 in its second shell, but lists ns1 in `mount`, "
    "runs `ls -i ns1` and `nsenter --net=./ns1`, then unmounts ./netns1: one file with two names. Taken "
    "literally, the first shell finds no ns1 (shown above); with one name throughout (netlab uses ns1), "
    "re-entering works. The slip runs through A13-A16 and is counted here, once."
)

CLAIMS: tuple[Claim, ...] = (
    Claim(
        "A1",
        "ip netns add netns1",
        N_("creates netns1 and a bind mount under /var/run/netns that keeps it alive with no process in it"),
        N_(
            "/run/netns/netns1 is an nsfs bind mount (findmnt, mountinfo); `ip netns pids` is empty; only the mount "
            "holds the namespace"
        ),
        named_and_pinned,
    ),
    Claim(
        "A2",
        "ip netns delete netns1",
        N_("deletes netns1"),
        N_(
            "the file and its mount are gone; the namespace lives on while a process holds it, and is freed when the "
            "last holder goes"
        ),
        deleted_and_freed,
    ),
    Claim(
        "A3",
        "ip netns exec netns1 ip link list",
        N_("runs `ip link list` inside netns1: a new namespace has a loopback device"),
        N_("only lo, and it is DOWN"),
        lo_only_and_down,
    ),
    Claim(
        "A4",
        "新的 net ns 有环回(lo)设备, 其他设备(虚拟网卡, bridge等)也可以存在, 物理网卡只能在 root ns 中",
        N_(
            "a new namespace has lo; other devices (virtual NICs, bridges) can be in it too; physical NICs can only "
            "be in the root namespace"
        ),
        N_(
            "lo and bridges refuse to move ('The interface netns is immutable'), a bridge can be created inside any "
            "namespace; veth, macvlan and vxlan devices move"
        ),
        which_devices_move,
        inaccuracy=N_(
            "Too strong. Physical NICs can move to any namespace (`ip link set eth1 netns NAME`: how a "
            "card or an SR-IOV function is handed to a container). What cannot move are netns-local "
            "devices: lo (every namespace has its own) and bridges (make one where it is needed)."
        ),
    ),
    Claim(
        "A5",
        "ip link add veth0 type veth peer name veth1",
        N_("creates a veth pair: what veth0 sends, veth1 receives, and the other way round"),
        N_("veth0 and veth1 exist, each the other's peer"),
        a_connected_pair,
    ),
    Claim(
        "A6",
        "ip link set veth1 netns netns1",
        N_("moves veth1 into netns1"),
        N_(
            "veth1 is gone from the root namespace and present in netns1; veth0 names its peer by ifindex and "
            "namespace id"
        ),
        moved_into_netns1,
    ),
    Claim(
        "A7",
        "ip netns exec netns1 ifconfig veth1 10.1.1.1/24 up`",
        N_("gives veth1 its address and brings it up"),
        N_("the line as printed is a shell syntax error; without the backtick, veth1 has 10.1.1.1/24 and is UP"),
        addressed_in_netns1,
        inaccuracy=N_(
            "The line ends in a stray backtick: a shell reads it as the start of a command substitution and "
            'waits for the closing one (bash: "unexpected EOF while looking for matching ``\'"). Without '
            "it the command works."
        ),
    ),
    Claim(
        "A8",
        "ifconfig veth0 10.1.1.2/24 up",
        N_("gives veth0 its address and brings it up"),
        N_("veth0 has 10.1.1.2/24 and both ends are UP; a connected route to 10.1.1.0/24 appears in each namespace"),
        addressed_in_root,
    ),
    Claim(
        "A9",
        "ping 10.1.1.1 / ping 10.1.1.2",
        N_("the two namespaces reach each other: ping 10.1.1.1 from the root, ping 10.1.1.2 back"),
        N_(
            "ping 10.1.1.1 from the root gets replies; the second prompt looks the same in the root namespace and "
            "in a netns1 shell; ping 10.1.1.2 gets replies in both, through lo in the root, across the pair in netns1"
        ),
        ping_both_ways,
        unclear=N_(
            "The second ping runs at root@ubuntu:/home/bytedance#, and a shell opened with "
            "`ip netns exec netns1 bash` shows exactly that prompt: it keeps the user, the host name and the "
            "directory (which changed from /run/netns: another terminal or a cd, in either namespace). The text "
            "tells that the first ping ran in the root namespace and crossed the pair, and that the second was "
            "answered. It does not tell where the second ran. Both readings ran above: in the root namespace "
            "10.1.1.2 is its own address, answered through lo, and proves nothing about the pair; inside netns1 "
            "the same ping is the way back across it."
        ),
    ),
    Claim(
        "A10a",
        "根据来自 netns1 中的 veth 设备在 root ns 中创建bridge",
        N_("to reach the internet, create a bridge in the root namespace for the namespaces' veth devices"),
        N_("with their veths as ports of br0 (10.0.0.1/24), c1 and c2 reach each other and their gateway"),
        bridge_joins_containers,
    ),
    Claim(
        "A10b",
        "在 root ns 中配置 ip_forward",
        N_("set ip_forward in the root namespace"),
        N_("with net.ipv4.ip_forward=0 nothing from c1 reaches the internet namespace; with 1 it does"),
        forwarding_is_needed,
    ),
    Claim(
        "A10c",
        "和相应的 nat",
        N_("... and the matching NAT"),
        N_("without NAT the internet sees the private source 10.0.0.2 and cannot answer: a TCP connection fails"),
        nat_is_needed,
    ),
    Claim(
        "A10d",
        "在 root ns 中配置 ip_forward 和相应的 nat",
        N_("with the bridge, ip_forward and NAT, a namespace reaches the internet"),
        N_("with masquerading out of the uplink, c1 connects to 203.0.113.1, which sees the uplink's 203.0.113.2"),
        masquerade_works,
    ),
    Claim(
        "A11",
        "readlink /proc/$$/ns/net",
        N_("prints the current network namespace's inode: net:[4026531840] in the root namespace"),
        N_("net:[INODE], the same inode netlab reads (netlab.label())"),
        readlink_names_a_namespace,
    ),
    Claim(
        "A12",
        "unshare -n bash",
        N_("starts a shell in a new network namespace"),
        N_("its readlink differs from the root namespace's; it has only lo"),
        unshare_makes_another,
    ),
    Claim(
        "A13",
        "touch /var/run/netns/netns1; mount --bind /proc/90883/ns/net /var/run/netns/netns1; mount",
        N_("pins the namespace to a file; `mount` shows 'nsfs on /run/netns/ns1 type nsfs (rw)', twice"),
        N_(
            "`mount` shows the nsfs bind mount: once in the sandbox; on a host-like /run twice with iproute2 < 7.0, "
            "once with 7.0 and later"
        ),
        bind_mount_shows_in_mount,
        versions=N_(
            "Holds on iproute2 < 7.0: the doubled `nsfs on /run/netns/ns1` line is not a typo but mount "
            "propagation. On a host /run is a shared mount, and the first `ip netns add` bind-mounts /run/netns "
            "onto itself in /run's peer group, so the bind mount propagates to /run underneath and `mount` lists "
            'both. On 7.0 and later the new mount is private (iproute2 commit 82c8b9fe, "ip/netns: avoid '
            'redundant mounts": /run/netns is made private, then shared again, a peer group of its own), so '
            "`mount` shows the line once. Reproduced above in a throwaway mount namespace."
        ),
    ),
    Claim(
        "A14",
        "exit; ls -i ns1",
        N_("after the process exits, the bind mount keeps the namespace: same inode"),
        N_("ls -i shows the same inode before and after the exit; only the bind mount holds the namespace"),
        survives_its_process,
    ),
    Claim(
        "A15",
        "nsenter --net=./ns1 bash",
        N_("the pinned namespace can be entered again"),
        N_(
            "taken literally (netns1 made, ns1 used) the file is not found; with one name, nsenter --net=FILE (and "
            "netlab.run(Path)) run in the pinned namespace"
        ),
        nsenter_goes_back_in,
        inaccuracy=_NAMES,
    ),
    Claim(
        "A16",
        "umount ./netns1",
        N_("removes the bind mount"),
        N_("after umount nothing holds the namespace: it is freed; the empty file stays until rm"),
        umount_frees_it,
    ),
)

# Every name the claims use: if one is taken, the claims run in a fresh sandbox instead.
ARTICLE_NETNS = ("netns1", "netns2", "ns1", "c1", "c2", "internet")
ARTICLE_LINKS = ("veth0", "veth1", "mv0", "vx0", "br-try", "br0", "v-c1", "v-c2", "uplink")
