"""The parameter form: generated from AnalysisParams metadata; edits, reset, load/save."""

from __future__ import annotations

import json

import pytest
from qtpy.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QSpinBox

from pgpviewer.core.params import AnalysisParams
from pgpviewer.gui.params_panel import ParamsPanel

pytestmark = pytest.mark.gui


@pytest.fixture
def panel(qtbot, qapp):
    p = ParamsPanel()
    qtbot.addWidget(p)
    return p


def test_every_field_has_an_editor_with_metadata(panel):
    params = AnalysisParams()
    expected = {("general", "z_projection")}
    for stage in (
        "segmentation",
        "classification",
        "puncta",
        "measurement",
        "gate",
        "tracking",
        "events",
    ):
        expected |= {(stage, name) for name in type(getattr(params, stage)).model_fields}
    assert set(panel.editors) == expected
    e = panel.editors[("segmentation", "cell_diameter_px")]
    assert isinstance(e.widget, QDoubleSpinBox)
    assert e.widget.suffix() == " px" and e.widget.minimum() < 4 and e.widget.maximum() == 500
    assert e.value() is None and e.widget.text() == "auto"  # measured from the image
    assert "Typical diameter" in e.widget.toolTip()
    assert panel.labels[("segmentation", "cell_diameter_px")].text() == "Cell diameter"
    assert isinstance(panel.editors[("gate", "n_first_frames")].widget, QSpinBox)
    assert panel.editors[("gate", "n_first_frames")].widget.suffix() == " frames"
    assert isinstance(panel.editors[("gate", "source")].widget, QComboBox)
    assert isinstance(panel.editors[("puncta", "enabled")].widget, QCheckBox)
    manual = panel.editors[("gate", "manual_value")]
    assert isinstance(manual.widget, QDoubleSpinBox) and manual.value() is None
    assert manual.widget.text() == "not set"
    auto = panel.editors[("tracking", "max_distance_px")]
    assert auto.widget.text() == "auto" and auto.widget.suffix() == " px"
    fpr = panel.editors[("gate", "false_positive_rate")].widget
    assert fpr.minimum() > 0 and fpr.maximum() < 0.5 and fpr.decimals() >= 3
    assert panel.params() == params


def test_edits_emit_validated_params_and_mark_changed_fields(qtbot, panel):
    seen = []
    panel.params_edited.connect(seen.append)
    w = panel.editors[("segmentation", "cell_diameter_px")].widget
    w.setValue(42.5)
    assert seen[-1].segmentation.cell_diameter_px == 42.5
    assert panel.labels[("segmentation", "cell_diameter_px")].font().bold()
    src = panel.editors[("gate", "source")].widget
    src.setCurrentIndex(src.findData("manual"))
    manual = panel.editors[("gate", "manual_value")].widget
    manual.setValue(123.5)
    assert seen[-1].gate.source == "manual" and seen[-1].gate.manual_value == 123.5
    manual.setValue(manual.minimum())
    assert seen[-1].gate.manual_value is None
    panel.reset()
    assert seen[-1] == AnalysisParams()
    assert not panel.labels[("segmentation", "cell_diameter_px")].font().bold()


def test_save_and_load_round_trip_and_bad_file(panel, tmp_path):
    panel.editors[("tracking", "max_distance_px")].widget.setValue(12.0)
    path = tmp_path / "params.json"
    panel.save(path)
    saved = json.loads(path.read_text())
    assert saved["tracking"]["max_distance_px"] == 12.0
    panel.reset()
    assert panel.load(path).tracking.max_distance_px == 12.0
    assert panel.editors[("tracking", "max_distance_px")].widget.value() == 12.0
    bad = tmp_path / "bad.json"
    bad.write_text('{"segmentation": {"cell_diameter_px": -3}}')
    from pgpviewer.core.errors import InputError

    with pytest.raises(InputError, match="cell_diameter_px"):
        panel.load(bad)
    assert panel.params().tracking.max_distance_px == 12.0  # unchanged


def test_window_params_drive_the_session(qtbot, window):
    w = window.params_panel.editors[("events", "min_persistence_frames")].widget
    w.setValue(5)
    assert window.session.params.events.min_persistence_frames == 5
    window.session.set_params(AnalysisParams())
    assert w.value() == AnalysisParams().events.min_persistence_frames
