"""Run lessons in this machine's own root network namespace, as a learner in the VM does, and prove that
they leave it as they found it.

scripts/vm-test runs this inside the VM, as root, with the lab's Python (/opt/netlab/venv): no sandbox, the
kernels work on the VM's real links, routes, nftables and ``ip_forward`` (the article's environment). Each
notebook runs top to bottom with the checks of tests/test_notebooks.py; the machine's state is read with
``ip``, ``nft`` and ``/proc/sys`` before and after, and must be the same.

    python tests/vm/run_notebooks.py 01 02 03 04
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from test_notebooks import NOTEBOOKS, run_notebook


def _out(*argv: str) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def machine_state() -> dict[str, object]:
    """What a lesson may change in the root namespace: links, named namespaces, nftables, forwarding."""
    return {
        "ip -j link": json.loads(_out("ip", "-j", "link")),
        "ip netns": _out("ip", "netns", "list"),
        "nft list ruleset": _out("nft", "list", "ruleset"),
        "ip_forward": Path("/proc/sys/net/ipv4/ip_forward").read_text().strip(),
    }


def main(prefixes: list[str]) -> int:
    chosen = [path for path in NOTEBOOKS if any(path.name.startswith(f"{p}-") for p in prefixes)]
    if len(chosen) != len(prefixes):
        print(f"netlab: no notebook for some of {prefixes} in {NOTEBOOKS[0].parent}", file=sys.stderr)
        return 2
    failed = 0
    for path in chosen:
        before = machine_state()
        start = time.monotonic()
        try:
            run_notebook(path)
            outcome = "ok"
        except Exception as error:  # a failing cell or check: report it, run the other notebooks
            traceback.print_exc()
            mounts = subprocess.run(["findmnt", "-R", "/run/netns"], capture_output=True, text=True).stdout
            print(f"ip netns: {_out('ip', 'netns', 'list')!r}\n{mounts}", file=sys.stderr)
            last = (str(error).strip().splitlines() or [""])[-1]
            outcome = f"FAILED: {type(error).__name__} {last[:200]}"
        after = machine_state()
        changed = [key for key in before if before[key] != after[key]]
        if changed and outcome == "ok":
            outcome = f"FAILED: left the machine changed: {', '.join(changed)}"
        failed += outcome != "ok"
        print(f"{path.name}: {outcome} ({time.monotonic() - start:.0f} s)", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["01", "02", "03", "04"]))
