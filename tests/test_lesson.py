"""A world you can always get back: lesson.start, lesson.reset, `netlab reset`, and a challenge's snapshot."""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import termios
import time
from pathlib import Path

import nbformat
import pytest
from conftest import sh
from nbclient import NotebookClient

from netlab import Lab, inode, netns, sysctl
from netlab.lab import machine as machine_state
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
    """The VM's case, played in the sandbox: a machine with its own network, and a baseline directory.

    It has objects with the kit's own names (its ``veth0``, a namespace ``router`` running a service),
    iptables rules that mention the kit's addresses and devices, a firewall with a DROP policy in the
    legacy backend, its own nft table, and forwarding on (a Docker host). No lesson may touch any of it.
    """
    monkeypatch.setenv(machine_state.STATE_DIR_ENV, str(tmp_path / "state"))
    own = [
        "ip netns add svc",
        "ip link add veth3 type veth peer name mach-peer",
        "ip link add mach0 type bridge",
        "nft add table inet mine",
        "sysctl -qw net.ipv4.ip_forward=1",
        "iptables -t nat -A POSTROUTING -s 172.17.0.0/16 -j MASQUERADE",
        "iptables -A INPUT -s 203.0.113.0/24 -j DROP",
        "iptables -A FORWARD -s 10.0.0.0/8 -d 192.168.77.0/24 -j ACCEPT",
    ]
    for cmd in own:
        sh(*cmd.split())
    legacy = legacy_iptables_works()
    if legacy:
        for cmd in (
            "-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
            "-A INPUT -p tcp --dport 22 -j ACCEPT",
            "-A INPUT -s 10.1.1.0/24 -j ACCEPT",
            "-P INPUT DROP",
        ):
            sh("iptables-legacy", *cmd.split())
    service = subprocess.Popen(["ip", "netns", "exec", "svc", "sleep", "600"])
    before = machine_dump()
    try:
        yield tmp_path / "state"
        assert service.poll() is None, "the machine's own service was killed"
        assert machine_dump() == before, "the machine's own configuration changed"
    finally:  # the machine goes away even when a check failed, so the next test starts clean
        service.kill()
        service.wait()
        if legacy:
            sh("iptables-legacy", "-P", "INPUT", "ACCEPT")
            sh("iptables-legacy", "-F", "INPUT")
        sh("ip", "netns", "delete", "svc", check=False)
        sh("ip", "link", "delete", "veth3", check=False)
        sh("ip", "link", "delete", "mach0", check=False)
        for table in ("inet mine", "ip nat", "ip filter"):
            sh("nft", "delete", "table", *table.split(), check=False)
        sh("sysctl", "-qw", "net.ipv4.ip_forward=0")


def _no_counters(line: str) -> str:
    """``:OUTPUT ACCEPT [2:80]`` without its packet counters: traffic, not configuration."""
    return re.sub(r" \[\d+:\d+\]$", "", line)


def legacy_iptables_works() -> bool:
    """Whether this world has a usable iptables-legacy (as nobody, its lock file in /run is out of reach)."""
    return shutil.which("iptables-legacy") is not None and sh("iptables-legacy", "-S", check=False).returncode == 0


def machine_dump() -> dict[str, object]:
    """The machine's configuration, read with its own tools."""
    saves = [sh(save, check=False).stdout for save in ("iptables-save", "iptables-legacy-save") if shutil.which(save)]
    return {
        "links": sorted((lk["ifindex"], lk["ifname"]) for lk in json.loads(sh("ip", "-j", "link").stdout)),
        "netns": sh("ip", "netns", "list").stdout,
        # a policy's packet counters are traffic, not configuration
        "rules": [
            re.sub(r" \[\d+:\d+\]$", "", line) for text in saves for line in text.splitlines() if line[:1] in "-:"
        ],
        "nft": sh("nft", "list", "ruleset").stdout,
        "ip_forward": sysctl.get("net.ipv4.ip_forward"),
    }


def test_on_a_machine_a_lesson_start_removes_only_the_kits_leftovers(machine):
    assert str(lesson.start("01", sandbox=False, quiet=True)) == "netlab: lesson 01: clean start"
    assert list(machine.glob("baseline-net-*.json")), "the baseline was not written down"
    sh("ip", "netns", "add", "c1")
    sh("ip", "link", "add", "br0", "type", "bridge")
    sh("ip", "link", "add", "hand0", "type", "bridge")  # made since, but not a lesson's: listed, left
    sh("iptables", "-t", "nat", "-A", "POSTROUTING", "-s", "10.0.0.0/24", "-o", "uplink", "-j", "MASQUERADE")
    sh("sysctl", "-qw", "net.ipv4.ip_forward=0")
    text = str(lesson.start("03", sandbox=False, quiet=True))
    assert "namespaces c1" in text and "links br0" in text and "10.0.0.0/24" in text, text
    assert "set net.ipv4.ip_forward back to 1" in text and "hand0" not in text and "svc" not in text
    assert netns.list() == ["svc"] and {"mach0", "hand0", "veth3"} <= root_links() and "br0" not in root_links()
    # A reset lists what it cannot prove is netlab's, with the command, and leaves it.
    text = str(lesson.reset(sandbox=False))
    assert "ip link delete hand0" in text and "hand0" in root_links(), text
    sh("ip", "link", "delete", "hand0")


def test_on_a_machine_what_appeared_after_the_first_lesson_is_listed_not_removed(machine):
    lesson.start("01", sandbox=False, quiet=True)
    made_since = [
        "ip link add docker0 type bridge",
        "ip netns add vpn",
        "nft add table inet vpnfw",
        "iptables -t nat -A POSTROUTING -s 172.18.0.0/16 ! -o docker0 -j MASQUERADE",
    ]
    for cmd in made_since:
        sh(*cmd.split())
    sleeper = subprocess.Popen(["ip", "netns", "exec", "vpn", "sleep", "600"])
    done = lesson.reset(sandbox=False)
    assert "docker0" in root_links() and netns.list() == ["svc", "vpn"] and sleeper.poll() is None
    assert "vpnfw" in sh("nft", "list", "tables").stdout and "172.18.0.0/16" in sh("iptables-save").stdout
    assert {"ip link delete docker0", "ip netns delete vpn"} <= set(done.left), done.left
    assert any(line.startswith("iptables -t nat -D POSTROUTING -s 172.18.0.0/16") for line in done.left), done.left
    sleeper.kill()
    sleeper.wait()
    for cmd in ("ip link delete docker0", "ip netns delete vpn", "nft delete table inet vpnfw"):
        sh(*cmd.split())
    sh("iptables", "-t", "nat", "-D", "POSTROUTING", "-s", "172.18.0.0/16", "!", "-o", "docker0", "-j", "MASQUERADE")


def test_a_lesson_whose_names_the_machine_has_stops_and_changes_nothing(machine):
    lesson.start("01", sandbox=False, quiet=True)
    sh("ip", "netns", "add", "netns1")  # a leftover of lesson 01: it must survive 02's refusal too
    with pytest.raises(lesson.LessonBlockedError) as refused:
        lesson.start("02", sandbox=False, quiet=True)  # 02 makes its own veth3
    assert "veth3" in refused.value.message and "nothing was changed" in refused.value.message
    assert "netns1" in netns.list()
    lesson.reset(sandbox=False)
    assert netns.list() == ["svc"]


@pytest.mark.parametrize(
    "plant",
    [
        "world-writable",
        "symlink",
        "not-json",
    ],
)
def test_a_planted_baseline_is_named_and_ignored(machine, plant):
    machine.mkdir(mode=0o755, exist_ok=True)
    file = machine / f"baseline-net-{inode()}.json"
    fake = {"boot": machine_state.boot_id(), "netns": inode(), "time": 0, "world": machine_state.World().to_json()}
    fake["world"]["links"] = {"1": "lo"}  # "the machine had only lo": a reset would then delete the rest
    if plant == "world-writable":
        file.write_text(json.dumps(fake))
        file.chmod(0o666)
    elif plant == "symlink":
        target = machine / "elsewhere.json"
        target.write_text(json.dumps(fake))
        file.symlink_to(target)
    else:
        file.write_text("{")
    done = lesson.start("01", sandbox=False, quiet=True)
    assert any(str(file) in problem for problem in done.problems), done.problems
    assert not file.is_symlink() and file.stat().st_mode & 0o022 == 0  # replaced by a trusted one
    assert "mach0" in root_links()
    lesson.reset(sandbox=False)


def test_a_lesson_open_in_another_notebook_keeps_its_world(machine, tmp_path):
    """Notebook 03 half-way in one tab (another process), 05 started in a second tab."""
    other = subprocess.Popen(
        [sys.executable, "-c", OPEN_03, str(tmp_path / "ready")], env={**os.environ}, stdin=subprocess.PIPE
    )
    try:
        for _tick in range(300):
            if (tmp_path / "ready").exists() or other.poll() is not None:
                break
            time.sleep(0.05)
        assert (tmp_path / "ready").exists(), "the other notebook did not start"
        done = lesson.start("05", sandbox=False, quiet=True)
        assert "c1" in netns.list() and "br0" in root_links(), str(done)
        assert any("namespace c1" in line and "lesson 03" in line for line in done.held), done.held
        assert sysctl.get("net.ipv4.ip_forward") == "1"
    finally:
        other.communicate(b"", timeout=30)  # the other tab closes: its kernel ends
    done = lesson.start("05", sandbox=False, quiet=True)  # now 03's world is a leftover
    assert "namespaces c1" in str(done) and "c1" not in netns.list(), str(done)
    lesson.reset(sandbox=False)


OPEN_03 = """
import sys
from pathlib import Path
from netlab.teach import lesson
import subprocess
lesson.start("03", sandbox=False, quiet=True)
for cmd in ("ip netns add c1", "ip link add br0 type bridge", "sysctl -qw net.ipv4.ip_forward=1"):
    subprocess.run(cmd.split(), check=True)
Path(sys.argv[1]).touch()
sys.stdin.read()
"""


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


def test_on_a_machine_that_drops_and_forwards_lesson_03_opens_a_door_and_turns_forwarding_off(machine):
    """A server's DROP policy and a Docker host's forwarding: 03 runs as written, and both come back."""
    done = lesson.start("03", sandbox=False, quiet=True)
    notes = "\n".join(done.notes)
    assert "net.ipv4.ip_forward=1" in notes and sysctl.get("net.ipv4.ip_forward") == "0", notes
    assert lesson.machine_value("net.ipv4.ip_forward", sandbox=False) == "1"
    if legacy_iptables_works():
        saved = sh("iptables-legacy-save").stdout
        assert '-A INPUT -i br0 -m comment --comment "netlab lesson 03" -j ACCEPT' in saved, saved
        assert ":INPUT DROP" in saved and "let br0 in" in notes  # the policy itself stays
    assert "uplink" not in sh("iptables-save").stdout  # the nft backend accepts by default: no door there
    text = str(lesson.reset(sandbox=False))
    assert "netlab: set net.ipv4.ip_forward back to 1" in text or "; set net.ipv4.ip_forward back to 1" in text, text
    assert ("netlab lesson 03" in text) == legacy_iptables_works(), text  # the door, closed


def test_a_lesson_start_spares_what_the_learner_typed_in_a_terminal():
    """04's first cell run again while shell 1 sits in netns1: the shell lives on; the kernel's own go."""
    sh("ip", "netns", "add", "netns1")
    netns1 = os.stat("/run/netns/netns1").st_ino
    controller, terminal = os.openpty()

    def in_the_terminal() -> None:  # after setsid: the pty becomes the controlling terminal, as in a shell
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    argv = ["ip", "netns", "exec", "netns1", "sleep", "600"]
    typed = subprocess.Popen(
        argv, stdin=terminal, stdout=terminal, stderr=terminal, start_new_session=True, preexec_fn=in_the_terminal
    )
    started = subprocess.Popen(argv, start_new_session=True)  # as netlab.popen starts one: no terminal
    try:
        deadline = time.monotonic() + 30
        while not all(_net_inode(p.pid) == netns1 for p in (typed, started)):
            assert time.monotonic() < deadline, "the sleeps never reached netns1"
            time.sleep(0.05)
        done = lesson.start("04", sandbox=True, quiet=True)
        assert started.wait(timeout=30) == -9  # the kernel's own: stopped with the namespace
        assert typed.poll() is None and _net_inode(typed.pid) == netns1  # the learner's: still there, in it
        assert any(f"process {typed.pid} (sleep) was typed in a terminal" in held for held in done.held), done.held
        assert "netns1" not in sh("ip", "netns", "list").stdout  # the name went all the same
    finally:
        for proc in (typed, started):
            proc.kill()
            proc.wait()
        os.close(controller)
        os.close(terminal)


def _net_inode(pid: int) -> int | None:
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino
    except OSError:
        return None
