"""What the machine holds, by identity: the root namespace's objects, and what it had before any lesson.

A name says little: the machine can have its own ``br0``, and a lesson can make another after
deleting it. What proves that an object is still the one seen before is its identity, the
number the kernel gave it:

    object              identity                         read with
    named namespace     the inode its name shows         ls -i /run/netns (stat)
    link                its ifindex in this namespace    ip -o link (the first number)
    nft table           its handle                       nft -a list tables
    nft chain           its handle (iptables-nft's too)  nft -a list chains
    iptables rule       its exact text, per backend      iptables-save, iptables-legacy-save
    legacy chain        its table and name               iptables-legacy-save (":NAME - [0:0]")
    sysctl              its value                        sysctl KEY

``World.now()`` reads them all; ``World.new_since(before)`` gives what appeared (an object is new
when its identity was not there before). The *baseline* is the world as it was when the first
lesson started on this machine, this boot (``baseline()``): everything in it is the machine's own,
and nothing netlab does ever removes it.

The baseline is a file, and a file can be planted. It is trusted only when it is a regular file
(not a symlink) owned by root, writable by nobody else, in a directory only root can write,
written for this boot and this network namespace; otherwise it is named and ignored.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netlab import inodes, netns, sysctl
from netlab.enter import run
from netlab.errors import NetlabError
from netlab.plumbing.i18n import _

__all__ = ["SYSCTLS", "Baseline", "Chain", "World", "baseline", "boot_id", "read_trusted", "state_dir", "write_trusted"]

# The root namespace's sysctls the lessons change, and their value in an empty world.
SYSCTLS = {"net.ipv4.ip_forward": "0", "net.ipv6.conf.all.forwarding": "0"}
STATE_DIR_ENV = "NETLAB_STATE_DIR"
PLAIN_FILE = 0  # a name in /run/netns that shows no namespace (a crash between create and mount)
SYMLINK = -1  # a name that is a symlink (how Docker and containerlab name namespaces)

Rule = tuple[str, str]  # (command, "-t TABLE -A CHAIN ..."): what `COMMAND -t TABLE -D ...` deletes
Chain = tuple[str, str]  # (command, "TABLE NAME"): a legacy iptables chain, what `COMMAND -t TABLE -X NAME` deletes


@dataclass
class World:
    """The root namespace's objects a lesson can make or change, each by its identity."""

    namespaces: dict[str, int] = field(default_factory=dict)  # name -> inode (PLAIN_FILE, SYMLINK)
    links: dict[int, str] = field(default_factory=dict)  # ifindex -> name
    tables: dict[str, int] = field(default_factory=dict)  # "family name" -> handle
    chains: dict[str, int] = field(default_factory=dict)  # "family table chain" -> handle (nft)
    rules: Counter[Rule] = field(default_factory=Counter)  # a rule may be there twice
    legacy_chains: set[Chain] = field(default_factory=set)  # the user chains of iptables-legacy
    sysctls: dict[str, str] = field(default_factory=dict)

    @classmethod
    def now(cls) -> World:
        """Read the world as it is."""
        firewall = cls.firewall()
        firewall.namespaces = _namespaces()
        firewall.links = {link.index: link.name for link in _links()}
        firewall.sysctls = {key: value for key in SYSCTLS if (value := _sysctl(key)) is not None}
        return firewall

    @classmethod
    def firewall(cls) -> World:
        """Only the firewall: nft tables and chains, iptables rules and legacy chains."""
        rules, legacy_chains = _iptables()
        tables, chains = _nft()
        return cls(tables=tables, chains=chains, rules=rules, legacy_chains=legacy_chains)

    @classmethod
    def empty(cls) -> World:
        """A world with nothing in it: a sandbox's clean start (only ``lo``, forwarding off)."""
        return cls(links={1: "lo"}, sysctls=dict(SYSCTLS))

    def new_since(self, before: World) -> World:
        """What is here and was not in ``before`` (same identity); sysctls that differ, with their value now."""
        return World(
            namespaces={n: i for n, i in self.namespaces.items() if before.namespaces.get(n) != i},
            links={i: n for i, n in self.links.items() if before.links.get(i) != n},
            tables={t: h for t, h in self.tables.items() if before.tables.get(t) != h},
            chains={c: h for c, h in self.chains.items() if before.chains.get(c) != h},
            rules=self.rules - before.rules,
            legacy_chains=self.legacy_chains - before.legacy_chains,
            sysctls={k: v for k, v in self.sysctls.items() if before.sysctls.get(k, v) != v},
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "namespaces": self.namespaces,
            "links": {str(index): name for index, name in self.links.items()},
            "tables": self.tables,
            "chains": self.chains,
            "rules": [[command, rule, count] for (command, rule), count in sorted(self.rules.items())],
            "legacy_chains": sorted(self.legacy_chains),
            "sysctls": self.sysctls,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> World:
        """The inverse of ``to_json``; raises ValueError, KeyError or TypeError on a malformed one."""
        return cls(
            namespaces={str(n): int(i) for n, i in data["namespaces"].items()},
            links={int(i): str(n) for i, n in data["links"].items()},
            tables={str(t): int(h) for t, h in data["tables"].items()},
            chains={str(c): int(h) for c, h in data.get("chains", {}).items()},
            rules=Counter({(str(c), str(r)): int(k) for c, r, k in data["rules"]}),
            legacy_chains={(str(c), str(n)) for c, n in data.get("legacy_chains", [])},
            sysctls={str(k): str(v) for k, v in data["sysctls"].items()},
        )


# -- reading the world ----------------------------------------------------------------------------


def _namespaces() -> dict[str, int]:
    found = {}
    nsfs = netns.nsfs_device()
    try:
        entries = list(os.scandir(netns.run_dir()))
    except FileNotFoundError:
        return {}
    for entry in entries:
        try:
            if entry.is_symlink():
                found[entry.name] = SYMLINK
                continue
            if entry.is_dir(follow_symlinks=False):
                continue
            st = os.stat(entry.path)
        except OSError:
            continue
        found[entry.name] = st.st_ino if st.st_dev == nsfs else PLAIN_FILE
    return found


def _links() -> list[Any]:
    from netlab import links

    return links.list()


def _sysctl(key: str) -> str | None:
    try:
        return sysctl.get(key)
    except NetlabError:
        return None


def _nft() -> tuple[dict[str, int], dict[str, int]]:
    """``nft -j list chains``: each table and each chain (iptables-nft's too), with its handle."""
    if shutil.which("nft") is None:
        return {}, {}
    tables: dict[str, int] = {}
    chains: dict[str, int] = {}
    for listing in ("tables", "chains"):
        proc = run(None, ["nft", "-j", "list", listing])
        if proc.returncode != 0:
            continue
        for item in json.loads(proc.stdout or "{}").get("nftables", []):
            if "table" in item:
                tables[f"{item['table']['family']} {item['table']['name']}"] = int(item["table"].get("handle", 0))
            elif "chain" in item:
                chain = item["chain"]
                chains[f"{chain['family']} {chain['table']} {chain['name']}"] = int(chain.get("handle", 0))
    return tables, chains


# Each iptables backend once: `iptables` (nft or legacy, whichever this machine has) and the legacy one
# beside it. `*-save` prints every table in one call.
_SAVERS = (
    ("iptables", "iptables-save"),
    ("ip6tables", "ip6tables-save"),
    ("iptables-legacy", "iptables-legacy-save"),
    ("ip6tables-legacy", "ip6tables-legacy-save"),
)


def iptables_commands() -> list[tuple[str, str]]:
    """The (command, saver) pairs that are installed, each backend once."""
    found = []
    legacy_is_default = False
    for command, saver in _SAVERS:
        if shutil.which(command) is None or shutil.which(saver) is None:
            continue
        if command == "iptables":
            legacy_is_default = "legacy" in run(None, [command, "-V"]).stdout
        if legacy_is_default and command.endswith("-legacy"):
            continue  # `iptables` is the legacy backend already
        found.append((command, saver))
    return found


def _iptables() -> tuple[Counter[Rule], set[Chain]]:
    """Every iptables rule, as ``iptables-save`` prints it, keyed by the command that deletes it; and the
    user chains of the legacy backend (iptables-nft's are nft chains, read by handle in ``_nft``)."""
    found: Counter[Rule] = Counter()
    chains: set[Chain] = set()
    for command, saver in iptables_commands():
        proc = run(None, [saver])
        if proc.returncode != 0:
            continue
        legacy = "(nf_tables)" not in proc.stdout.partition("\n")[0]  # iptables-nft-save says it
        table = None
        for line in proc.stdout.splitlines():
            if line.startswith("*"):
                table = line[1:].strip()
            elif line.startswith("-A ") and table:
                found[(command, f"-t {table} {line}")] += 1
            elif line.startswith(":") and line.split()[1] == "-" and table and legacy:
                chains.add((command, f"{table} {line[1:].split()[0]}"))
    return found, chains


# -- the baseline: what the machine had before any lesson ------------------------------------------


def state_dir() -> Path:
    """Where the baseline lives: ``/var/lib/netlab``, or ``$NETLAB_STATE_DIR``."""
    return Path(os.environ.get(STATE_DIR_ENV) or "/var/lib/netlab")


def boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _untrusted(st: os.stat_result, *, directory: bool) -> str | None:
    """Why a file (or its directory) cannot be trusted, or None."""
    if directory and not stat.S_ISDIR(st.st_mode):
        return _("not a directory")
    if not directory and not stat.S_ISREG(st.st_mode):
        return _("not a regular file")
    if st.st_uid != 0:
        return _("owned by uid {uid}, not root").format(uid=st.st_uid)
    if st.st_mode & 0o022:
        return _("writable by other users")
    return None


def read_trusted(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """A JSON state file, if it can be trusted: (data, None); (None, why) if not; (None, None) if absent."""
    try:
        why = _untrusted(os.stat(path.parent), directory=True)
        # O_NONBLOCK: a pipe planted under the name is not waited on; it is refused below
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError:
        return None, None
    except OSError as exc:  # ELOOP: a symlink
        return None, _("{path}: ignored ({reason})").format(
            path=path, reason=_("a symlink") if exc.errno == 40 else exc
        )
    try:
        why = why or _untrusted(os.fstat(fd), directory=False)  # a folder or a pipe is no record
        if why:
            return None, _("{path}: ignored ({reason})").format(path=path, reason=why)
        file, fd = os.fdopen(fd), -1
    finally:
        if fd >= 0:
            os.close(fd)
    with file:
        try:
            data = json.load(file)
        except ValueError:
            return None, _("{path}: ignored ({reason})").format(path=path, reason=_("not valid JSON"))
    return (data, None) if isinstance(data, dict) else (None, _("{path}: ignored").format(path=path))


def write_trusted(path: Path, data: dict[str, Any]) -> str | None:
    """Write a state file only root can change (atomically); returns why it could not, or None."""
    try:
        path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        why = _untrusted(os.stat(path.parent), directory=True)
        if why:
            return _("{path}: not written ({reason})").format(path=path.parent, reason=why)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        with os.fdopen(fd, "w") as file:
            json.dump(data, file, indent=1)
            file.write("\n")
        tmp.replace(path)  # replaces a planted symlink itself, never what it points to
    except OSError as exc:
        return _("{path}: not written ({reason})").format(path=path, reason=exc.strerror or exc)
    return None


@dataclass
class Baseline:
    """The machine's own world, and anything to say about the file it came from."""

    world: World
    problem: str | None = None


def baseline(*, record: bool = True) -> Baseline:
    """What this machine had before the first lesson of this boot, in this network namespace.

    Read from the state file when it can be trusted; otherwise the world as it is now, written
    down (``record``) for the lessons that follow. One file per network namespace, so a private
    world (``unshare --net``) never writes over the machine's.
    """
    here = inodes.inode()
    path = state_dir() / f"baseline-net-{here}.json"
    data, problem = read_trusted(path)
    if data is not None and data.get("boot") == boot_id() and data.get("netns") == here:
        try:
            return Baseline(World.from_json(data["world"]))
        except (ValueError, KeyError, TypeError, AttributeError):
            problem = _("{path}: ignored ({reason})").format(path=path, reason=_("not a baseline"))
    world = World.now()
    if record and (written := write_trusted(path, _stamped(world, here))):
        problem = problem or written
    return Baseline(world, problem)


def _stamped(world: World, here: int) -> dict[str, Any]:
    return {"boot": boot_id(), "netns": here, "time": time.time(), "world": world.to_json()}
