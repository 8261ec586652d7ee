"""Linked tables: a row moves the viewer and rings the cell; a viewer click selects the row."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from qtpy.QtCore import Qt
from review_tools import analysed_window

from pgpviewer.gui.review import SELECTION_LAYER

pytestmark = pytest.mark.gui


def _click(viewer_model, position, modifiers=()):
    """Drive the viewer's drag callbacks like a press and release without moving."""
    event = SimpleNamespace(position=position, type="mouse_press", button=1, modifiers=modifiers)
    gens = []
    for cb in viewer_model.mouse_drag_callbacks:
        g = cb(viewer_model, event)
        if g is not None and hasattr(g, "__next__"):
            try:
                next(g)
                gens.append(g)
            except StopIteration:
                pass
    event.type = "mouse_release"
    for g in gens:
        try:
            next(g)
        except StopIteration:
            pass


def test_tables_and_viewer_are_linked(qtbot, window, experiment, tmp_path):
    ctrl = analysed_window(qtbot, window, experiment / "pos1.ome.tif")
    result = window.session.result
    tables, viewer = ctrl.tables, window.viewer
    assert tables.tracks.model.rowCount() == len(result.tracks)
    assert tables.events.model.rowCount() == len(result.events)
    assert tables.cells.model.rowCount() == (result.cells["frame"] == 0).sum()  # this frame

    # table → viewer: pick a cell of frame 4 (switch off "this frame only" to see all)
    tables.this_frame.setChecked(False)
    assert tables.cells.model.rowCount() == len(result.cells)
    target = result.cells[result.cells["frame"] == 4].iloc[2]
    row = tables.cells.model.row_of(frame=4, label=int(target["label"]))
    proxy_index = tables.cells.proxy.mapFromSource(tables.cells.model.index(row, 0))
    tables.cells.view.setCurrentIndex(proxy_index)
    assert viewer.current_frame() == 4
    sy, sx = viewer.geometry.scale[1:]
    center = viewer.model.camera.center[-2:]
    assert np.allclose(center, (target["centroid_y"] * sy, target["centroid_x"] * sx))
    ring = viewer.layer(SELECTION_LAYER)
    assert ring is not None and np.allclose(
        ring.data[0], (4, target["centroid_y"], target["centroid_x"])
    )
    assert ctrl.selection == [(4, int(target["label"]))]
    tid = int(target["track_id"])
    assert ctrl.plots.track_id == tid  # the trace plot follows
    assert tables.tracks.selected_rows()[0]["track_id"] == tid

    # sorting uses the raw numbers and the text filter narrows the rows
    tables.this_frame.setChecked(True)
    tables.cells.view.sortByColumn(5, Qt.SortOrder.DescendingOrder)  # P-gp score
    scores = [
        tables.cells.proxy.index(i, 5).data(tables.cells.proxy.sortRole())
        for i in range(tables.cells.proxy.rowCount())
    ]
    assert scores == sorted(scores, reverse=True)
    tables.tracks.filter_edit.setText("donor")
    n_donor = (result.tracks["population"] == "donor").sum()
    assert tables.tracks.proxy.rowCount() == n_donor
    tables.tracks.filter_edit.clear()

    # viewer → table: click another cell of frame 4 in the canvas
    other = result.cells[result.cells["frame"] == 4].iloc[5]
    lab = int(other["label"])
    mask = ctrl.state.frame_labels(4) == lab
    ys, xs = np.nonzero(mask)
    y, x = float(np.median(ys)), float(np.median(xs))
    if not mask[int(y), int(x)]:
        y, x = float(ys[0]), float(xs[0])
    _click(viewer.model, (4 * viewer.geometry.scale[0], y * sy, x * sx))
    assert ctrl.selection == [(4, lab)]
    sel = tables.cells.selected_rows()
    assert len(sel) == 1 and int(sel[0]["label"]) == lab and int(sel[0]["frame"]) == 4
    # Shift+click adds a second cell (for a merge)
    _click(
        viewer.model,
        (4 * viewer.geometry.scale[0], target["centroid_y"] * sy, target["centroid_x"] * sx),
        modifiers=("Shift",),
    )
    assert ctrl.selection == [(4, lab), (4, int(target["label"]))]
    assert ctrl.corrections.merge_button.isEnabled()

    # event row → event frame; plots export as PNG and SVG
    if len(result.events):
        ev = result.events.iloc[0]
        ctrl.tables.events.view.setCurrentIndex(ctrl.tables.events.proxy.index(0, 0))
        assert viewer.current_frame() == int(ev["frame"])
    for name in ("fraction", "km", "trace"):
        for suffix in (".png", ".svg"):
            out = ctrl.plots.export_plot(name, tmp_path / f"{name}{suffix}")
            assert out.stat().st_size > 500
