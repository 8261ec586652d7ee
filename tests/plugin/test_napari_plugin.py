"""pgpviewer inside stock napari: the plugin reader, sample and the analysis dock widget."""

from __future__ import annotations

import numpy as np
import pytest

from pgpviewer.core.io import read_stack

pytestmark = pytest.mark.gui

WIDGET = "Analyse P-gp transfer"


def test_viewer_opens_file_through_plugin(
    make_napari_viewer, plugin_manifest, no_offscreen, tiny_movie
):
    viewer = make_napari_viewer()
    stack = read_stack(tiny_movie)
    layers = viewer.open(str(tiny_movie), plugin="pgpviewer")
    assert [ly.name for ly in layers] == list(stack.channel_names)
    dt = stack.frame_interval_s
    py, px = stack.pixel_size_um
    for ly in layers:
        assert tuple(ly.scale) == pytest.approx((dt, py, px))
        assert str(ly.units[1]) == "micrometer"
    assert viewer.dims.nsteps[0] == 4  # the time axis
    assert viewer.dims.axis_labels[0] == "time"


def test_widget_analyses_and_shows_results(
    make_napari_viewer, plugin_manifest, no_offscreen, tiny_movie, qtbot, tmp_path
):
    viewer = make_napari_viewer()
    viewer.open(str(tiny_movie), plugin="pgpviewer")
    _dock, widget = viewer.window.add_plugin_dock_widget("pgpviewer", WIDGET)
    assert widget.source is not None and widget.source.path == str(tiny_movie)
    assert widget.roles()["pgp"] == 2  # guessed from the channel names
    with qtbot.waitSignal(widget.analysis_finished, timeout=120000) as blocker:
        widget.run_panel.run_button.click()
    assert blocker.args == ["ok"], widget.last_error
    result = widget.result
    assert len(result.cells) > 0
    for name in ("cells", "tracks", "P-gp puncta", "transfer events"):
        assert name in viewer.layers
    cells = viewer.layers["cells"]
    assert tuple(cells.scale) == pytest.approx(tuple(viewer.layers[0].scale))
    assert cells.data.shape == (4, 96, 96)
    assert widget.uptake_panel.model.rowCount() == 4
    assert widget.legend_panel.checks["cells"].isEnabled()
    widget.legend_panel.checks["tracks"].setChecked(False)
    assert not viewer.layers["tracks"].visible
    widget.set_frame(2)
    assert widget.current_frame() == 2
    with qtbot.waitSignal(widget.exported, timeout=60000):
        widget.export_results_to(tmp_path / "out")
    assert (tmp_path / "out" / "cells.csv").is_file()
    qtbot.waitUntil(lambda: not widget.busy, timeout=10000)


def test_sample_data_through_napari(make_napari_viewer, plugin_manifest, no_offscreen):
    viewer = make_napari_viewer()
    layers = viewer.open_sample("pgpviewer", "coculture")
    assert len(layers) == 3 and viewer.dims.nsteps[0] == 24


def test_widget_finds_plain_image_layers():
    """Layers made by other readers are stacked as channels (model level, no canvas)."""
    from napari.components import ViewerModel

    from pgpviewer.napari_plugin.widget import find_sources

    model = ViewerModel()
    a = np.zeros((3, 32, 32), np.uint16)
    model.add_image(a, name="Hoechst", scale=(60, 0.5, 0.5), units=("second", "µm", "µm"))
    model.add_image(a + 1, name="P-gp-EGFP", scale=(60, 0.5, 0.5), units=("second", "µm", "µm"))
    model.add_image(np.zeros((8, 8)), name="other")
    sources = find_sources(list(model.layers))
    assert [s.channel_names for s in sources] == [["Hoechst", "P-gp-EGFP"], ["other"]]
    stack = sources[0].open()
    assert stack.shape == (3, 2, 1, 32, 32)
    assert stack.pixel_size_um == pytest.approx((0.5, 0.5))
    assert stack.frame_interval_s == pytest.approx(60.0)
    assert int(np.asarray(stack.frame(1))[1].max()) == 1
