"""labels.tif is an OME-TIFF that keeps the physical pixel size (read back two ways)."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from pgpviewer.core.export import export_results
from pgpviewer.core.io import read_stack
from pgpviewer.core.pipeline import run_pipeline
from pgpviewer.core.stack import Stack
from pgpviewer.core.synthetic import simulate_coculture


def test_labels_tif_round_trip_keeps_scale(tmp_path):
    sim = simulate_coculture(n_frames=3, shape_yx=(80, 80), n_cells=6, seed=4)
    stack = Stack.from_array(
        sim.image,
        sim.axes,
        channel_names=sim.channel_names,
        pixel_size_um=(0.4, 0.5),
        frame_interval_s=sim.frame_interval_s,
    )
    result = run_pipeline(stack, sim.channel_roles)
    out = export_results(result, tmp_path / "out")

    back = read_stack(out / "labels.tif")
    assert back.shape == (3, 1, 1, 80, 80)
    assert back.pixel_size_um == pytest.approx((0.4, 0.5))
    np.testing.assert_array_equal(np.asarray(back.data[:, 0, 0]), np.asarray(result.labels))

    with tifffile.TiffFile(out / "labels.tif") as tif:
        assert tif.is_ome
        pixels = tifffile.xml2dict(tif.ome_metadata)["OME"]["Image"]["Pixels"]
        assert tif.series[0].axes == "TYX"
    assert pixels["PhysicalSizeX"] == pytest.approx(0.5)
    assert pixels["PhysicalSizeY"] == pytest.approx(0.4)
    assert pixels["PhysicalSizeXUnit"] == "µm"
