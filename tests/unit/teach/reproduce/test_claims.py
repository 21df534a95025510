"""The article's claims as data (``CLAIMS``): its steps in its order, ids, checks, kinds and translatable sentences."""

from __future__ import annotations

import inspect
import io
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract
from babel.messages.pofile import read_po

from netlab.names import check_ifname, check_netns_name
from netlab.plumbing.i18n import LOCALE_DIR, translation
from netlab.teach.reproduce import claims as claims_module
from netlab.teach.reproduce.claims import ARTICLE_LINKS, ARTICLE_NETNS, CLAIMS
from netlab.teach.reproduce.results import Verdict

HAN = re.compile(r"[\u4e00-\u9fff]")
# The step map of the design notes (A1-A16), with A10's internet bullets as A10a-A10d.
STEP_MAP = [f"A{n}" for n in range(1, 10)] + ["A10a", "A10b", "A10c", "A10d"] + [f"A{n}" for n in range(11, 17)]
# The article's lines that hold its steps, verbatim and in its order (from the article's Markdown:
# "从零开始创建一个容器之namespace 5.Network namespaces", 2023-07-21). Its last section shows two shells
# one after the other: the first shell's commands, then "另一个 shell", whose commands run in between.
FIRST_SHELL = (
    "ip netns add netns1",
    "ip netns delete netns1",
    "ip netns exec netns1 ip link list",
    "新的 net ns 有环回(lo)设备, 其他设备(虚拟网卡, bridge等)也可以存在, 物理网卡只能在 root ns 中, "
    "其他设备(virtual ethernet/veth) 可以被创建在 net ns 中, 虚拟设备允许进程在 ns 中通信, route 决定了和谁通信",
    "ip link add veth0 type veth peer name veth1",
    "ip link set veth1 netns netns1",
    "ip netns exec netns1 ifconfig veth1 10.1.1.1/24 up`",
    "ifconfig veth0 10.1.1.2/24 up",
    "root@ubuntu:/run/netns# ping 10.1.1.1",
    "root@ubuntu:/home/bytedance# ping 10.1.1.2",
    "- 根据来自 netns1 中的 veth 设备在 root ns 中创建bridge",
    "- 在 root ns 中配置 ip_forward 和相应的 nat",
    "root@ubuntu:/run/netns# readlink /proc/$$/ns/net",
    "root@ubuntu:/run/netns# unshare -n bash",
    "root@ubuntu:/run/netns# echo $$",
    "root@ubuntu:/run/netns# ls -i ns1",
    "root@ubuntu:/run/netns# exit",
    "root@ubuntu:/run/netns# ls -i ns1",
    "root@ubuntu:/run/netns# nsenter --net=./ns1 bash",
)
OTHER_SHELL = (
    "root@ubuntu:/run/netns# touch /var/run/netns/netns1",
    "root@ubuntu:/run/netns# mount --bind /proc/90883/ns/net /var/run/netns/netns1",
    "root@ubuntu:/run/netns# mount",
    "nsfs on /run/netns/ns1 type nsfs (rw)",
    "root@ubuntu:/run/netns# umount ./netns1",
)


def _pieces(step: str) -> list[str]:
    """A step's commands: a claim may quote several (``a; b``, ``a / b``)."""
    return re.split(r"; | / ", step)


def _found(pieces: list[str], lines: tuple[str, ...], start: int) -> int | None:
    """The line of the last piece, each piece on a later line than the one before, the first from ``start`` on."""
    at = start
    for number, piece in enumerate(pieces):
        at = next((i for i in range(at + (number > 0), len(lines)) if piece in lines[i]), None)
        if at is None:
            return None
    return at


def _sentences() -> list[tuple[str, str, str]]:
    """Every sentence of every claim that a reader gets in their language: (claim id, field, sentence)."""
    fields = ("says", "expected", "inaccuracy", "versions", "unclear")
    return [(c.id, f, getattr(c, f)) for c in CLAIMS for f in fields if getattr(c, f)]


def _catalog(path: Path) -> dict[str, object]:
    with open(path, "rb") as f:
        return {m.id: m for m in read_po(f) if m.id}


def test_the_ids_are_the_step_map_in_its_order_each_once():
    ids = [claim.id for claim in CLAIMS]
    assert ids == STEP_MAP
    assert len(set(ids)) == len(ids)


def test_every_step_is_quoted_verbatim_from_the_article_in_its_order():
    cursors = {FIRST_SHELL: 0, OTHER_SHELL: 0}
    in_other_shell = []
    for claim in CLAIMS:
        for lines in (FIRST_SHELL, OTHER_SHELL):
            at = _found(_pieces(claim.step), lines, cursors[lines])
            if at is not None:
                cursors[lines] = at
                if lines is OTHER_SHELL:
                    in_other_shell.append(claim.id)
                break
        else:
            pytest.fail(f"{claim.id}: {claim.step!r} is not the article's next step")
    assert in_other_shell == ["A13", "A16"]  # the second shell binds (A13) and unmounts (A16)


def test_the_stray_backtick_of_a7_is_kept_as_the_article_prints_it():
    a7 = next(claim for claim in CLAIMS if claim.id == "A7")
    assert a7.step.endswith("up`") and a7.inaccuracy and "backtick" in a7.inaccuracy


def test_a_step_is_an_ascii_command_or_a_chinese_sentence_of_the_article():
    """The report prints ASCII steps as code and the others as quoted prose: nothing in between."""
    prose = [claim.id for claim in CLAIMS if not claim.step.isascii()]
    assert prose == ["A4", "A10a", "A10b", "A10c", "A10d"]
    assert all(HAN.search(claim.step) for claim in CLAIMS if claim.id in prose)


def test_every_claim_has_a_check_that_takes_the_scene():
    for claim in CLAIMS:
        assert callable(claim.check), claim.id
        assert list(inspect.signature(claim.check).parameters) == ["scene"], claim.id
        assert claim.check.__module__.startswith("netlab.teach.reproduce.experiments_"), claim.id
    assert len({claim.check for claim in CLAIMS}) == len(CLAIMS)  # no experiment answers two claims


def test_every_claim_says_what_the_article_claims_and_what_must_be_seen():
    for claim in CLAIMS:
        assert claim.step.strip() and claim.says.strip() and claim.expected.strip(), claim.id
        assert claim.says != claim.expected, claim.id


def test_the_kinds_of_claim_are_three_slips_one_version_rule_and_one_unclear_text():
    kinds = {claim.id: claim.verdict_when_expected for claim in CLAIMS}
    assert {i for i, v in kinds.items() if v is Verdict.INACCURATE} == {"A4", "A7", "A15"}
    assert {i for i, v in kinds.items() if v is Verdict.VERSION} == {"A13"}
    assert {i for i, v in kinds.items() if v is Verdict.UNCLEAR} == {"A9"}
    assert list(kinds.values()).count(Verdict.HOLDS) == 14
    # The file with two names (netns1, ns1) runs through A13-A16 and is counted once, at A15.
    assert sum("one file with two names" in claim.explanation for claim in CLAIMS) == 1
    assert "one file with two names" in next(c for c in CLAIMS if c.id == "A15").explanation


def test_every_name_the_steps_use_is_reserved_and_valid():
    used = {word for claim in CLAIMS for word in re.findall(r"\b(?:netns\d|ns\d|veth\d)\b", claim.step)}
    assert used == {"netns1", "ns1", "veth0", "veth1"}
    assert {"netns1", "ns1"} <= set(ARTICLE_NETNS) and {"veth0", "veth1"} <= set(ARTICLE_LINKS)
    assert [check_netns_name(name) for name in ARTICLE_NETNS] == list(ARTICLE_NETNS)
    assert [check_ifname(name) for name in ARTICLE_LINKS] == list(ARTICLE_LINKS)


def test_every_sentence_of_a_claim_is_marked_for_extraction_in_claims_py():
    source = Path(inspect.getfile(claims_module)).read_bytes()
    marked = {message for _line, message, _comments, _context in extract("python", io.BytesIO(source))}
    unmarked = [(i, f) for i, f, sentence in _sentences() if sentence not in marked]
    assert not unmarked, f"not wrapped in N_() in claims.py: {unmarked}"


def test_every_sentence_of_a_claim_is_in_the_template_and_translated_into_chinese():
    template = _catalog(LOCALE_DIR / "netlab.pot")
    chinese = _catalog(LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "netlab.po")
    for claim_id, field, sentence in _sentences():
        assert sentence in template, (claim_id, field)
        entry = chinese.get(sentence)
        assert entry is not None and entry.string and not entry.fuzzy, (claim_id, field)
        assert HAN.search(entry.string), (claim_id, field, entry.string)


def test_every_sentence_of_a_claim_reads_as_chinese_from_the_compiled_catalog():
    compiled = translation("zh_CN")
    for claim_id, field, sentence in _sentences():
        said = compiled.gettext(sentence)
        assert said != sentence and HAN.search(said), (claim_id, field)
