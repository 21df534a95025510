"""A lesson's JupyterLab workspace (``netlab/app/workspace.py``): which notebook, its JSON, the one file written."""

# tests/test_workshop.py loads such a file with JupyterLab's own WorkspacesManager from the real lessons;
# here the lessons are empty files in a temporary folder, and every Jupyter folder points into it.

from __future__ import annotations

import json

import pytest
from jupyterlab_server.workspaces_handler import slugify

from netlab.app.workspace import EXTENSION, find_lesson, layout, lesson_workspace, workspace_name


def _file(name: str) -> str:
    """The file JupyterLab opens for workspace ``name``: its slug of the name (with a short hash), and the extension."""
    return slugify(name) + EXTENSION


LESSONS = ("00-start-here.ipynb", "04-how-ip-netns-works.ipynb", "14-later.ipynb", "40-much-later.ipynb")


@pytest.fixture
def home(tmp_path, monkeypatch):
    """Where Jupyter would write its own files: inside tmp_path, and it must stay empty."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for variable in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_WORKSPACES_DIR"):
        monkeypatch.setenv(variable, str(home / variable.lower()))
    return home


@pytest.fixture
def lessons(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    for name in LESSONS:
        (folder / name).write_text("{}")
    return folder


@pytest.mark.parametrize("asked", ["04", "4", "004", "4.ipynb", "04-how-ip-netns-works", "04-how-ip-netns-works.ipynb"])
def test_a_lesson_is_found_by_its_number_its_name_or_its_file_name(lessons, asked):
    assert find_lesson(lessons, asked) == "04-how-ip-netns-works.ipynb"  # never 14- or 40-


def test_only_numbered_notebooks_in_the_folder_itself_are_lessons(tmp_path, english):
    for name in ("4-short.ipynb", "04-notes.txt", "zh-CN/04-how-ip-netns-works.ipynb", ".ipynb_checkpoints/04-x.ipynb"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}")
    with pytest.raises(SystemExit) as err:
        find_lesson(tmp_path, "4")
    assert err.value.code == f"netlab: no lesson 4 in {tmp_path}\n  hint: one of: none"


def test_an_unknown_lesson_is_refused_with_the_lessons_there_as_the_hint(lessons, english):
    with pytest.raises(SystemExit) as err:
        find_lesson(lessons, "7")
    problem, hint = str(err.value.code).split("\n")
    assert problem == f"netlab: no lesson 7 in {lessons}"
    assert hint == "  hint: one of: 00-start-here, 04-how-ip-netns-works, 14-later, 40-much-later"


def test_the_exact_name_wins_over_a_copy_beside_it(lessons):
    (lessons / "04-how-ip-netns-works-Copy1.ipynb").write_text("{}")
    assert find_lesson(lessons, "04-how-ip-netns-works.ipynb") == "04-how-ip-netns-works.ipynb"
    assert find_lesson(lessons, "04-how-ip-netns-works") == "04-how-ip-netns-works.ipynb"


def test_the_workspace_is_named_after_the_lessons_number():
    assert workspace_name("04-how-ip-netns-works.ipynb") == "lesson-04"
    assert workspace_name("14-later.ipynb") == "lesson-14"


def test_the_layout_opens_the_notebook_beside_two_terminals_the_server_starts():
    saved = json.loads(json.dumps(layout("04-how-ip-netns-works.ipynb", "lesson-04")))  # plain JSON, as written
    data = saved["data"]
    notebook = "notebook:04-how-ip-netns-works.ipynb"
    assert data[notebook] == {"data": {"path": "04-how-ip-netns-works.ipynb", "factory": "Notebook"}}
    assert data["terminal:1"] == {"data": {"name": "1"}} and data["terminal:2"] == {"data": {"name": "2"}}
    restorer = data["layout-restorer:data"]
    assert restorer["main"]["current"] == notebook  # the notebook has the focus, not a terminal
    dock = restorer["main"]["dock"]
    assert (dock["orientation"], dock["children"][1]["orientation"]) == ("horizontal", "vertical")  # right, stacked
    assert sum(dock["sizes"]) == 1 and sum(dock["children"][1]["sizes"]) == 1
    assert dock["sizes"][0] > dock["sizes"][1]  # the notebook gets the wider side
    assert restorer["left"]["collapsed"] and restorer["right"]["collapsed"]
    assert saved["metadata"] == {"id": "lesson-04"}


def test_lesson_workspace_writes_one_file_where_jupyterlab_looks_and_returns_the_url_that_opens_it(
    tmp_path, home, lessons
):
    workspaces = tmp_path / "lab" / "workspaces"  # made, parents and all
    assert lesson_workspace(lessons, "4", workspaces) == "/lab/workspaces/lesson-04"
    written = workspaces / _file("lesson-04")
    assert [path.name for path in workspaces.iterdir()] == [written.name]
    assert written.name.startswith("lesson-04-") and written.name.endswith(".jupyterlab-workspace")
    text = written.read_text(encoding="utf-8")
    assert text.endswith("}\n") and json.loads(text) == layout("04-how-ip-netns-works.ipynb", "lesson-04")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["home", "lab", "notebooks"]
    assert list(home.rglob("*")) == []  # nothing written outside tmp_path, nor in Jupyter's folders
    assert sorted(path.name for path in lessons.iterdir()) == sorted(LESSONS)  # the lessons untouched


def test_writing_it_again_gives_the_same_file_and_puts_back_an_edited_one(tmp_path, home, lessons):
    workspaces = tmp_path / "workspaces"
    lesson_workspace(lessons, "04", workspaces)
    written = workspaces / _file("lesson-04")
    first = written.read_bytes()
    assert lesson_workspace(lessons, "04-how-ip-netns-works", workspaces) == "/lab/workspaces/lesson-04"
    assert written.read_bytes() == first and len(list(workspaces.iterdir())) == 1
    written.write_text('{"data": {}, "metadata": {"id": "lesson-04"}}')  # the learner closed the terminals
    lesson_workspace(lessons, "4", workspaces)
    assert written.read_bytes() == first


def test_each_lesson_has_a_workspace_of_its_own(tmp_path, home, lessons):
    workspaces = tmp_path / "workspaces"
    urls = [lesson_workspace(lessons, lesson, workspaces) for lesson in ("0", "4", "14")]
    assert urls == ["/lab/workspaces/lesson-00", "/lab/workspaces/lesson-04", "/lab/workspaces/lesson-14"]
    assert sorted(path.name for path in workspaces.iterdir()) == sorted(
        _file(f"lesson-{n}") for n in ("00", "04", "14")
    )
    assert json.loads((workspaces / _file("lesson-14")).read_text())["data"]["notebook:14-later.ipynb"]
