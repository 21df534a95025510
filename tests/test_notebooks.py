"""Every notebook runs top to bottom in a real kernel, in the sandbox, and does what it says.

Cells tagged ``check:NAME`` are followed by a check from this file that looks at the kernel state with
independent tools (``ip -j``, ``findmnt``), from outside the notebook: the notebook's kernel runs in the
same sandbox world as this test. Each notebook is run twice to prove it can be re-run from the top.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from conftest import sh
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9][0-9]-*.ipynb"))
CELL_TIMEOUT = 30  # seconds; the target is under 10 s per cell


def _addresses(netns: str | None, dev: str) -> tuple[str, list[str]]:
    argv = ["ip", "-j", "addr", "show", "dev", dev]
    if netns:
        argv = ["ip", "-n", netns, "-j", "addr", "show", "dev", dev]
    [link] = json.loads(sh(*argv).stdout)
    return link["operstate"], [f"{a['local']}/{a['prefixlen']}" for a in link["addr_info"] if a["family"] == "inet"]


def _text(cell) -> str:
    return "".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", "")) for o in cell.outputs)


def check_doctor_ok(cell) -> None:
    assert "all required checks passed" in _text(cell), _text(cell)


def check_netns1_created(cell) -> None:
    assert "netns1" in sh("ip", "netns", "list").stdout.split()
    assert sh("findmnt", "-n", "-o", "FSTYPE", "/run/netns/netns1").stdout.strip() == "nsfs"


def check_lo_down(cell) -> None:
    assert "state DOWN" in _text(cell) and len(_text(cell).strip().splitlines()) == 2  # only lo


def check_veth_addresses(cell) -> None:
    assert _addresses("netns1", "veth1") == ("UP", ["10.1.1.1/24"])
    assert _addresses(None, "veth0") == ("UP", ["10.1.1.2/24"])


def check_ping_ok(cell) -> None:
    text = _text(cell)
    assert " 0% packet loss" in text, text


def check_unnamed_namespace(cell) -> None:
    assert "ns1" not in sh("ip", "netns", "list").stdout


def check_persisted(cell) -> None:
    assert sh("findmnt", "-n", "-o", "FSTYPE", "/run/netns/ns1").stdout.strip() == "nsfs"
    assert sh("ip", "netns", "pids", "ns1").stdout.strip() == ""  # no process left inside


CHECKS = {name[len("check_") :].replace("_", "-"): fn for name, fn in globals().items() if name.startswith("check_")}


def run_notebook(path: Path) -> dict[str, float]:
    """Execute ``path`` cell by cell; run the tagged checks; return each cell's duration."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
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
    print(f"{path.name}: {sum(first.values()):.1f} s, slowest cell {slowest:.1f} s; re-run {sum(again.values()):.1f} s")


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
