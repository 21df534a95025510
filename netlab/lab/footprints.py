"""What the programs netlab runs for a lesson leave behind, recorded as netlab's.

A CNI plugin or ``netavark`` makes firewall objects of its own: the ``CNI-HOSTPORT-DNAT`` chain and
the jumps to it from PREROUTING and OUTPUT, ``NETAVARK_FORWARD``, the base chains iptables-nft adds
on first use; and files (``/var/lib/cni``). Their names are the plugin's, not the kit's: on a
machine that runs Kubernetes the same names are the kubelet's. What proves they are a lesson's is
that netlab saw them appear while it ran the plugin:

    with footprints.watch():          # the firewall before ...
        run the plugin                # ... and after: what is new is recorded, by identity
    footprints.make_dirs(paths)       # the folders netlab made for the plugins, recorded
    footprints.own(path)              # a file, or a folder whose files are all the lesson's (its leases)

The record is ``/var/lib/netlab/footprints-net-INODE.json``: root's, for this boot and this network
namespace, as the baseline (``machine.read_trusted``). A lesson start and ``netlab reset`` remove
what it names like the rest of a lesson's objects (``recorded()``, ``remove_files()``), then keep
in it only what is still there (``keep_present()``): an object gone from the machine is forgotten,
so the same rule made later by someone else is never taken for the lesson's.
"""

from __future__ import annotations

import fcntl
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netlab import inodes
from netlab.lab.machine import World, boot_id, read_trusted, state_dir, write_trusted

__all__ = ["Footprints", "keep_present", "make_dirs", "own", "recorded", "remove_files", "watch"]


@dataclass
class Footprints:
    """What netlab's plugins made: firewall objects by identity, folders made, folders whose files are ours."""

    firewall: World = field(default_factory=World)
    dirs: list[str] = field(default_factory=list)  # made by netlab, parents first
    owned: list[str] = field(default_factory=list)  # files, and folders every file of which is a lesson's

    def to_json(self) -> dict[str, Any]:
        return {"firewall": self.firewall.to_json(), "dirs": self.dirs, "owned": self.owned}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Footprints:
        firewall = World.from_json(data["firewall"])
        dirs, owned = data["dirs"], data["owned"]
        if not isinstance(dirs, list) or not isinstance(owned, list):  # a text would be read letter by letter
            raise TypeError("dirs and owned are lists of paths")
        return cls(firewall, [str(d) for d in dirs], [str(d) for d in owned])


def _path() -> Path:
    return state_dir() / f"footprints-net-{inodes.inode()}.json"


def recorded() -> Footprints:
    """The footprints recorded this boot in this network namespace (none when the file cannot be trusted)."""
    data, _problem = read_trusted(_path())
    if not data or data.get("boot") != boot_id() or data.get("netns") != inodes.inode():
        return Footprints()
    try:
        return Footprints.from_json(data["record"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return Footprints()


@contextmanager
def _changing() -> Iterator[Footprints]:
    """The record, to change in place; written back when done. One writer at a time (a lock file)."""
    folder = state_dir()
    try:
        folder.mkdir(mode=0o755, parents=True, exist_ok=True)
        lock = os.open(folder / "footprints.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError:  # no state folder to write (an ordinary user): nothing is recorded, nothing claimed
        yield Footprints()
        return
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        footprints = recorded()
        yield footprints
        stamped = {"boot": boot_id(), "netns": inodes.inode(), "record": footprints.to_json()}
        write_trusted(_path(), stamped)
    finally:
        os.close(lock)


@contextmanager
def watch() -> Iterator[None]:
    """Record the firewall objects that appear while the body runs (a plugin's ADD, netavark's setup)."""
    before = World.firewall()
    try:
        yield
    finally:
        new = World.firewall().new_since(before)
        if new.tables or new.chains or new.rules or new.legacy_chains:
            with _changing() as footprints:
                ours = footprints.firewall
                ours.tables.update(new.tables)
                ours.chains.update(new.chains)
                ours.rules = Counter(dict(ours.rules | new.rules))
                ours.legacy_chains |= new.legacy_chains


def make_dirs(paths: Iterable[Path]) -> None:
    """Make each missing folder (parents first), recording those netlab made."""
    made = []
    for path in paths:
        if not path.exists():
            path.mkdir(mode=0o755, parents=True, exist_ok=True)
            made.append(str(path))
    if made:
        with _changing() as footprints:
            footprints.dirs += [d for d in made if d not in footprints.dirs]


def own(path: Path) -> None:
    """Record that the file ``path``, or every file in the folder ``path``, is a lesson's: a reset removes them."""
    with _changing() as footprints:
        if str(path) not in footprints.owned:
            footprints.owned.append(str(path))


def remove_files(footprints: Footprints, *, dry_run: bool = False) -> list[str]:
    """Remove the files of owned folders, then the folders netlab made, deepest first, when empty.

    A folder something else put a file in stays (``rmdir`` refuses). Returns the folders removed
    (with ``dry_run``: the folders there, which would go if nothing else is in them).
    """
    folders = [Path(f) for f in sorted(set(footprints.dirs + footprints.owned), key=len, reverse=True)]
    folders = [f for f in folders if f.is_dir() and not f.is_symlink()]
    if dry_run:
        return [str(f) for f in folders]
    for owned in map(Path, footprints.owned):
        files = sorted(owned.glob("*")) if owned.is_dir() and not owned.is_symlink() else [owned]
        for file in files:
            if file.is_file() and not file.is_symlink():
                file.unlink(missing_ok=True)
    removed = []
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:  # not empty: something else keeps a file in it
            continue
        removed.append(str(folder))
    return removed


def keep_present() -> None:
    """Forget what is gone from the machine: a name made again later is someone else's."""
    if not _path().exists():
        return
    with _changing() as footprints:
        now = World.firewall()
        ours = footprints.firewall
        ours.tables = {t: h for t, h in ours.tables.items() if now.tables.get(t) == h}
        ours.chains = {c: h for c, h in ours.chains.items() if now.chains.get(c) == h}
        ours.rules = Counter({rule: count for rule, count in ours.rules.items() if rule in now.rules})
        ours.legacy_chains &= now.legacy_chains
        footprints.dirs = [d for d in footprints.dirs if Path(d).is_dir()]
        footprints.owned = [d for d in footprints.owned if Path(d).exists()]
