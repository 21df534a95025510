"""Where a snapshot's time goes, step by step, for a star of N namespaces.

    netlab sandbox -- python bench/bench_snapshot_phases.py [N] [ROUNDS]     e.g.  1000 9

The steps of ``netlab.view.snapshot`` run one by one, each timed (wall clock and this
process's CPU time, medians of ROUNDS):

  namespaces   ``inodes.namespaces()``: /proc, one read of mountinfo (the names too)
  open         open each namespace's file (what ``setns`` and ``RTM_GETNSID`` take)
  look inside  in the worker thread: setns, sockets, ip netconf/link/addr/route, nft
  join veths   ``RTM_GETNSID`` questions: which namespace each veth's peer is in
  model        the ``netlab.model`` objects (Namespace, Interface, Address, Route ...)
  topology     ``Topology(...)``: sorted, indexed by inode
  close        the namespace files and the route sockets

Like ``bench_snapshot_scale.py`` it first waits for the kernel to calm down after the build.
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from bench_snapshot_scale import settle

from netlab import Lab, inodes, netns
from netlab.sandbox import in_sandbox
from netlab.view import snapshot as steps


def one_round() -> dict[str, tuple[float, float]]:
    """Each step's (wall ms, CPU ms), in the order ``snapshot()`` runs them."""
    spent: dict[str, tuple[float, float]] = {}

    def timed(name: str, fn: Callable[[], Any]) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        spent[name] = ((time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000)
        return result

    gc.disable()  # as snapshot() does
    try:
        world = steps._World(inodes.inode())
        infos = timed("namespaces", inodes.namespaces)
        chosen = [info for info in infos if steps._in_view(info, world)]
        run_dir = str(netns.run_dir())
        cleanup = ExitStack()
        with cleanup:
            inside = timed("open", lambda: steps._enter_points(chosen, cleanup, run_dir))
            timed("look inside", lambda: steps._look_inside(inside))
            resolved, _ = timed("join veths", lambda: steps._resolve_nsids(inside))
            names = {e.info.inode: {link.ifindex: link.name for link in e.links} for e in inside}
            built = timed("model", lambda: [steps._namespace(e, resolved, names, outside=False) for e in inside])
            timed("topology", lambda: steps.Topology(tuple(built)))
            wall, cpu = time.perf_counter(), time.process_time()
        spent["close"] = ((time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000)
    finally:
        gc.enable()
    return spent


def main(count: int, rounds: int) -> None:
    if not in_sandbox():
        sys.exit("run the benchmark inside `netlab sandbox` (it creates and deletes namespaces)")
    lab = Lab(f"phases{count}", progress=False)
    try:
        lab.star(count, subnet="10.0.0.0/16", prefix="p")
        settle()
        one_round()  # warm-up
        runs = [one_round() for _ in range(rounds)]
    finally:
        lab.close()
    print(f"snapshot of a star of {count} namespaces, step by step: median of {rounds} rounds, in ms")
    print(f"{'step':<12} {'wall':>7} {'cpu':>7}")
    for name in runs[0]:
        wall = statistics.median(run[name][0] for run in runs)
        cpu = statistics.median(run[name][1] for run in runs)
        print(f"{name:<12} {wall:7.1f} {cpu:7.1f}")
    total = statistics.median(sum(wall for wall, _ in run.values()) for run in runs)
    print(f"{'total':<12} {total:7.1f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000, int(sys.argv[2]) if len(sys.argv) > 2 else 9)
