"""The data of `netlab reproduce`: verdicts in two languages, claims' kinds, results' explanations, reports' counts."""

from __future__ import annotations

import dataclasses
import re
import time

import pytest

from netlab.plumbing.i18n import translation
from netlab.teach.reproduce.results import COUNTED, Claim, Observation, Report, Result, Verdict

HAN = re.compile(r"[\u4e00-\u9fff]")


def _seen(scene) -> Observation:
    return Observation("seen", ok=True)


PLAIN = Claim("X1", "ip netns add netns1", "it is made", "it exists", _seen)
SLIP = Claim("X2", "ifconfig veth1 up`", "it works", "a syntax error", _seen, inaccuracy="a stray backtick")
RULE = Claim("X3", "mount", "twice", "once or twice", _seen, versions="twice before 7.0, once after")
VAGUE = Claim("X4", "ping 10.1.1.2", "it answers", "both readings answer", _seen, unclear="the prompt is the same")


def _report(*verdicts: Verdict) -> Report:
    return Report([Result(PLAIN, verdict, "seen") for verdict in verdicts])


def test_a_verdict_prints_english_and_says_its_words_in_the_readers_language(chinese):
    assert [str(v) for v in Verdict] == [
        "holds",
        "article inaccurate",
        "depends on version",
        "cannot tell from the text",
        "differs",
        "error",
    ]
    assert [v.words for v in Verdict] == ["成立", "原文不准确", "取决于版本", "无法从原文判断", "不符", "出错"]
    assert Verdict("article inaccurate") is Verdict.INACCURATE  # the English word finds its verdict again


def test_in_english_a_verdicts_words_are_its_value(english):
    assert all(v.words == v.value == str(v) for v in Verdict)


def test_every_verdict_is_counted_with_a_word_that_has_a_chinese_translation():
    assert set(COUNTED) == set(Verdict)
    chinese = translation("zh_CN")
    for word in [v.value for v in Verdict] + list(COUNTED.values()):
        assert HAN.search(chinese.gettext(word)), word


def test_an_empty_explanation_is_no_explanation():
    claim = Claim("X5", "-", "-", "-", _seen, inaccuracy="", versions="", unclear="")
    assert claim.verdict_when_expected is Verdict.HOLDS and claim.explanation == ""
    one = Claim("X6", "-", "-", "-", _seen, inaccuracy="", unclear="the text is short")  # one kind set: allowed
    assert one.verdict_when_expected is Verdict.UNCLEAR and one.explanation == "the text is short"


def test_a_claim_of_every_kind_at_once_is_refused_by_its_id():
    with pytest.raises(ValueError) as refused:
        Claim("X7", "-", "-", "-", _seen, inaccuracy="a", versions="b", unclear="c")
    assert (
        str(refused.value)
        == "claim X7: set one of inaccuracy, versions, unclear, not inaccuracy and versions and unclear"
    )


def test_a_claim_cannot_be_changed_once_made():
    with pytest.raises(dataclasses.FrozenInstanceError):
        PLAIN.expected = "anything"  # type: ignore[misc]
    assert len({PLAIN, SLIP, PLAIN}) == 2  # hashable: claims can key a table or fill a set


def test_a_result_explains_only_a_verdict_that_rests_on_its_claims_explanation():
    assert Result(SLIP, Verdict.INACCURATE, "-").explanation == "a stray backtick"
    assert Result(RULE, Verdict.VERSION, "-").explanation == "twice before 7.0, once after"
    assert Result(VAGUE, Verdict.UNCLEAR, "-").explanation == "the prompt is the same"
    for claim in (PLAIN, SLIP, RULE, VAGUE):
        for verdict in (Verdict.HOLDS, Verdict.DIFFERS, Verdict.ERROR):
            assert Result(claim, verdict, "-").explanation == "", (claim.id, verdict)


def test_what_really_happens_is_told_only_for_an_inaccurate_verdict():
    assert Result(SLIP, Verdict.INACCURATE, "-").what_really_happens == "a stray backtick"
    assert Result(SLIP, Verdict.DIFFERS, "-").what_really_happens == ""
    assert Result(RULE, Verdict.VERSION, "-").what_really_happens == ""  # the rule per version is no correction
    assert Result(PLAIN, Verdict.HOLDS, "-").what_really_happens == ""


def test_an_error_alone_fails_a_report_and_an_empty_report_passes(english):
    failed = _report(Verdict.ERROR)
    assert not failed.ok and failed.exit_status == 1 and failed.count(Verdict.ERROR) == 1
    empty = Report([])
    assert empty.ok and empty.exit_status == 0
    assert empty.summary() == (
        "0 claims: 0 hold, 0 article inaccurate, 0 depends on version, 0 cannot tell from the text, 0 differ, 0 errors"
    )


def test_the_summary_says_claim_for_one_and_counts_every_verdict(english):
    assert _report(Verdict.HOLDS).summary() == (
        "1 claim: 1 hold, 0 article inaccurate, 0 depends on version, 0 cannot tell from the text, 0 differ, 0 errors"
    )
    mixed = _report(Verdict.HOLDS, Verdict.ERROR, Verdict.DIFFERS, Verdict.DIFFERS, Verdict.ERROR)
    assert mixed.summary() == (
        "5 claims: 1 hold, 0 article inaccurate, 0 depends on version, 0 cannot tell from the text, 2 differ, 2 errors"
    )
    assert sum(mixed.count(v) for v in Verdict) == len(mixed.results)


def test_the_summary_in_chinese(chinese):
    assert _report(Verdict.HOLDS, Verdict.DIFFERS).summary() == (
        "2 条论断：1 条成立，0 条原文不准确，0 条取决于版本，0 条无法从原文判断，1 条不符，0 条出错"
    )
    assert _report(Verdict.HOLDS).summary().startswith("1 条论断：1 条成立，")


def test_each_report_starts_now_with_lists_of_its_own():
    before = time.time()
    first, second = Report([]), Report([])
    assert before <= first.started <= time.time()
    first.machine.append(("kernel", "6.1"))
    assert second.machine == [] and first.facts is not second.facts and first.seconds == 0.0
