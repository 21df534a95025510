"""A notebook's own sentences (``lesson.ok``, ``lesson.say``) and holders (``held_in_words``) speak the
learner's language; the data code compares stays English. No kernel needed."""

from __future__ import annotations

import re

from netlab.inodes import NetnsInfo
from netlab.teach import lesson

HAN = re.compile(r"[\u4e00-\u9fff]")


def test_ok_prints_a_check_mark_and_the_sentence_in_english_by_default(monkeypatch, capsys):
    monkeypatch.setenv("NETLAB_LANG", "en")
    lesson.ok("every namespace made here is gone")
    assert capsys.readouterr().out == "✔ every namespace made here is gone\n"
    assert lesson.say("process {pid} alive: {alive}", pid=42, alive=False) == "process 42 alive: False"


def test_ok_and_say_speak_chinese_under_netlab_lang(monkeypatch, capsys):
    monkeypatch.setenv("NETLAB_LANG", "zh_CN")
    lesson.ok("netns1 is gone; netns2 exists and its lo is DOWN")
    out = capsys.readouterr().out
    assert out.startswith("✔ ") and HAN.search(out) and "netns2" in out, out
    said = lesson.say("process {pid} alive: {alive}", pid=42, alive=False)
    assert HAN.search(said) and "42" in said and "False" in said, said
    assert lesson.say("a sentence no catalog holds") == "a sentence no catalog holds"  # English, as written


def test_holders_in_words_translate_and_held_by_stays_english(monkeypatch):
    info = NetnsInfo(inode=4026532302, pids=[7], commands={7: "sleep"}, fds=[(7, 3)], mounts=["/run/netns/netns1"])
    english = ["process 7 (sleep)", "open fd 3 of process 7", "bind mount /run/netns/netns1"]
    monkeypatch.setenv("NETLAB_LANG", "en")
    assert info.held_by == english and info.held_in_words == english
    monkeypatch.setenv("NETLAB_LANG", "zh_CN")
    assert info.held_by == english  # code compares it
    shown = info.held_in_words
    assert len(shown) == 3 and all(HAN.search(h) for h in shown), shown
    assert "sleep" in shown[0] and "/run/netns/netns1" in shown[2], shown
