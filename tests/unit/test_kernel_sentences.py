"""The kernel's own sentences (``errors.kernel_words``): the table holds kernel sentences, each with its Chinese.

Which sentences the kernel really says, and when, is proven against the kernel in tests/test_kernel_words.py;
here, the table's shape and the function's rules: only known sentences change, and only in another language.
"""

from __future__ import annotations

import os
import re

import pytest

from netlab.errors import _KERNEL_WORDS, kernel_words
from netlab.plumbing.i18n import translation

HAN = re.compile(r"[\u4e00-\u9fff]")
# How the kernel writes an extended-ack message (NL_SET_ERR_MSG): one short ASCII sentence, no final
# period (``ip`` adds it), sometimes after a "module: " prefix such as "ipv4: ".
SENTENCE = re.compile(r'(?:[a-z0-9]+: )?[A-Za-z][A-Za-z0-9 ,_/"()-]*[A-Za-z0-9"]')
SYSTEM_WORDS = {os.strerror(code) for code in range(1, 134)}


@pytest.mark.parametrize("sentence", sorted(_KERNEL_WORDS))
def test_every_entry_is_shaped_like_a_kernel_sentence(sentence):
    assert SENTENCE.fullmatch(sentence) and len(sentence) < 80, sentence
    assert sentence not in SYSTEM_WORDS  # an errno's text is reason()'s to translate, not this table's


@pytest.mark.parametrize("sentence", sorted(_KERNEL_WORDS))
def test_every_entry_has_its_chinese(sentence):
    chinese = translation("zh_CN").gettext(sentence)
    assert chinese != sentence and HAN.search(chinese), sentence
    assert "'" not in chinese  # the error quotes it with repr(): its quotes must stay the same
    for word in re.findall(r'"[^"]+"|\b(?:ipv4|ipv6|FIB)\b', sentence):  # code stays code
        assert word in chinese, (word, chinese)


@pytest.mark.parametrize("sentence", sorted(_KERNEL_WORDS))
def test_in_english_the_kernel_is_quoted_word_for_word(sentence, english):
    assert kernel_words(sentence) == sentence


def test_in_chinese_known_sentences_are_translated(chinese):
    assert kernel_words("The interface netns is immutable") == "该接口的网络命名空间不可更改"
    assert kernel_words("ipv4: Address not found") == "ipv4：找不到该地址"


@pytest.mark.parametrize(
    "text",
    [
        "Invalid prefix for given prefix length",  # a sentence netlab's checks never let the kernel say
        "The interface netns is immutable.",  # not exactly the kernel's words
        "File exists",  # an errno's text: reason() translates those
        "",
    ],
)
def test_anything_else_is_left_as_it_is(text, chinese):
    assert kernel_words(text) == text
