"""What the kernel holds right now: every network namespace, its interfaces, and how they connect.

``snapshot()`` asks the kernel, not a record of what someone meant to build, so it shows the
same picture whether a lab was made by netlab, by typing ``ip`` commands, or both::

    from netlab import snapshot
    topo = snapshot()
    print(tree(topo))             # the terminal view (also: netlab show); from netlab import tree
    draw(topo)                    # the diagram; from netlab import draw
    topo.graph                    # a networkx graph, for your own questions

How it finds everything, step by step:

1. **Which namespaces.** ``inodes.namespaces()`` lists every network namespace on the system
   and what holds it: names in ``/run/netns``, other bind mounts, processes, threads, open fds.
   A snapshot keeps the ones that belong to *this* lab's world: the namespace you are in (the
   "root" of the lab; inside ``netlab sandbox`` it is not the machine's), every named or
   bind-mounted one, and those held by processes that share your mount table or descend from
   a process in your namespace (an ``unshare -n`` shell started from a notebook), and the
   namespace of pid 1 (the machine's, or in a sandbox, which has its own pid 1, the sandbox's).
   Namespaces of other sandboxes on the same machine are left out (``snapshot(everything=True)``
   keeps what this process can see).
2. **Look inside each.** In netlab's worker thread, one namespace after the other: ``setns``
   into it, open a netlink socket there (it stays bound to that namespace), and ask through it
   (``netlink.py``) what ``ip netconf`` (is forwarding on?), ``ip link``, ``ip addr``, ``ip
   route`` and ``nft list ruleset`` would print. (Two threads, each taking half of the
   namespaces, were measured slower: they spend the time handing Python's lock back and forth.)
3. **Join the veth ends.** A veth says "my peer is ifindex 7 in the namespace I call id 0".
   Ids are private to each namespace, so for each id we ask the kernel (``RTM_GETNSID``, like
   ``ip netns id``) which of the namespaces we know it is. A pair is symmetric: once one end
   is placed, the other end's id is known too: in a star each spoke asks one question, and
   the hub, whose every veth has been placed by then, asks none.
4. **One model.** The answers become the objects of ``netlab.model`` (``Namespace``,
   ``Interface``, ``Address``, ``Peer``, ``Route``, ``NatRule``), once each; ``links.list()``
   hands out the same kind.
5. **The graph**, on demand (``topo.graph``): namespaces and interfaces are nodes; edges say
   "contains", "veth" (the two ends of a pair), "port" (a bridge and its ports) and "lower" (a
   macvlan and its parent device).

All of it is linear in the number of namespaces: a thousand take about a fifth of a second,
1.6 times the bare link, address and route dumps no reader can avoid
(``bench/bench_snapshot_scale.py``).
"""

from __future__ import annotations

import gc
import os
import resource
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

from netlab import inodes, nat, netlink, netns
from netlab.errors import NetlabError
from netlab.inodes import NetnsInfo
from netlab.model import Address, Interface, Namespace, NatRule, Peer, Route
from netlab.plumbing import syscalls
from netlab.plumbing.i18n import _
from netlab.plumbing.threads import run_in_worker
from netlab.view.topology import Topology, interface_key, natural_key

__all__ = [
    "Address",
    "Interface",
    "NatRule",
    "Namespace",
    "Peer",
    "Route",
    "Topology",
    "interface_key",
    "natural_key",
    "snapshot",
]

# What a snapshot holds: the objects of ``netlab.model`` in a ``Topology`` (netlab.view.topology),
# all re-exported here, where the views have always found them.


# -- step 1: which namespaces ---------------------------------------------------------------------


class _World:
    """Decides which processes belong to this lab (share our mount table or descend from us)."""

    def __init__(self, here: int) -> None:
        self.here = here
        self.mount_ns = _stat_ino("/proc/self/ns/mnt")
        self.verdicts: dict[int, bool] = {}

    def holds(self, pid: int) -> bool:
        if pid not in self.verdicts:
            self.verdicts[pid] = False  # guards against loops while we climb
            self.verdicts[pid] = self._decide(pid)
        return self.verdicts[pid]

    def _decide(self, pid: int) -> bool:
        if _stat_ino(f"/proc/{pid}/ns/mnt") == self.mount_ns:
            return True
        parent = _parent(pid)
        while parent > 0:
            if _stat_ino(f"/proc/{parent}/ns/net") == self.here:
                return True
            if parent in self.verdicts:
                return self.verdicts[parent]
            parent = _parent(parent)
        return False


def _stat_ino(path: str) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def _parent(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return int(stat.read().rsplit(b")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def _in_view(info: NetnsInfo, world: _World) -> bool:
    if info.current or info.names or info.mounts or info.init:
        return True  # pid 1's namespace is the lab's root: the machine's, or a sandbox's (it has its own pid 1)
    holders = [*info.pids, *(pid for pid, _ in info.threads), *(pid for pid, _ in info.fds)]
    return any(world.holds(pid) for pid in holders)


def _entry_points(info: NetnsInfo, run_dir: str) -> Iterator[str]:
    """Files that lead into this namespace, best first."""
    if info.current:
        yield "/proc/thread-self/ns/net"
    for name in info.names:
        yield f"{run_dir}/{name}"
    yield from info.mounts
    for pid in info.pids:
        yield f"/proc/{pid}/ns/net"
    for pid, tid in info.threads:
        yield f"/proc/{pid}/task/{tid}/ns/net"
    for pid, fd in info.fds:
        yield f"/proc/{pid}/fd/{fd}"


def _open_namespace(info: NetnsInfo, run_dir: str) -> tuple[int, str] | None:
    """An open fd of the namespace and the file it came from (None if it is gone)."""
    for path in _entry_points(info, run_dir):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            continue
        if os.fstat(fd).st_ino == info.inode:
            return fd, path
        os.close(fd)  # a pid that was reused, a name that was replaced...
    return None


def _title(info: NetnsInfo) -> str:
    if info.current:
        return "root"
    if info.names:
        return info.names[0]
    if info.mounts:
        return info.mounts[0]
    if info.pids:
        pid = info.pids[0]
        return f"pid {pid} ({info.commands.get(pid, '?')})"
    if info.threads:
        pid, tid = info.threads[0]
        return f"thread {tid} of pid {pid}"
    if info.fds:
        pid, fd = info.fds[0]
        return f"fd {fd} of pid {pid}"
    return f"net:[{info.inode}]"


def _stable_target_path(info: NetnsInfo, path: str) -> str | None:
    """A file that keeps meaning this namespace after the snapshot (not /proc/thread-self)."""
    if info.current or info.names:
        return None
    return path


# -- step 2: look inside each -------------------------------------------------------------------


@dataclass(eq=False)
class _Inside:
    """The raw answers from inside one namespace."""

    info: NetnsInfo
    fd: int
    path: str
    route: netlink.NetlinkSocket | None = None
    netfilter: netlink.NetlinkSocket | None = None
    ip_forward: bool | None = None
    links: list[netlink.LinkMessage] = field(default_factory=list)
    addresses: list[netlink.AddressMessage] = field(default_factory=list)
    routes: list[netlink.RouteMessage] = field(default_factory=list)
    nat: list[NatRule] | None = None
    by_index: dict[int, netlink.LinkMessage] = field(default_factory=dict)  # filled when joining veths

    def close(self) -> None:
        for sock in (self.route, self.netfilter):
            if sock is not None:
                sock.close()
        os.close(self.fd)


def _read_inside(entry: _Inside) -> None:
    """In the worker thread: step into the namespace, open its sockets, ask what it holds.

    The route socket stays open (step 3 asks through it); the netfilter one is closed at once,
    so that a thousand namespaces hold two files each, not three.
    """
    try:
        syscalls.setns(entry.fd, syscalls.CLONE_NEWNET)
    except OSError:
        return  # not enterable (not ours to enter): drawn with no interfaces
    entry.route = netlink.open_route_socket()
    entry.ip_forward = netlink.ip_forward(entry.route)
    entry.links = netlink.links(entry.route)
    entry.addresses = netlink.addresses(entry.route)
    entry.routes = netlink.routes(entry.route)
    try:
        entry.netfilter = netlink.open_netfilter_socket()
    except OSError:
        entry.netfilter = None
    entry.nat = nat.netlink_rules_or_none(entry.netfilter)
    if entry.netfilter is not None:
        entry.netfilter.close()
        entry.netfilter = None


# -- step 3: join the veth ends -----------------------------------------------------------------


def _resolve_nsids(inside: list[_Inside]) -> tuple[dict[int, dict[int, int]], dict[int, set[int]]]:
    """Map namespace inode -> {nsid: inode of the namespace that id stands for}.

    Candidates first: the far end of a veth "ifindex J, pointing back at my ifindex I" is a
    link filed under (J, I), found in one lookup. One batched ``RTM_GETNSID`` to the
    candidates confirms; only if that leaves an id unknown are all the others asked. A
    confirmed end also places its far end (a pair is symmetric). The namespaces with the
    fewest ids ask first: the kernel answers each question by walking the asking namespace's
    ids one by one, so the hub of a star, with an id for every spoke, is best left to the end,
    by which time its spokes have placed all of its veths.
    Returns the map and, per namespace inode, the ids still unknown.
    """
    ends = _veth_ends(inside)
    resolved: dict[int, dict[int, int]] = {}
    unresolved: dict[int, set[int]] = {}
    for entry in sorted(inside, key=_nsid_count):
        if entry.route is None:
            continue
        missing = _resolve_ids_of(entry, entry.route, inside, ends, resolved)
        if missing:
            unresolved[entry.info.inode] = missing
    return resolved, unresolved


def _veth_ends(inside: list[_Inside]) -> dict[tuple[int, int], list[_Inside]]:
    """File every link under (its ifindex, its peer's ifindex); fill each entry's ``by_index``."""
    ends: dict[tuple[int, int], list[_Inside]] = {}
    for entry in inside:
        entry.by_index = {link.ifindex: link for link in entry.links}
        for link in entry.links:
            if link.link:
                ends.setdefault((link.ifindex, link.link), []).append(entry)
    return ends


def _nsid_count(entry: _Inside) -> int:
    """How many of a namespace's links point into another namespace (by an id)."""
    return sum(1 for link in entry.links if link.link_nsid is not None)


def _resolve_ids_of(
    entry: _Inside,
    route: netlink.NetlinkSocket,
    inside: list[_Inside],
    ends: dict[tuple[int, int], list[_Inside]],
    resolved: dict[int, dict[int, int]],
) -> set[int]:
    """Ask from ``entry`` (through ``route``) for the ids its veths use: candidates first, then the rest.

    Returns the ids no namespace in ``inside`` answered to.
    """
    found = resolved.setdefault(entry.info.inode, {})
    wanted = _wanted_nsids(entry, found)
    if not wanted:
        return set()
    candidates = _candidates(entry, wanted, ends)
    asked = list(candidates.values())
    for _round in range(2):
        for other, answer in zip(asked, netlink.nsids(route, [c.fd for c in asked]), strict=True):
            if answer in wanted and answer not in found:
                found[answer] = other.info.inode
                _place_far_ends(entry, other, wanted[answer], resolved)
        if all(nsid in found for nsid in wanted):
            break
        # The rest, only when the candidates did not answer everything.
        asked = [c for c in inside if c is not entry and id(c) not in candidates]
    return {nsid for nsid in wanted if nsid not in found}


def _wanted_nsids(entry: _Inside, found: dict[int, int]) -> dict[int, list[netlink.LinkMessage]]:
    """The ids ``entry``'s links use that are not placed yet, each with the links that use it."""
    wanted: dict[int, list[netlink.LinkMessage]] = {}
    for link in entry.links:
        if link.link_nsid is not None and link.link_nsid >= 0 and link.link_nsid not in found:
            wanted.setdefault(link.link_nsid, []).append(link)
    return wanted


def _candidates(
    entry: _Inside, wanted: dict[int, list[netlink.LinkMessage]], ends: dict[tuple[int, int], list[_Inside]]
) -> dict[int, _Inside]:
    """The namespaces holding a link that points back at one of ``wanted``'s: by ``id()``, ordered, each once."""
    candidates: dict[int, _Inside] = {}
    for links in wanted.values():
        for link in links:
            for other in ends.get((link.link, link.ifindex), ()):
                if other is not entry:
                    candidates[id(other)] = other
    return candidates


def _place_far_ends(
    entry: _Inside, other: _Inside, links: list[netlink.LinkMessage], resolved: dict[int, dict[int, int]]
) -> None:
    """``entry``'s veths in ``links`` lead into ``other``: so ``other``'s ends of them lead back to ``entry``."""
    far = resolved.setdefault(other.info.inode, {})
    for link in links:
        end = other.by_index.get(link.link)
        if end is not None and end.link == link.ifindex and end.link_nsid is not None and end.link_nsid >= 0:
            far.setdefault(end.link_nsid, entry.info.inode)


def _find_outsiders(
    inside: list[_Inside],
    unresolved: dict[int, set[int]],
    others: list[NetnsInfo],
    resolved: dict[int, dict[int, int]],
    cleanup: ExitStack,
    run_dir: str,
) -> list[_Inside]:
    """Namespaces outside the lab's world that a veth of ours leads into (kept, marked "outside")."""
    candidates = _enter_points(others, cleanup, run_dir)
    found: dict[int, _Inside] = {}
    for entry in inside:
        missing = unresolved.get(entry.info.inode)
        if not missing or entry.route is None:
            continue
        for other, answer in zip(candidates, netlink.nsids(entry.route, [c.fd for c in candidates]), strict=True):
            if answer in missing:
                resolved.setdefault(entry.info.inode, {})[answer] = other.info.inode
                found[id(other)] = other
    return list(found.values())


# -- step 4: put it together --------------------------------------------------------------------


def _namespace(
    entry: _Inside, resolved: dict[int, dict[int, int]], names_by_ns: dict[int, dict[int, str]], *, outside: bool
) -> Namespace:
    info = entry.info
    interfaces = netlink.interfaces(
        entry.links, entry.addresses, netns=info.inode, peers=resolved.get(info.inode), names=names_by_ns
    )
    return Namespace(
        inode=info.inode,
        title=_title(info),
        root=info.current,
        names=tuple(info.names),
        mounts=tuple(info.mounts),
        pids=tuple(info.pids),
        holders=tuple(info.held_by),
        interfaces=tuple(interfaces),
        routes=tuple(netlink.named_routes(entry.routes, names_by_ns[info.inode])),
        ip_forward=entry.ip_forward,
        nat=None if entry.nat is None else tuple(entry.nat),
        outside=outside,
        target_path=_stable_target_path(info, entry.path),
    )


def _enter_points(infos: list[NetnsInfo], cleanup: ExitStack, run_dir: str) -> list[_Inside]:
    """Open each namespace once; ``cleanup`` closes the fds and sockets afterwards."""
    opened = []
    for info in infos:
        found = _open_namespace(info, run_dir)
        if found:
            entry = _Inside(info=info, fd=found[0], path=found[1])
            cleanup.callback(entry.close)
            opened.append(entry)
    return opened


def _room_for_files(count: int) -> None:
    """Make sure this process may open ``count`` more files, raising its soft limit if it must.

    A snapshot holds each namespace's file and a netlink socket in it until the veths are
    joined: a thousand namespaces need two thousand files, where most systems let a process
    open 1024 (``ulimit -n``). Any process may raise that soft limit up to its hard limit
    (``ulimit -H -n``), as ``ulimit -n N`` does in a shell; it is raised only when needed.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = count + len(os.listdir("/proc/self/fd")) + 64  # what is open already, and a margin
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return
    if hard != resource.RLIM_INFINITY and hard < wanted:
        raise NetlabError(
            _("a snapshot of this many namespaces needs {wanted} open files; this process may open {limit}").format(
                wanted=wanted, limit=hard
            ),
            hint=_("raise the limit before starting Python, e.g. `ulimit -n {wanted}` (as root)").format(wanted=wanted),
        )
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def _look_inside(entries: list[_Inside]) -> None:
    def work() -> None:
        for entry in entries:
            _read_inside(entry)

    run_in_worker(work)


def snapshot(*, everything: bool = False, settle: float = 0.0) -> Topology:
    """Read every network namespace of this lab from the kernel, and how they connect.

    ``everything=True`` also keeps namespaces outside the lab's world (other sandboxes', when
    the lab runs on the machine's own namespace). Nothing is changed, except that
    listing links makes the kernel assign namespace ids to veth peers, as ``ip link`` does.

    ``settle`` (seconds): the kernel frees a namespace *after* ``ip netns delete`` returns, in
    the background, and its veths' far ends (in other namespaces) vanish only then. Until then
    they point into a namespace nobody holds. With ``settle`` the snapshot waits up to that
    long for such dangling veths to go, so a diagram does not show a half-deleted state.
    """
    deadline = time.monotonic() + settle
    while True:
        topology = _snapshot(everything=everything)
        if time.monotonic() >= deadline or not _dangling(topology):
            return topology
        time.sleep(0.01)


def _dangling(topology: Topology) -> bool:
    """A veth whose peer is in no namespace we could find: usually one being freed right now."""
    return any(i.kind == "veth" and i.peer is not None and i.peer.netns is None for _, i in topology.interfaces())


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Pause CPython's cycle collector while a snapshot is made.

    A snapshot makes tens of thousands of small objects that all stay alive and hold no
    cycles; the collector, woken every 700 allocations, would walk them again and again
    (about a seventh of the time at 1000 namespaces) and find nothing to free.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _snapshot(*, everything: bool) -> Topology:
    with _no_cycle_collection():
        return _read_world(everything=everything)


def _read_world(*, everything: bool) -> Topology:
    world = _World(inodes.inode())
    chosen: list[NetnsInfo] = []
    others: list[NetnsInfo] = []
    for info in inodes.namespaces():
        (chosen if everything or _in_view(info, world) else others).append(info)
    run_dir = str(netns.run_dir())
    _room_for_files(2 * len(chosen) + len(others))
    with ExitStack() as cleanup:
        inside = _enter_points(chosen, cleanup, run_dir)
        _look_inside(inside)
        resolved, unresolved = _resolve_nsids(inside)
        outsiders = _find_outsiders(inside, unresolved, others, resolved, cleanup, run_dir) if unresolved else []
        _look_inside(outsiders)
        names_by_ns = {e.info.inode: {link.ifindex: link.name for link in e.links} for e in inside + outsiders}
        namespaces = [_namespace(e, resolved, names_by_ns, outside=False) for e in inside]
        namespaces += [_namespace(e, resolved, names_by_ns, outside=True) for e in outsiders]
    return Topology(tuple(namespaces))
