"""Projector mode (netlab/view/settings.py): the dpi that makes the smallest label 14 px, the width, the CSS."""

from __future__ import annotations

import pytest

from netlab.view.draw.labels import MIN_POINTS
from netlab.view.settings import ViewSettings, settings


def pixels(points: float, dpi: float) -> float:
    """How tall a text of ``points`` is at ``dpi``, shown at its own size: its em, in pixels."""
    return points * dpi / 72


@pytest.mark.parametrize("value", ["1", "yes", "on", "TRUE", " true ", "2"])
def test_the_environment_turns_projector_mode_on(monkeypatch, value):
    monkeypatch.setenv("NETLAB_PROJECTOR", value)
    assert ViewSettings().projector is True


@pytest.mark.parametrize("value", [None, "", "0", "no", "off", "False", " OFF "])
def test_the_environment_leaves_it_off_unset_empty_or_said_no(monkeypatch, value):
    if value is None:
        monkeypatch.delenv("NETLAB_PROJECTOR", raising=False)
    else:
        monkeypatch.setenv("NETLAB_PROJECTOR", value)
    assert ViewSettings().projector is False


def test_the_environment_is_read_when_settings_are_made_not_later(monkeypatch):
    monkeypatch.setenv("NETLAB_PROJECTOR", "1")
    made = ViewSettings()
    monkeypatch.setenv("NETLAB_PROJECTOR", "0")
    assert made.projector is True and ViewSettings().projector is False


@pytest.mark.parametrize("smallest", [4.0, MIN_POINTS, 7.5, 11.0, 72.0])
def test_normal_mode_draws_at_its_own_dpi_with_no_width_limit_or_css(smallest):
    normal = ViewSettings(projector=False, dpi=90.0)
    assert (normal.diagram_dpi(smallest), normal.max_width(smallest), normal.html_style()) == (90.0, None, "")


def test_projector_mode_draws_the_smallest_label_at_least_14_px_at_the_least_dpi_that_does():
    projector = ViewSettings(projector=True)
    for tenths in range(20, 101):  # 2 to 10 points
        smallest = tenths / 10
        dpi = projector.diagram_dpi(smallest)
        assert pixels(smallest, dpi) >= 14 - 1e-9, smallest
        assert dpi == projector.dpi or pixels(smallest, dpi - 1) < 14, smallest  # one dot less: too small
    assert projector.diagram_dpi(MIN_POINTS) == 168  # the drawings' 6-point text: 14 px at 168 dpi


def test_large_text_never_drops_projector_mode_below_the_normal_dpi():
    projector = ViewSettings(projector=True, dpi=100.0)
    assert pixels(20, 100) > 14
    assert projector.diagram_dpi(20) == 100 and projector.diagram_dpi(200) == 100


@pytest.mark.parametrize("smallest", [MIN_POINTS, 7.0, 12.0])
def test_a_drawing_no_wider_than_max_width_fits_the_output_area_unscaled(smallest):
    projector = ViewSettings(projector=True, output_width_px=1500.0)
    width = projector.max_width(smallest)
    assert width is not None
    assert width * projector.diagram_dpi(smallest) == pytest.approx(1500.0)
    assert projector.max_width(MIN_POINTS) <= projector.max_width(12.0)  # small labels: more dots, fewer inches


def test_projector_tables_get_a_bigger_font_in_css():
    assert ViewSettings(projector=True).html_style() == "font-size:20px;line-height:1.35"
    assert ViewSettings(projector=True, table_px=18.5).html_style().startswith("font-size:18.5px;")


def test_one_shared_settings_object_is_what_the_views_read():
    from netlab.view.draw import settings as drawing_settings

    assert isinstance(settings, ViewSettings) and drawing_settings is settings
