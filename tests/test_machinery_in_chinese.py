"""The machinery a learner looks at speaks Chinese under ``NETLAB_LANG=zh_CN`` (or ``--lang zh-CN``).

The command line's help (argparse's own words too: "usage:", "options", its errors), the text views of a real
small lab (tree, diff, DOT, Mermaid, the words on a diagram) and a Lab's errors and cleanup report. Kernel names
(netns1, veth0, 10.1.1.1/24, ``ip route`` lines) stay as they are; the prose around them is Chinese. The English,
with the language unset, is unchanged.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from netlab import snapshot
from netlab.lab.lab import Lab
from netlab.view.diff import diff
from netlab.view.draw.labels import caption_text, header_lines
from netlab.view.text import to_dot, to_mermaid, tree

NETLAB = str(Path(sys.executable).with_name("netlab"))
HAN = re.compile(r"[\u4e00-\u9fff]")
ENGLISH_WORDS = re.compile(r"\b(you are here|held by|forwarding|routes|no default route|interfaces?|namespaces?)\b")


def netlab(*argv: str, lang: str = "zh_CN") -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, NETLAB_LANG=lang, LANGUAGE="", LC_ALL="", LANG="C.UTF-8")
    return subprocess.run([NETLAB, *argv], capture_output=True, text=True, timeout=60, env=env)


# -- the command line -------------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [["--help"], ["lab", "--help"], ["netns", "exec", "--help"], ["show", "--help"]])
def test_help_is_chinese_down_to_argparses_own_words(argv: list[str]):
    shown = netlab(*argv).stdout
    assert shown.startswith("用法：netlab")
    assert "选项" in shown and "显示此帮助信息并退出" in shown
    assert "usage:" not in shown and "options:" not in shown and "show this help" not in shown
    # Every line is Chinese, or option syntax and command names only (no English sentence).
    for line in shown.splitlines():
        words = re.sub(r"`[^`]*`|\([^)]*\)|\{[^}]*\}|\[[^]]*\]|--?[\w-]+|[A-Z][A-Z_]+|\S*[./]\S*", " ", line)
        assert HAN.search(line) or len(re.findall(r"\b[a-z]{2,}\b", words)) <= 2, line


def test_the_top_level_help_lists_every_command_in_chinese():
    lines = netlab("--help").stdout.splitlines()
    commands = [line.split(None, 1) for line in lines if re.match(r"^    [a-z]+ ", line)]
    assert len(commands) >= 10
    assert all(HAN.search(text) for _name, text in commands), commands


def test_the_lang_option_works_without_the_environment_and_english_stays_english():
    chinese = netlab("--lang", "zh-CN", "--help", lang="").stdout
    assert chinese.startswith("用法：") and "在真实的内核上学习 Linux 网络命名空间。" in chinese
    english = netlab("--help", lang="").stdout
    assert english.startswith("usage: netlab") and "Learn Linux network namespaces for real." in english
    assert not HAN.search(english)


def test_argparses_errors_are_chinese():
    result = netlab("no-such-command")
    assert result.returncode == 2
    assert "netlab：错误：参数 cmd：无效的选择：'no-such-command'" in result.stderr
    result = netlab("lab", "--port", "x")
    assert "'x' 不是 TCP 端口（1-65535）" in result.stderr and "error" not in result.stderr


# -- a real small lab, as text ---------------------------------------------------------------------


@pytest.fixture
def small_lab() -> Iterator[tuple[Lab, subprocess.Popen[bytes]]]:
    """netns1 wired to the root namespace, and an unnamed namespace that only a process holds."""
    with Lab("zhtext") as lab:
        lab.netns("netns1")
        lab.connect("netns1", address="10.1.1.1/24", host_address="10.1.1.2/24")
        holder = subprocess.Popen(["unshare", "-n", "sleep", "60"])
        try:
            deadline = time.monotonic() + 5
            while os.readlink(f"/proc/{holder.pid}/ns/net") == os.readlink("/proc/self/ns/net"):
                assert time.monotonic() < deadline, "unshare never entered its namespace"
                time.sleep(0.01)  # unshare -n has not unshared yet: poll the kernel, not the clock
            yield lab, holder
        finally:
            holder.kill()
            holder.wait()


def test_the_tree_of_a_real_lab_is_chinese_around_the_kernels_names(chinese, small_lab):
    _lab, holder = small_lab
    shown = tree(snapshot(settle=0.2))
    lines = shown.splitlines()
    assert lines[0].startswith("根命名空间 · net:[") and "你在这里" in lines[0] and "转发已关闭" in lines[0]
    assert "⇄ eth0 @ netns1" in shown and "⇄ v-netns1 @ 根命名空间" in shown  # kernel names as they are
    assert "└── 路由" in shown and "# 没有默认路由：只能到达 10.1.1.0/24" in shown
    assert "10.1.1.0/24 dev eth0 proto kernel scope link src 10.1.1.1" in shown  # ip's own words stay
    [unnamed] = [line for line in lines if f"持有者：进程 {holder.pid}（" in line]
    assert unnamed.startswith(f"进程 {holder.pid}（")
    for line in lines:
        assert not ENGLISH_WORDS.search(line), line


def test_the_diff_dot_mermaid_and_diagram_words_of_a_real_lab_are_chinese(chinese, small_lab):
    lab, _holder = small_lab
    before = snapshot(settle=0.2)
    lab.netns("netns2")
    after = snapshot(settle=0.2)
    changes = diff(before, after)
    assert changes.lines and all(HAN.search(line) for line in changes.lines), changes.lines
    assert "netns2" in str(changes)
    root = next(ns for ns in after.namespaces if ns.root)
    assert root.title == "root" and root.heading == "根命名空间"  # data stays English, shown Chinese
    assert '"根命名空间\\nnet:[' in to_dot(after) and "根命名空间 · net:[" in to_mermaid(after)
    assert "（没有接口）" not in to_dot(after)  # every namespace here has lo
    words = [text for ns in after.namespaces for text, _size, _style in header_lines(ns)]
    assert "根命名空间" in words and "你在这里" in words
    assert not any(ENGLISH_WORDS.search(w) for w in words if not w.startswith(("10.", "default"))), words
    caption = caption_text(after)
    assert re.fullmatch(r"\d+ 个网络命名空间 · \d+ 个接口 · 快照时间 \d\d:\d\d:\d\d", caption), caption
    lab.delete_netns("netns2")


def test_a_labs_error_and_its_cleanup_report_are_chinese(chinese):
    from netlab.errors import NamespaceNotFoundError

    with Lab("zherrors") as lab:
        lab.netns("netns1")
        with pytest.raises(NamespaceNotFoundError) as caught:
            lab.delete_netns("nope")
        assert str(caught.value).startswith("实验 'zherrors' 没有命名空间 'nope'")
        assert "netns.delete()" in str(caught.value) and "hint" not in str(caught.value)
        report = lab.close()
    assert report is not None
    text = str(report)
    assert text.startswith("实验 'zherrors'（所有者进程 ") and "删除了 " in text, text
    assert "命名空间 netns1（net:[" in text, text


def test_the_same_views_in_english_are_unchanged(monkeypatch, small_lab):
    monkeypatch.setenv("NETLAB_LANG", "en")
    shown = tree(snapshot(settle=0.2))
    assert shown.splitlines()[0].startswith("root · net:[") and "you are here" in shown
    assert "└── routes" in shown and "# no default route: reaches only 10.1.1.0/24" in shown
    assert not HAN.search(shown)
