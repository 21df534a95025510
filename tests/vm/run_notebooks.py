"""Run lessons in this machine's own root network namespace, as a learner in the VM does, and prove that
each leaves it as it found it.

scripts/vm-test runs this inside the VM, as root, with the lab's Python (/opt/netlab/venv): no sandbox, the
kernels work on the VM's real links, routes, nftables and ``ip_forward`` (the article's environment). Each
notebook runs top to bottom with the checks of tests/test_notebooks.py; the machine's state is read with
``ip``, ``nft`` and ``/proc/sys`` before and after each one, item by item, and every process the notebook
started is looked for once its kernel has stopped.

    python tests/vm/run_notebooks.py 01 02 03 04
    python tests/vm/run_notebooks.py --command -- netlab reproduce -o /tmp/report.md

Each notebook answers for what it left itself: a link, name, nft table or sysctl it added or changed, a
process it started that is still running (it is stopped then), or something of the machine's own that it
removed. What an earlier notebook left, and a later one removed, is said, but not held against the later
one. A line per notebook, ``NN-name.ipynb: ok (12 s)`` or ``NN-name.ipynb: FAILED: ... (12 s)``, then the
machine after all of them compared with before the first.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# Under TCG emulation a cold first cell (Python, matplotlib and pyroute2 loading) takes 30-60 s.
os.environ.setdefault("NETLAB_CELL_TIMEOUT", "300")
os.environ.setdefault("NETLAB_KERNEL_STARTUP", "600")
from test_notebooks import NOTEBOOKS, run_notebook

MARK = "NETLAB_VM_RUN"  # in the environment of everything a lesson starts: how its leftover processes are found
GRACE = 10.0  # seconds for a stopped kernel's processes to end by themselves


def _out(*argv: str) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def _nft_tables(ruleset: str) -> dict[str, str]:
    """``nft list ruleset`` cut into its tables: ``nft table inet netlab_x`` -> the table's text."""
    tables: dict[str, str] = {}
    key, lines = None, []
    for line in ruleset.splitlines():
        if key is None and line.startswith("table "):
            key, lines = "nft " + line.removesuffix("{").strip(), [line]
        elif key is not None:
            lines.append(line)
            if line == "}":
                tables[key] = "\n".join(lines)
                key = None
    return tables


def machine_state() -> dict[str, str]:
    """What a lesson may change in the root namespace, item by item: links, names, nft tables, forwarding."""
    state = {
        f"link {link['ifname']}": json.dumps(link, sort_keys=True) for link in json.loads(_out("ip", "-j", "link"))
    }
    for line in _out("ip", "netns", "list").splitlines():
        if line.strip():
            state[f"netns {line.split()[0]}"] = line.strip()
    state.update(_nft_tables(_out("nft", "list", "ruleset")))
    state["ip_forward"] = Path("/proc/sys/net/ipv4/ip_forward").read_text().strip()
    return state


def blame(before: dict[str, str], after: dict[str, str], baseline: dict[str, str]) -> tuple[list[str], list[str]]:
    """(what this run left: added, changed, or removed of the machine's own; what it tidied of an earlier one's).

    ``baseline`` is the machine before the first notebook: removing an item it had is this run's doing;
    removing one it did not have (or putting an item back as it was) cleans up after an earlier notebook.
    """
    left: list[str] = []
    tidied: list[str] = []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if new is None:
            (left if key in baseline else tidied).append(f"removed {key}")
        elif old is None:
            left.append(f"added {key}")
        elif new == baseline.get(key):
            tidied.append(f"put back {key}")
        elif key == "ip_forward":
            left.append(f"changed ip_forward {old} -> {new}")
        else:
            left.append(f"changed {key}")
    return left, tidied


def _environ(pid: int) -> list[bytes]:
    try:
        return Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:  # ended, a kernel thread, or not ours to read
        return []


def marked(mark: str) -> dict[int, str]:
    """pid -> command of every process but this one that carries ``MARK=mark`` in its environment."""
    wanted = f"{MARK}={mark}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid() and wanted in _environ(int(entry.name)):
            try:
                found[int(entry.name)] = (entry / "comm").read_text().strip()
            except OSError:
                continue
    return found


def stop_strays(mark: str) -> list[str]:
    """Wait for the processes a run started to end; stop the ones that do not, and name them."""
    deadline = time.monotonic() + GRACE
    while (strays := marked(mark)) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in strays:
        try:
            handle = os.pidfd_open(pid)  # this very process from now on, even if its pid is reused
        except OSError:
            continue
        try:
            if f"{MARK}={mark}".encode() in _environ(pid):  # still ours: the pid was not reused in between
                signal.pidfd_send_signal(handle, signal.SIGKILL)
        except OSError:
            pass
        finally:
            os.close(handle)
    return [f"process {pid} ({command}) still running, stopped" for pid, command in sorted(strays.items())]


def check_one(name: str, work: Callable[[], object], baseline: dict[str, str]) -> bool:
    """Run ``work``; print ``NAME: ok (N s)`` or ``NAME: FAILED: why (N s)``, with what it left."""
    mark = f"{os.getpid()}-{name}"
    os.environ[MARK] = mark  # the kernel inherits it, and every process the notebook starts
    before = machine_state()
    start = time.monotonic()
    failure = ""
    try:
        work()
    except Exception as error:  # a failing cell, check or command: report it, and go on with the next
        traceback.print_exc()
        mounts = subprocess.run(["findmnt", "-R", "/run/netns"], capture_output=True, text=True).stdout
        print(f"ip netns: {_out('ip', 'netns', 'list')!r}\n{mounts}", file=sys.stderr)
        last = (str(error).strip().splitlines() or [""])[-1]
        failure = f"{type(error).__name__} {last[:200]}"
    finally:
        del os.environ[MARK]
    strays = stop_strays(mark)
    left, tidied = blame(before, machine_state(), baseline)
    left += strays
    if left:
        failure = "; ".join(filter(None, [failure, "left: " + ", ".join(left)]))
    outcome = f"FAILED: {failure}" if failure else "ok"
    print(f"{name}: {outcome} ({time.monotonic() - start:.0f} s)", flush=True)
    if tidied:
        print(f"  ({name} cleaned up after an earlier one: {', '.join(tidied)})", flush=True)
    return not failure


def main(args: list[str]) -> int:
    if args[:1] == ["--command"]:
        argv = args[2:] if args[1:2] == ["--"] else args[1:]
        if not argv:
            print("netlab: --command needs a command", file=sys.stderr)
            return 2
        jobs: list[tuple[str, Callable[[], object]]] = [(" ".join(argv), partial(subprocess.run, argv, check=True))]
    else:
        prefixes = args or ["01", "02", "03", "04"]
        chosen = [path for path in NOTEBOOKS if any(path.name.startswith(f"{p}-") for p in prefixes)]
        if len(chosen) != len(prefixes):
            print(f"netlab: no notebook for some of {prefixes} in {NOTEBOOKS[0].parent}", file=sys.stderr)
            return 2
        jobs = [(path.name, partial(run_notebook, path)) for path in chosen]
    baseline = machine_state()
    failed = sum(not check_one(name, work, baseline) for name, work in jobs)
    left, _ = blame(baseline, machine_state(), baseline)
    print("the machine afterwards: " + ("as before" if not left else "not as before: " + ", ".join(left)))
    return 1 if failed or left else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
