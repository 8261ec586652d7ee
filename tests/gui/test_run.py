"""Running the analysis in a worker: progress, results as layers, uptake, export, cancel, errors."""

from __future__ import annotations

import pandas as pd
import pytest
from guitools import failing_pipeline, open_and_wait, run_and_wait, slow_fake_pipeline

from pgpviewer.gui.result_layers import (
    CELLS_LAYER,
    EVENTS_LAYER,
    PUNCTA_LAYER,
    TRACKS_LAYER,
)
from pgpviewer.session.experiment import default_results_dir

pytestmark = pytest.mark.gui


def test_run_shows_result_layers_legend_uptake_and_exports(qtbot, window, experiment):
    movie = experiment / "pos1.ome.tif"
    open_and_wait(qtbot, window, movie)
    progress = []
    window.run_panel.progress.valueChanged.connect(progress.append)
    assert run_and_wait(qtbot, window) == "ok"
    result = window.session.result
    assert result is not None and window.session.result_is_current
    assert progress and max(progress) == 1000

    v = window.viewer
    cells = v.layer(CELLS_LAYER)
    assert cells is not None and cells.data.shape == result.labels.shape
    # each labelled pixel shows the class colour of its cell in that frame
    frame = int(result.cells["frame"].iloc[0])
    shown = cells.data[frame].compute()
    assert (shown > 0).sum() == (result.labels[frame] > 0).sum()
    tracks = v.layer(TRACKS_LAYER)
    assert tracks is not None and set(tracks.data[:, 0]) <= set(result.cells["track_id"])
    assert len(v.layer(PUNCTA_LAYER).data) == len(result.puncta)
    events = v.layer(EVENTS_LAYER)
    assert len(events.data) >= len(result.events)
    if len(result.events):
        assert all(" → R" in t for t in events.features["event"])
    assert v.channel_layers[0].visible

    # legend toggles layers both ways
    window.legend_panel.checks[TRACKS_LAYER].setChecked(False)
    assert not tracks.visible
    cells.visible = False
    assert not window.legend_panel.checks[CELLS_LAYER].isChecked()

    # uptake dock: plot and table from the summary
    up = window.uptake_panel
    assert up.model.rowCount() == len(result.summary)
    frac_plot, _events_plot = up.plot_items
    x, y = frac_plot.listDataItems()[0].getData()
    assert len(x) > 0 and (y <= 1).all()
    assert "recipients P-gp+" in up.headline.text()

    # run panel and file list
    assert "up to date" in window.run_panel.state_label.text()
    assert window.file_panel.status_text(movie) == "analysed"

    # params change → out of date
    params = window.session.params
    window.session.set_params(
        params.replace(segmentation={**params.segmentation.model_dump(), "cell_diameter_px": 20.0})
    )
    assert window.file_panel.status_text(movie) == "out of date"
    assert "out of date" in window.run_panel.state_label.text()
    window.session.set_params(params)

    # export into the default results folder: the CSV contract
    out = default_results_dir(movie)
    with qtbot.waitSignal(window.exported, timeout=60000):
        window.export_results_to(out)
    from pgpviewer.core.export import OUTPUT_FILES

    for name in OUTPUT_FILES:
        assert (out / name).is_file(), name
    cells_csv = pd.read_csv(out / "cells.csv")
    for col in ("frame", "track_id", "population", "pgp_positive", "centroid_y_um"):
        assert col in cells_csv.columns
    summary = pd.read_csv(out / "summary.csv")
    assert len(summary) == len(result.summary)
    qtbot.waitUntil(lambda: window.file_panel.status_text(movie) == "analysed")


def test_cancel_a_run(qtbot, window, experiment):
    open_and_wait(qtbot, window, experiment / "pos1.ome.tif")
    window.run_function = slow_fake_pipeline
    with qtbot.waitSignal(window.analysis_finished, timeout=30000) as blocker:
        window.run_analysis()
        assert not window.run_panel.run_button.isEnabled()
        qtbot.waitUntil(lambda: window.run_panel.progress.value() > 0, timeout=10000)
        qtbot.waitUntil(lambda: window.run_panel.eta_label.text().endswith("left"), timeout=10000)
        window.run_panel.cancel_button.click()
    assert blocker.args == ["cancelled"]
    assert window.session.result is None
    assert window.run_panel.run_button.isEnabled()
    assert window.run_panel.message.text() == "Cancelled."
    assert window.file_panel.status_text(experiment / "pos1.ome.tif") == "not analysed"


def test_failure_shows_details_and_app_keeps_working(qtbot, window, experiment):
    movie = experiment / "pos1.ome.tif"
    open_and_wait(qtbot, window, movie)
    window.run_function = failing_pipeline
    with qtbot.waitSignal(window.error_shown, timeout=30000) as err:
        assert run_and_wait(qtbot, window) == "failed"
    assert err.args[0] == "ValueError: segmentation exploded"
    dialog = window.last_error_dialog
    assert "Traceback" in dialog.details and "failing_pipeline" in dialog.details
    dialog.details_button.click()
    assert dialog.details_box.isVisible()
    dialog.close()
    assert window.file_panel.status_text(movie) == "failed"
    assert window.run_panel.run_button.isEnabled()
    # the same window analyses fine afterwards
    window.run_function = None
    assert run_and_wait(qtbot, window) == "ok"
    assert window.file_panel.status_text(movie) == "analysed"


def test_export_refuses_a_foreign_folder(qtbot, window, experiment, tmp_path):
    open_and_wait(qtbot, window, experiment / "pos1.ome.tif")
    assert run_and_wait(qtbot, window) == "ok"
    foreign = tmp_path / "thesis"
    foreign.mkdir()
    (foreign / "chapter1.docx").write_text("precious")
    with qtbot.waitSignal(window.error_shown, timeout=30000) as err:
        window.export_results_to(foreign)
    assert "not empty" in err.args[0]
    assert (foreign / "chapter1.docx").read_text() == "precious"
