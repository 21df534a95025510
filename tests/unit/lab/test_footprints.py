"""What netlab records as made by the programs it runs (netlab/lab/footprints.py), from records and folders in tmp_path.

The record is trusted only when it is root's, for this boot and this network namespace; what is
recorded is what appeared while netlab watched, by identity (a handle, a rule's exact text);
what is gone from the machine is forgotten; a folder someone else put a file in stays.
The firewall as the machine has it (``World.firewall``) is given by hand: nothing is run.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from netlab import inodes
from netlab.lab import footprints
from netlab.lab.footprints import Footprints
from netlab.lab.machine import STATE_DIR_ENV, World, boot_id

HOSTPORT = ("iptables", "-t nat -A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT")
SSH = ("iptables", "-t filter -A INPUT -p tcp --dport 22 -j ACCEPT")  # the machine's own


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The state folder (``/var/lib/netlab`` on a machine), in tmp_path; not made yet."""
    folder = tmp_path / "state"
    monkeypatch.setenv(STATE_DIR_ENV, str(folder))
    return folder


@pytest.fixture
def firewall(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[World]]:
    """The machine's firewall, as netlab would read it: each ``World.firewall()`` is the next of this list."""
    worlds: list[World] = []

    def read(cls: type[World]) -> World:
        assert worlds, "the firewall was read once more than the test expects"
        return worlds.pop(0)

    monkeypatch.setattr(World, "firewall", classmethod(read))
    yield worlds
    assert worlds == [], "the firewall was read fewer times than the test expects"


def record_file(state: Path) -> Path:
    return state / f"footprints-net-{inodes.inode()}.json"


def write_record(state: Path, record: object, *, boot: str | None = None, netns: int | None = None) -> Path:
    """A record as netlab writes it (root's, 0644, in a root-only folder), or with another stamp."""
    state.mkdir(mode=0o755, exist_ok=True)
    path = record_file(state)
    stamp = {"boot": boot_id() if boot is None else boot, "netns": inodes.inode() if netns is None else netns}
    path.write_text(json.dumps({**stamp, "record": record}))
    path.chmod(0o644)
    return path


def plugins_world() -> World:
    return World(
        tables={"inet netavark": 7},
        chains={"ip nat CNI-HOSTPORT-DNAT": 12},
        rules=Counter({HOSTPORT: 1}),
        legacy_chains={("iptables-legacy", "nat CNI-HOSTPORT-SETMARK")},
    )


# -- the record, and when it is trusted -----------------------------------------------------------


def test_a_record_of_this_boot_and_namespace_reads_back_by_identity(state):
    made = Footprints(
        plugins_world(), dirs=["/var/lib/cni", "/var/lib/cni/networks"], owned=["/var/lib/cni/networks/x"]
    )
    write_record(state, made.to_json())
    assert footprints.recorded() == made
    assert footprints.recorded().firewall.rules == Counter({HOSTPORT: 1})


@pytest.mark.parametrize("stamp", [{"boot": "another-boot"}, {"netns": 4026531999}], ids=["other-boot", "other-netns"])
def test_a_record_of_another_boot_or_namespace_is_not_ours(state, stamp):
    write_record(state, Footprints(plugins_world(), owned=["/var/lib/cni/networks/x"]).to_json(), **stamp)
    assert footprints.recorded() == Footprints()


def _plant(state: Path, how: str) -> None:
    good = Footprints(plugins_world(), owned=["/var/lib/cni/networks/x"]).to_json()
    path = write_record(state, good)
    if how == "symlink":
        elsewhere = state.parent / "elsewhere.json"
        path.rename(elsewhere)
        path.symlink_to(elsewhere)
    elif how == "file-writable-by-others":
        path.chmod(0o666)
    elif how == "folder-writable-by-others":
        state.chmod(0o777)
    elif how == "not-roots":
        os.chown(path, 65534, 65534)
    elif how == "not-json":
        path.write_text('{"boot": ')
    elif how == "a-list":
        path.write_text("[]")
    elif how == "no-owned":
        write_record(state, {"firewall": good["firewall"], "dirs": []})
    elif how == "rules-of-another-shape":
        write_record(state, {**good, "firewall": {**good["firewall"], "rules": [["iptables", "-A X"]]}})


@pytest.mark.parametrize(
    "how",
    [
        "symlink",
        "file-writable-by-others",
        "folder-writable-by-others",
        "not-roots",
        "not-json",
        "a-list",
        "no-owned",
        "rules-of-another-shape",
    ],
)
def test_a_planted_or_malformed_record_is_refused(state, how):
    if os.geteuid() != 0 and how != "not-json":
        pytest.skip("as another user every record is refused already: not root's")
    _plant(state, how)
    assert footprints.recorded() == Footprints()


def test_a_record_with_a_path_where_a_list_of_paths_belongs_is_refused(state):
    write_record(state, {"firewall": World().to_json(), "dirs": [], "owned": "/srv/leases"})
    assert footprints.recorded() == Footprints()


def test_nothing_is_recorded_where_the_record_cannot_be_trusted(tmp_path, monkeypatch):
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    monkeypatch.setenv(STATE_DIR_ENV, str(blocked / "state"))  # no folder can be made there
    footprints.own(tmp_path / "leases")  # no error: nothing recorded, nothing claimed
    assert footprints.recorded() == Footprints()
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    monkeypatch.setenv(STATE_DIR_ENV, str(shared))
    footprints.own(tmp_path / "leases")
    assert list(shared.glob("footprints-net-*")) == []  # not written where others could change it
    assert footprints.recorded() == Footprints()


# -- what is recorded -------------------------------------------------------------------------------


def test_only_the_folders_netlab_made_are_recorded_and_each_path_once(state, tmp_path):
    machine_own = tmp_path / "lib"
    machine_own.mkdir()
    cni, networks = machine_own / "cni", machine_own / "cni" / "networks"
    footprints.make_dirs([machine_own, cni, networks])
    footprints.make_dirs([machine_own, cni, networks])  # all there now: none made, none recorded again
    assert networks.is_dir()
    footprints.own(networks / "demo")
    footprints.own(networks / "demo")
    assert footprints.recorded() == Footprints(dirs=[str(cni), str(networks)], owned=[str(networks / "demo")])
    assert oct(record_file(state).stat().st_mode & 0o777) == "0o644"


def test_watch_records_what_appeared_while_the_plugin_ran_by_identity(state, firewall):
    before = World(tables={"ip filter": 1, "inet netavark": 3}, rules=Counter({SSH: 1}))
    after = World(
        tables={"ip filter": 1, "inet netavark": 7},  # netavark's table, deleted and made again: a new handle
        chains={"ip nat CNI-HOSTPORT-DNAT": 12},
        rules=Counter({SSH: 1, HOSTPORT: 1}),
        legacy_chains={("iptables-legacy", "nat CNI-HOSTPORT-SETMARK")},
    )
    firewall += [before, after]
    with pytest.raises(RuntimeError), footprints.watch():
        raise RuntimeError("the plugin failed half-way")  # what it made before failing is recorded all the same
    assert footprints.recorded().firewall == plugins_world()


def test_watch_writes_no_record_when_nothing_appeared(state, firewall):
    firewall += [World(tables={"ip filter": 1}), World(tables={"ip filter": 1})]
    with footprints.watch():
        pass
    assert not record_file(state).exists()


def test_what_is_gone_is_forgotten_and_a_name_made_again_is_not_ours(state, firewall, tmp_path):
    kept_dir, gone_dir = tmp_path / "cni", tmp_path / "gone"
    kept_dir.mkdir()
    recorded = plugins_world()
    recorded.tables["ip cni"] = 4
    recorded.rules[SSH] = 1  # a rule text the lesson made; the machine has none now
    write_record(
        state, Footprints(recorded, dirs=[str(kept_dir), str(gone_dir)], owned=[str(gone_dir / "x")]).to_json()
    )
    firewall.append(
        World(
            tables={"inet netavark": 7, "ip cni": 44},  # ip cni: deleted, and made again by someone else
            chains={"ip nat CNI-HOSTPORT-DNAT": 12},
            rules=Counter({HOSTPORT: 2}),
            legacy_chains=set(),
        )
    )
    footprints.keep_present()
    assert footprints.recorded() == Footprints(
        World(tables={"inet netavark": 7}, chains={"ip nat CNI-HOSTPORT-DNAT": 12}, rules=Counter({HOSTPORT: 1})),
        dirs=[str(kept_dir)],
        owned=[],
    )


def test_keep_present_without_a_record_reads_and_writes_nothing(state, firewall):
    footprints.keep_present()  # the firewall fixture fails the test if it is read
    assert not state.exists()


# -- removing the files ---------------------------------------------------------------------------


def test_remove_files_takes_the_lessons_files_and_the_empty_folders_netlab_made_deepest_first(tmp_path):
    cni = tmp_path / "cni"
    leases, results = cni / "networks" / "demo", cni / "results"
    leases.mkdir(parents=True)
    results.mkdir()
    for name in ("10.0.0.2", "last_reserved_ip.0", "lock"):
        (leases / name).write_text("x")
    (results / "demo-c1-eth0").write_text("{}")
    (results / "kubelet-pod-eth0").write_text("{}")  # someone else's file: results stays, and so does cni
    dirs = [str(cni), str(cni / "networks"), str(leases), str(results)]
    made = Footprints(dirs=dirs, owned=[str(leases), str(results / "demo-c1-eth0")])
    assert sorted(footprints.remove_files(made, dry_run=True)) == sorted(dirs)
    assert len(list(leases.iterdir())) == 3  # a dry run removes nothing
    assert footprints.remove_files(made) == [str(leases), str(cni / "networks")]
    assert [p.name for p in results.iterdir()] == ["kubelet-pod-eth0"]
    assert cni.is_dir()


def test_remove_files_never_follows_a_symlink(tmp_path):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "keep").write_text("the machine's")
    linked_folder, linked_file, leases = tmp_path / "linked-folder", tmp_path / "linked-file", tmp_path / "leases"
    linked_folder.symlink_to(precious)
    linked_file.symlink_to(precious / "keep")
    leases.mkdir()
    (leases / "inside").symlink_to(precious / "keep")
    made = Footprints(dirs=[str(linked_folder), str(leases)], owned=[str(linked_folder), str(linked_file), str(leases)])
    assert footprints.remove_files(made) == []  # leases keeps its symlink: not empty, so it stays
    assert (precious / "keep").read_text() == "the machine's"
    assert linked_folder.is_symlink() and linked_file.is_symlink() and (leases / "inside").is_symlink()
