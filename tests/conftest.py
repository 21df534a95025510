"""Shared fixtures, and the line between the two kinds of test.

tests/unit/ is the fast tier: pure code (parsers, validation, rendering from hand-built objects),
no namespaces, no sandbox, any user: ``python -m pytest tests/unit``.

Every other test is a kernel test: it changes network state, so it runs only inside the private
sandbox (``./scripts/test`` runs pytest in ``netlab sandbox``), and it must leave nothing behind.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from netlab import inodes, netns
from netlab.sandbox import in_sandbox
from netlab.teach import sessions

UNIT = Path(__file__).resolve().parent / "unit"
REPO = UNIT.parent.parent


def is_unit(path: str | os.PathLike[str]) -> bool:
    """Is this test file (or folder) in the unit tier, tests/unit/, which needs no sandbox?"""
    resolved = Path(path).resolve()
    return resolved == UNIT or UNIT in resolved.parents


def pytest_sessionstart(session: pytest.Session) -> None:
    # As `netlab lab` and the VM's service do: kernels and subprocesses find the venv's commands.
    bin_dir = os.path.dirname(sys.executable)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])
    # Kernel tests only inside the sandbox; decided before any test module is even imported.
    where = session.config.invocation_params.dir
    asked = [where / arg.split("::", 1)[0] for arg in session.config.args]
    if not in_sandbox() and not all(is_unit(path) for path in asked):
        pytest.exit(
            "these tests include kernel tests, which change network state: run them with ./scripts/test "
            "(it runs pytest inside `netlab sandbox`); the unit tier alone runs anywhere: "
            "python -m pytest tests/unit",
            returncode=2,
        )


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run an independent system tool (ip, findmnt, lsns, ...) and return its result."""
    return subprocess.run(list(argv), capture_output=True, text=True, check=check)


def _children() -> set[int]:
    kids = set()
    me = str(os.getpid())
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if fields[1] == me and fields[0] != "Z":
            kids.add(int(stat.parent.name))
    return kids


def world_state() -> dict[str, object]:
    """What a test could leave behind, read with the system's own tools."""
    state: dict[str, object] = {
        "netns": sh("ip", "netns", "list").stdout,
        "run_dir": sorted(os.listdir(netns.run_dir())) if netns.run_dir().exists() else [],
        "links": sorted(link["ifname"] for link in json.loads(sh("ip", "-j", "link").stdout)),
        "nsfs_mounts": sorted(m for _, m in inodes.nsfs_mounts()),
        "children": sorted(_children()),
        "ip_forward": Path("/proc/sys/net/ipv4/ip_forward").read_text().strip(),
    }
    if shutil.which("nft"):
        state["nft"] = sh("nft", "list", "tables", check=False).stdout
    return state


@pytest.fixture(autouse=True)
def no_residue(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail any kernel test that leaves a namespace, link, mount, process or nft table behind."""
    if is_unit(request.path):  # a unit test touches no kernel state, and may run outside the sandbox
        yield
        return
    before = world_state()
    yield
    # A lesson the test started in this process ends with the test, as a notebook's ends with its kernel:
    # a later test's notebook would take it for a lesson open in another notebook, and spare its objects.
    sessions.end()
    # The kernel frees a deleted namespace's devices in the background: allow it a moment.
    deadline = time.monotonic() + 3
    while (after := world_state()) != before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert after == before, "the test left something behind"


@pytest.fixture
def kernel() -> Iterator[Any]:
    """A real ipykernel (its own thread pool and a running asyncio loop), in this sandbox; its client."""
    import jupyter_client

    manager = jupyter_client.KernelManager(kernel_name="python3")
    manager.start_kernel()
    client = manager.client()
    client.start_channels()
    client.wait_for_ready(timeout=60)
    yield client
    client.stop_channels()
    manager.shutdown_kernel(now=True)


@pytest.fixture
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """netlab speaks English in this test, whatever the machine's locale."""
    for variable in ("NETLAB_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")


@pytest.fixture
def utc() -> Iterator[None]:
    """Local time is UTC for the test, whatever the machine's zone."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


@pytest.fixture
def chinese(monkeypatch: pytest.MonkeyPatch) -> None:
    """netlab speaks Chinese in this test (``NETLAB_LANG`` comes first, see netlab/plumbing/i18n.py)."""
    monkeypatch.setenv("NETLAB_LANG", "zh_CN")


@pytest.fixture
def ns_name() -> Iterator[str]:
    """A unique namespace name, removed after the test whatever happened."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    yield name
    if (netns.run_dir() / name).exists():
        netns.delete(name)


@pytest.fixture
def ns(ns_name: str) -> str:
    """A named namespace made by netlab."""
    netns.add(ns_name)
    return ns_name


@pytest.fixture(scope="session")
def venv_in_tmp() -> Iterator[Path]:
    """A virtual environment straight in /tmp, far from the working directory, as a clone in /tmp has.

    Its Python finds netlab (this clone) and its dependencies (this environment's) through a
    ``.pth`` line; run netlab in it as ``VENV/bin/python -m netlab``.
    """
    top = Path(tempfile.mkdtemp(prefix="netlab-venv-", dir="/tmp"))
    venv = top / "venv"
    try:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
        code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
        purelib = sh(str(venv / "bin/python"), "-c", code).stdout.strip()
        Path(purelib, "netlab-test.pth").write_text(f"{REPO}\n{sysconfig.get_paths()['purelib']}\n")
        yield venv
    finally:
        shutil.rmtree(top)
