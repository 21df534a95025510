"""The recorded run: execute one language's notebooks, and read the challenges, inside a sandbox.

``book/build.py`` starts this once per language, each in a ``netlab sandbox`` of its own (the
lessons all make ``netns1``: two languages in one world would collide), so the two run side by
side. Nothing here writes into the repository: each notebook is copied, run in a directory of its
own (where any pcap file it saves lands), and written out with its outputs::

    WORK/run/LANG/NN-name/NN-name.ipynb     the notebook as run, outputs and all
    WORK/run/LANG/NN-name/*.pcap            the captures it saved
    WORK/run/LANG/run.json                  versions, timings, challenge tasks, the files above
    WORK/run/reproduce.html, .md            `netlab reproduce` (English run only: its report is English)
"""

from __future__ import annotations

import argparse
import base64
import importlib.metadata
import inspect
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CELL_TIMEOUT = 120  # seconds; a lesson's cells take a few
CAPTURE_SUFFIXES = (".pcap", ".pcapng")
NOTEBOOK_DIRS = {"en": REPO / "notebooks", "zh-CN": REPO / "notebooks" / "zh-CN"}


def _first_line(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"
    return out.strip().splitlines()[0] if out.strip() else "unknown"


def _package(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def versions() -> dict[str, str]:
    """What produced the outputs: the Linux kernel, iproute2, netlab, and the Jupyter kernel."""
    import netlab

    ip_v = _first_line(["ip", "-V"])
    match = re.search(r"iproute2-(\S+?),?(\s|$)", ip_v)
    return {
        "linux": platform.release(),
        "iproute2": match.group(1) if match else ip_v,
        "netlab": netlab.__version__,
        "python": platform.python_version(),
        "ipykernel": _package("ipykernel"),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


PCAP_LINK = re.compile(  # what netlab.view.packets.pcap_link shows: <a download='NAME' href='data:...'>
    r"download=['\"]([^'\"/]+)['\"] href=['\"]data:application/vnd\.tcpdump\.pcap;base64,([A-Za-z0-9+/=]+)"
)


def save_pcap_links(nb: Any, directory: Path) -> None:
    """The captures a notebook offers inside its page (``pcap_link``, in an output or a widget), as files."""
    import nbformat

    for name, data in PCAP_LINK.findall(nbformat.writes(nb)):
        content = base64.b64decode(data)
        path, number = directory / name, 1
        while path.exists() and path.read_bytes() != content:  # another capture, same name
            number += 1
            path = directory / f"{Path(name).stem}-{number}{Path(name).suffix}"
        path.write_bytes(content)


def run_notebook(source: Path, directory: Path, lang: str) -> dict[str, object]:
    """Run a copy of ``source`` in ``directory``; return what the page needs to know about the run."""
    import nbformat
    from nbclient import NotebookClient

    directory.mkdir(parents=True)
    nb = nbformat.read(source, as_version=4)
    start = time.monotonic()
    client = NotebookClient(
        nb, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(directory)}}
    )
    client.execute()  # raises CellExecutionError, naming the cell, if one fails
    seconds = time.monotonic() - start
    kernel = nb.metadata.get("kernelspec", {}).get("display_name", "python3")
    language = nb.metadata.get("language_info", {})
    nb.metadata["netlab_book"] = {"lang": lang, "seconds": round(seconds, 1)}
    target = directory / source.name
    nbformat.write(nb, target)
    save_pcap_links(nb, directory)
    captures = sorted(p.name for p in directory.iterdir() if p.suffix in CAPTURE_SUFFIXES)
    return {
        "notebook": str(target),
        "captures": captures,
        "seconds": round(seconds, 1),
        "kernel": f"{kernel}, {language.get('name', 'python')} {language.get('version', '')}".strip(),
    }


def _challenge_headings(lang: str) -> dict[str, str]:
    """Lesson 05's heading for each challenge it sets, in its language: ``{"router": "2 · A router ..."}``."""
    import nbformat

    nb = nbformat.read(NOTEBOOK_DIRS[lang] / "05-challenges.ipynb", as_version=4)
    headings: dict[str, str] = {}
    heading = ""
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("## "):
            heading = cell.source.splitlines()[0][3:].strip()
        for function in re.findall(r"challenges\.(\w+)\(", cell.source if cell.cell_type == "code" else ""):
            headings.setdefault(function, heading)
    return headings


def read_challenges(lang: str) -> list[dict[str, str]]:
    """Each challenge's task, in the language of ``NETLAB_LANG``: built for real, read, taken down.

    In the order lesson 05 sets them, titled with its headings; then any challenge it does not use.
    """
    from netlab.teach import challenges

    headings = _challenge_headings(lang)
    names = [n for n in challenges.__all__ if n not in ("Challenge", "close_all")]  # the challenges themselves
    ordered = [n for n in headings if n in names] + [n for n in names if n not in headings]
    found = []
    for function in ordered:
        make = getattr(challenges, function)
        challenge = make()
        try:
            task = challenge.task
        finally:
            challenge.close()
        title = headings.get(function) or (inspect.getdoc(make) or function).splitlines()[0].rstrip(".")
        found.append({"function": function, "name": challenge.name, "title": title, "task": task})
    return found


def reproduce(work: Path) -> dict[str, object]:
    """``netlab reproduce`` into WORK/run: the report as HTML (diagrams inside) and Markdown."""
    html, md = work / "run" / "reproduce.html", work / "run" / "reproduce.md"
    start = time.monotonic()
    netlab = shutil.which("netlab") or str(Path(sys.executable).with_name("netlab"))
    done = subprocess.run([netlab, "reproduce", "-o", str(html), "-o", str(md)], capture_output=True, text=True)
    if not html.exists():  # it exits non-zero when a claim differs: the report still says why
        raise SystemExit(f"netlab reproduce wrote no report:\n{done.stdout}{done.stderr}")
    return {"html": str(html), "md": str(md), "seconds": round(time.monotonic() - start, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", choices=sorted(NOTEBOOK_DIRS), required=True)
    parser.add_argument("--work", type=Path, required=True)
    args = parser.parse_args()
    from netlab.sandbox import in_sandbox

    if not in_sandbox():
        raise SystemExit("book/execute.py changes network state: book/build.py runs it inside `netlab sandbox`")
    os.environ["NETLAB_LANG"] = args.lang  # the kernels' netlab messages, and the challenge tasks
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    out = args.work / "run" / args.lang
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    record: dict[str, object] = {"lang": args.lang, "versions": versions(), "notebooks": {}}
    notebooks: dict[str, object] = {}
    for source in sorted(NOTEBOOK_DIRS[args.lang].glob("[0-9][0-9]-*.ipynb")):
        print(f"book: running {args.lang}/{source.name}", flush=True)
        notebooks[source.stem] = run_notebook(source, out / source.stem, args.lang)
    record["notebooks"] = notebooks
    record["challenges"] = read_challenges(args.lang)
    if args.lang == "en":
        record["reproduce"] = reproduce(args.work)
    (out / "run.json").write_text(json.dumps(record, indent=1, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
