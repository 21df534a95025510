"""Journal parsing (netlab/lab/journal.py): a lab's record, read back from a hand-written file.

``netlab cleanup`` acts on these files after a crash, so reading one must replay the events in
order, skip blank lines and a torn last line, and refuse (never act upon) a file that is not a
journal of ours: no header, a line that is not JSON, an unknown event, a field of the wrong type.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from netlab.errors import InvalidNameError
from netlab.lab import journal
from netlab.lab.journal import Journal, UntrustedJournalError, all_records, check_lab_id, read

HEADER = {"ev": "lab", "lab": "demo", "pid": 4242, "start": None, "root": 4026531840, "time": 100.0}

JOURNAL = "\n".join(
    [
        json.dumps(HEADER),
        '{"ev": "netns", "seq": 1, "name": "netns1", "inode": 4026532302, "time": 101.0}',
        '{"ev": "link", "seq": 2, "name": "veth0", "netns": 4026531840, "mac": "02:00:00:00:00:01", "pair": 3}',
        '{"ev": "link", "seq": 3, "name": "veth1", "netns": 4026531840, "mac": "02:00:00:00:00:02", "pair": 2}',
        "",
        '{"ev": "moved", "of": 3, "netns": 4026532302}',
        '{"ev": "renamed", "of": 2, "name": "uplink"}',
        '{"ev": "sysctl", "seq": 4, "key": "net.ipv4.ip_forward", "netns": 4026531840, "old": "0", "new": "1"}',
        '{"ev": "nft", "seq": 5, "table": "netlab_demo", "netns": 4026531840}',
        '{"ev": "gone", "of": 4}',
        '{"ev": "gone", "of": 99}',  # an object the journal never had: nothing to forget
        '{"ev": "moved", "of": 98, "netns": 1}',  # likewise
        "   ",
        '{"ev": "nft", "seq": 6, "table": "netlab_de',  # a torn last line (a crash mid-write)
    ]
)


@pytest.fixture
def written(tmp_path: Path) -> Path:
    path = tmp_path / "demo.jsonl"
    path.write_text(JOURNAL)
    return path


def test_replay_follows_each_object_through_moves_renames_and_removals(written):
    record = read(written, strict=True)
    assert record is not None
    assert (record.lab, record.pid, record.root, record.created) == ("demo", 4242, 4026531840, 100.0)
    assert record.path == written
    assert list(record.objects) == [1, 2, 3, 5]  # creation order; 4 is gone, 6 was never written whole
    assert record.objects[3]["netns"] == 4026532302 and record.objects[3]["name"] == "veth1"
    assert record.objects[2]["name"] == "uplink"
    assert [obj["name"] for obj in record.of("link")] == ["uplink", "veth1"]
    found = record.find("link", netns=4026532302)
    assert found is not None and found["seq"] == 3
    assert record.find("netns", name="netns2") is None
    assert record.of("sysctl") == []


def test_an_owner_without_a_start_time_is_never_taken_for_running(written):
    record = read(written)
    assert record is not None and not record.alive
    assert str(record) == "lab 'demo': owner pid 4242 (gone); owns 2 link, 1 netns, 1 nft"


def test_moved_may_rename_too(tmp_path):
    path = tmp_path / "x.jsonl"
    lines = [
        HEADER,
        {"ev": "link", "seq": 1, "name": "veth1", "netns": 1, "mac": "02:00:00:00:00:02"},
        {"ev": "moved", "of": 1, "netns": 2, "name": "eth0"},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    record = read(path)
    assert record is not None
    assert record.objects[1] == {"ev": "link", "seq": 1, "name": "eth0", "netns": 2, "mac": "02:00:00:00:00:02"}


GOOD_LINK = '{"ev": "link", "seq": 1, "name": "veth0", "netns": 1, "mac": "02:00:00:00:00:01"}'


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "empty"),
        ("\n\n", "empty"),
        (GOOD_LINK + "\n" + json.dumps(HEADER) + "\n", "first line is not a lab header"),
        (json.dumps(HEADER) + "\nnot json\n" + GOOD_LINK + "\n", "line 2 is not JSON"),
        (json.dumps(HEADER) + '\n{"ev": "format_disk", "seq": 1}\n', "unknown event 'format_disk'"),
        (json.dumps(HEADER) + "\n" + GOOD_LINK.replace('"seq": 1', '"seq": "1"') + "\n", "field 'seq'"),
        (json.dumps(HEADER) + "\n" + GOOD_LINK.replace('"netns": 1', '"netns": true') + "\n", "field 'netns'"),
        (json.dumps(HEADER) + "\n[1, 2]\n", "not an object"),
        (json.dumps({**HEADER, "lab": "../etc"}) + "\n", "invalid lab name"),
        (json.dumps({**HEADER, "pid": "4242"}) + "\n", "field 'pid'"),
    ],
)
def test_a_file_that_is_not_a_journal_of_ours_is_never_acted_upon(tmp_path, text, why):
    path = tmp_path / "bad.jsonl"
    path.write_text(text)
    assert read(path) is None
    with pytest.raises(UntrustedJournalError, match=re.escape(why)):
        read(path, strict=True)


def test_a_symlink_is_not_followed(tmp_path, written):
    (tmp_path / "link.jsonl").symlink_to(written)
    with pytest.raises(UntrustedJournalError, match="symlink"):
        read(tmp_path / "link.jsonl", strict=True)


def test_a_journal_that_vanished_is_no_record(tmp_path):
    assert read(tmp_path / "gone.jsonl") is None


def test_all_records_reads_the_record_directory_oldest_first(tmp_path, monkeypatch):
    monkeypatch.setenv(journal.DIR_ENV, str(tmp_path))
    for lab, when in [("late", 300.0), ("early", 100.0), ("middle", 200.0)]:
        (tmp_path / f"{lab}.jsonl").write_text(json.dumps({**HEADER, "lab": lab, "time": when}) + "\n")
    (tmp_path / "noise.jsonl").write_text("garbage\n")
    (tmp_path / "notes.txt").write_text(json.dumps(HEADER) + "\n")
    assert [r.lab for r in all_records()] == ["early", "middle", "late"]
    assert journal.lab_ids() == ["early", "middle", "late"]
    assert journal.problems() == [f"{tmp_path / 'noise.jsonl'}: line 1 is not JSON"]
    monkeypatch.setenv(journal.DIR_ENV, str(tmp_path / "missing"))
    assert all_records() == []


def test_what_a_journal_writes_reads_back_the_same(tmp_path, monkeypatch):
    monkeypatch.setenv(journal.DIR_ENV, str(tmp_path / "records"))
    opened = Journal("demo", root=4026531840)
    try:
        ns = opened.add("netns", name="netns1", inode=4026532302)
        a, b = opened.add_pair(
            {"name": "veth0", "netns": 4026531840, "mac": "02:00:00:00:00:01"},
            {"name": "veth1", "netns": 4026531840, "mac": "02:00:00:00:00:02"},
        )
        opened.note("moved", b, netns=4026532302)
        opened.gone(ns, 12345)
        replayed = read(opened.path)
        assert replayed is not None
        assert replayed.objects == opened.record.objects
        assert replayed.objects[a]["pair"] == b and replayed.objects[b]["pair"] == a
        assert replayed.alive  # the owner is this very process
    finally:
        opened.close(remove=True)
    assert not opened.path.exists()


@pytest.mark.parametrize("lab", ["demo", "student_07", "x" * 32])
def test_lab_names_that_make_a_journal_file(lab):
    assert check_lab_id(lab) == lab


@pytest.mark.parametrize("lab", ["", "a/b", "../etc", "x" * 33, "with space", "dash-ed", None, 7])
def test_lab_names_that_could_not(lab):
    with pytest.raises(InvalidNameError, match="invalid lab name"):
        check_lab_id(lab)


@pytest.mark.parametrize("kind, what", [("symlink", "a symlink"), ("folder", "a folder")])
def test_a_lock_that_is_not_a_plain_file_is_refused_and_never_followed(tmp_path, monkeypatch, english, kind, what):
    monkeypatch.setenv(journal.DIR_ENV, str(tmp_path))
    lock, target = tmp_path / ".lock", tmp_path / "elsewhere"
    if kind == "symlink":
        lock.symlink_to(target)  # dangling: following it would create the target
    else:
        lock.mkdir()
    with pytest.raises(UntrustedJournalError) as err, journal.locked():
        pass
    assert err.value.message == f"cannot lock the lab records: {lock} is {what}"
    assert f"rm -r {lock}" in err.value.hint
    assert not target.exists()
