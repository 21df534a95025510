"""Running the claims: each in a clean world, with its verdict, and the ``netlab reproduce`` command.

``run_claim`` gives a claim a ``Scene``, runs its check, undoes what it made, and checks that
nothing was left behind (a leak is an error, not a pass). ``reproduce`` runs them all and
returns the ``Report``; ``command`` is ``netlab reproduce``: it makes sure it runs in a private
sandbox (outside one it re-executes itself in a new one, and inside one whose names the
article needs are already in use, a learner's lab, in a nested, fresh one), writes the report
and returns the exit status: 1 only when a claim that should hold did not, or could not run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from netlab.plumbing.i18n import _
from netlab.teach.reproduce.claims import ARTICLE_LINKS, ARTICLE_NETNS, CLAIMS
from netlab.teach.reproduce.report import write
from netlab.teach.reproduce.results import Claim, Observation, Report, Result, Verdict
from netlab.teach.reproduce.scene import Scene
from netlab.teach.reproduce.steps import RUN_DIR
from netlab.teach.reproduce.versions import Versions, detect, facts, machine

__all__ = ["DEFAULT_OUTPUT", "article_names_in_use", "command", "reproduce", "run_claim"]


# -- running the claims ---------------------------------------------------------------------------


def _world() -> set[str]:
    """What a claim could leave behind in the lab's root namespace, read with the system's tools."""
    from netlab import inodes, netns

    links = subprocess.run(["ip", "-color=never", "-o", "link", "show"], capture_output=True, text=True).stdout
    names = {line.split(": ")[1].split("@")[0] for line in links.splitlines() if ": " in line}
    world = {f"namespace {name}" for name in netns.list() + netns.stale()}
    world |= {f"link {name}" for name in names}
    world |= {f"nsfs mount {mount}" for _, mount in inodes.nsfs_mounts()}
    if shutil.which("nft"):
        tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
        world |= {f"nft {line.strip()}" for line in tables.splitlines() if line.strip()}
    return world


def run_claim(claim: Claim, *, versions: Versions | None = None) -> Result:
    """Run one claim's check in a scene of its own, clean up, and decide the verdict.

    ``versions``: the tools' versions, for claims that depend on them (default: read them now).
    """
    before = _world()
    scene = Scene(versions=versions)
    started = time.monotonic()
    observation: Observation | None = None
    problem = ""
    try:
        observation = claim.check(scene)
    except Exception as exc:
        problem = f"{type(exc).__name__}: {exc}".strip()
    finally:
        undo_errors = scene.close()
    left = sorted(_world() - before)
    if undo_errors:
        could_not = _("could not clean up: {errors}").format(errors="; ".join(undo_errors))
        problem += (_("; ") if problem else "") + could_not
    if left:
        problem += (_("; ") if problem else "") + _("left behind: {items}").format(items=", ".join(left))
    if observation is None or problem:
        verdict = Verdict.ERROR
        observed = problem if observation is None else f"{observation.observed} ({problem})"
    else:
        verdict = claim.verdict_when_expected if observation.ok else Verdict.DIFFERS
        observed = observation.observed
    return Result(
        claim,
        verdict,
        observed,
        note=observation.note if observation else "",
        transcript=scene.transcript,
        diagram=scene.diagram,
        seconds=time.monotonic() - started,
    )


def _columns(text: str) -> int:
    """How many terminal columns ``text`` takes: a Chinese character takes two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _fit(text: str, width: int) -> str:
    """``text`` cut with an ellipsis to at most ``width`` columns, then padded to exactly ``width``."""
    if _columns(text) > width:
        while _columns(text) > width - 1:
            text = text[:-1]
        text += "…"
    return text + " " * (width - _columns(text))


def reproduce(claims: Sequence[Claim] = CLAIMS, *, progress: TextIO | None = sys.stderr) -> Report:
    """Run ``claims`` in order; print one line per claim to ``progress``; return the report."""
    versions = detect()
    report = Report(results=[], machine=machine(), facts=facts(versions))
    started = time.monotonic()
    width = max((len(c.id) for c in claims), default=2)
    for number, claim in enumerate(claims, 1):
        if progress is not None:
            step = claim.step if claim.step.isascii() else _(claim.says)  # the article's prose is Chinese
            print(
                f"[{number:>2}/{len(claims)}] {claim.id:<{width}}  {_fit(step, 48)} ", end="", file=progress, flush=True
            )
        result = run_claim(claim, versions=versions)
        report.results.append(result)
        if progress is not None:
            took = _("{verdict} ({seconds} s)").format(verdict=result.verdict.words, seconds=f"{result.seconds:.2f}")
            print(took, file=progress, flush=True)
            if result.verdict.failed:
                print(
                    "         " + _("observed: {observed}").format(observed=result.observed), file=progress, flush=True
                )
    report.seconds = time.monotonic() - started
    return report


# -- the `netlab reproduce` command ---------------------------------------------------------------

DEFAULT_OUTPUT = "netlab-reproduce.html"
FRESH_ENV = "NETLAB_REPRODUCE_FRESH"


def article_names_in_use() -> list[str]:
    """The names the claims need that this world already uses (a learner's lab, say).

    Plain files and one ``ip`` process only: this runs before the sandbox is entered, while the
    process must still be single-threaded (``unshare`` of a user namespace requires it).
    """
    taken = [name for name in ARTICLE_NETNS if (RUN_DIR / name).exists()]
    links = subprocess.run(["ip", "-color=never", "-o", "link", "show"], capture_output=True, text=True).stdout
    present = {line.split(": ")[1].split("@")[0] for line in links.splitlines() if ": " in line}
    return taken + [name for name in ARTICLE_LINKS if name in present]


def _fresh_sandbox(argv: list[str], why: str) -> None:
    """Re-execute ``netlab reproduce ARGV`` in a new sandbox (never returns); the reports land where asked."""
    from netlab.sandbox import exec_in_sandbox

    print(
        _("netlab reproduce: {why}: running in a fresh sandbox (`netlab sandbox`)").format(why=why),
        file=sys.stderr,
        flush=True,
    )
    os.environ[FRESH_ENV] = "1"
    exec_in_sandbox([sys.executable, "-m", "netlab.app.cli", "reproduce", *argv])


def command(
    outputs: Sequence[str] | None = None,
    *,
    format: str | None = None,
    claims: Sequence[Claim] = CLAIMS,
    progress: TextIO | None = sys.stderr,
) -> int:
    """``netlab reproduce [--output PATH]... [--format md|html]``: run, write the report(s), return the exit status."""
    from netlab.sandbox import in_sandbox

    outputs = list(outputs or [DEFAULT_OUTPUT])
    argv = [word for path in outputs for word in ("--output", path)] + (["--format", format] if format else [])
    if not in_sandbox():
        _fresh_sandbox(argv, _("not in a sandbox"))
    taken = article_names_in_use()
    if taken and os.environ.get(FRESH_ENV) != "1":
        why = _("this sandbox already uses {names}").format(names=", ".join(taken))
        _fresh_sandbox(argv, why)
    if taken:
        print(_("netlab reproduce: a fresh sandbox, yet {names} exist").format(names=", ".join(taken)), file=sys.stderr)
        return 2
    report = reproduce(claims, progress=progress)
    written = [write(report, Path(path), format=format) for path in outputs]
    print("\n" + _("{summary} in {seconds} s").format(summary=report.summary(), seconds=f"{report.seconds:.1f}"))
    for path in written:
        print(_("report: {path}").format(path=path))
    if not report.ok:
        failed = [r.claim.id for r in report.results if r.verdict.failed]
        print(
            _("netlab reproduce: {count} claim(s) did not hold: {claims}").format(
                count=len(failed), claims=", ".join(failed)
            ),
            file=sys.stderr,
        )
    return report.exit_status
