"""Use the lab as a learner does: JupyterLab in headless Chromium, driven by Playwright, and report what they see.

One visit of a notebook, as ``visit_notebook`` does it:

1. open it the way the learner does: the URL ``netlab lab`` printed, with ``/lab/tree/NAME``;
   the kernel must start by itself (no "Select Kernel" dialog) and go idle;
2. Run > Run All Cells, then wait until no cell shows ``[*]`` and the kernel is idle;
3. look: every code cell ran, no error (the kernel's own messages, read off the page's websocket, are the
   authority: JupyterLab 4 renders a traceback with the same ``application/vnd.jupyter.stderr`` mime type as
   a warning), every image is loaded, big enough, shown at its aspect ratio and not blank (its pixels, read
   from a screenshot of the element), every widget rendered;
4. a screenshot of the key view (the first diagram, else the top), checked for real content, and its Chinese
   characters (the article's quotes; all the prose of a zh-CN lesson) for drawn glyphs, not empty boxes
   (``drawn_glyphs``); a diagram whose labels lack a font (matplotlib's "Glyph ... missing from font(s)"
   warning) is a problem too;
5. if the notebook has widgets with a button or a dropdown, use them the way a learner would: Kernel >
   Restart Kernel and Clear Outputs, then Shift+Enter down the notebook, and right after a cell shows such a
   widget (so the namespaces it shows still exist, before the notebook's clean-up runs), use it as below and
   wait for its text to change.

The contract for widgets, then (ipywidgets, as a learner reads them):

- a form, i.e. a widget with a primary button (``button_style="primary"``, like the ping tester's "Ping"):
  its empty text boxes are filled with their first suggestion (a Combobox's options), else their placeholder,
  the primary button is clicked, and something new must show;
- else a widget with a dropdown (like the namespace explorer): another entry is picked, and what it shows
  must change;
- else a widget with a button: it is clicked, and something new must show.

Nothing depends on the interface's language: menus are found by the command they run, not their label, so
the same visit works in JupyterLab in English and in Chinese (``netlab lab --lang zh-CN``).

Nothing here asserts: ``visit_notebook`` returns a ``Visit`` whose ``problems`` list says, in words, what a
learner would have hit. The tests assert it is empty for the real notebooks, and that it names every planted
fault in a deliberately broken one (so the checks are known to bite).
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lab_server import RunningLab
from playwright.sync_api import BrowserContext, Page, WebSocket
from playwright.sync_api import TimeoutError as PlaywrightTimeout

CHROMIUM = Path("/usr/bin/chromium")  # Debian's chromium; Playwright never downloads a browser here
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 1000}

OPEN_TIMEOUT_MS = 90_000  # page load, kernel start
RUN_TIMEOUT_MS = 300_000  # Run All Cells of one notebook
CELL_TIMEOUT_MS = 120_000  # one cell, when walking with Shift+Enter
WIDGET_TIMEOUT_MS = 60_000  # a widget's answer to a click
RENDER_GRACE_MS = 10_000  # after the kernel handled a click and went idle, for the page to show the answer

MIN_IMAGE = (120, 90)  # natural size of a diagram, in pixels, at least
NO_KERNEL = ["No Kernel", "无内核"]  # the toolbar's kernel name when there is none, in English and in Chinese
MIN_CHINESE = 8  # different Chinese characters a zh-CN lesson shows in its key view, at least

NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden)"
TOP_WIDGETS = ".jp-Cell-outputArea .jupyter-widgets:not(.jupyter-widgets *)"  # not nested in another widget
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
BUTTON = "button.widget-button:not([disabled])"
PRIMARY_BUTTON = "button.widget-button.mod-primary:not([disabled])"
DROPDOWN = ".widget-dropdown select"
TEXT_BOX = "input[type=text]:not([disabled])"  # Text, Combobox

# The state of the open notebook, as its page shows it.
_STATE_JS = """(sel) => {
    const panel = document.querySelector(sel);
    if (!panel) return null;
    const indicator = panel.querySelector('.jp-Notebook-ExecutionIndicator');
    const kernel = panel.querySelector('.jp-Toolbar-kernelName');
    const cells = [...panel.querySelectorAll('.jp-Notebook-cell')].map(c => ({
        index: Number(c.dataset.windowedListIndex),
        code: c.classList.contains('jp-CodeCell'),
        prompt: c.classList.contains('jp-CodeCell') ? c.querySelector('.jp-InputArea-prompt').textContent.trim() : '',
        active: c.classList.contains('jp-mod-active'),
    }));
    const dialogs = [...document.querySelectorAll('.jp-Dialog')].map(d => d.innerText.trim());
    return {status: indicator ? indicator.dataset.status : null,
            kernel: kernel ? kernel.innerText.trim() : null, cells, dialogs};
}"""

# Notes in the page whether the kernel goes busy from now on (a widget's callback runs in the kernel).
_WATCH_BUSY_JS = """(sel) => {
    window.__netlabBusy = false;
    if (window.__netlabBusyWatch) window.__netlabBusyWatch.disconnect();
    window.__netlabBusyWatch = new MutationObserver(records => {
        if (records.some(r => r.attributeName === 'data-status'
                && (r.oldValue === 'busy' || r.target.dataset.status === 'busy'))) window.__netlabBusy = true;
    });
    window.__netlabBusyWatch.observe(document.querySelector(sel + ' .jp-NotebookPanel-toolbar'),
        {attributes: true, attributeOldValue: true, subtree: true, childList: true});
}"""

# The widget shows something new, or the kernel went busy and back to idle (it handled the event).
_ANSWERED_JS = """([w, before, sel]) => {
    if (w.innerText !== before && w.innerText.trim() !== '') return true;
    const indicator = document.querySelector(sel + ' .jp-Notebook-ExecutionIndicator');
    return window.__netlabBusy && indicator && indicator.dataset.status === 'idle';
}"""

_CHANGED_JS = "([w, before]) => w.innerText !== before && w.innerText.trim() !== ''"

# True when the notebook is in the state named by `want` (see _wait_for).
_READY_JS = """([sel, want, cells]) => {
    const state = (__STATE__)(sel);
    if (!state) return false;
    if (want.dialog && state.dialogs.length) return true;
    const idle = state.status === 'idle' && state.kernel && !want.noKernel.includes(state.kernel);
    if (!idle) return false;
    const prompt = Object.fromEntries(state.cells.map(c => [c.index, c.prompt]));
    const ran = i => /^\\[\\d+\\]:$/.test(prompt[i] || '');
    const busy = state.cells.some(c => c.prompt.includes('*'));
    if (want.mode === 'idle') return true;
    if (want.mode === 'ran-all') return !busy && (cells.length === 0 || cells.some(ran));
    if (want.mode === 'ran-cell') return !busy && cells.every(ran);
    if (want.mode === 'cleared') return !busy && !state.cells.some(c => /\\d/.test(c.prompt));
    return false;
}""".replace("__STATE__", _STATE_JS)


@dataclass
class Visit:
    """What a learner met in one notebook."""

    name: str
    problems: list[str] = field(default_factory=list)
    cells: int = 0
    code_cells: int = 0  # with some source
    executed: int = 0  # code cells that show an execution count after Run All
    kernel_errors: list[str] = field(default_factory=list)
    images: list[dict] = field(default_factory=list)
    widgets: list[dict] = field(default_factory=list)
    menus: list[str] = field(default_factory=list)  # the menu bar's labels: the interface's language
    glyphs: dict = field(default_factory=dict)  # the key view's Chinese characters (see drawn_glyphs)
    screenshots: list[Path] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # how long each step took (reported, never asserted)

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = time.monotonic()
        try:
            yield
        finally:
            self.seconds[name] = round(time.monotonic() - start, 1)


class KernelTraffic:
    """The kernel's messages as the page receives them on its websocket: errors, widget displays, restarts."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        self.stderr: list[str] = []
        self.widget_views = 0
        self.states: list[str] = []
        page.on("websocket", self._on_websocket)

    def _on_websocket(self, ws: WebSocket) -> None:
        if "/api/kernels/" in ws.url and "/channels" in ws.url:
            ws.on("framereceived", self._on_frame)

    def _on_frame(self, payload: str | bytes) -> None:
        msg = decode_kernel_frame(payload)
        if msg is None:
            return
        kind, content = msg
        if kind == "error":
            self.errors.append(
                f"{content.get('ename')}: {content.get('evalue')}\n"
                + _strip_ansi("\n".join(content.get("traceback", [])))
            )
        elif kind == "stream" and content.get("name") == "stderr":
            self.stderr.append(content.get("text", ""))
        elif kind in ("display_data", "execute_result") and WIDGET_VIEW in content.get("data", {}):
            self.widget_views += 1
        elif kind == "status":
            self.states.append(content.get("execution_state", ""))


def decode_kernel_frame(payload: str | bytes) -> tuple[str, dict] | None:
    """(msg_type, content) of one websocket frame: JSON text (legacy) or the binary v1 protocol."""
    try:
        if isinstance(payload, str):
            msg = json.loads(payload)
            return msg["header"]["msg_type"], msg.get("content", {})
        from jupyter_server.services.kernels.connection.base import deserialize_msg_from_ws_v1

        _channel, parts = deserialize_msg_from_ws_v1(payload)
        return json.loads(parts[0])["msg_type"], json.loads(parts[3])
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def _strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def picture_stats(png: bytes) -> dict:
    """Size and spread of a picture's pixels: enough to tell a drawing from a blank rectangle."""
    from PIL import Image, ImageStat

    image = Image.open(io.BytesIO(png)).convert("RGB")
    width, height = image.size
    colors = image.getcolors(maxcolors=1 << 16)
    return {
        "size": (width, height),
        "stddev": round(ImageStat.Stat(image.convert("L")).stddev[0], 1),
        "colors": len(colors) if colors else 1 << 16,
        "dominant": round(max(n for n, _ in colors) / (width * height), 4) if colors else 0.0,
    }


def looks_blank(stats: dict) -> bool:
    """One colour (or nearly: 99.8 % of the pixels), or no visible spread: nothing drawn."""
    return stats["colors"] < 3 or stats["dominant"] > 0.998 or stats["stddev"] < 2


def _state(page: Page) -> dict:
    return page.evaluate(_STATE_JS, NOTEBOOK)


def _wait_for(page: Page, mode: str, *, cells: list[int] = (), timeout: float, dialog: bool = False) -> bool:
    """Wait until the open notebook is idle ('idle'), done with Run All ('ran-all'), has run `cells`
    ('ran-cell'), or shows no execution count ('cleared'); with `dialog`, a dialog also ends the wait."""
    try:
        page.wait_for_function(
            _READY_JS,
            arg=[NOTEBOOK, {"mode": mode, "dialog": dialog, "noKernel": NO_KERNEL}, list(cells)],
            timeout=timeout,
        )
        return True
    except PlaywrightTimeout:
        return False


def _menu(page: Page, command: str) -> None:
    """Click the menu bar's menu that holds ``command``, then its entry. Found by the command, not by the labels
    (Run, 运行): each menu is opened in turn until the entry shows."""
    entry = page.locator(f'.lm-Menu-item[data-command="{command}"]')
    bar = page.locator(".lm-MenuBar-item")
    for i in range(bar.count()):
        bar.nth(i).click()
        if entry.count() and entry.first.is_visible():
            entry.first.click()
            return
        page.keyboard.press("Escape")
    raise AssertionError(f"no menu of the menu bar has {command}")


def menu_labels(page: Page) -> list[str]:
    """The menu bar's labels, as the learner reads them (File Edit ... or 文件 编辑 ...)."""
    return [label.strip() for label in page.locator(".lm-MenuBar-item").all_inner_texts()]


def _accept_dialogs(page: Page, visit: Visit) -> None:
    """A dialog on opening (e.g. "Select Kernel": the notebook names no kernel) is a problem; accept it."""
    for text in _state(page)["dialogs"]:
        visit.problems.append(f"a dialog stopped the learner: {text!r}")
        page.locator(".jp-Dialog .jp-mod-accept").first.click()
        page.locator(".jp-Dialog").first.wait_for(state="detached")


def _code_cells(notebook_file: Path) -> tuple[int, list[int]]:
    """Number of cells, and the indexes of the code cells that have something to run."""
    cells = json.loads(notebook_file.read_text())["cells"]
    return len(cells), [i for i, c in enumerate(cells) if c["cell_type"] == "code" and "".join(c["source"]).strip()]


def visit_notebook(
    context: BrowserContext, lab: RunningLab, relpath: str, artifacts: Path, *, chinese: bool = False
) -> Visit:
    """Open ``relpath`` (in the folder the lab serves) in JupyterLab, run it all, look at it, use its widgets;
    return what was found. Screenshots go to ``artifacts``. The kernel is shut down afterwards, whatever happened.
    ``chinese``: a zh-CN lesson, whose key view must show Chinese (at least ``MIN_CHINESE`` characters)."""
    visit = Visit(name=relpath)
    visit.cells, code = _code_cells(lab.root / relpath)
    visit.code_cells = len(code)
    stem = Path(relpath).stem
    artifacts.mkdir(parents=True, exist_ok=True)
    page = context.new_page()
    traffic = KernelTraffic(page)
    try:
        with visit.step("open"):
            _open(page, lab, relpath, visit)
        if not visit.problems:
            with visit.step("run all"):
                _run_all(page, visit, traffic, code)
            with visit.step("look"):
                _look(page, visit, traffic, artifacts, stem, chinese=chinese)
            if _interactive_widgets(page):
                with visit.step("walk and use widgets"):
                    _walk(page, visit, traffic, code, artifacts, stem)
    finally:
        page.close()
        shut_down_kernels(lab)
    return visit


def _open(page: Page, lab: RunningLab, relpath: str, visit: Visit) -> None:
    # `reset`: a fresh workspace, else JupyterLab reopens the tabs of the previous visit (and their kernels).
    page.goto(lab.url_for(relpath) + "&reset")
    page.locator(NOTEBOOK).wait_for(timeout=OPEN_TIMEOUT_MS)
    if not _wait_for(page, "idle", timeout=OPEN_TIMEOUT_MS, dialog=True):
        visit.problems.append(f"the kernel did not start: {_state(page)}")
        return
    _accept_dialogs(page, visit)
    if not _wait_for(page, "idle", timeout=OPEN_TIMEOUT_MS):
        visit.problems.append(f"the kernel did not start: {_state(page)}")
        return
    visit.menus = menu_labels(page)
    # JupyterLab adds the cells of a long notebook to the page a batch at a time.
    try:
        page.wait_for_function(
            "([sel, n]) => document.querySelectorAll(sel + ' .jp-Notebook-cell').length === n",
            arg=[NOTEBOOK, visit.cells],
            timeout=OPEN_TIMEOUT_MS,
        )
    except PlaywrightTimeout:
        visit.problems.append(f"the page shows {len(_state(page)['cells'])} cells, the notebook has {visit.cells}")
    # Saved outputs would hide whether this run produced them (and notebooks are committed without).
    numbered = [c["index"] for c in _state(page)["cells"] if re.search(r"\d", c["prompt"])]
    if numbered:
        visit.problems.append(f"the notebook was saved with outputs (cells {numbered} show execution counts)")


def _run_all(page: Page, visit: Visit, traffic: KernelTraffic, code: list[int]) -> None:
    _menu(page, "runmenu:run-all")
    if not _wait_for(page, "ran-all", cells=code, timeout=RUN_TIMEOUT_MS):
        visit.problems.append(f"Run All Cells did not finish in {RUN_TIMEOUT_MS // 1000} s")
    prompts = {c["index"]: c["prompt"] for c in _state(page)["cells"]}
    visit.executed = sum(bool(re.fullmatch(r"\[\d+\]:", prompts.get(i, ""))) for i in code)
    visit.kernel_errors = list(traffic.errors)
    for error in traffic.errors:
        visit.problems.append(f"error: {error}")
    if visit.executed != len(code) and not traffic.errors:
        not_run = [i for i in code if not re.fullmatch(r"\[\d+\]:", prompts.get(i, ""))]
        visit.problems.append(f"code cells {not_run} did not run")
    if "restarting" in traffic.states or "dead" in traffic.states:
        visit.problems.append("the kernel died")


def _look(page: Page, visit: Visit, traffic: KernelTraffic, artifacts: Path, stem: str, *, chinese: bool) -> None:
    panel = page.locator(NOTEBOOK)
    # Errors as the page shows them (a traceback is rendered as stderr text in JupyterLab 4).
    shown = panel.locator(
        '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"], '
        '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
    )
    for i in range(shown.count()):
        text = shown.nth(i).text_content()
        if (
            "Traceback (most recent call last)" in text
            or shown.nth(i).get_attribute("data-mime-type") == "application/vnd.jupyter.error"
        ):
            last = (text.strip().splitlines() or [""])[-1]
            if not any(last in e for e in visit.kernel_errors):
                visit.problems.append(f"the page shows an error: {text[-500:]}")

    # Images: loaded, big enough, shown whole, not blank.
    images = panel.locator(".jp-RenderedImage img")
    if images.count():
        page.wait_for_function(
            f"() => [...document.querySelectorAll('{NOTEBOOK} .jp-RenderedImage img')].every(i => i.complete)",
            timeout=OPEN_TIMEOUT_MS,
        )
    for i in range(images.count()):
        img = images.nth(i)
        img.scroll_into_view_if_needed()
        natural = img.evaluate("i => [i.naturalWidth, i.naturalHeight]")
        box = img.bounding_box()
        shot = artifacts / f"{stem}-image-{i + 1}.png"
        stats = picture_stats(img.screenshot(path=shot))
        info = {"natural": tuple(natural), "shown": (round(box["width"]), round(box["height"])), **stats}
        visit.images.append(info)
        where = f"image {i + 1} ({shot.name})"
        if natural[0] < MIN_IMAGE[0] or natural[1] < MIN_IMAGE[1]:
            visit.problems.append(f"{where} is only {natural[0]}x{natural[1]} pixels")
        elif (
            box["width"] < min(natural[0], MIN_IMAGE[0])
            or abs(box["width"] / box["height"] - natural[0] / natural[1]) > 0.05 * natural[0] / natural[1]
        ):
            visit.problems.append(f"{where} is {natural[0]}x{natural[1]} but shown as {info['shown']}")
        if looks_blank(stats):
            visit.problems.append(f"{where} is blank: {stats}")
    missing = sorted(
        {line.strip() for text in traffic.stderr for line in text.splitlines() if "missing from font" in line}
    )
    if missing:
        visit.problems.append(f"a diagram's text has no font (empty boxes): {missing[:3]}")

    # Widgets: rendered wherever the kernel sent one.
    if traffic.widget_views:
        try:
            panel.locator(TOP_WIDGETS).first.wait_for(timeout=OPEN_TIMEOUT_MS)
        except PlaywrightTimeout:
            visit.problems.append(f"the kernel sent {traffic.widget_views} widgets, the page shows none")
    broken = panel.locator(".jp-OutputArea-output", has_text="Error displaying widget")
    if broken.count():
        visit.problems.append(f"a widget failed to display: {broken.first.inner_text()[:300]}")

    # The key view: the first diagram, else the first widget, else the top of the notebook.
    key = images.first if images.count() else panel.locator(TOP_WIDGETS).first
    if key.count():
        key.evaluate("e => e.scrollIntoView({block: 'center'})")
    _painted(page)
    path = artifacts / f"{stem}.png"
    png = page.screenshot(path=path)
    page_stats = picture_stats(png)
    visit.glyphs = drawn_glyphs(png, page.evaluate(_CHINESE_IN_VIEW_JS, NOTEBOOK))
    if visit.glyphs["characters"] and visit.glyphs["alike"] > MAX_ALIKE:
        visit.problems.append(f"the Chinese characters in {path.name} are empty boxes, not glyphs: {visit.glyphs}")
    elif chinese and visit.glyphs["in notebook"] < MIN_CHINESE:
        visit.problems.append(f"the screenshot {path.name} of a Chinese lesson shows no Chinese: {visit.glyphs}")
    box = panel.bounding_box()
    panel_stats = picture_stats(page.screenshot(clip=box))
    visit.screenshots.append(path)
    if (
        page_stats["size"] != (VIEWPORT["width"], VIEWPORT["height"])
        or looks_blank(page_stats)
        or looks_blank(panel_stats)
    ):
        visit.problems.append(f"the screenshot {path.name} shows nothing: {page_stats}, notebook {panel_stats}")


# Each Chinese character (Han script) the page shows in view, once, the notebook's first, then the interface's
# (menus, file browser): [character, x, y, width, height, in the notebook]. Shown: on top at its place (not hidden,
# clipped or covered: the status bar's text for screen readers is in the page too).
_CHINESE_IN_VIEW_JS = """(sel) => {
    const seen = new Set(), found = [], panel = document.querySelector(sel);
    const nodes = root => {
        const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT), all = [];
        for (let node; (node = walker.nextNode()); ) all.push(node);
        return all;
    };
    const notebook = panel ? nodes(panel) : [];
    const inNotebook = new Set(notebook);
    for (const node of [...notebook, ...nodes(document.body).filter(n => !inNotebook.has(n))]) {
        if (found.length >= 60) break;
        const parent = node.parentElement;
        if (!parent || !parent.checkVisibility({opacityProperty: true, visibilityProperty: true})) continue;
        let offset = 0;
        for (const ch of node.data) {
            const start = offset;
            offset += ch.length;
            if (!/\\p{Script=Han}/u.test(ch) || seen.has(ch)) continue;
            const range = document.createRange();
            range.setStart(node, start);
            range.setEnd(node, offset);
            const b = range.getBoundingClientRect();
            if (b.width < 6 || b.height < 6 || b.top < 0 || b.left < 0
                || b.bottom > innerHeight || b.right > innerWidth) continue;
            const top = document.elementFromPoint(b.x + b.width / 2, b.y + b.height / 2);
            if (!top || !(top === parent || parent.contains(top))) continue;
            seen.add(ch);
            found.push([ch, b.x, b.y, b.width, b.height, inNotebook.has(node)]);
        }
    }
    return found;
}"""
MAX_ALIKE = 0.2  # of the pairs of different characters, the share that may look alike (see drawn_glyphs)


def drawn_glyphs(png: bytes, characters: list[list]) -> dict:
    """Are these Chinese characters (``[char, x, y, width, height, in_notebook]`` on the screenshot ``png``) drawn
    as glyphs?

    Without a font that has them, a browser draws every character as the same empty box ("tofu"). So each
    character is cut out of the screenshot and compared with every other one (at the best of nine 1-pixel
    shifts): two different glyphs differ in about a third or more of their ink, two boxes only by their
    anti-aliasing at fractions of a pixel. ``alike``: the share of pairs that differ in under a fifth (drawn
    Chinese: 0; boxes: about half or more); over ``MAX_ALIKE`` means boxes.
    """
    import numpy as np
    from PIL import Image

    shot = Image.open(io.BytesIO(png)).convert("L")
    cut = [
        (255 - np.asarray(shot.crop((round(x) - 1, round(y), round(x + w) + 1, round(y + h))), dtype=float), inside)
        for _ch, x, y, w, h, inside in characters
    ]
    cut = [(c, inside) for c, inside in cut if c.sum() > 0]  # a character behind something else: nothing to see
    cuts = [c for c, _inside in cut]

    def difference(a, b) -> float:
        h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
        a, b = a[:h, :w], b[:h, :w]
        return min(
            float(np.abs(np.roll(a, (dy, dx), (0, 1)) - b).sum() / max(a.sum() + b.sum(), 1.0))
            for dy in (-1, 0, 1)
            for dx in (-1, 0, 1)
        )

    pairs = [difference(a, b) for i, a in enumerate(cuts) for b in cuts[i + 1 :]]
    return {
        "characters": len(cuts),
        "in notebook": sum(inside for _c, inside in cut),
        "sample": "".join(ch for ch, *_ in characters[:12]),
        "alike": round(sum(d < 0.2 for d in pairs) / len(pairs), 2) if pairs else 0.0,
    }


def _painted(page: Page) -> None:
    """Wait two frames: cells are styled `content-visibility: auto`, so those just scrolled into view are laid
    out and painted in the next frames (before that they are blank, and their innerText is not their text)."""
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")


def _interactive_widgets(page: Page, scope: str = NOTEBOOK) -> list:
    """The top-level widgets under `scope` that have an enabled button or a dropdown."""
    widgets = page.locator(f"{scope} {TOP_WIDGETS}")
    return [
        widgets.nth(i)
        for i in range(widgets.count())
        if widgets.nth(i).evaluate(
            "(w, sel) => w.matches(sel) || w.querySelector(sel) !== null", f"{BUTTON}, {DROPDOWN}"
        )
    ]


def _walk(page: Page, visit: Visit, traffic: KernelTraffic, code: list[int], artifacts: Path, stem: str) -> None:
    """Restart and clear, then Shift+Enter down the notebook, using each widget as soon as it shows."""
    _menu(page, "kernelmenu:restart-and-clear")
    page.locator(".jp-Dialog .jp-mod-accept").click()
    if not _wait_for(page, "cleared", timeout=OPEN_TIMEOUT_MS):
        visit.problems.append(f"Restart Kernel and Clear Outputs did not finish: {_state(page)}")
        return
    used = 0
    for n, index in enumerate(code):
        errors_before, views_before = len(traffic.errors), traffic.widget_views
        cell = f'{NOTEBOOK} .jp-Notebook-cell[data-windowed-list-index="{index}"]'
        page.locator(cell).focus()  # focus makes it the active cell, in command mode
        page.keyboard.press("Control+Enter" if n == len(code) - 1 else "Shift+Enter")
        if not _wait_for(page, "ran-cell", cells=[index], timeout=CELL_TIMEOUT_MS):
            visit.problems.append(f"walking with Shift+Enter: cell {index} did not finish: {_state(page)}")
            return
        if len(traffic.errors) > errors_before:
            visit.problems.extend(f"walking with Shift+Enter: error: {e}" for e in traffic.errors[errors_before:])
            return
        if traffic.widget_views > views_before:  # the page builds the views after the cell is done
            try:
                page.locator(f"{cell} {TOP_WIDGETS}").first.wait_for(timeout=WIDGET_TIMEOUT_MS)
            except PlaywrightTimeout:
                visit.problems.append(f"walking with Shift+Enter: cell {index} sent widgets, the page shows none")
        for widget in _interactive_widgets(page, cell):
            used += 1
            _use_widget(page, visit, traffic, widget, artifacts / f"{stem}-widget-{used}.png")
    if not used:
        visit.problems.append("walking with Shift+Enter: no widget with a button or a dropdown showed up")


def _use_widget(page: Page, visit: Visit, traffic: KernelTraffic, widget, shot: Path) -> None:
    """Use a widget the way its look invites, and see whether it answers (module docstring: the contract)."""
    widget.scroll_into_view_if_needed()  # as a learner looks at it (and innerText needs it rendered)
    _painted(page)
    before = widget.inner_text()
    errors_before = len(traffic.errors)
    page.evaluate(_WATCH_BUSY_JS, NOTEBOOK)
    itself = "(w, sel) => w.matches(sel)"
    primary = widget if widget.evaluate(itself, PRIMARY_BUTTON) else widget.locator(PRIMARY_BUTTON).first
    button = widget if widget.evaluate(itself, BUTTON) else widget.locator(BUTTON).first
    select = widget.locator(DROPDOWN).first
    if primary.count():
        # A form: fill its empty boxes with what they suggest (first suggestion, else the placeholder), submit.
        filled = []
        boxes = widget.locator(TEXT_BOX)
        for i in range(boxes.count()):
            box = boxes.nth(i)
            if not box.input_value():
                suggestion = box.evaluate(
                    "b => (b.list && b.list.options.length ? b.list.options[0].value : '') || b.placeholder"
                )
                if suggestion:
                    box.fill(suggestion)
                    filled.append(suggestion)
        action = f"click {primary.inner_text().strip() or 'its button'!r}" + (f" with {filled}" if filled else "")
        primary.click()
    elif select.count() and len(select.locator("option").all()) > 1:
        current = select.input_value()
        options = select.locator("option").evaluate_all("os => os.map(o => [o.value, o.innerText])")
        value, label = next((value, label) for value, label in options if value != current)
        action = f"pick {label!r}"
        select.select_option(value)
    elif button.count():
        action = f"click {button.inner_text().strip() or 'its button'!r}"
        button.click()
    else:
        visit.widgets.append({"action": "none: one dropdown entry, no button", "before": before})
        return
    handle = widget.element_handle()
    try:
        # Done when the answer shows, or when the kernel has handled the event (then the page gets a moment
        # to render what it sent): no waiting out the whole timeout for a widget that answers nothing.
        page.wait_for_function(_ANSWERED_JS, arg=[handle, before, NOTEBOOK], timeout=WIDGET_TIMEOUT_MS)
        if len(traffic.errors) == errors_before:  # a callback that raised shows nothing more: no grace then
            page.wait_for_function(_CHANGED_JS, arg=[handle, before], timeout=RENDER_GRACE_MS)
        _wait_for(page, "idle", timeout=WIDGET_TIMEOUT_MS)
    except PlaywrightTimeout:
        pass
    responded = page.evaluate(_CHANGED_JS, [handle, before])
    widget.scroll_into_view_if_needed()
    _painted(page)
    after = widget.inner_text()
    widget.screenshot(path=shot)
    visit.screenshots.append(shot)
    visit.widgets.append({"action": action, "before": before, "after": after, "responded": responded})
    if not responded:
        visit.problems.append(f"widget: {action} changed nothing (it shows {before!r}; {shot.name})")
    visit.problems.extend(f"widget: {action} raised: {e}" for e in traffic.errors[errors_before:])


def processes_mentioning(text: str) -> list[str]:
    """Command lines of the processes whose command line contains `text`."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            argv = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if text.encode() in argv:
            command = argv.replace(b"\0", b" ").decode(errors="replace")
            found.append(f"{proc.name}: {command[:200]}")
    return found


def shut_down_kernels(lab: RunningLab) -> None:
    """Shut down every kernel: one notebook at a time is visited, so they all belong to the last visit."""
    for session in lab.api("sessions"):
        lab.api(f"sessions/{session['id']}", method="DELETE")
