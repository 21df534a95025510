"""The workshop kit: slides and cheat sheet built by scripts/slides, rendered offline in headless Chromium.

The build runs the script as a teacher does (`scripts/slides --out DIR`), from the JavaScript that
`scripts/slides --fetch` put in build/vendor/ once. The browser may load only files: every request to
the network is refused and recorded, so a slide deck that still needs a CDN fails here, as it would in a
classroom without internet. Screenshots land in test-artifacts/workshop/ (git-ignored).

Also checked: every exercise and question of the notebooks has its answer in solutions/answers/.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from learner_browser import looks_blank, picture_stats
from test_browser import browser, context  # noqa: F401  (the same headless Chromium fixtures)

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts" / "workshop"
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]-*.ipynb"))
ANSWERS = REPO / "solutions" / "answers"


def _build(out: Path, *options: str) -> Path:
    if not (REPO / "build/vendor/reveal.js/package.json").is_file():
        pytest.fail("reveal.js is not vendored yet: run scripts/slides --fetch once (it needs the npm registry)")
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts/slides"), "--out", str(out), *options], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return _build(tmp_path_factory.mktemp("workshop"))


BARE = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8"}  # a fresh shell: no venv activated


def _clone_without_test_artifacts(tmp_path: Path) -> Path:
    """What a fresh clone has for the agenda: the script, the lessons, the recorded timings; no test-artifacts/."""
    clone = tmp_path / "clone"
    (clone / "scripts").mkdir(parents=True)
    (clone / "docs").mkdir()
    shutil.copy2(REPO / "scripts/agenda", clone / "scripts/agenda")
    shutil.copy2(REPO / "docs/workshop-timings.json", clone / "docs/workshop-timings.json")
    (clone / "notebooks").symlink_to(REPO / "notebooks")
    return clone


def _agenda_rows(text: str) -> list[tuple[str, str, int]]:
    rows = re.findall(r"^\| (\d:\d\d) \| (.+?) \| (\d+) \|$", text, flags=re.M)
    return [(time, what, int(minutes)) for time, what, minutes in rows]


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_the_agenda_is_timed_from_0_00_to_2_00_in_a_fresh_clone_without_test_artifacts(tmp_path, lang):
    clone = _clone_without_test_artifacts(tmp_path)
    env = dict(BARE, NETLAB_VENV=str(Path(sys.executable).parent.parent))  # the clone's .venv, as ./scripts/lab makes
    result = subprocess.run(
        [str(clone / "scripts/agenda"), "--lang", lang], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = _agenda_rows(result.stdout)
    assert rows[0][0] == "0:00" and rows[-1][0] == "2:00", result.stdout
    for (start, _what, minutes), (following, _next, _m) in zip(rows[:-2], rows[1:-1], strict=True):
        assert _minutes(start) + minutes == _minutes(following), result.stdout  # each row starts when the last ends
    assert _minutes(rows[-2][0]) + rows[-2][2] == 120
    folder = REPO / "notebooks" / ("zh-CN" if lang == "zh-CN" else "")
    titles = [
        nbformat.read(folder / p.name, as_version=4).cells[0].source.lstrip("# ").splitlines()[0] for p in NOTEBOOKS
    ]
    taught = [what for _time, what, _m in rows]
    assert taught[:3] == titles[:3] and titles[4] in taught, result.stdout  # lessons 00-04, in order
    from netlab.plumbing.i18n import translation

    words = translation("zh_CN" if lang == "zh-CN" else "en")
    assert words.gettext("break") in taught and words.gettext("end") == taught[-1], result.stdout
    assert "docs/workshop-timings.json" in result.stdout  # the recorded measurements, said so


@pytest.mark.parametrize("script", ["agenda", "slides"])
def test_the_workshop_scripts_run_with_the_projects_python_from_a_plain_shell(script, tmp_path):
    """`#!/usr/bin/env python3` is Debian's Python, without nbformat: the scripts must use the project's .venv."""
    args = ["--out", str(tmp_path / "out"), "--lang", "zh-CN"] if script == "slides" else ["--details"]
    if script == "slides" and not (REPO / "build/vendor/reveal.js/package.json").is_file():
        pytest.fail("reveal.js is not vendored yet: run scripts/slides --fetch once (it needs the npm registry)")
    result = subprocess.run([str(REPO / "scripts" / script), *args], capture_output=True, text=True, env=BARE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ModuleNotFoundError" not in result.stderr
    if script == "slides":
        deck = (tmp_path / "out/04-how-ip-netns-works.slides.html").read_text(encoding="utf-8")
        assert "text-transform: none" in deck and "pre-wrap" in deck


def _offline_page(context):  # noqa: F811
    """A page that may load files only; what it tried to fetch from the network is in ``page.asked``."""
    page = context.new_page()
    asked: list[str] = []

    def only_files(route):
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            asked.append(route.request.url)
            route.abort()

    page.route("**/*", only_files)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page, asked, errors


def test_slides_build_and_render_offline_with_reveal_js(built, context):  # noqa: F811
    decks = sorted(built.glob("*.slides.html"))
    assert [d.name.split(".")[0] for d in decks] == [p.stem for p in NOTEBOOKS]
    page, asked, errors = _offline_page(context)
    page.goto((built / "02-veth-pair.slides.html").as_uri())
    # reveal.js marks its root `.ready` once it has laid out the slides (it is an AMD module: no window.Reveal).
    page.wait_for_function("() => document.querySelector('.reveal.ready') !== null", timeout=30_000)
    slides = page.locator(".reveal .slides > section").count()
    title = page.locator(".reveal .slides > section.present").first.inner_text()
    first = picture_stats(page.screenshot(path=ARTIFACTS / "slides-02-title.png"))
    for _ in range(3):  # on to a step's slide, with the keyboard as a teacher does
        page.keyboard.press("ArrowRight")
    page.wait_for_function("() => location.hash.startsWith('#/3')")
    present = page.locator(".reveal .slides > section.present").first
    box = present.bounding_box()
    step = picture_stats(page.screenshot(path=ARTIFACTS / "slides-02-step.png", clip=box))  # the slide itself
    shown = present.inner_text()
    # Headings keep their case (the theme upper-cases them), long commands wrap instead of being cut.
    styles = page.evaluate(
        "() => [getComputedStyle(document.querySelector('.reveal h1, .reveal h2')).textTransform,"
        " getComputedStyle(document.querySelector('.reveal pre')).whiteSpace]"
    )
    page.close()
    assert styles == ["none", "pre-wrap"], styles
    assert not asked, f"the slides tried to load from the network: {asked}"
    assert not errors, errors
    assert slides >= 6 and "02 · a veth pair" in title.lower(), (slides, title)
    assert not looks_blank(first) and not looks_blank(step), (first, step)
    assert box["x"] >= 0 and box["x"] + box["width"] <= 1280 + 1, box  # on screen, not sliding in
    assert "ip " in shown, shown  # a step's slide shows its commands
    # The two-hour path: optional cells are not on the slides.
    text = (built / "02-veth-pair.slides.html").read_text()
    assert "ip link add br-try type bridge" not in text and "ip link add veth0 type veth peer name veth1" in text


def test_slides_with_outputs_show_what_the_lesson_printed_and_drew(context, tmp_path):  # noqa: F811
    """`--outputs` runs the lesson in a sandbox of its own first: its diagrams and ping output are on the slides."""
    out = _build(tmp_path, "--outputs", "--lesson", "02", "--lang", "zh-CN")
    assert [d.name for d in out.glob("*.slides.html")] == ["02-veth-pair.slides.html"]
    executed = json.loads((out / "executed/02-veth-pair.ipynb").read_text(encoding="utf-8"))
    shown = [
        c for c in executed["cells"] if "optional" not in c["metadata"].get("tags", []) and c.get("id") != "navigation"
    ]
    outputs = [o for c in shown if c["cell_type"] == "code" for o in c["outputs"]]
    pictures = sum("image/png" in o.get("data", {}) for o in outputs)
    assert pictures >= 3 and not [o for o in outputs if o["output_type"] == "error"], pictures
    deck = (out / "02-veth-pair.slides.html").read_text(encoding="utf-8")
    assert deck.count('src="data:image/png') == pictures and "0% packet loss" in deck and "Traceback" not in deck
    page, asked, errors = _offline_page(context)
    page.goto((out / "02-veth-pair.slides.html").as_uri())
    page.wait_for_function("() => document.querySelector('.reveal.ready') !== null", timeout=30_000)
    decoded = page.evaluate(
        "() => [...document.querySelectorAll('.reveal img')].map(i => i.complete && i.naturalWidth > 0)"
    )
    page.close()
    assert not asked and not errors, (asked, errors)
    assert decoded == [True] * pictures, decoded


def test_slides_name_an_unknown_lesson_and_the_ones_there_are(tmp_path):
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts/slides"), "--out", str(tmp_path), "--lesson", "42"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and result.stderr.startswith("slides: no lesson 42; the lessons are 00 01 02")
    assert "Traceback" not in result.stderr and not list(tmp_path.iterdir())


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_the_cheat_sheet_has_every_lesson_on_one_printable_page(built, context, lang, tmp_path):  # noqa: F811
    sheet = (built if lang == "en" else _build(tmp_path, "--lang", lang)) / "cheatsheet.html"
    page, asked, errors = _offline_page(context)
    page.goto(sheet.as_uri())
    stats = picture_stats(page.screenshot(path=ARTIFACTS / f"cheatsheet-{lang}.png", full_page=True))
    pdf = page.pdf(format="A4", landscape=True, prefer_css_page_size=True)
    (ARTIFACTS / f"cheatsheet-{lang}.pdf").write_bytes(pdf)
    heading = page.locator("h1").inner_text() + page.locator("p.sub").inner_text()
    sections = page.locator("section h2").all_inner_texts()
    commands = page.locator("section code").all_inner_texts()
    page.close()
    assert not asked and not errors, (asked, errors)
    assert not looks_blank(stats), stats
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1, "the cheat sheet does not fit on one page"
    # Its own words in the lessons' language: the title and the introduction too, not only the lessons' names.
    assert ("命名空间" in heading and "lesson" not in heading) if lang == "zh-CN" else "lessons" in heading, heading
    assert [s[:2] for s in sections] == [p.stem[:2] for p in NOTEBOOKS if p.stem != "05-challenges"]  # 05: no commands
    for command in [
        "ip netns add netns1",
        "ip link add veth0 type veth peer name veth1",
        "nft add rule ip demo postrouting ip saddr 10.0.0.0/24 oifname uplink masquerade",
        "unshare -n bash",
        "mount --bind /proc/PID/ns/net /var/run/netns/netns1",
        "nsenter --net=/var/run/netns/netns1 bash",
        "umount /var/run/netns/netns1",
    ]:
        assert command in commands, command
    assert len(commands) == len(set(commands))


def _numbered_exercises(nb) -> list[str]:
    """The numbers of the exercises under a notebook's "Exercises" heading (1, 2, ...)."""
    for cell in nb.cells:
        if cell.cell_type == "markdown" and re.match(r"#+ (Exercises|More exercises|练习|更多练习)", cell.source):
            return re.findall(r"^(\d+)\. ", cell.source, flags=re.M)
    return []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_exercise_has_an_answer_kept_apart_from_the_notebooks(path):
    answers = (ANSWERS / f"{path.stem}.md").read_text()
    nb = nbformat.read(path, as_version=4)
    for number in _numbered_exercises(nb):
        assert re.search(rf"^## Exercise {number}\b", answers, flags=re.M), f"{path.stem}: exercise {number}"
    if path.stem.startswith("05"):  # challenges: one answer each, and the reference solutions
        tasks = [c for c in nb.cells if c.cell_type == "markdown" and re.match(r"## \d · ", c.source)]
        assert len(re.findall(r"^\d\. \*\*", answers, flags=re.M)) == len(tasks) == 5
        assert (REPO / "solutions/challenges.py").is_file()
    questions = [c for c in nb.cells if c.cell_type == "markdown" and "?" in c.source and "Exercises" not in c.source]
    if questions:  # open questions in the lesson's prose have a section of their own
        assert "## Questions in the lesson" in answers or path.stem.startswith(("00", "01", "05")), path.stem
    assert not list((REPO / "notebooks").rglob("*answers*")), "answer keys must stay out of notebooks/"


def test_a_lesson_layout_is_a_jupyterlab_workspace_with_the_notebook_and_two_terminals(tmp_path):
    """`netlab lab --lesson 04` writes this file; test_browser.py opens it in a real JupyterLab."""
    import json

    from jupyterlab_server.workspaces_handler import WorkspacesManager

    from netlab.app.workspace import lesson_workspace

    assert lesson_workspace(REPO / "notebooks", "4", tmp_path) == "/lab/workspaces/lesson-04"
    saved = WorkspacesManager(str(tmp_path)).load("lesson-04")  # found where JupyterLab looks for it
    layout = saved["data"]["layout-restorer:data"]["main"]["dock"]
    assert [child["type"] for child in layout["children"]] == ["tab-area", "split-area"]
    assert layout["children"][0]["widgets"] == ["notebook:04-how-ip-netns-works.ipynb"]
    assert [t["widgets"] for t in layout["children"][1]["children"]] == [["terminal:1"], ["terminal:2"]]
    assert json.loads(json.dumps(saved))["metadata"]["id"] == "lesson-04"
    with pytest.raises(SystemExit, match="(?s)no lesson 42 .*hint: one of: 00-start-here"):
        lesson_workspace(REPO / "notebooks", "42", tmp_path)
