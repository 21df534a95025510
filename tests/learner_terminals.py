"""The article's two shells, as a learner uses them: ``netlab lab --lesson 04`` in headless Chromium.

The lesson opens with the notebook on the left and two JupyterLab terminals on the right. A learner
types the article's commands into them, one step at a time, and runs the notebook's cell after each
step; the cell checks the kernel's state. ``walk_two_shells`` does exactly that::

    shell 1: unshare -n bash; readlink /proc/$$/ns/net; echo $$
    shell 2: touch /var/run/netns/netns1; mount --bind /proc/PID/ns/net /var/run/netns/netns1
    shell 1: exit                shell 2: ls -i /var/run/netns/netns1
    shell 2: nsenter --net=/var/run/netns/netns1 bash; readlink /proc/$$/ns/net
    shell 2: exit; umount /var/run/netns/netns1

Terminal text is read from xterm.js's accessibility tree (the lab's settings turn on its screen
reader mode), the same rows a screen reader speaks. A command is done when its shell prints a new
prompt. Like ``learner_browser``, nothing here asserts: the result lists what went wrong.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from lab_server import RunningLab
from learner_browser import (
    NOTEBOOK,
    OPEN_TIMEOUT_MS,
    KernelTraffic,
    _code_cells,
    _painted,
    _state,
    _wait_for,
    looks_blank,
    picture_stats,
)
from playwright.sync_api import BrowserContext, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

TERMINAL = ".jp-Terminal"
# True once the notebook is left of the two terminals, stacked one above the other (in either page order).
_SIDE_BY_SIDE_JS = """([notebook, terminal]) => {
    const panel = document.querySelector(notebook), shells = document.querySelectorAll(terminal);
    if (!panel || shells.length < 2) return false;
    const [n, a, b] = [panel, shells[0], shells[1]].map((e) => e.getBoundingClientRect());
    const [upper, lower] = a.top <= b.top ? [a, b] : [b, a];
    return n.width > 0 && n.right <= a.left + 1 && a.left === b.left && upper.bottom <= lower.top + 1;
}"""
COMMAND_TIMEOUT_MS = 30_000
CELL_TIMEOUT_MS = 60_000
PROMPT = r"^\S+@\S+:.*[#$]"  # bash's default prompt, user@host:dir#

# Before running the cell with this id, type these commands into shell 1 (0) or shell 2 (1).
# "{pid}" is what `echo $$` printed in shell 1.
STEPS: dict[str, list[tuple[int, str]]] = {
    "04-06": [(0, "unshare -n bash"), (0, "readlink /proc/$$/ns/net"), (0, "echo $$")],
    "04-10": [(1, "touch /var/run/netns/netns1"), (1, "mount --bind /proc/{pid}/ns/net /var/run/netns/netns1")],
    "04-16": [(0, "exit"), (1, "ls -i /var/run/netns/netns1")],
    "04-18": [(1, "nsenter --net=/var/run/netns/netns1 bash"), (1, "readlink /proc/$$/ns/net")],
    "04-20": [(1, "exit"), (1, "umount /var/run/netns/netns1")],
}
CHOICE_CELL = "04-shells-1"  # where the learner sets use_terminals = True
FINAL_CHECK = "04-shells-4"

_PROMPTS_JS = """([sel, n, pattern]) => {
    const tree = document.querySelectorAll(sel)[n].querySelector('.xterm-accessibility-tree');
    if (!tree) return -1;
    const re = new RegExp(pattern);
    return tree.innerText.split('\\n').filter(line => re.test(line.trim())).length;
}"""


@dataclass
class ShellsWalk:
    """What happened when the article's commands were typed into the lesson's terminals."""

    problems: list[str] = field(default_factory=list)
    layout: dict[str, dict] = field(default_factory=dict)  # bounding boxes of the notebook and terminals
    typed: list[tuple[int, str]] = field(default_factory=list)
    terminals: list[str] = field(default_factory=list)  # what each terminal showed at the end of the flow
    outputs: dict[str, str] = field(default_factory=dict)  # cell id -> its output text, for the flow's cells
    pid: str = ""
    inode: str = ""
    executed: int = 0
    screenshot: Path | None = None


def terminal_text(page: Page, n: int) -> str:
    """The rows terminal ``n`` shows ("" if it has no accessibility tree: screen reader mode is off)."""
    text = page.evaluate(
        "([sel, n]) => { const t = document.querySelectorAll(sel)[n]?.querySelector('.xterm-accessibility-tree');"
        " return t ? t.innerText : ''; }",
        [TERMINAL, n],
    )
    return text.replace("\xa0", " ")


def _prompts(page: Page, n: int) -> int:
    return page.evaluate(_PROMPTS_JS, [TERMINAL, n, PROMPT])


def type_command(page: Page, n: int, command: str) -> bool:
    """Type ``command`` and Enter into terminal ``n``, as keystrokes; wait for the next prompt."""
    before = _prompts(page, n)
    page.locator(TERMINAL).nth(n).locator(".xterm-screen").click()
    page.keyboard.type(command + "\n")
    try:
        page.wait_for_function(
            f"([sel, n, pattern, before]) => ({_PROMPTS_JS})([sel, n, pattern]) > before",
            arg=[TERMINAL, n, PROMPT, before],
            timeout=COMMAND_TIMEOUT_MS,
        )
        return True
    except PlaywrightTimeout:
        return False


def _answer_to(text: str, command: str) -> str:
    """The line a command printed right after it was typed (its last occurrence)."""
    lines = [line.strip() for line in text.splitlines()]
    typed = [i for i, line in enumerate(lines) if re.match(PROMPT, line) and line.endswith(command)]
    return lines[typed[-1] + 1] if typed and typed[-1] + 1 < len(lines) else ""


def _run_cell(page: Page, index: int) -> bool:
    cell = f'{NOTEBOOK} .jp-Notebook-cell[data-windowed-list-index="{index}"]'
    page.locator(cell).focus()
    page.keyboard.press("Control+Enter")
    return _wait_for(page, "ran-cell", cells=[index], timeout=CELL_TIMEOUT_MS)


def _output(page: Page, index: int) -> str:
    cell = page.locator(f'{NOTEBOOK} .jp-Notebook-cell[data-windowed-list-index="{index}"]')
    cell.scroll_into_view_if_needed()
    _painted(page)
    return cell.locator(".jp-OutputArea").inner_text()


def _edit_cell(page: Page, index: int, source: str) -> None:
    """Replace a code cell's text, as a learner does: click into it, select all, type."""
    editor = page.locator(f'{NOTEBOOK} .jp-Notebook-cell[data-windowed-list-index="{index}"] .cm-content')
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(source)
    page.keyboard.press("Escape")  # back to command mode


def walk_two_shells(context: BrowserContext, lab: RunningLab, notebook: str, artifacts: Path) -> ShellsWalk:
    """Open the URL ``netlab lab --lesson 04`` printed; do the article's flow in its terminals; run every cell."""
    walk = ShellsWalk()
    cells = json.loads((lab.notebooks / notebook).read_text())["cells"]
    ids = [c.get("id") for c in cells]
    _total, code = _code_cells(lab.notebooks / notebook)
    page = context.new_page()
    traffic = KernelTraffic(page)
    try:
        page.goto(lab.url)
        page.locator(NOTEBOOK).wait_for(timeout=OPEN_TIMEOUT_MS)
        page.locator(TERMINAL).nth(1).wait_for(timeout=OPEN_TIMEOUT_MS)
        if not _wait_for(page, "idle", timeout=OPEN_TIMEOUT_MS):
            walk.problems.append(f"the kernel did not start: {_state(page)}")
            return walk
        for n in range(2):  # each shell is ready when it shows its first prompt
            page.locator(TERMINAL).nth(n).locator(".xterm-screen").click()  # as a learner starts: click into it
            try:
                page.wait_for_function(f"([s, n, p]) => ({_PROMPTS_JS})([s, n, p]) > 0", arg=[TERMINAL, n, PROMPT])
            except PlaywrightTimeout:
                page.screenshot(path=artifacts / "04-layout-failed.png")
                walk.problems.append(f"terminal {n + 1} shows no prompt: {terminal_text(page, n)!r}")
                return walk
        try:  # JupyterLab restores the saved layout in steps: measure it once it has settled
            page.wait_for_function(_SIDE_BY_SIDE_JS, arg=[NOTEBOOK, TERMINAL], timeout=OPEN_TIMEOUT_MS)
        except PlaywrightTimeout:
            pass  # the layout below is what it is; the test's assertions say what is wrong with it
        walk.layout = {"notebook": page.locator(NOTEBOOK).bounding_box()}
        for n in range(page.locator(TERMINAL).count()):
            walk.layout[f"terminal {n + 1}"] = page.locator(TERMINAL).nth(n).bounding_box()
        walk.screenshot = artifacts / "04-layout.png"
        if looks_blank(picture_stats(page.screenshot(path=walk.screenshot))):
            walk.problems.append("the layout's screenshot is blank")
        for index in code:
            cid = ids[index]
            if cid == CHOICE_CELL:
                source = "".join(cells[index]["source"]).replace("use_terminals = False", "use_terminals = True")
                _edit_cell(page, index, source)
            for n, command in STEPS.get(cid, []):
                command = command.format(pid=walk.pid)
                walk.typed.append((n, command))
                if not type_command(page, n, command):
                    walk.problems.append(f"shell {n + 1}: {command!r} gave no prompt back: {terminal_text(page, n)!r}")
                    return walk
                if command == "echo $$":
                    walk.pid = _answer_to(terminal_text(page, n), command)
                    walk.inode = _answer_to(terminal_text(page, n), "readlink /proc/$$/ns/net")
            errors = len(traffic.errors)
            if not _run_cell(page, index):
                walk.problems.append(f"cell {cid} did not finish: {_state(page)}")
                return walk
            walk.executed += 1
            if len(traffic.errors) > errors:
                walk.problems.extend(f"cell {cid}: {e}" for e in traffic.errors[errors:])
                return walk
            if cid in STEPS or cid == FINAL_CHECK:
                walk.outputs[cid] = _output(page, index)
            if cid == FINAL_CHECK:
                walk.terminals = [terminal_text(page, n) for n in range(2)]
                page.screenshot(path=artifacts / "04-layout-done.png")
    finally:
        page.close()
    return walk
