"""Manual corrections: merge, split, paint and population, re-computed downstream, undo/redo."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from review_tools import analysed_window, export_and_read, wait_applied

from pgpviewer.gui.review import EDIT_LAYER

pytestmark = pytest.mark.gui


def _touching_pair(cells: pd.DataFrame, labels: np.ndarray, frame: int) -> tuple[int, int]:
    lab = labels[frame]
    right = lab[:, :-1], lab[:, 1:]
    down = lab[:-1, :], lab[1:, :]
    for a, b in (right, down):
        m = (a != b) & (a > 0) & (b > 0)
        if m.any():
            return int(a[m][0]), int(b[m][0])
    raise AssertionError("no touching cells")


def test_merge_split_rerun_and_undo(qtbot, window, experiment, tmp_path):
    ctrl = analysed_window(qtbot, window, experiment / "pos1.ome.tif")
    result = window.session.result
    frame = 2
    n0 = int((result.cells["frame"] == frame).sum())
    a, b = _touching_pair(result.cells, ctrl.state.labels, frame)
    area = int(((ctrl.state.labels[frame] == a) | (ctrl.state.labels[frame] == b)).sum())

    # merge the two cells selected in the viewer (click, Shift+click)
    ctrl.select_cell(frame, a)
    ctrl.select_cell(frame, b, add=True)
    wait_applied(qtbot, ctrl, ctrl.corrections.merge_button.click)
    merged = window.session.result
    assert merged is not result and not ctrl.state.needs_rerun
    cells = merged.cells[merged.cells["frame"] == frame]
    assert len(cells) == n0 - 1
    assert int(cells.loc[cells["label"] == a, "area_px"].iloc[0]) == area
    assert "merge" in window.undo_action.text()
    exported = export_and_read(qtbot, window, tmp_path / "merged")
    c = exported["cells"]
    assert (c["frame"] == frame).sum() == n0 - 1
    assert int(c.loc[(c["frame"] == frame) & (c["label"] == a), "area_px"].iloc[0]) == area
    assert ctrl.tables.cells.model.rowCount() == n0 - 1  # the table follows

    # split it again
    ctrl.select_cell(frame, a)
    wait_applied(qtbot, ctrl, ctrl.corrections.split_button.click)
    split = window.session.result
    assert (split.cells["frame"] == frame).sum() == n0
    assert int(ctrl.state.labels[frame].max()) > int(result.labels[frame].max())

    # undo both: back to the analysis' own cells; redo both
    wait_applied(qtbot, ctrl, window.undo_action.trigger)
    wait_applied(qtbot, ctrl, window.undo_action.trigger)
    back = window.session.result
    assert np.array_equal(ctrl.state.labels, result.labels)
    pd.testing.assert_frame_equal(back.cells, result.cells)
    assert not ctrl.state.labels_corrected
    wait_applied(qtbot, ctrl, window.redo_action.trigger)
    wait_applied(qtbot, ctrl, window.redo_action.trigger)
    assert (window.session.result.cells["frame"] == frame).sum() == n0
    assert ctrl.state.labels_corrected


def test_paint_and_population_override(qtbot, window, experiment):
    ctrl = analysed_window(qtbot, window, experiment / "pos1.ome.tif")
    result = window.session.result
    window.viewer.set_frame(1)
    ctrl.corrections.paint_button.setChecked(True)
    layer = window.viewer.layer(EDIT_LAYER)
    assert layer is not None and layer.mode == "paint"
    assert window.viewer.model.layers.selection.active is layer
    # a stroke with napari's public paint API (as the brush does), then the stroke's event
    empty = np.argwhere(ctrl.state.labels[1] == 0)
    y, x = empty[len(empty) // 2]
    new_label = int(ctrl.state.labels.max()) + 1
    layer.brush_size = 7
    wait_applied(qtbot, ctrl, lambda: layer.paint((1, int(y), int(x)), new_label))
    assert "paint" in window.undo_action.text()
    cells = window.session.result.cells
    assert ((cells["frame"] == 1) & (cells["label"] == new_label)).any()
    wait_applied(qtbot, ctrl, window.undo_action.trigger)
    assert not (ctrl.state.labels[1] == new_label).any()
    assert not (layer.data[1] == new_label).any()
    ctrl.corrections.paint_button.setChecked(False)
    assert window.viewer.layer(EDIT_LAYER) is None

    # a recipient declared a donor: its track and the counts change
    rec = result.tracks[result.tracks["population"] == "recipient"].iloc[0]
    tid = int(rec["track_id"])
    ctrl.select_track(tid)
    ctrl.corrections.population_combo.setCurrentText("donor")
    wait_applied(qtbot, ctrl, ctrl.corrections.set_population_button.click)
    tracks = window.session.result.tracks.set_index("track_id")
    assert tracks.loc[tid, "population"] == "donor"
    n_donors = window.session.result.summary["n_donors"]
    assert (n_donors >= result.summary["n_donors"]).all() and (
        n_donors > result.summary["n_donors"]
    ).any()
    wait_applied(qtbot, ctrl, window.undo_action.trigger)
    assert window.session.result.tracks.set_index("track_id").loc[tid, "population"] == "recipient"
