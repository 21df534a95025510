"""The article's repeated steps (netlab/teach/reproduce/steps.py): their commands, as a scene that runs nothing would
note them, and the words for what keeps a namespace alive."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

import pytest

from netlab import enter
from netlab.inodes import NetnsInfo
from netlab.teach.reproduce import steps
from netlab.teach.reproduce.scene import Scene, StepFailed
from netlab.teach.reproduce.versions import Versions


class Noted(Scene):
    """A scene that notes each command and runs none: every one 'succeeds' (exit ``status``).

    Its undos are never run here (they would look at this machine's links and namespaces).
    """

    def __init__(self, *, ifconfig: bool | None, status: int = 0) -> None:
        super().__init__(versions=Versions(ifconfig=ifconfig))
        self.status = status
        self.ran: list[str] = []

    def _run(self, argv: Sequence[str]) -> subprocess.CompletedProcess:
        self.ran.append(" ".join(argv))
        return subprocess.CompletedProcess(list(argv), self.status, "", "")


@pytest.fixture(autouse=True)
def nothing_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Should a step reach netlab's own runner after all, the test fails before anything is run."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a command was about to run: {args}")

    monkeypatch.setattr(enter, "run", refuse)
    monkeypatch.setattr(enter, "popen", refuse)


def test_configured_pair_is_the_articles_a1_and_a5_to_a8_as_typed():
    scene = Noted(ifconfig=True)
    steps.configured_pair(scene)
    assert scene.ran == [
        "ip netns add netns1",
        "ip link add veth0 type veth peer name veth1",
        "ip link set veth1 netns netns1",
        "ip netns exec netns1 ifconfig veth1 10.1.1.1/24 up",
        "ifconfig veth0 10.1.1.2/24 up",
    ]
    assert len(scene._undo) == 2  # the namespace and the pair: what the scene takes back at its end
    assert scene.transcript.splitlines()[0] == "$ ip netns add netns1"


@pytest.mark.parametrize("ifconfig", [False, None], ids=["not-installed", "unknown"])
def test_without_ifconfig_the_same_step_is_done_with_ip_and_said_so(english, ifconfig):
    scene = Noted(ifconfig=ifconfig)
    steps.ifconfig_up(scene, "veth1", "10.1.1.1/24", netns="netns1")
    assert scene.ran == [
        "ip netns exec netns1 ip addr add 10.1.1.1/24 dev veth1",
        "ip netns exec netns1 ip link set veth1 up",
    ]
    assert scene.lines[0] == "# ifconfig (net-tools) is not installed: the same with ip"


def test_add_link_says_whether_the_kernel_made_it_and_takes_it_back_either_way():
    refused = Noted(ifconfig=True, status=2)
    assert steps.add_link(refused, "veth0", "type", "veth", "peer", "name", "veth1", check=False) is False
    assert len(refused._undo) == 1
    made = Noted(ifconfig=True)
    assert steps.add_link(made, "dummy0", "type", "dummy") is True
    assert made.ran == ["ip link add dummy0 type dummy"]


def test_a_step_that_must_succeed_stops_the_experiment_when_it_fails(english):
    scene = Noted(ifconfig=True, status=1)
    with pytest.raises(StepFailed, match="`ip netns add netns1` failed: exit status 1"):
        steps.add_netns(scene, "netns1")
    assert scene.ran == ["ip netns add netns1"]


HELD = ["process 42 (sleep)", "thread 8 of process 7", "open fd 3 of process 9", "bind mount /run/netns/ns1"]


def test_holder_words_joins_what_keeps_a_namespace_alive(english):
    assert steps.holder_words(HELD) == ", ".join(HELD)
    assert steps.holder_words(["net:[4026532302]"]) == "net:[4026532302]"  # not a holder phrase: as it is
    assert steps.holder_words([]) == steps.holder_words(None) == "nothing"


def test_holder_words_speaks_chinese_for_a_chinese_reader(chinese):
    assert steps.holder_words(HELD) == "进程 42（sleep），进程 7 的线程 8，进程 9 打开的 fd 3，绑定挂载 /run/netns/ns1"
    assert steps.holder_words(None) == "无"


def test_holder_words_reads_every_phrase_netlab_inodes_writes(chinese):
    info = NetnsInfo(
        inode=1, mounts=["/run/netns/ns1"], pids=[42], threads=[(7, 8)], fds=[(9, 3)], commands={42: "sleep"}
    )
    assert info.held_by == HELD  # what netlab.inodes says, in English, as data
    assert steps.holder_words(info.held_by) == "，".join(info.held_in_words)


@pytest.mark.parametrize(
    ("printed", "inode"),
    [("4026532302 /run/netns/ns1\n", 4026532302), ("  4026531840 /proc/self/ns/net", 4026531840)],
)
def test_inode_of_is_the_first_number_ls_i_prints(printed, inode):
    assert steps.inode_of(printed) == inode
