"""Every notebook runs top to bottom in a real kernel, in the sandbox, and does what it says.

Cells tagged ``check:NAME`` are followed by a check from this file that looks at the kernel state with
independent tools (``ip -j``, ``findmnt``), from outside the notebook: the notebook's kernel runs in the
same sandbox world as this test. Each notebook is run twice to prove it can be re-run from the top.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from conftest import sh
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9][0-9]-*.ipynb"))
TIMINGS = Path(__file__).resolve().parent.parent / "test-artifacts" / "timings"  # read by scripts/agenda
# Seconds per cell; the target is under 10 s. A VM under emulation (scripts/vm-test) is ten times
# slower and sets NETLAB_CELL_TIMEOUT.
CELL_TIMEOUT = int(os.environ.get("NETLAB_CELL_TIMEOUT", "30"))
# Seconds for a kernel to start: a VM under emulation, loaded, needs minutes (NETLAB_KERNEL_STARTUP).
KERNEL_STARTUP = int(os.environ.get("NETLAB_KERNEL_STARTUP", "60"))


def _addresses(netns: str | None, dev: str) -> tuple[str, list[str]]:
    argv = ["ip", "-j", "addr", "show", "dev", dev]
    if netns:
        argv = ["ip", "-n", netns, "-j", "addr", "show", "dev", dev]
    [link] = json.loads(sh(*argv).stdout)
    return link["operstate"], [f"{a['local']}/{a['prefixlen']}" for a in link["addr_info"] if a["family"] == "inet"]


# Colour and text attributes on a terminal: newer iproute2 colours its output there, and a notebook's `!`
# runs the command on a pseudo-terminal, so `state DOWN` can come out as `state \x1b[1;31mDOWN\x1b[0m`.
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _text(cell) -> str:
    """What the learner reads in the cell's output, without the terminal's colour codes."""
    raw = "".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", "")) for o in cell.outputs)
    return ANSI_ESCAPE.sub("", raw)


def check_doctor_ok(cell) -> None:
    assert "all required checks passed" in _text(cell), _text(cell)


def check_netns1_created(cell) -> None:
    assert "netns1" in sh("ip", "netns", "list").stdout.split()
    # Every line nsfs: on a shared /run (a real machine, the VM) iproute2 < 7.0 shows the mount twice.
    assert set(sh("findmnt", "-n", "-o", "FSTYPE", "/run/netns/netns1").stdout.split()) == {"nsfs"}


def check_lo_down(cell) -> None:
    assert "state DOWN" in _text(cell) and len(_text(cell).strip().splitlines()) == 2  # only lo


def check_veth_addresses(cell) -> None:
    assert _addresses("netns1", "veth1") == ("UP", ["10.1.1.1/24"])
    assert _addresses(None, "veth0") == ("UP", ["10.1.1.2/24"])


def check_ping_ok(cell) -> None:
    text = _text(cell)
    # "0% packet loss", or in the learner's language ("0% Paketverlust"): the number is what counts.
    assert re.search(r"(?<![\d.])0% ", text), text


def check_held_by_a_mount(cell) -> None:
    """01: no process is inside netns1, yet it exists: its bind mount, and nothing else, holds it (in English here).

    One holder also where mountinfo lists the mount twice (a shared /run: the VM, a host; see
    test_notebook_01_on_a_shared_run).
    """
    text = _text(cell)
    assert re.search(r"^\('net:\[\d+\]', \[\], \['bind mount /run/netns/netns1'\]\)$", text, re.M), text
    assert sh("ip", "netns", "pids", "netns1").stdout.strip() == ""


def check_held_by_an_fd(cell) -> None:
    """04: netns1 lost its name, and only an open file descriptor holds it."""
    text = _text(cell)
    assert re.search(r"^\(\[\], \['open fd \d+ of process \d+'\]\)", text, re.M), text
    assert "netns1" not in sh("ip", "netns", "list").stdout.split()


def check_unnamed_namespace(cell) -> None:
    assert "netns1" not in sh("ip", "netns", "list").stdout.split()  # a new namespace, with no name yet
    assert "✔ a process in a new network namespace" in _text(cell), _text(cell)


def check_persisted(cell) -> None:
    assert set(sh("findmnt", "-n", "-o", "FSTYPE", "/run/netns/netns1").stdout.split()) == {"nsfs"}
    assert sh("ip", "netns", "pids", "netns1").stdout.strip() == ""  # no process left inside


def _packet_rows(cell, point: str) -> list[str]:
    """The summaries of a packet table's rows captured at ``point`` (the table's text form)."""
    rows = [line.split() for line in _text(cell).splitlines() if re.match(r"\d+\s+\d+\.\d+\s", line)]
    return [" ".join(row[4:]) for row in rows if row[2] == point]


def check_arp_then_icmp(cell) -> None:
    """02: both ends of the pair saw who-has, is-at, then the echo request and reply, in that order."""
    for point in ("veth0", "netns1:veth1"):
        seen = [s for s in _packet_rows(cell, point)]
        kinds = [next(k for k in ("who-has", "is-at", "echo request", "echo reply") if k in s) for s in seen]
        assert kinds == ["who-has", "is-at", "echo request", "echo reply"], (point, seen)


def check_icmp_without_arp(cell) -> None:
    """02: the second ping went out with no ARP: the neighbour table already had the answer."""
    seen = _packet_rows(cell, "veth0")
    assert len(seen) >= 2 and "echo request" in seen[0] and "echo reply" in seen[1], seen
    # After the reply, only ARP may follow: netns1 confirming its own entry for 10.1.1.2 (a STALE entry,
    # used for the reply, is probed a few seconds later), which a capture that closes late on a busy
    # machine sees. The request itself went out without asking.
    assert all(row.startswith("ARP, ") for row in seen[2:]), seen
    assert "ARP" not in _text(cell)
    assert "10.1.1.1" in sh("ip", "neigh", "show", "dev", "veth0").stdout  # the entry it used


def check_masquerade_seen(cell) -> None:
    """03: the request leaves c1 from 10.0.0.2 and the uplink from 203.0.113.2; the reply is rewritten back."""
    inside, outside = _packet_rows(cell, "c1:eth0"), _packet_rows(cell, "uplink")
    assert any(s.startswith("IP 10.0.0.2 > 203.0.113.1: ICMP echo request") for s in inside), inside
    assert any(s.startswith("IP 203.0.113.2 > 203.0.113.1: ICMP echo request") for s in outside), outside
    assert any(s.startswith("IP 203.0.113.1 > 203.0.113.2: ICMP echo reply") for s in outside), outside
    assert any(s.startswith("IP 203.0.113.1 > 10.0.0.2: ICMP echo reply") for s in inside), inside


def check_dnat_seen(cell) -> None:
    """03: the same SYN goes to 203.0.113.2:8080 outside and to 10.0.0.2:80 inside; the page was served."""
    text = _text(cell)
    assert "200 OK" in text, text
    assert "('internet:eth0', 'SYN', '203.0.113.1:" in text and "> 203.0.113.2:8080')" in text, text
    assert "('c1:eth0', 'SYN', '203.0.113.1:" in text and "> 10.0.0.2:80')" in text, text


def check_nd_then_icmp6(cell) -> None:
    """08: both ends of the pair saw neighbour solicitation and advertisement, then the echo, as 02 saw ARP."""
    order = ("neighbor solicitation", "neighbor advertisement", "echo request", "echo reply")
    for point in ("veth0", "netns1:veth1"):
        seen = _packet_rows(cell, point)
        kinds = [next((k for k in order if k in s), s) for s in seen]
        assert kinds == list(order), (point, seen)


def check_masquerade6_seen(cell) -> None:
    """08: NAT66: the echo leaves c1 from 2001:db8:2::2 and the router's uplink from 2001:db8:ff::2."""
    inside, outside = _packet_rows(cell, "c1:eth0"), _packet_rows(cell, "router:uplink")
    assert any(s.startswith("IP6 2001:db8:2::2 > 2001:db8:ff::1") for s in inside), inside
    assert any(s.startswith("IP6 2001:db8:ff::2 > 2001:db8:ff::1") for s in outside), outside


def check_article_shells(cell) -> None:
    """04: every step of the two-shell experiment was seen, and nothing of it is left."""
    text = _text(cell)
    assert "✔ done: the article's two shells" in text and "✘" not in text, text
    assert "netns1" not in sh("ip", "netns", "list").stdout.split()
    assert not sh("findmnt", "-n", "/run/netns/netns1", check=False).stdout.strip()


CHECKS = {name[len("check_") :].replace("_", "-"): fn for name, fn in globals().items() if name.startswith("check_")}


def run_notebook(path: Path) -> dict[str, float]:
    """Execute ``path`` cell by cell; run the tagged checks; return each cell's duration."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        startup_timeout=KERNEL_STARTUP,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    durations = {}
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            start = time.monotonic()
            client.execute_cell(cell, index)  # raises CellExecutionError if the cell raised
            durations[cell.id] = time.monotonic() - start
            for tag in cell.metadata.get("tags", []):
                if tag.startswith("check:"):
                    CHECKS[tag[len("check:") :]](cell)
    return durations


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom_twice(path: Path):
    first = run_notebook(path)
    again = run_notebook(path)  # re-runnable from the top, without manual fixing
    slowest = max(first.values(), default=0)
    try:  # each cell's seconds on its first run, for the teachers' agenda (scripts/agenda)
        TIMINGS.mkdir(parents=True, exist_ok=True)
        (TIMINGS / f"{path.stem}.json").write_text(json.dumps({k: round(v, 3) for k, v in first.items()}, indent=1))
    except PermissionError:
        pass  # the rootless run cannot write into the clone; the root run records them
    print(f"{path.name}: {sum(first.values()):.1f} s, slowest cell {slowest:.1f} s; re-run {sum(again.values()):.1f} s")


CHINESE = sorted((Path(__file__).resolve().parent.parent / "notebooks" / "zh-CN").glob("[0-9][0-9]-*.ipynb"))


def _tracebacks(cell) -> list[str]:
    """The Python errors a cell showed as tracebacks (a netlab error shows as one line, and is not one)."""
    return [f"{o.ename}: {o.evalue}" for o in cell.outputs if o.output_type == "error"]


@pytest.mark.parametrize(
    "path", NOTEBOOKS + CHINESE, ids=[p.stem for p in NOTEBOOKS] + [f"zh-CN-{p.stem}" for p in CHINESE]
)
def test_every_cell_runs_twice_in_a_row(path: Path):
    """A learner runs a cell again (Shift+Enter twice): no traceback, and the cell's check still holds.

    A cell that mirrors a command which fails when repeated (``ip netns add netns1``) may fail as the
    command does: a line of the command's own, or netlab's message and hint; never a traceback.
    """
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(path.parent)}},
    )
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            client.execute_cell(cell, index)
            assert not _tracebacks(cell), f"{path.name} {cell.id} (first run): {_tracebacks(cell)}"
            client.execute_cell(cell, index)
            assert not _tracebacks(cell), f"{path.name} {cell.id} (run twice): {_tracebacks(cell)}\n{_text(cell)}"
            for tag in cell.metadata.get("tags", []):
                if tag.startswith("check:"):
                    CHECKS[tag[len("check:") :]](cell)
        # What a second run may leave behind, the notebook's last cell takes away like the first run's.


def test_notebook_01_on_a_shared_run():
    """Notebook 01 as the VM runs it: systemd's /run is a shared mount, so `ip netns add` mounts netns1 twice.

    tests/vm/run_notebooks.py (what scripts/vm-test runs in the VM) runs it, with its checks and the check
    that it leaves the machine as it found it, in a throwaway mount namespace whose /run is a fresh shared
    tmpfs (the sandbox's own /run is private, and shows each mount once).
    """
    runner = Path(__file__).resolve().parent / "vm" / "run_notebooks.py"
    shared_run = 'mount -t tmpfs netlab-test /run && mount --make-shared /run && exec "$@"'
    argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", shared_run, "sh", sys.executable]
    result = subprocess.run([*argv, str(runner), "01"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0 and "01-basic-management.ipynb: ok (" in result.stdout, result.stdout + result.stderr


def test_vm_runner_blames_a_run_for_what_it_left_itself(ns_name: str):
    """The VM's runner names what a run left (a name, a process it started), and stops the process."""
    runner = Path(__file__).resolve().parent / "vm" / "run_notebooks.py"
    leaves = f"ip netns add {ns_name}; sleep 300 & exit 0"  # the sleep carries the run's mark, and outlives it
    result = subprocess.run(
        [sys.executable, str(runner), "--command", "--", "sh", "-c", leaves],
        capture_output=True,
        text=True,
        timeout=120,
    )
    [line] = [line for line in result.stdout.splitlines() if line.startswith("sh -c ")]
    assert result.returncode == 1 and f": FAILED: left: added netns {ns_name}, process " in line, result.stdout
    assert line.endswith(" s)") and "(sleep) still running, stopped" in line, line
    assert f"the machine afterwards: not as before: added netns {ns_name}" in result.stdout, result.stdout


def test_vm_runner_holds_each_run_to_what_it_did_itself():
    """01 fails and leaves netns1; 02 removes it on its way and adds nothing: 02 is not at fault."""
    spec = importlib.util.spec_from_file_location("run_notebooks", Path(__file__).parent / "vm" / "run_notebooks.py")
    assert spec and spec.loader
    runner = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runner)
    machine = {"link lo": "{lo}", "netns theirs": "theirs", "ip_forward": "0"}
    after_01 = {**machine, "netns netns1": "netns1", "ip_forward": "1"}
    assert runner.blame(machine, after_01, machine) == (["changed ip_forward 0 -> 1", "added netns netns1"], [])
    assert runner.blame(after_01, machine, machine) == ([], ["put back ip_forward", "removed netns netns1"])
    gone = {key: value for key, value in machine.items() if key != "netns theirs"}
    assert runner.blame(machine, gone, machine) == (["removed netns theirs"], [])  # the machine's own
    ruleset = "table inet filter {\n\tchain input {\n\t}\n}\ntable ip netlab_x {\n}\n"
    assert list(runner._nft_tables(ruleset)) == ["nft table inet filter", "nft table ip netlab_x"]


def test_notebooks_are_committed_without_outputs():
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, f"{path.name} {cell.id} has outputs"


def test_every_check_tag_exists_and_is_used():
    used = {
        tag[len("check:") :]
        for path in NOTEBOOKS
        for cell in nbformat.read(path, as_version=4).cells
        for tag in cell.metadata.get("tags", [])
        if tag.startswith("check:")
    }
    assert used <= set(CHECKS), used - set(CHECKS)
    assert set(CHECKS) <= used, f"checks no notebook uses: {set(CHECKS) - used}"


def test_navigation_is_generated_and_up_to_date():
    """The Previous/Next line is written by scripts/notebook-nav, never by hand: it must have nothing to do."""
    script = Path(__file__).resolve().parent.parent / "scripts" / "notebook-nav"
    result = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    names = [p.name for p in NOTEBOOKS]
    for i, path in enumerate(NOTEBOOKS):
        last = nbformat.read(path, as_version=4).cells[-1].source
        if i + 1 < len(names):
            assert f"({names[i + 1]})" in last, f"{path.name} does not link to {names[i + 1]}"


def test_checks_read_coloured_output(ns):
    """On a terminal newer `ip` colours its output: the checks must see through the colour codes."""
    coloured = sh("ip", "-color=always", "-n", ns, "link").stdout  # what a notebook's `!ip` may print
    assert "\x1b[" in coloured and "state DOWN" not in coloured  # really coloured, "DOWN" too
    cell = nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output("stream", name="stdout", text=coloured)])
    check_lo_down(cell)
