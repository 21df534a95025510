"""A lab's steps (netlab/lab/steps.py): undo on failure, the history kept, unique MACs, who owns a taken name."""

from __future__ import annotations

import errno
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from netlab import inodes
from netlab.errors import DeviceExistsError, NamespaceExistsError, NetlabError
from netlab.lab import journal
from netlab.lab.steps import Steps
from netlab.plumbing.commands import History, emit

HERE = inodes.inode()  # this test's own network namespace: only read, never changed


@pytest.fixture
def records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The lab record directory, in tmp_path."""
    monkeypatch.setenv(journal.DIR_ENV, str(tmp_path))
    return tmp_path


@pytest.fixture
def steps(records: Path) -> Iterator[Steps]:
    """Lab "demo"'s steps, with its journal in tmp_path and an empty history."""
    opened = journal.Journal("demo", root=HERE)
    try:
        yield Steps("demo", opened, History(), root=HERE)
    finally:
        opened.close(remove=True)


def _commands(history: History) -> list[str]:
    return [" ".join(command.argv) for command in history]


# -- MACs -----------------------------------------------------------------------------------------


def test_macs_are_locally_administered_unicast_unique_and_carry_the_labs_mark(steps):
    macs = [steps.mac() for _ in range(1000)]
    assert len(set(macs)) == 1000
    assert all(re.fullmatch(r"02(:[0-9a-f]{2}){5}", mac) for mac in macs)  # 0x02: local bit on, multicast bit off
    assert {mac[:11] for mac in macs} == {"02:89:e4:95"}  # the first bytes of sha1("demo"): the same after a crash
    assert macs[:2] == ["02:89:e4:95:00:01", "02:89:e4:95:00:02"] and macs[-1] == "02:89:e4:95:03:e8"
    other = Steps("other", steps.journal, History(), root=HERE)
    assert other.mac()[:11] != "02:89:e4:95"  # another lab's links are told apart by their MAC


def test_macs_stay_unique_past_65535_links(steps):
    macs = [steps.mac() for _ in range(65537)]
    assert len(set(macs)) == len(macs)


# -- steps and undo -------------------------------------------------------------------------------


def test_a_step_that_succeeds_keeps_its_commands_and_undoes_nothing(steps):
    undone: list[str] = []
    with steps.step():
        emit(["ip", "netns", "add", "netns1"])
        steps.on_undo(lambda: undone.append("netns1"))
    assert _commands(steps.history) == ["ip netns add netns1"]
    with pytest.raises(RuntimeError), steps.step():
        raise RuntimeError("a later step fails")
    assert undone == []  # a later failure never undoes an earlier step that succeeded
    assert _commands(steps.history) == ["ip netns add netns1"]


def test_a_failed_step_undoes_what_it_did_newest_first_and_forgets_its_commands(steps):
    with steps.step():
        emit(["ip", "netns", "add", "netns1"])
    undone: list[str] = []

    def undo(what: str) -> None:
        undone.append(what)
        emit(["ip", "link", "delete", what])  # the undo's own commands are bookkeeping: not in the history

    failure = RuntimeError("the kernel said no")
    with pytest.raises(RuntimeError) as raised, steps.step():
        emit(["ip", "link", "add", "veth0", "type", "veth", "peer", "name", "veth1"])
        steps.on_undo(lambda: undo("veth0"))
        emit(["ip", "link", "add", "br0", "type", "bridge"])
        steps.on_undo(lambda: undo("br0"))
        raise failure
    assert raised.value is failure  # the error itself reaches the caller
    assert undone == ["br0", "veth0"]
    assert _commands(steps.history) == ["ip netns add netns1"]


def test_nested_steps_are_undone_once_by_the_outermost(steps):
    undone: list[str] = []
    with pytest.raises(ValueError), steps.step():
        steps.on_undo(lambda: undone.append("outer"))
        emit(["ip", "link", "add", "br0", "type", "bridge"])
        with steps.step():
            steps.on_undo(lambda: undone.append("inner"))
            emit(["ip", "link", "set", "br0", "up"])
            raise ValueError("half-way")
    assert undone == ["inner", "outer"]
    assert list(steps.history) == []


def test_an_undo_that_fails_stops_neither_the_others_nor_the_error(steps):
    undone: list[str] = []

    def broken() -> None:
        raise OSError("gone already")

    with pytest.raises(KeyboardInterrupt), steps.step():  # an interrupt (Kernel > Interrupt) undoes too
        steps.on_undo(lambda: undone.append("first"))
        steps.on_undo(broken)
        steps.on_undo(lambda: undone.append("last"))
        raise KeyboardInterrupt
    assert undone == ["last", "first"]


def test_an_undo_registered_outside_a_step_is_ignored(steps):
    undone: list[str] = []
    steps.on_undo(lambda: undone.append("outside"))
    with pytest.raises(RuntimeError), steps.step():
        raise RuntimeError("fails")
    assert undone == []


@pytest.mark.parametrize(
    ("language", "message", "hint"),
    [
        ("english", "lab 'demo' is closed", "start a new one: Lab()"),
        ("chinese", "实验 'demo' 已经关闭", "请新建一个：Lab()"),
    ],
)
def test_a_closed_lab_refuses_a_step_in_one_line_with_a_hint(request, steps, language, message, hint):
    request.getfixturevalue(language)
    steps.closed = True
    body_ran = False
    with pytest.raises(NetlabError) as raised, steps.step():
        body_ran = True
    assert not body_ran
    assert (raised.value.message, raised.value.hint, raised.value.subject) == (message, hint, "demo")
    assert "\n" not in raised.value.message


# -- the journal: what the lab owns, and who owns a taken name ------------------------------------


def test_owned_link_is_the_journals_link_of_that_name_in_that_namespace(steps):
    seq = steps.journal.add("link", name="veth0", netns=HERE, mac=steps.mac())
    steps.journal.add("link", name="veth1", netns=HERE + 1, mac=steps.mac())  # in another namespace
    assert steps.record is steps.journal.record
    found = steps.owned_link("veth0", None)
    assert found is not None and found["seq"] == seq
    assert steps.owned_link("veth1", None) is None  # the name is recorded, but elsewhere
    assert steps.owned_link("br0", None) is None


def _journal_file(folder: Path, lab: str, *, running: bool, objects: list[dict]) -> None:
    """Another lab's journal, written by hand: its owner this very process (running) or a pid gone."""
    start = journal.process_start(os.getpid()) if running else None
    pid = os.getpid() if running else 4242
    head = {"ev": "lab", "lab": lab, "pid": pid, "start": start, "root": HERE, "time": 100.0}
    lines = [head] + [{"seq": n, **obj} for n, obj in enumerate(objects, 1)]
    (folder / f"{lab}.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))


@pytest.mark.parametrize(
    ("name", "owner"),
    [
        ("mine", "it belongs to this lab"),
        ("theirs", "it belongs to lab 'busy' (pid {pid}, running)"),
        ("left", "it belongs to lab 'crashed' (pid 4242, gone: `netlab cleanup` removes it)"),
        ("stray", "no lab made it (`ip` or netlab's plain functions did)"),
    ],
)
def test_a_taken_namespace_name_says_who_owns_it_in_one_line_with_a_hint(english, records, steps, name, owner):
    steps.journal.add("netns", name="mine", inode=1)
    _journal_file(records, "busy", running=True, objects=[{"ev": "netns", "name": "theirs", "inode": 2}])
    _journal_file(records, "crashed", running=False, objects=[{"ev": "netns", "name": "left", "inode": 3}])
    kernel = NamespaceExistsError(f"namespace {name!r} exists", hint="pick another", subject=name, errno=errno.EEXIST)
    said = steps.taken(kernel, "netns", name, None)
    assert type(said) is NamespaceExistsError and isinstance(said, FileExistsError)
    assert said.message == f"namespace {name!r} exists; " + owner.format(pid=os.getpid())
    assert "\n" not in said.message and said.hint and said.hint != kernel.hint
    assert (said.subject, said.errno_code) == (name, errno.EEXIST)


def test_a_taken_link_is_claimed_only_by_a_lab_that_made_it_in_that_namespace(english, records, steps):
    steps.journal.add("link", name="veth0", netns=HERE, mac="02:89:e4:95:00:01")
    _journal_file(
        records,
        "busy",
        running=True,
        objects=[{"ev": "link", "name": "br0", "netns": HERE + 1, "mac": "02:00:00:00:00:01"}],
    )
    kernel = DeviceExistsError("device 'veth0' exists", hint="pick another", subject="veth0", errno=errno.EEXIST)
    assert steps.taken(kernel, "link", "veth0", None).message == "device 'veth0' exists; it belongs to this lab"
    elsewhere = steps.taken(DeviceExistsError("device 'br0' exists", errno=errno.EEXIST), "link", "br0", None)
    assert type(elsewhere) is DeviceExistsError
    assert elsewhere.message == "device 'br0' exists; no lab made it (`ip` or netlab's plain functions did)"
    assert elsewhere.hint.startswith("a lab never takes over what it did not create")


def test_who_owns_a_taken_name_is_said_in_chinese_for_a_chinese_reader(chinese, records, steps):
    steps.journal.add("netns", name="mine", inode=1)
    kernel = NamespaceExistsError("命名空间 'mine' 已存在", subject="mine", errno=errno.EEXIST)
    said = steps.taken(kernel, "netns", "mine", None)
    assert said.message == "命名空间 'mine' 已存在；它属于本实验"
    assert said.hint == "两个实验之间名字不能重复：换一个名字（用你的实验名作前缀）"
