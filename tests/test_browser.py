"""The lab as a learner sees it: `netlab lab`, JupyterLab in a real browser, every notebook run to the end.

One `netlab lab` (the README's command, token on) and one headless Chromium serve the whole module; a second
`netlab lab --lang zh-CN` serves the Chinese lessons (notebooks/zh-CN) in JupyterLab's Chinese interface, each
visited the same way, its screenshot checked for drawn Chinese glyphs, not empty boxes. The server
works on a copy of notebooks/ (running a notebook in JupyterLab marks it changed, and nothing may write
outputs into the repository's notebooks), plus two self-test notebooks that keep the checks honest: one that
works (a diagram, an explorer-like dropdown, a ping-like button) and one with a fault of every kind the checks
must catch. What a visit does and checks is described in learner_browser.py.

Screenshots land in test-artifacts/browser/ (git-ignored; the Chinese lessons' in its zh-CN/): NAME.png per
notebook, and one per image and per widget used.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import world_state
from lab_server import RunningLab, netlab_lab
from learner_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    MAX_ALIKE,
    MIN_CHINESE,
    VIEWPORT,
    looks_blank,
    picture_stats,
    processes_mentioning,
    shut_down_kernels,
    visit_notebook,
)
from learner_terminals import STEPS, walk_two_shells

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts" / "browser"
NOTEBOOKS = sorted(p.name for p in (REPO / "notebooks").glob("[0-9]*.ipynb"))
CHINESE = sorted(p.name for p in (REPO / "notebooks" / "zh-CN").glob("[0-9]*.ipynb"))
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def _notebook(cells: list[tuple[str, str]]) -> str:
    return json.dumps(
        {
            "cells": [
                {
                    "cell_type": kind,
                    "metadata": {},
                    "source": source,
                    **({"outputs": [], "execution_count": None} if kind == "code" else {}),
                }
                for kind, source in cells
            ],
            "metadata": {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}},
            "nbformat": 4,
            "nbformat_minor": 5,
        },
        indent=1,
    )


# Works: what the real notebooks show, in miniature, with real Python callbacks behind the widgets.
SELFTEST_GOOD = _notebook(
    [
        ("markdown", "# Self-test: a diagram and two widgets"),
        (
            "code",
            "import matplotlib.pyplot as plt\n"
            "fig, ax = plt.subplots(figsize=(5, 2.5))\n"
            "for x, name in ((0, 'root'), (1, 'netns1')):\n"
            "    ax.add_patch(plt.Rectangle((x * 3, 0), 2, 1, color='tab:blue', alpha=0.3))\n"
            "    ax.text(x * 3 + 1, 0.5, name, ha='center', va='center')\n"
            "ax.plot([2, 3], [0.5, 0.5], 'k-')\n"
            "ax.set_xlim(-0.5, 5.5); ax.set_ylim(-0.5, 1.5); ax.axis('off')\n"
            "plt.show()",
        ),
        (
            "code",
            "import ipywidgets as widgets\n"
            "links = {'root': ['lo', 'veth0'], 'netns1': ['lo', 'veth1']}\n"
            "namespace = widgets.Dropdown(options=list(links), description='namespace')\n"
            "refresh = widgets.Button(description='Refresh')  # the explorer's is a plain button too\n"
            "shown = widgets.Output()\n"
            "def show(change=None):\n"
            "    shown.clear_output()\n"
            "    with shown:\n"
            "        print('links in', namespace.value + ':', ', '.join(links[namespace.value]))\n"
            "namespace.observe(show, names='value')\n"
            "refresh.on_click(show)\n"
            "show()\n"
            "widgets.VBox([widgets.HBox([namespace, refresh]), shown])",
        ),
        (
            "code",
            "source = widgets.Dropdown(options=['root', 'netns1'], description='from')\n"
            "address = widgets.Combobox(options=['10.1.1.1', '10.1.1.2'], placeholder='10.1.1.1', description='ping')\n"
            "button = widgets.Button(description='Ping', button_style='primary')\n"
            "result = widgets.HTML()\n"
            "def on_ping(button):\n"
            "    text = f'ping {address.value} from {source.value}: 1 packets transmitted, 1 received'\n"
            "    result.value = f'<pre>{text}</pre>'\n"
            "button.on_click(on_ping)\n"
            "widgets.VBox([widgets.HBox([source, address, button]), result])",
        ),
        ("code", "import warnings\nwarnings.warn('a warning is not an error')"),
        ("code", ""),
        ("markdown", "The end."),
    ]
)


def _png(width: int, height: int) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


# Broken on purpose: each line of `BROKEN_FAULTS` must show up in the visit's problems.
def _selftest_broken() -> str:
    return _notebook(
        [
            # Han characters no installed font has (CJK Extension G): the browser can only draw boxes.
            ("markdown", "## " + "".join(chr(0x30000 + i) for i in range(16))),
            (
                "code",
                "import base64\nfrom IPython.display import Image, display\n"
                f"display(Image(data=base64.b64decode('{_png(400, 300)}')))  # blank\n"
                f"display(Image(data=base64.b64decode('{_png(40, 30)}')))    # too small",
            ),
            (
                "code",
                "import ipywidgets as widgets\n"
                "button = widgets.Button(description='fail')\n"
                "button.on_click(lambda b: 1 / 0)\n"
                "button",
            ),
            ("code", "raise RuntimeError('planted error')"),
            ("code", "print('never reached')"),
        ]
    )


BROKEN_FAULTS = [
    "the Chinese characters in broken.png are empty boxes",
    "image 1 (broken-image-1.png) is blank",
    "image 2 (broken-image-2.png) is only 40x30 pixels",
    "error: RuntimeError: planted error",
    "widget: click 'fail' changed nothing",
    "widget: click 'fail' raised: ZeroDivisionError",
]


def _scratch_jupyter(jupyter: Path) -> dict[str, str]:
    """The environment of a lab whose Jupyter and IPython state lives in ``jupyter``, a scratch directory.

    Nothing from this machine's ~/.jupyter or ~/.ipython changes what the test sees (nor does the test write
    there). Three settings differ from a fresh install: no autosave (nothing is written back), no "get Jupyter
    news?" toast over the notebook (the lab is offline anyway), and the terminals' screen reader mode, which
    puts their text in the page (learner_terminals.py reads it).
    """
    settings = jupyter / "lab-settings/@jupyterlab"
    for plugin, text in [
        ("docmanager-extension/plugin", '{"autosave": false}'),
        ("apputils-extension/notification", '{"fetchNews": "false", "checkForUpdates": false}'),
        ("terminal-extension/plugin", '{"screenReaderMode": true}'),
    ]:
        (settings / plugin).parent.mkdir(parents=True, exist_ok=True)
        (settings / f"{plugin}.jupyterlab-settings").write_text(text)
    return dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(jupyter / "config"),
        JUPYTER_DATA_DIR=str(jupyter / "data"),
        JUPYTER_RUNTIME_DIR=str(jupyter / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(jupyter / "lab-settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(jupyter / "workspaces"),
        IPYTHONDIR=str(jupyter / "ipython"),
    )


def _copy_of_the_lessons(root: Path) -> Path:
    """A copy of notebooks/ in ``root``, for a lab to serve (and its kernels to write to)."""
    served = root / "notebooks"
    shutil.copytree(REPO / "notebooks", served, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return served


@contextlib.contextmanager
def _lab_that_leaves_nothing(served: Path, env: dict[str, str], args: tuple[str, ...] = ()) -> Iterator[RunningLab]:
    """``netlab lab ARGS`` on ``served``; once stopped, its directory and its processes must be gone."""
    before = world_state()["children"]
    with netlab_lab(served, env=env, args=args) as running:
        yield running
    assert not running.workdir.exists(), "netlab lab left its directory behind"
    assert world_state()["children"] == before, "netlab lab left processes behind"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """`netlab lab` on a copy of notebooks/ and the self-tests, as the README starts it; gone afterwards."""
    root = tmp_path_factory.mktemp("browser")
    served = _copy_of_the_lessons(root)
    (served / "selftest").mkdir()
    (served / "selftest/good.ipynb").write_text(SELFTEST_GOOD)
    (served / "selftest/broken.ipynb").write_text(_selftest_broken())
    with _lab_that_leaves_nothing(served, _scratch_jupyter(root / "jupyter")) as running:
        yield running


@pytest.fixture(scope="module")
def chinese_lab(tmp_path_factory):
    """`netlab lab --lang zh-CN` on a copy of notebooks/: it serves notebooks/zh-CN, JupyterLab in Chinese."""
    root = tmp_path_factory.mktemp("browser-zh")
    served = _copy_of_the_lessons(root)
    env = _scratch_jupyter(root / "jupyter")
    env.update(NETLAB_LANG="", LANGUAGE="", LC_ALL="", LC_MESSAGES="", LANG="C.UTF-8")  # only --lang says Chinese
    with _lab_that_leaves_nothing(served, env, ("--lang", "zh-CN")) as running:
        assert running.root == served / "zh-CN", running.root
        yield running


@pytest.fixture(scope="module")
def lesson_lab(tmp_path_factory):
    """`netlab lab --lesson 04`: the notebook and two terminals side by side; gone afterwards."""
    root = tmp_path_factory.mktemp("lesson")
    env = _scratch_jupyter(root / "jupyter")
    env.pop("SHELL", None)  # as systemd or a CI runner starts it: the terminals must still be the article's bash
    with _lab_that_leaves_nothing(_copy_of_the_lessons(root), env, ("--lesson", "04")) as running:
        yield running


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Headless Debian Chromium under Playwright, with a fresh profile; closed with everything it started."""
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: ./scripts/test installs Debian's chromium"
    from playwright.sync_api import sync_playwright

    # Its ~/.config, ~/.cache and temporary files go to `home`, not this machine's: Debian's build starts crash
    # handlers that leave the browser's process tree (init adopts them) and keep a database in ~/.config, and
    # Playwright does not always get to remove the fresh profile it gives the browser (in $TMPDIR) when it
    # stops right after closing it. `home` is in the handlers' command line: the end can see they are gone.
    home = tmp_path_factory.mktemp("chromium-home")
    (home / "tmp").mkdir()
    env = dict(
        os.environ, XDG_CONFIG_HOME=str(home / "config"), XDG_CACHE_HOME=str(home / "cache"), TMPDIR=str(home / "tmp")
    )
    before = world_state()["children"]
    with _environment(TMPDIR=env["TMPDIR"]):  # the driver Playwright starts reads it
        playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True, env=env)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()
    assert world_state()["children"] == before, "the browser left processes behind"
    deadline = time.monotonic() + 30
    while processes_mentioning(str(home)) and time.monotonic() < deadline:
        time.sleep(0.2)  # the crash handlers notice the browser is gone on their own
    assert not processes_mentioning(str(home)), processes_mentioning(str(home))
    shutil.rmtree(home)


@contextlib.contextmanager
def _environment(**variables: str):
    """Set environment variables of this process for the time of the block (for the processes it starts)."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(scope="module")
def artifacts():
    """The screenshots' folder; each run overwrites its files (no wiping: a second run may be going on)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def context(browser):
    """A browser window of its own (no cookies from other tests)."""
    context = browser.new_context(viewport=VIEWPORT)
    yield context
    context.close()


def _report(visit) -> str:
    return "\n".join(
        [
            f"{visit.name}: {len(visit.problems)} problem(s)",
            *visit.problems,
            f"cells {visit.cells}, code {visit.code_cells}, ran {visit.executed}",
            f"images {visit.images}",
            f"widgets {visit.widgets}",
            f"menus {visit.menus}",
            f"chinese on screen {visit.glyphs}",
            f"screenshots {[str(p) for p in visit.screenshots]}",
            f"seconds {visit.seconds}",
        ]
    )


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_in_jupyterlab_as_a_learner_sees_it(lab, context, artifacts, name):
    visit = visit_notebook(context, lab, name, artifacts)
    print(_report(visit))  # shown with -s or -rA: what was seen, and how long each step took
    timings = artifacts / "timings.json"  # Run All's seconds per notebook, for scripts/agenda
    seen = json.loads(timings.read_text()) if timings.exists() else {}
    timings.write_text(json.dumps({**seen, Path(name).stem: visit.seconds}, indent=1, sort_keys=True))
    assert not visit.problems, _report(visit)
    assert visit.executed == visit.code_cells
    assert "Run" in visit.menus, visit.menus
    assert (artifacts / f"{Path(name).stem}.png").is_file()


@pytest.mark.parametrize("name", CHINESE)
def test_chinese_notebook_runs_in_a_chinese_jupyterlab(chinese_lab, context, artifacts, name):
    """`netlab lab --lang zh-CN`: the same visit as the English lessons', and the screenshot shows Chinese glyphs."""
    visit = visit_notebook(context, chinese_lab, name, artifacts / "zh-CN", chinese=True)
    print(_report(visit))
    assert not visit.problems, _report(visit)
    assert visit.executed == visit.code_cells
    assert "运行" in visit.menus and "Run" not in visit.menus, visit.menus  # JupyterLab's interface in Chinese
    # The screenshot: the lesson's first diagram in the middle, and Chinese around it, drawn as glyphs (not boxes).
    assert visit.images, "every lesson draws a diagram: the key view shows the first"
    assert visit.glyphs["in notebook"] >= MIN_CHINESE and visit.glyphs["alike"] <= MAX_ALIKE, visit.glyphs
    assert (artifacts / "zh-CN" / f"{Path(name).stem}.png").is_file()


def test_the_checks_pass_a_working_notebook_with_a_diagram_and_widgets(lab, context, artifacts):
    visit = visit_notebook(context, lab, "selftest/good.ipynb", artifacts)
    print(_report(visit))
    assert not visit.problems, _report(visit)
    assert visit.executed == visit.code_cells == 4
    [image] = visit.images
    assert image["natural"][0] >= 300 and not looks_blank(image)
    explorer, tester = visit.widgets
    assert explorer["action"] == "pick 'netns1'" and explorer["responded"]
    assert "links in root: lo, veth0" in explorer["before"] and "links in netns1: lo, veth1" in explorer["after"]
    assert tester["action"] == "click 'Ping' with ['10.1.1.1']" and tester["responded"]
    assert "ping 10.1.1.1 from root: 1 packets transmitted, 1 received" in tester["after"]
    assert [p.name for p in visit.screenshots] == ["good.png", "good-widget-1.png", "good-widget-2.png"]


def test_the_checks_catch_errors_blank_images_and_dead_widgets(lab, context, artifacts):
    visit = visit_notebook(context, lab, "selftest/broken.ipynb", artifacts)
    for fault in BROKEN_FAULTS:
        assert any(problem.startswith(fault) for problem in visit.problems), (fault, _report(visit))
    assert visit.executed == 3 < visit.code_cells  # Run All stops at the error


def test_a_wrong_token_gets_the_login_page_not_the_lab(lab, context, artifacts):
    page = context.new_page()
    page.goto(f"{lab.base}/lab?token=wrong")
    password = page.locator("#password_input")
    password.wait_for()
    assert "/login" in page.url
    assert page.locator(".jp-LabShell, #jp-main-dock-panel, .jp-NotebookPanel").count() == 0
    page.screenshot(path=artifacts / "login-wrong-token.png")
    assert not looks_blank(picture_stats((artifacts / "login-wrong-token.png").read_bytes()))
    # Typing a wrong token into the form does not let one in either; the right one does.
    password.fill("wrong")
    page.locator("#login_submit").click()
    password.wait_for()
    assert "/login" in page.url and page.locator(".jp-LabShell").count() == 0
    password.fill(lab.token)
    page.locator("#login_submit").click()
    page.locator(".jp-LabShell").wait_for(timeout=90_000)
    assert "/lab" in page.url
    page.close()
    shut_down_kernels(lab)  # had the lab reopened a notebook


def test_lesson_04_opens_with_two_shells_and_the_article_flow_passes_its_check(lesson_lab, context, artifacts):
    """`netlab lab --lesson 04`: type the article's commands into both terminals; the check cell passes."""
    walk = walk_two_shells(context, lesson_lab, "04-how-ip-netns-works.ipynb", artifacts)
    print(walk)
    assert not walk.problems, walk
    notebook, first, second = walk.layout["notebook"], walk.layout["terminal 1"], walk.layout["terminal 2"]
    assert notebook["x"] + notebook["width"] <= first["x"] + 1 and first["x"] == second["x"]  # side by side
    upper, lower = sorted((first, second), key=lambda box: box["y"])  # the page's order of the two is not the view's
    assert upper["y"] + upper["height"] <= lower["y"] + 1  # one shell above the other
    typed = [command for _n, command in walk.typed]
    assert typed[:3] == ["unshare -n bash", "readlink /proc/$$/ns/net", "echo $$"]
    assert f"mount --bind /proc/{walk.pid}/ns/net /var/run/netns/netns1" in typed
    assert walk.pid.isdigit() and walk.inode.startswith("net:[")
    final = walk.outputs["04-shells-4"]
    assert "✔ done: the article's two shells" in final and "✘" not in final, final
    assert f"pid {walk.pid} (bash)" in final and walk.inode in final  # shell 1's own bash and namespace
    assert "(bash) is in" in final  # entered by nsenter's bash, in shell 2
    assert walk.terminals[1].count(walk.inode) == 1  # shell 2's readlink inside nsenter: the same namespace
    assert f"{walk.inode[5:-1]} /var/run/netns/netns1" in walk.terminals[1]  # ls -i: the same inode
    assert set(STEPS) <= set(walk.outputs)
