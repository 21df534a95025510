"""The data of ``netlab reproduce``: claims, what a check observed, verdicts, results, the report.

Plain data, no experiments and no rendering: the runner fills it, ``report.py`` renders it.

A claim is one sentence of the article, and what kind of sentence it is decides the verdict
when its check observes what ``expected`` says:

    kind of claim                      verdict              the claim carries
    the article is right               holds                -
    the article is wrong               article inaccurate   ``inaccuracy``: what really happens
    right on some versions only        depends on version   ``versions``: the rule, per version
    the text does not show enough      cannot tell ...      ``unclear``: what can and cannot be told

If the check observes something else, the verdict is ``differs`` (this machine does not behave as
expected), and if the experiment could not run, ``error``. Only those two fail a run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

from netlab.plumbing.i18n import N_, _

if TYPE_CHECKING:
    from netlab.teach.reproduce.scene import Scene
    from netlab.teach.reproduce.versions import Fact
    from netlab.view.snapshot import Topology

__all__ = ["Claim", "Observation", "Report", "Result", "Verdict"]


class Verdict(str, Enum):
    """How what we observed compares with what the article says."""

    HOLDS = N_("holds")
    INACCURATE = N_("article inaccurate")
    VERSION = N_("depends on version")
    UNCLEAR = N_("cannot tell from the text")
    DIFFERS = N_("differs")
    ERROR = N_("error")

    @property
    def failed(self) -> bool:
        """A claim that should hold did not (or could not be tried): the run fails."""
        return self in (Verdict.DIFFERS, Verdict.ERROR)

    def __str__(self) -> str:
        return self.value

    @property
    def words(self) -> str:
        """The verdict in the reader's language (``str()`` stays English: a CSS class, a test's word)."""
        return _(self.value)


@dataclass
class Observation:
    """What a check saw (one sentence), and whether it is what the claim expects.

    ``note`` adds what the reader should know about this particular run (a tool that was
    missing and replaced, a number that differs from the article's for a good reason).
    """

    observed: str
    ok: bool
    note: str = ""


@dataclass(frozen=True)
class Claim:
    """One row of the article's step map: its words, what a correct kernel shows, and the check.

    At most one of ``inaccuracy``, ``versions`` and ``unclear`` is set: it says what kind of
    claim this is (see the module's docstring) and is the explanation the report prints.
    """

    id: str
    step: str  # the article's command or sentence, verbatim
    says: str  # what the article claims, in English
    expected: str  # what must be observed for the claim to hold
    check: Callable[[Scene], Observation]
    inaccuracy: str | None = None  # where the article is wrong, and what really happens
    versions: str | None = None  # on which versions the article's words hold, and what the others show
    unclear: str | None = None  # what the text shows, what it does not, and the readings that were run

    def __post_init__(self) -> None:
        kinds = [name for name in ("inaccuracy", "versions", "unclear") if getattr(self, name)]
        if len(kinds) > 1:
            raise ValueError(f"claim {self.id}: set one of inaccuracy, versions, unclear, not {' and '.join(kinds)}")

    @property
    def verdict_when_expected(self) -> Verdict:
        """The verdict when the check observes what ``expected`` says."""
        if self.inaccuracy:
            return Verdict.INACCURATE
        if self.versions:
            return Verdict.VERSION
        if self.unclear:
            return Verdict.UNCLEAR
        return Verdict.HOLDS

    @property
    def explanation(self) -> str:
        return self.inaccuracy or self.versions or self.unclear or ""


@dataclass
class Result:
    """A claim after it ran: verdict, what was seen, the transcript and maybe a diagram."""

    claim: Claim
    verdict: Verdict
    observed: str
    note: str = ""
    transcript: str = ""
    diagram: Topology | None = None
    seconds: float = 0.0

    @property
    def what_really_happens(self) -> str:
        """For an inaccurate claim, the correction; otherwise empty."""
        return (self.claim.inaccuracy or "") if self.verdict is Verdict.INACCURATE else ""

    @property
    def explanation(self) -> str:
        """What the verdict rests on: the correction, the rule per version, or what the text cannot show."""
        passed = self.verdict in (Verdict.INACCURATE, Verdict.VERSION, Verdict.UNCLEAR)
        return self.claim.explanation if passed else ""


# How each verdict is counted in a summary line.
COUNTED = {
    Verdict.HOLDS: N_("hold"),
    Verdict.INACCURATE: N_("article inaccurate"),
    Verdict.VERSION: N_("depends on version"),
    Verdict.UNCLEAR: N_("cannot tell from the text"),
    Verdict.DIFFERS: N_("differ"),
    Verdict.ERROR: N_("errors"),
}


@dataclass
class Report:
    """Every result, the machine they were observed on, and the facts that depend on its versions."""

    results: list[Result]
    machine: list[tuple[str, str]] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)
    started: float = field(default_factory=time.time)
    seconds: float = 0.0

    def count(self, verdict: Verdict) -> int:
        return sum(result.verdict is verdict for result in self.results)

    @property
    def ok(self) -> bool:
        """True when no claim differs or errs (inaccurate, version-bound, unclear claims are understood)."""
        return not any(result.verdict.failed for result in self.results)

    @property
    def exit_status(self) -> int:
        return 0 if self.ok else 1

    def summary(self) -> str:
        """``19 claims: 14 hold, 3 article inaccurate, 1 depends on version, 1 cannot tell from the text, ...``."""
        claims = _("{count} claim: ") if len(self.results) == 1 else _("{count} claims: ")
        counts = (_("{count} {verdict}").format(count=self.count(v), verdict=_(COUNTED[v])) for v in Verdict)
        return claims.format(count=len(self.results)) + _(", ").join(counts)
