"""A world you can always get back: lesson.start, lesson.reset, `netlab reset`, and a challenge's snapshot."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import sh
from nbclient import NotebookClient

from netlab import Lab, netns, sysctl
from netlab.teach import challenges, lesson

NETLAB = str(Path(sys.executable).with_name("netlab"))
NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def root_links() -> set[str]:
    return {lk["ifname"] for lk in json.loads(sh("ip", "-j", "link").stdout)}


def nat_rules() -> list[str]:
    return [r for r in sh("iptables", "-t", "nat", "-S").stdout.splitlines() if r.startswith("-A ")]


def leave_a_mess() -> subprocess.Popen:
    """What notebook 03 stopped half-way and challenge 3 solved by hand leave behind."""
    for cmd in (
        "ip link add br0 type bridge",
        "ip netns add c1",
        "ip link add v-c1 type veth peer name eth0 netns c1",
        "ip link set v-c1 master br0 up",
        "ip netns add internet",
        "ip link add uplink type veth peer name eth0 netns internet",
        "nft add table ip demo",
        "sysctl -qw net.ipv4.ip_forward=1",
        "iptables -t nat -A POSTROUTING -s 10.0.0.0/24 -o uplink -j MASQUERADE",
        "touch /run/netns/broken",
        "ip netns add ghost",
    ):
        sh(*cmd.split())
    os.symlink("/proc/1/ns/net", netns.run_dir() / "by-symlink")
    # A web server left running in c1, and a sleeper keeping a deleted namespace alive.
    web = subprocess.Popen(["ip", "netns", "exec", "c1", "sleep", "600"])
    subprocess.Popen(["ip", "netns", "exec", "ghost", "sleep", "600"], start_new_session=True)
    return web


def test_a_lesson_start_in_a_sandbox_empties_the_world_and_says_what_it_removed():
    web = leave_a_mess()
    open_lab = Lab("internet_access")  # a re-run notebook's `lab`, still open in this process
    open_lab.netns("c2")
    open_lab.sysctl("net.ipv6.conf.all.forwarding", 1)
    done = lesson.start("03", quiet=True)
    text = str(done)
    assert text.startswith("netlab: lesson 03: removed ") and "\n" not in text
    for part in ("lab internet_access", "namespaces ", "c1", "ghost", "broken", "by-symlink", "nft table ip demo"):
        assert part in text, text
    assert "set net.ipv4.ip_forward back to 0" in text and "links br0" in text
    # Independent tools agree: nothing left.
    assert sh("ip", "netns", "list").stdout == "" and os.listdir(netns.run_dir()) == []
    assert root_links() == {"lo"} and sh("nft", "list", "ruleset").stdout == "" and nat_rules() == []
    assert sysctl.get("net.ipv4.ip_forward") == "0" and sysctl.get("net.ipv6.conf.all.forwarding") == "0"
    assert web.wait(timeout=5) != 0  # killed with its namespace
    assert str(lesson.start("04", quiet=True)) == "netlab: lesson 04: clean start"


def test_netlab_reset_empties_a_sandbox_and_dry_run_changes_nothing():
    web = leave_a_mess()
    dry = sh(NETLAB, "reset", "--dry-run")
    assert dry.stdout.startswith("(dry run) netlab: removed") and "c1" in dry.stdout
    assert "c1" in netns.list() and "br0" in root_links()
    out = sh(NETLAB, "reset")
    assert out.stdout.startswith("netlab: removed") and out.stdout.count("\n") == 1 and out.stderr == ""
    assert netns.list() == [] and root_links() == {"lo"} and nat_rules() == []
    assert sh(NETLAB, "reset").stdout == "netlab: clean start\n"
    web.wait(timeout=5)


@pytest.fixture
def machine(tmp_path, monkeypatch):
    """The VM's case, played in the sandbox: things the machine had before any lesson, and a baseline dir."""
    monkeypatch.setenv(lesson.STATE_DIR_ENV, str(tmp_path / "state"))
    sh("ip", "netns", "add", "machine1")
    sh("ip", "link", "add", "mach0", "type", "bridge")
    sh("nft", "add", "table", "inet", "mine")
    sh("sysctl", "-qw", "net.ipv4.ip_forward=1")  # the machine forwards (a Docker host, say)
    sh("iptables", "-t", "nat", "-A", "POSTROUTING", "-s", "172.17.0.0/16", "-j", "MASQUERADE")
    yield tmp_path / "state" / "baseline.json"
    sh("ip", "netns", "delete", "machine1")
    sh("ip", "link", "delete", "mach0")
    sh("nft", "delete", "table", "inet", "mine")
    sh("nft", "delete", "table", "ip", "nat", check=False)
    sh("sysctl", "-qw", "net.ipv4.ip_forward=0")


def test_on_a_machine_a_lesson_start_removes_only_the_kits_leftovers(machine):
    assert str(lesson.start("01", sandbox=False, quiet=True)) == "netlab: lesson 01: clean start"
    baseline = json.loads(machine.read_text())
    assert "machine1" in baseline["namespaces"] and "mach0" in baseline["links"]
    assert baseline["sysctls"]["net.ipv4.ip_forward"] == "1"
    sh("ip", "netns", "add", "c1")
    sh("ip", "link", "add", "br0", "type", "bridge")
    sh("ip", "link", "add", "hand0", "type", "bridge")  # the learner's own, not a lesson's
    sh("iptables", "-t", "nat", "-A", "POSTROUTING", "-s", "10.0.0.0/24", "-o", "uplink", "-j", "MASQUERADE")
    sh("sysctl", "-qw", "net.ipv4.ip_forward=0")
    text = str(lesson.start("03", sandbox=False, quiet=True))
    assert "namespaces c1" in text and "links br0" in text and "10.0.0.0/24" in text, text
    assert "set net.ipv4.ip_forward back to 1" in text and "hand0" not in text and "machine1" not in text
    assert netns.list() == ["machine1"] and {"mach0", "hand0"} <= root_links() and "br0" not in root_links()
    assert nat_rules() == ["-A POSTROUTING -s 172.17.0.0/16 -j MASQUERADE"]
    # A reset goes back to the baseline: the learner's own bridge goes too, the machine's stays.
    text = str(lesson.reset(sandbox=False))
    assert "hand0" in text and root_links() == {"lo", "mach0"} and netns.list() == ["machine1"]
    assert "inet mine" in sh("nft", "list", "tables").stdout and sysctl.get("net.ipv4.ip_forward") == "1"


def test_a_challenge_snapshot_takes_back_what_a_hand_made_solution_left():
    before = lesson.Snapshot.capture()
    sh("sysctl", "-qw", "net.ipv4.ip_forward=1")
    sh("iptables", "-t", "nat", "-A", "POSTROUTING", "-s", "10.0.0.0/24", "-o", "uplink", "-j", "MASQUERADE")
    sh("nft", "add", "table", "ip", "solution")
    done = before.restore()
    assert "set net.ipv4.ip_forward back to 0" in str(done) and "nft table ip solution" in str(done)
    assert nat_rules() == [] and "solution" not in sh("nft", "list", "tables").stdout
    assert sysctl.get("net.ipv4.ip_forward") == "0"
    sh("nft", "delete", "table", "ip", "nat", check=False)  # the empty table iptables-nft made


def test_the_reset_widget_resets():
    pytest.importorskip("ipywidgets")
    sh("ip", "netns", "add", "c1")
    box = lesson.reset_widget()
    button, output = box.children
    button.click()
    assert netns.list() == [] and "namespaces c1" in str(output.outputs)


# -- the proof: any lesson after any state -----------------------------------------------------


def run_notebook(path: Path, *, stop_after: int | None = None) -> list:
    """Run ``path`` with its lesson start (added if the notebook lacks it); the executed code cells."""
    nb = nbformat.read(path, as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    if "lesson.start" not in code[0].source:
        code[0].source = f"from netlab.teach import lesson; lesson.start({path.name[:2]!r})\n" + code[0].source
    client = NotebookClient(nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    done = []
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            client.execute_cell(cell, index)
            done.append(cell)
            if stop_after is not None and len(done) == stop_after:
                break  # the learner walks away: the kernel is shut down, nothing cleaned
    return done


def text(cell) -> str:
    return "".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", "")) for o in cell.outputs)


def cell_with(cells: list, source: str):
    """The executed cell whose source is ``source`` (a whole cell, or its first line)."""
    return next(cell for cell in cells if cell.source.strip() == source or cell.source.startswith(source + "\n"))


@pytest.mark.skipif(not (NOTEBOOKS / "03-internet-access.ipynb").exists(), reason="no notebooks here")
def test_03_half_way_then_challenge_3_by_hand_then_03_and_05_run_as_written():
    # 1. Notebook 03 up to NAT, then abandoned.
    run_notebook(NOTEBOOKS / "03-internet-access.ipynb", stop_after=12)
    assert sysctl.get("net.ipv4.ip_forward") == "1" and "ip demo" in sh("nft", "list", "tables").stdout
    # 2. Challenge 3 solved with the iptables command 03 shows, then closed; no lesson start in between.
    lesson.start("05", quiet=True)  # what 05's setup cell does, before the challenge is built
    natted = challenges.nat()
    sh("sysctl", "-qw", "net.ipv4.ip_forward=1")
    sh("iptables", "-t", "nat", "-A", "POSTROUTING", "-s", "10.0.0.0/24", "-o", "uplink", "-j", "MASQUERADE")
    assert natted.check()
    natted.close()  # takes back the hand-typed solution too
    assert sysctl.get("net.ipv4.ip_forward") == "0" and nat_rules() == [] and netns.list() == []
    # 3. 03 from the top: the ping that must fail fails, forwarding reads 0, the checks pass.
    cells = run_notebook(NOTEBOOKS / "03-internet-access.ipynb")
    assert "lesson 03: removed" in text(cells[0]) or "clean start" in text(cells[0])
    assert "100% packet loss" in text(cell_with(cells, "!ip netns exec c1 ping -c 1 -W 1 203.0.113.1"))
    assert "net.ipv4.ip_forward = 0" in text(cell_with(cells, "!sysctl net.ipv4.ip_forward"))
    # 4. 05 from the top, after all that.
    cells = run_notebook(NOTEBOOKS / "05-challenges.ipynb")
    assert "clean start" in text(cells[0]) or "lesson 05: removed" in text(cells[0])
    lesson.reset()
    sh("nft", "delete", "table", "ip", "nat", check=False)
