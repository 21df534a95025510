"""How long drawing a big lab takes: a star of N namespaces in the compact (tiles) form.

    .venv/bin/python bench/bench_draw.py [N ...] [--rounds 3] [--against FILE_OR_DIR]

The star is built by hand from netlab.model objects (no namespace, no root needed): the root
namespace holds one veth end per namespace, ns1..nsN each hold lo and eth0 with an address and
a default route through the root. For each N: the median of ``--rounds`` runs of ``draw`` (the
Figure) and of ``png_bytes`` (the Figure rendered to PNG), and the PNG's size in pixels.

``--against DIR``: a directory holding another copy of the ``netlab`` package (e.g. an older
commit, exported with ``git archive``); its figures are printed in the same run, side by side.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from netlab.model import Address, Interface, Namespace, Peer, Route
from netlab.view.snapshot import Topology

ROOT = 4026531840


def star(n: int) -> Topology:
    """The root namespace wired to ``n`` namespaces, each with an address and a gateway."""

    def veth(name: str, index: int, address: str | None, peer: Peer) -> Interface:
        return Interface(
            name=name,
            index=index,
            kind="veth",
            state="UP",
            up=True,
            carrier=True,
            mac=f"02:00:00:{index >> 16 & 255:02x}:{index >> 8 & 255:02x}:{index & 255:02x}",
            mtu=1500,
            addresses=(Address(address),) if address else (),
            peer=peer,
        )

    lo = Interface(
        name="lo", index=1, kind="loopback", state="UNKNOWN", up=True, carrier=True, mac="00:00:00:00:00:00", mtu=65536
    )
    ends, leaves = [lo], []
    for k in range(1, n + 1):
        inode = ROOT + k
        ends.append(veth(f"v{k}", k + 1, None, Peer(inode, "eth0", 2)))
        address = f"10.{k >> 8 & 255}.{k & 255}.2/24"
        gateway = Route("default", via=f"10.{k >> 8 & 255}.{k & 255}.1", dev="eth0")
        leaves.append(
            Namespace(
                inode=inode,
                title=f"ns{k}",
                names=(f"ns{k}",),
                interfaces=(lo, veth("eth0", 2, address, Peer(ROOT, f"v{k}", k + 1))),
                routes=(gateway,),
            )
        )
    root = Namespace(inode=ROOT, title="root", root=True, interfaces=tuple(ends))
    return Topology((root, *leaves), taken_at=0)


def measure(sizes: list[int], rounds: int) -> list[tuple[int, float, float, int, int]]:
    from netlab.view.draw import draw, figure_png

    rows = []
    for n in sizes:
        scene = star(n)
        drawing, rendering = [], []
        for _ in range(rounds):
            start = time.perf_counter()
            figure = draw(scene, layout="compact")
            middle = time.perf_counter()
            png = figure_png(figure)
            end = time.perf_counter()
            drawing.append(middle - start)
            rendering.append(end - start)
        width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
        rows.append((n, statistics.median(drawing), statistics.median(rendering), width, height))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[10, 100, 1000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--against", type=Path, help="a directory holding another netlab package")
    parser.add_argument("--raw", action="store_true", help=argparse.SUPPRESS)  # one child's figures
    options = parser.parse_args()
    if options.raw:
        for row in measure(options.sizes, options.rounds):
            print(*row)
        return
    runs = {"this tree": measure(options.sizes, options.rounds)}
    if options.against:
        command = [sys.executable, __file__, *map(str, options.sizes), "--rounds", str(options.rounds), "--raw"]
        env = {"PYTHONPATH": str(options.against.resolve())}
        out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
        runs[str(options.against)] = [tuple(float(x) for x in line.split()) for line in out.splitlines()]  # type: ignore[misc]
    print(f"compact drawing of a star, median of {options.rounds} (draw = the Figure, +png = rendered to PNG)")
    for name, rows in runs.items():
        print(f"  {name}")
        for n, drawing, rendering, width, height in rows:
            print(
                f"    N = {int(n):>5}  draw {drawing:7.3f} s   +png {rendering:7.3f} s",
                f"  {int(width)} x {int(height)} px",
            )


if __name__ == "__main__":
    main()
