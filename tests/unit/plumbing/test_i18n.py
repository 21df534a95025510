"""The learner's language: which variable chooses it, English as the fallback, ``_`` and ``N_``, the zh_CN catalog."""

from __future__ import annotations

import gettext

import pytest

from netlab.plumbing import i18n
from netlab.plumbing.i18n import N_, Sentence, _, language, normalize, translation

MO = i18n.LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "netlab.mo"


@pytest.fixture
def unset(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No language variable set at all (monkeypatch puts the machine's back after the test)."""
    for variable in i18n.ENVIRONMENT:
        monkeypatch.delenv(variable, raising=False)
    return monkeypatch


@pytest.mark.parametrize(
    ("tag", "name"),
    [
        ("zh_CN@pinyin", "zh_CN"),
        ("ZH-cn.GB18030", "zh_CN"),
        ("zh_CN.UTF-8:en_US", "zh_CN"),
        ("C.UTF-8", "en"),
        (" fr ", "fr"),
        ("EN", "en"),
        ("de_de", "de_DE"),
        ("", "en"),
    ],
)
def test_a_locale_name_is_reduced_to_language_and_territory(tag, name):
    assert normalize(tag) == name


def test_with_no_variable_set_the_language_is_english(unset):
    assert language() == "en" and _("hint:") == "hint:"


@pytest.mark.parametrize("variable", i18n.ENVIRONMENT)
def test_each_variable_chooses_the_language_over_every_one_after_it(variable, unset):
    later = i18n.ENVIRONMENT[i18n.ENVIRONMENT.index(variable) + 1 :]
    for other in later:
        unset.setenv(other, "en_US.UTF-8")
    unset.setenv(variable, "zh_CN.UTF-8")
    assert language() == "zh_CN" and _("hint:") == "提示："


def test_an_empty_variable_is_passed_over(unset):
    unset.setenv("NETLAB_LANG", "")
    unset.setenv("LC_ALL", "")
    unset.setenv("LANG", "zh_CN.UTF-8")
    assert language() == "zh_CN"


def test_an_unknown_language_falls_back_to_the_english_as_written(unset):
    unset.setenv("NETLAB_LANG", "fr_FR.UTF-8")
    assert language() == "fr_FR"
    assert type(translation("fr_FR")) is gettext.NullTranslations
    sentence = "all required checks passed"
    assert _(sentence) is sentence  # the very sentence, not a copy or a Sentence


def test_a_bare_zh_finds_the_chinese_catalog(unset):
    unset.setenv("LANG", "zh")
    assert language() == "zh" and _("hint:") == "提示："


def test_a_sentence_missing_from_the_catalog_stays_english_in_chinese(unset):
    unset.setenv("NETLAB_LANG", "zh_CN")
    missing = "a sentence no catalog holds: {name}"
    assert _(missing) is missing
    assert _(missing).format(name="网桥") == "a sentence no catalog holds: 网桥"


def test_a_translated_sentence_is_spaced_as_chinese_once_formatted(unset):
    unset.setenv("NETLAB_LANG", "zh-CN")  # as `netlab lab --lang zh-CN` sets it
    claims = _("{count} claims: ")
    assert isinstance(claims, Sentence) and claims == "{count} 条论断："
    assert claims.format(count=19) == "19 条论断："
    more = _("+{count} more interfaces")
    assert more.format(count=3) == "另有 3 个接口"  # a number keeps its spaces
    assert more.format(count="三") == "另有三个接口"  # Chinese words join the Chinese around them


def test_n_marks_a_sentence_without_translating_it_and_underscore_translates_it_later(unset):
    unset.setenv("NETLAB_LANG", "zh_CN")
    marked = "holds"
    assert N_(marked) is marked
    assert _(N_(marked)) == "成立"


def test_the_compiled_catalog_translates_a_sentence_of_the_po_file():
    assert MO.is_file()
    with open(MO, "rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    assert compiled.gettext("all required checks passed") == "所有必需的检查都通过了"
    assert translation("zh_CN").gettext("all required checks passed") == "所有必需的检查都通过了"
    assert translation("zh_CN") is translation("zh_CN")  # read once, then cached


def test_the_language_can_change_between_two_sentences_of_one_process(unset):
    said = []
    for lang in ("zh_CN", "en", "fr", "zh_CN", "C"):
        unset.setenv("NETLAB_LANG", lang)
        said.append(_("Machine"))
    assert said == ["机器", "Machine", "Machine", "机器", "Machine"]
