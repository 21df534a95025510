"""Build the book: the whole tutorial as a static site in English and Chinese, with the outputs of a real run.

    scripts/book                       install what is missing, then this (site in build/book/html)
    python book/build.py [--output DIR]

Three steps, all inside a private ``netlab sandbox`` (no network at all: the build cannot fetch
anything, and nothing it runs touches this machine's network):

1. run: each language's notebooks are copied and executed top to bottom, in a sandbox of their own
   (``book/execute.py``), the two languages side by side; the English run also runs
   ``netlab reproduce``. The notebooks in the repository stay without outputs.
2. sources: ``book/pages.py`` lays out each language's pages (README, lessons as run, challenges,
   teachers' guide, glossary, the reproduce report) under the same names in both languages.
3. html: Sphinx with myst-nb renders each language (``book/conf.py``), side by side again.

The site: ``DIR/html/index.html`` (choose a language), ``DIR/html/en/``, ``DIR/html/zh-CN/``.
Open it from disk or serve it with any static web server; it loads nothing from elsewhere.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

BOOK = Path(__file__).resolve().parent
REPO = BOOK.parent
sys.path.insert(0, str(BOOK))

from pages import LANGS, SPHINX_LANG, WORDS, write_sources  # noqa: E402


class BuildError(Exception):
    """A step of the build failed; the message says which, and shows the end of its log."""


def _parallel(steps: dict[str, list[str]], logs: Path, env: dict[str, str] | None = None) -> None:
    """Run the commands side by side (one per language); fail with the log of any that failed."""
    logs.mkdir(parents=True, exist_ok=True)
    running = {}
    for name, argv in steps.items():
        log = (logs / f"{name}.log").open("w")
        running[name] = (subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO), log)
    failed = []
    for name, (process, log) in running.items():
        if process.wait() != 0:
            failed.append(name)
        log.close()
    for name in failed:
        tail = "\n".join((logs / f"{name}.log").read_text(errors="replace").splitlines()[-40:])
        print(f"book: step {name} failed; the end of {logs / name}.log:\n{tail}", file=sys.stderr)
    if failed:
        raise BuildError(f"{', '.join(failed)} failed")


def run_lessons(work: Path) -> None:
    """Step 1: each language's notebooks run in a sandbox of its own."""
    netlab = shutil.which("netlab") or str(Path(sys.executable).with_name("netlab"))
    steps = {
        f"run-{lang}": [
            netlab,
            "sandbox",
            "--",
            sys.executable,
            str(BOOK / "execute.py"),
            "--lang",
            lang,
            "--work",
            str(work),
        ]
        for lang in LANGS
    }
    _parallel(steps, work / "logs")


def render(work: Path, site: Path) -> None:
    """Step 3: Sphinx renders each language's sources into SITE/LANG."""
    steps = {
        f"html-{lang}": [
            sys.executable,
            "-m",
            "sphinx",
            "-b",
            "html",
            "-q",
            "-W",
            "--keep-going",
            "-c",
            str(BOOK),
            "-D",
            f"language={SPHINX_LANG[lang]}",
            "-d",
            str(work / "doctrees" / lang),
            str(work / "src" / lang),
            str(work / "sphinx" / lang / "html"),
        ]
        for lang in LANGS
    }
    # Each language in a folder of its own: myst-nb writes the outputs' images beside the html folder.
    _parallel(steps, work / "logs")
    for lang in LANGS:
        shutil.copytree(work / "sphinx" / lang / "html", site / lang)


def landing_page(site: Path) -> None:
    """SITE/index.html: the book's title in both languages, and a way into each."""
    links = "\n".join(
        f'<li><a href="{lang}/index.html" hreflang="{lang}" lang="{lang}">{html.escape(WORDS[lang]["book"])}</a></li>'
        for lang in LANGS
    )
    site.joinpath("index.html").write_text(
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        "<title>netlab · English · 简体中文</title>\n"
        "<style>body{font-family:system-ui,sans-serif;max-width:40em;margin:4em auto;padding:0 1em;color:#222}"
        "li{margin:.8em 0;font-size:1.3em}</style></head>\n"
        "<body><h1>netlab</h1>\n<p>Linux network namespaces, for real · 动手学习 Linux 网络命名空间</p>\n"
        f"<ul>\n{links}\n</ul></body></html>\n",
        encoding="utf-8",
    )
    site.joinpath(".nojekyll").write_text("")  # served as is by GitHub Pages-like hosts (_static, _sources)


def build(output: Path) -> dict[str, float]:
    """All three steps; return how long each took, in seconds."""
    work, site = output / "work", output / "html"
    timings = {}
    start = time.monotonic()
    run_lessons(work)
    timings["run"] = time.monotonic() - start
    start = time.monotonic()
    report = json.loads((work / "run" / "en" / "run.json").read_text(encoding="utf-8"))["reproduce"]
    for lang in LANGS:
        run = json.loads((work / "run" / lang / "run.json").read_text(encoding="utf-8"))
        write_sources(lang, work=work, run=run, report=report)
    timings["sources"] = time.monotonic() - start
    start = time.monotonic()
    if site.exists():
        shutil.rmtree(site)
    render(work, site)
    landing_page(site)
    timings["html"] = time.monotonic() - start
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=REPO / "build" / "book", help="default: build/book")
    args = parser.parse_args()
    output = args.output.resolve()
    output.mkdir(parents=True, exist_ok=True)
    from netlab.sandbox import exec_in_sandbox, in_sandbox

    if not in_sandbox():  # no network in there: proof that the build fetches nothing
        exec_in_sandbox([sys.executable, str(Path(__file__).resolve()), "--output", str(output)])
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    start = time.monotonic()
    try:
        timings = build(output)
    except BuildError as error:
        raise SystemExit(f"book: the build failed: {error}")
    steps = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in timings.items())
    print(f"book: built in {time.monotonic() - start:.0f} s ({steps}): {output / 'html' / 'index.html'}")


if __name__ == "__main__":
    main()
