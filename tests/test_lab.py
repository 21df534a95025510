"""The Lab: the article end to end, ownership, rollback, two labs at once, teardown in every way out."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from conftest import sh

from netlab import Lab, links, netns, sysctl
from netlab.errors import DeviceError, DeviceExistsError, NamespaceExistsError, NetlabError
from netlab.lab import journal


def ip_links(netns_name: str | None = None) -> dict[str, dict]:
    prefix = ["ip", "-n", netns_name] if netns_name else ["ip"]
    return {lk["ifname"]: lk for lk in json.loads(sh(*prefix, "-j", "-d", "link").stdout)}


def test_the_articles_veth_scenario_end_to_end():
    with Lab("article") as lab:
        lab.netns("netns1")  # ip netns add netns1
        lab.veth("veth0", "veth1")  # ip link add veth0 type veth peer name veth1
        lab.move("veth1", "netns1")  # ip link set veth1 netns netns1
        lab.add_address("veth1", "10.1.1.1/24", netns="netns1")
        lab.up("veth1", netns="netns1")  # ifconfig veth1 10.1.1.1/24 up (in netns1)
        lab.add_address("veth0", "10.1.1.2/24")
        lab.up("veth0")  # ifconfig veth0 10.1.1.2/24 up
        # The article's two pings; the second from inside netns1 (the article ran it at the root prompt).
        there, back = lab.ping(None, "10.1.1.1", count=2), lab.ping("netns1", "10.1.1.2")
        assert there.ok and back.ok and there.loss == 0.0
        # independent tools agree
        assert sh("ip", "netns", "list").stdout.split()[0] == "netns1"
        assert "veth1" not in ip_links() and "veth1" in ip_links("netns1")
        assert sh("ping", "-c", "1", "-W", "1", "10.1.1.1").returncode == 0
        assert sh("ip", "netns", "exec", "netns1", "ping", "-c", "1", "-W", "1", "10.1.1.2").returncode == 0
        # the lab marks what it owns, in the kernel too
        assert ip_links()["veth0"]["ifalias"] == "netlab:article"
        history = str(lab.history)
    assert history.splitlines()[:7] == [
        "ip netns add netns1",
        "ip link add veth0 type veth peer name veth1",
        "ip link set veth1 netns netns1",
        "ip -n netns1 addr add 10.1.1.1/24 dev veth1",
        "ip -n netns1 link set veth1 up",
        "ip addr add 10.1.1.2/24 dev veth0",
        "ip link set veth0 up",
    ]
    assert "ping" in history and "ip netns delete netns1" in str(lab.history)
    assert sh("ip", "netns", "list").stdout == "" and "veth0" not in ip_links()
    assert not (journal.record_dir() / "article.jsonl").exists()


def test_an_exception_inside_the_with_block_still_tears_down():
    with pytest.raises(ZeroDivisionError), Lab() as lab:
        lab.netns("doomed")
        lab.bridge("br-doomed")
        raise ZeroDivisionError("an error in the middle of the with block")
    assert netns.list() == [] and "br-doomed" not in ip_links()


def test_a_failed_step_rolls_back_what_it_did():
    with Lab() as lab:
        lab.netns("ns1")
        before = len(lab.history)
        # connect = veth pair + address + up + route; the gateway is not on the subnet, so the last part fails
        with pytest.raises(DeviceError) as err:
            lab.connect("ns1", address="10.0.0.2/24", gateway="192.168.99.1")
        assert "192.168.99.1" in str(err.value) and err.value.hint
        assert "v-ns1" not in ip_links() and "eth0" not in ip_links("ns1")  # the pair is gone again
        assert len(lab.history) == before  # and so are its commands
        assert lab.record.of("link") == []
        lab.connect("ns1", address="10.0.0.2/24", host_address="10.0.0.1/24")  # the same step, done right
        assert lab.ping("ns1", "10.0.0.1").ok


def test_star_rolls_back_when_a_name_is_taken():
    sh("ip", "link", "add", "v-s3", "type", "dummy", check=False)  # no dummy module here: use a veth
    if "v-s3" not in ip_links():
        sh("ip", "link", "add", "v-s3", "type", "veth", "peer", "name", "v-s3p")
    try:
        with Lab() as lab:
            with pytest.raises(DeviceExistsError) as err:
                lab.star(["s1", "s2", "s3"], bridge="br-star")
            assert "v-s3" in str(err.value)
            assert netns.list() == [] and "br-star" not in ip_links() and "v-s1" not in ip_links()
    finally:
        sh("ip", "link", "delete", "v-s3")


def test_star_builds_a_reachable_lab():
    with Lab() as lab:
        names = lab.star(12, subnet="10.20.0.0/24")
        assert names[0] == "ns1" and len(netns.list()) == 12
        assert [p["ifname"] for p in json.loads(sh("ip", "-j", "link", "show", "master", "br0").stdout)] == [
            f"v-ns{i}" for i in range(1, 13)
        ]
        route = json.loads(sh("ip", "-n", "ns7", "-j", "route").stdout)
        assert {"dst": "default", "gateway": "10.20.0.1"}.items() <= route[0].items()
        assert lab.ping("ns1", "10.20.0.13").ok and lab.ping("ns12", "10.20.0.1").ok


def test_two_labs_side_by_side_and_name_collisions():
    with Lab("alpha") as alpha, Lab("beta") as beta:
        alpha.netns("shared")
        with pytest.raises(NamespaceExistsError) as err:
            beta.netns("shared")
        assert "lab 'alpha'" in str(err.value) and "running" in str(err.value)
        alpha.bridge("br0")
        with pytest.raises(DeviceExistsError) as err:
            beta.bridge("br0")
        assert "lab 'alpha'" in str(err.value)
        beta.netns("beta1")
        beta.bridge("br1")
        assert sorted(journal.lab_ids()) == ["alpha", "beta"]
        alpha.close()
        assert "br1" in ip_links() and netns.list() == ["beta1"]  # closing alpha left beta alone
    assert netns.list() == []


def test_name_taken_by_hand_is_not_taken_over():
    sh("ip", "netns", "add", "mine")
    try:
        with Lab() as lab:
            with pytest.raises(NamespaceExistsError) as err:
                lab.netns("mine")
            assert "mine" in str(err.value)
        assert netns.list() == ["mine"]  # still there, untouched
    finally:
        sh("ip", "netns", "delete", "mine")


def test_sysctl_restored_and_shared_between_labs():
    original = sysctl.get("net.ipv4.ip_forward")
    with Lab() as first:
        assert first.sysctl("net.ipv4.ip_forward", 1) == original
        with Lab() as second:
            second.sysctl("net.ipv4.ip_forward", 1)
            first.close()  # the second lab still needs forwarding: it stays on
            assert sysctl.get("net.ipv4.ip_forward") == "1"
        assert sysctl.get("net.ipv4.ip_forward") == original  # the last one out restores the original


def test_a_devices_moved_into_the_lab_is_recorded_where_it_is(ns):
    with Lab() as lab:
        lab.veth("veth0", "veth1", peer_netns=ns)  # the peer is born in a namespace the lab does not own
        lab.rename("veth1", "eth0", netns=ns)
        lab.move("eth0", None, netns=ns, new_name="back0")
        assert {"veth0", "back0"} <= set(ip_links())
    assert "veth0" not in ip_links() and "back0" not in ip_links() and ns in netns.list()


def test_lab_processes_are_stopped():
    with Lab() as lab:
        lab.netns("srv")
        proc = lab.popen("srv", ["sleep", "60"])
        assert netns.pids("srv") == [proc.pid]
    assert proc.poll() is not None


def test_close_is_idempotent_and_a_closed_lab_refuses_work():
    lab = Lab()
    lab.netns("once")
    report = lab.close()
    assert any("namespace once" in item for item in report.removed)
    assert lab.close() is None
    with pytest.raises(NetlabError) as err:
        lab.netns("again")
    assert "closed" in str(err.value)


def test_echo_prints_each_command(capsys):
    with Lab(echo=True) as lab:
        lab.netns("echo1")
    out = capsys.readouterr().out
    assert out.splitlines() == ["ip netns add echo1", "ip netns delete echo1"]


def test_history_replays_as_a_shell_script():
    with Lab() as lab:
        lab.netns("a1")
        lab.veth("va", "vb", peer_netns="a1")
        script = lab.history.script()
    assert script.startswith("#!/bin/sh\nset -e\n")
    assert "ip link add va type veth peer name vb netns a1\n" in script


def test_interpreter_exit_tears_down_an_open_lab():
    """A Jupyter kernel restart ends the interpreter: atexit closes the labs still open."""
    code = textwrap.dedent("""
        from netlab import Lab
        lab = Lab("forgotten")
        lab.netns("left-open")
        lab.bridge("br-open")
        print("built", flush=True)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "built\n"
    assert netns.list() == [] and "br-open" not in ip_links() and "forgotten" not in journal.lab_ids()


def test_a_dead_lab_of_the_same_name_is_recovered_first():
    code = textwrap.dedent("""
        import os
        from netlab import Lab
        lab = Lab("phoenix")
        lab.netns("ashes")
        os._exit(0)          # like kill -9: no finally, no atexit
    """)
    subprocess.run([sys.executable, "-c", code], check=True)
    assert netns.list() == ["ashes"]
    with Lab("phoenix") as lab:
        assert netns.list() == [] and lab.recovered is not None
        assert any("ashes" in item for item in lab.recovered.removed)


def test_links_view_shows_lab_marks():
    with Lab("marks") as lab:
        lab.bridge("br-m")
        (bridge,) = [lk for lk in links.list() if lk.name == "br-m"]
        assert bridge.alias == "netlab:marks" and bridge.kind == "bridge" and bridge.mac.startswith("02:")


def test_star_marks_and_journals_every_pair_and_replays_as_ip_commands():
    with Lab("starred") as lab:
        names = lab.star(4, bridge="br-j", subnet="10.21.0.0/24")
        root = ip_links()
        record = lab.record
        for name in names:
            host = root[f"v-{name}"]
            assert host["ifalias"] == "netlab:starred" and host["master"] == "br-j" and "UP" in host["flags"]
            inside = ip_links(name)
            assert inside["lo"]["operstate"] == "UNKNOWN" and "UP" in inside["eth0"]["flags"]
            # the journal knows each namespace by inode, and each end by namespace and MAC
            assert record.find("netns", name=name)["inode"] == netns.path(name).stat().st_ino
            ends = [record.find("link", name=f"v-{name}", mac=host["address"])]
            ends.append(record.find("link", name="eth0", mac=inside["eth0"]["address"]))
            assert None not in ends and ends[0]["pair"] == ends[1]["seq"] and ends[1]["pair"] == ends[0]["seq"]
        script = lab.history.script()
        assert "ip netns add ns4" in script and "ip -n ns4 route add default via 10.21.0.1" in script
        assert "ip -n ns2 addr add 10.21.0.3/24 dev eth0" in script
    assert netns.list() == [] and "br-j" not in ip_links()


def test_star_of_a_namespace_name_taken_by_hand_builds_nothing():
    sh("ip", "netns", "add", "s2")
    try:
        with Lab() as lab:
            with pytest.raises(NamespaceExistsError) as err:
                lab.star(["s1", "s2", "s3"], bridge="br-t")
            assert "'s2'" in str(err.value) and "no lab made it" in str(err.value)
            assert netns.list() == ["s2"] and "br-t" not in ip_links() and "v-s1" not in ip_links()
            assert lab.namespaces == [] and not lab.record.of("link")
    finally:
        sh("ip", "netns", "delete", "s2")


def test_star_bigger_than_one_batch_is_wired_throughout():
    from netlab.lab.wiring import _CHUNK

    with Lab() as lab:
        count = _CHUNK + 3
        lab.star(count, subnet="10.22.0.0/16")
        ports = json.loads(sh("ip", "-j", "link", "show", "master", "br0").stdout)
        assert len(ports) == count and len(netns.list()) == count
        last = json.loads(sh("ip", "-n", f"ns{count}", "-j", "addr", "show", "eth0").stdout)
        assert last[0]["addr_info"][0]["local"] == f"10.22.0.{count + 1}"
        assert lab.ping(f"ns{count}", "10.22.0.2").ok and lab.ping(f"ns{_CHUNK}", f"10.22.0.{count + 1}").ok
    assert netns.list() == []


def test_a_lab_made_again_in_the_same_process_starts_over(capsys):
    """``lab = netlab.Lab("veth_pair")`` run twice (a notebook cell): the earlier lab closes, the cell builds again."""
    first = Lab("rerun")
    first.netns("rerun1")
    first.bridge("br-rerun")
    server = first.popen("rerun1", ["sleep", "600"])
    second = Lab("rerun")  # no LabExistsError
    try:
        assert "closed the lab 'rerun' opened earlier in this process, to start it over" in capsys.readouterr().err
        assert server.poll() is not None and "rerun1" not in sh("ip", "netns", "list").stdout
        assert "br-rerun" not in ip_links()
        second.netns("rerun1")  # the rest of the cell works again
        second.bridge("br-rerun")
        assert "rerun1" in sh("ip", "netns", "list").stdout and "br-rerun" in ip_links()
        assert journal.lab_ids() == ["rerun"]
    finally:
        second.close()
    assert first.close() is None  # closed already: nothing to do


def test_a_lab_of_the_same_name_in_another_process_is_never_touched():
    with Lab("theirs") as lab:
        lab.netns("theirs1")
        code = (
            "from netlab import Lab, LabExistsError\ntry:\n    Lab('theirs')\nexcept LabExistsError as e:\n    print(e)"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
        assert "already running" in out and "theirs1" in netns.list()
