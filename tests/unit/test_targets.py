"""Targets (netlab/targets.py): which namespace an operation acts on, and how messages name it."""

from __future__ import annotations

from pathlib import Path

import pytest

from netlab.targets import NEW, in_words, keyword


@pytest.mark.parametrize(
    ("target", "words"),
    [
        (None, "the current namespace"),
        ("netns1", "namespace 'netns1'"),
        (NEW, "a new namespace"),
        (42, "the namespace of pid 42"),
        (Path("/run/netns/x"), "namespace /run/netns/x"),
        (Path("ns1"), "namespace ns1"),
    ],
)
def test_in_words(target, words):
    assert in_words(target) == words


@pytest.mark.parametrize(
    ("target", "text"),
    [
        (None, ""),
        ("netns1", ", netns='netns1'"),
        (42, ", netns=42"),
        (NEW, ", netns=NEW"),
        (Path("/run/x"), ", netns=PosixPath('/run/x')"),
    ],
)
def test_keyword(target, text):
    assert keyword(target) == text


def test_new_reads_as_its_name():
    assert repr(NEW) == "NEW"
