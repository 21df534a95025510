"""Exercise checks: each fails with a useful hint on the starting state, and passes on a correct solution."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import sh

from netlab import netns, sysctl
from netlab.teach import challenges, checks

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from solutions import challenges as solutions


@pytest.fixture(autouse=True)
def keep_ip_forward():
    before = sysctl.get("net.ipv4.ip_forward")
    yield
    sysctl.set("net.ipv4.ip_forward", before)


def test_lo_up_walks_from_missing_to_done():
    result = checks.lo_up("ex1")
    assert not result and "ip netns add ex1" in result.hint
    sh("ip", "netns", "add", "ex1")
    try:
        result = checks.lo_up("ex1")
        assert not result and result.hint == "bring it up: ip netns exec ex1 ip link set lo up"
        assert "✘ lo in ex1 is DOWN" in str(result)
        sh("ip", "netns", "exec", "ex1", "ip", "link", "set", "lo", "up")
        result = checks.lo_up("ex1")
        assert result and str(result).startswith("✔ done")
    finally:
        netns.delete("ex1")


def test_veth_pair_hints_follow_what_failed():
    def check():
        return checks.veth_pair(
            "netns3", outside="veth2", inside="veth3", outside_address="10.1.2.2/24", inside_address="10.1.2.1/24"
        )

    sh("ip", "netns", "add", "netns3")
    try:
        assert "create it" in check().hint
        sh("ip", "link", "add", "veth2", "type", "veth", "peer", "name", "veth3")
        result = check()
        assert "veth3 exists in the root namespace but should be in namespace 'netns3'" in str(result)
        assert result.hint == "move it: ip link set veth3 netns netns3"
        sh("ip", "link", "set", "veth3", "netns", "netns3")
        assert check().hint == "add it: ip addr add 10.1.2.2/24 dev veth2"
        sh("ip", "addr", "add", "10.1.2.2/24", "dev", "veth2")
        assert check().hint == "bring it up: ip link set veth2 up"
        sh("ip", "link", "set", "veth2", "up")
        assert check().hint == "add it: ip netns exec netns3 ip addr add 10.1.2.1/24 dev veth3"
        sh("ip", "-n", "netns3", "addr", "add", "10.1.2.1/24", "dev", "veth3")
        sh("ip", "-n", "netns3", "link", "set", "veth3", "up")
        assert check(), str(check())
    finally:
        netns.delete("netns3")
        sh("ip", "link", "delete", "veth2", check=False)


def test_stale_namespace_gets_its_own_hint():
    (netns.run_dir() / "ex2").touch()
    try:
        result = checks.lo_up("ex2")
        assert "stale" in str(result) and "ip netns delete ex2" in result.hint
    finally:
        netns.delete("ex2")


CHALLENGES = {
    "isolated_bridge": "create it: ip link add br0 type bridge",
    "router": "net.ipv4.ip_forward=1",
    "nat": "sysctl -w net.ipv4.ip_forward=1",
    "publish": "published",
    "deleted_namespace": "lsns -t net",
}


@pytest.mark.parametrize("name", CHALLENGES)
def test_challenge_fails_with_a_hint_then_passes_with_the_reference_solution(name):
    challenge = getattr(challenges, name)()
    try:
        first = challenge.check()
        assert not first, str(first)
        assert CHALLENGES[name] in first.hint, str(first)
        getattr(solutions, name)(challenge)
        solved = challenge.check()
        assert solved, str(solved)
    finally:
        solutions.undo(challenge)
        challenge.close()


def test_isolated_bridge_rejects_a_way_out():
    challenge = challenges.isolated_bridge()
    try:
        solutions.isolated_bridge(challenge)
        sh("ip", "addr", "add", "10.0.0.1/24", "dev", "br0")
        sh("ip", "-n", "c1", "route", "add", "default", "via", "10.0.0.1")
        result = challenge.check()
        assert not result and "namespace 'c1' can still reach 203.0.113.1" in str(result)
        assert "ip netns exec c1 ip route del default" in result.hint
    finally:
        challenge.close()


def test_wrong_answer_to_the_holder_question():
    challenge = challenges.deleted_namespace()
    try:
        result = challenge.answer(1)
        assert not result and "lsns -t net" in result.hint
        assert challenge.answer(challenge.facts["pid"])
    finally:
        challenge.close()


def test_an_answer_that_is_not_a_pid_is_refused_in_one_line(english):
    ghost = challenges.deleted_namespace()
    try:
        for wrong in ("abc", "", "12a", -3, 1.5, True, None):
            with pytest.raises(challenges.base.InvalidAnswerError) as err:
                ghost.answer(wrong)
            assert err.value.message == f"{wrong!r} is not a pid: the answer is a process id, a whole number like 4242"
            assert err.value.hint.startswith("give the pid you found: ") and err.value.hint.endswith(".answer(4242)")
            assert "\n" not in err.value.message and "answer" not in ghost.facts  # refused: nothing was checked
        assert ghost.answer(f" {ghost.facts['pid']}\n")  # copied from a terminal, with its newline
    finally:
        ghost.close()
    isolated = challenges.isolated_bridge()
    try:
        with pytest.raises(challenges.base.InvalidAnswerError) as err:
            isolated.answer(1)
        assert "asks no question" in err.value.message and err.value.hint.endswith(".check() looks at what you built")
    finally:
        isolated.close()


def test_a_challenge_started_while_another_is_open_closes_it_first(english, capsys):
    """Challenge 3 with challenge 1 open (both make c1, uplink), or one challenge's cell run twice."""
    forwarding = sysctl.get("net.ipv4.ip_forward")
    isolated = challenges.isolated_bridge()
    natted = challenges.nat()  # no DeviceExistsError
    again = None
    try:
        assert "closed challenge 'isolated bridge' first: one challenge at a time" in capsys.readouterr().err
        assert "uplink" in sh("ip", "-br", "link").stdout and sorted(netns.list()) == ["c1", "internet"]
        again = challenges.nat()  # the same cell, run again
        assert "closed challenge 'nat' first: one challenge at a time" in capsys.readouterr().err
        isolated.close()  # closing one again (it was closed for you) changes nothing ...
        natted.close()
        assert sorted(netns.list()) == ["c1", "internet"]  # ... the open one's world is untouched
        assert sysctl.get("net.ipv4.ip_forward") == forwarding  # nor are a closed one's sysctls put back
    finally:
        for challenge in (isolated, natted, again):
            if challenge is not None:
                challenge.close()
    assert netns.list() == []


def test_a_check_cell_says_what_it_expected_and_found(english):
    checks.expect("the namespaces", ["netns2"], ["netns2"])  # equal: silent
    with pytest.raises(checks.CheckFailedError) as err:
        checks.expect("the namespaces", [], ["netns2"])
    assert str(err.value).splitlines()[0] == "✘ the namespaces: expected ['netns2'], found []"
    assert "run the lesson's cells above it again" in err.value.hint
    assert isinstance(err.value, AssertionError)  # still what `assert` raised, for code that catches it
