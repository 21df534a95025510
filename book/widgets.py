"""Widgets on a static page: each as it stood at the end of the run, drawn in plain HTML.

A notebook's widgets (the namespace explorer, the ping tester, the live capture) need a running
kernel to answer a click. The run saves each one's last state in the notebook's metadata
(``widgets`` -> ``application/vnd.jupyter.widget-state+json``); this module draws that state as
HTML (boxes, the HTML they showed, their controls greyed out), so the page shows what the learner
saw, with no script and nothing loaded from elsewhere. The ``.ipynb`` offered for download keeps
the real widgets.
"""

from __future__ import annotations

import html
from typing import Any

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
NOTE = {
    "en": "The controls work when you run the notebook: here, what they showed at the end of the run.",
    "zh-CN": "运行笔记本时这些控件可以操作；这里显示的是它们在这次运行结束时的样子。",
}


def _label(state: dict[str, Any]) -> str:
    text = state.get("description") or ""
    return f"<span class='netlab-widget-label'>{html.escape(text)}</span> " if text else ""


def _draw(model_id: str, models: dict[str, Any], depth: int = 0) -> str:
    model = models.get(model_id)
    if model is None or depth > 20:
        return ""
    name, state = model.get("model_name", ""), model.get("state", {})
    if name in ("VBoxModel", "HBoxModel", "BoxModel", "GridBoxModel"):
        children = [_draw(child.removeprefix("IPY_MODEL_"), models, depth + 1) for child in state.get("children", [])]
        direction = "row" if name == "HBoxModel" else "column"
        return (
            f"<div class='netlab-widget-box' style='display:flex;flex-direction:{direction};gap:0.4em;"
            f"align-items:{'center' if direction == 'row' else 'stretch'};flex-wrap:wrap'>{''.join(children)}</div>"
        )
    if name in ("HTMLModel", "HTMLMathModel"):
        return f"<div>{state.get('value', '')}</div>"
    if name == "LabelModel":
        return f"<span>{html.escape(str(state.get('value', '')))}</span>"
    if name == "ButtonModel":
        return f"<button type='button' disabled>{html.escape(state.get('description') or '')}</button>"
    if name in ("DropdownModel", "SelectModel", "ToggleButtonsModel", "RadioButtonsModel"):
        labels, chosen = state.get("_options_labels", []), state.get("index")
        options = "".join(
            f"<option{' selected' if i == chosen else ''}>{html.escape(str(label))}</option>"
            for i, label in enumerate(labels)
        )
        return f"<label>{_label(state)}<select disabled>{options}</select></label>"
    if "value" in state:  # Text, Combobox, IntText, checkboxes, sliders: their value
        value = state.get("value")
        shown = "" if value is None else str(value)
        placeholder = html.escape(str(state.get("placeholder") or ""))
        field = f"<input disabled value='{html.escape(shown)}' placeholder='{placeholder}'>"
        return f"<label>{_label(state)}{field}</label>"
    return ""


def freeze(nb: Any, lang: str) -> int:
    """Replace every widget output of ``nb`` by its drawing (in place); return how many there were."""
    models = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    count = 0
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            view = data.get(WIDGET_VIEW)
            if not view:
                continue
            drawing = _draw(view.get("model_id", ""), models)
            if drawing:
                note = f"<p class='netlab-widget-note'>{html.escape(NOTE[lang])}</p>"
                data["text/html"] = f"<div class='netlab-widget'>{drawing}{note}</div>"
            del data[WIDGET_VIEW]
            count += 1
    nb.metadata.pop("widgets", None)  # no widget scripts on the page: nothing left to drive
    return count
