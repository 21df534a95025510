"""``netlab lab --lesson 04``: open a lesson with a saved JupyterLab layout.

Notebook 04 reproduces the article's two shells for real: the notebook on the left, two terminals
on the right, one above the other. JupyterLab keeps such a layout as a *workspace*: a JSON file in
its workspaces folder (``--LabApp.workspaces_dir``), opened at ``/lab/workspaces/NAME``. The
terminals it names are started by the server, which runs inside the lab's sandbox, so both shells
are already in the lab's world, like the notebook's kernel::

    +----------------------------+-----------------+
    | 04-how-ip-netns-works      | terminal 1      |
    |                            | (shell 1)       |
    |                            +-----------------+
    |                            | terminal 2      |
    |                            | (shell 2)       |
    +----------------------------+-----------------+
"""

from __future__ import annotations

import json
from pathlib import Path

from netlab.plumbing.i18n import _

__all__ = ["find_lesson", "lesson_workspace", "workspace_name"]

EXTENSION = ".jupyterlab-workspace"


def find_lesson(folder: Path, lesson: str) -> str:
    """The notebook file for ``lesson``: ``04`` or ``4`` or ``04-how-ip-netns-works`` or its full name."""
    wanted = lesson.removesuffix(".ipynb")
    if wanted.isdigit():
        wanted = f"{int(wanted):02d}-"
    matches = sorted(p.name for p in folder.glob("[0-9][0-9]-*.ipynb") if p.stem == wanted or p.name.startswith(wanted))
    if not matches:
        known = ", ".join(sorted(p.stem for p in folder.glob("[0-9][0-9]-*.ipynb"))) or _("none")
        missing = _("netlab: no lesson {lesson} in {folder}\n  hint: one of: {known}")
        raise SystemExit(missing.format(lesson=lesson, folder=folder, known=known))
    exact = [name for name in matches if name.removesuffix(".ipynb") == wanted]
    return exact[0] if exact else min(matches, key=lambda name: (len(name), name))  # not "...-Copy1.ipynb"


def workspace_name(notebook: str) -> str:
    """``lesson-04`` for ``04-how-ip-netns-works.ipynb``: the NAME in ``/lab/workspaces/NAME``."""
    return "lesson-" + notebook.split("-", 1)[0]


def layout(notebook: str, name: str) -> dict:
    """The workspace: ``notebook`` on the left, terminals ``1`` and ``2`` stacked on the right."""
    notebook_id = f"notebook:{notebook}"

    def tabs(widget: str) -> dict:
        return {"type": "tab-area", "currentIndex": 0, "widgets": [widget]}

    terminals = {"type": "split-area", "orientation": "vertical", "sizes": [0.5, 0.5]}
    terminals["children"] = [tabs("terminal:1"), tabs("terminal:2")]
    dock = {"type": "split-area", "orientation": "horizontal", "sizes": [0.55, 0.45]}
    dock["children"] = [tabs(notebook_id), terminals]
    return {
        "data": {
            "layout-restorer:data": {
                "main": {"dock": dock, "current": notebook_id},
                "left": {"collapsed": True, "visible": True, "widgets": ["filebrowser"]},
                "right": {"collapsed": True, "visible": True, "widgets": []},
                "relativeSizes": [0, 1, 0],
            },
            notebook_id: {"data": {"path": notebook, "factory": "Notebook"}},
            "terminal:1": {"data": {"name": "1"}},
            "terminal:2": {"data": {"name": "2"}},
        },
        "metadata": {"id": name},
    }


def lesson_workspace(folder: Path, lesson: str, workspaces: Path) -> str:
    """Write the layout for ``lesson`` into ``workspaces``; return the URL path that opens it."""
    from jupyterlab_server.workspaces_handler import slugify  # JupyterLab's own file naming

    notebook = find_lesson(folder, lesson)
    name = workspace_name(notebook)
    workspaces.mkdir(parents=True, exist_ok=True)
    text = json.dumps(layout(notebook, name), indent=2)
    (workspaces / (slugify(name) + EXTENSION)).write_text(text + "\n", encoding="utf-8")
    return f"/lab/workspaces/{name}"
