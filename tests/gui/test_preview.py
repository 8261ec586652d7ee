"""Live preview: debounced, off the GUI thread, newest request wins."""

from __future__ import annotations

import pytest
from guitools import open_and_wait

from pgpviewer.gui.preview import compute_preview, preview_available
from pgpviewer.gui.viewer_panel import PREVIEW_CELLS, PREVIEW_PUNCTA

pytestmark = pytest.mark.gui


@pytest.mark.skipif(not preview_available()[0], reason="segmentation not importable")
def test_preview_follows_parameters_and_frame(qtbot, window, experiment):
    open_and_wait(qtbot, window, experiment / "pos1.ome.tif")
    results = []
    window.preview.ready.connect(results.append)
    with qtbot.waitSignal(window.preview.ready, timeout=30000):
        window.params_panel.preview_check.setChecked(True)
    assert window.viewer.layer(PREVIEW_CELLS) is not None
    assert window.viewer.layer(PREVIEW_PUNCTA) is not None
    first = results[-1]
    assert first.n_cells > 0 and first.labels.shape == (128, 128)

    # several quick edits produce one recomputation with the last values
    n_before = len(results)
    w = window.params_panel.editors[("segmentation", "cell_diameter_px")].widget
    with qtbot.waitSignal(window.preview.ready, timeout=30000):
        for d in (20.0, 22.0, 24.0):
            w.setValue(d)
    qtbot.waitUntil(lambda: not window.preview.busy, timeout=30000)
    assert len(results) == n_before + 1

    with qtbot.waitSignal(window.preview.ready, timeout=30000):
        window.viewer.set_frame(3)
    assert results[-1].frame == 3

    window.params_panel.preview_check.setChecked(False)
    assert window.viewer.layer(PREVIEW_CELLS) is None


@pytest.mark.skipif(not preview_available()[0], reason="segmentation not importable")
def test_compute_preview_matches_the_pipeline_segmentation(small_movie):
    from pgpviewer.core.io import read_stack
    from pgpviewer.core.params import AnalysisParams
    from pgpviewer.core.segmentation import segment_cells

    stack = read_stack(small_movie)
    roles = {"nuclei": 0, "recipient": 1, "pgp": 2}
    params = AnalysisParams()
    pv = compute_preview(stack, 2, roles, params)
    image = stack.projected_frame(2)
    ref = segment_cells({r: image[i] for r, i in roles.items()}, params.segmentation)
    assert (pv.labels == ref).all()
    assert pv.puncta_yx is not None and pv.puncta_yx.shape[1] == 2
