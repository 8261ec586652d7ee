"""Export: labels.tif is an OME-TIFF that keeps the physical pixel size; CSVs are streamed."""

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


def test_csv_is_written_in_chunks_with_the_same_text():
    """A long table is written a chunk at a time; the text does not depend on the chunk size."""
    import io

    import pandas as pd

    from pgpviewer.core.export import _format_csv, write_csv

    table = pd.DataFrame(
        {
            "frame": range(7),
            "score": [0.1, float("nan"), 1e-9, 2.5, -3.0, 12345.678, 0.3],
            "positive": [True, False, True, True, False, False, True],
            "note": ["=SUM(A1)", None, "ok", "a\r\nb", "-1", "x", True],
            "track": pd.array([1, None, 3, 4, None, 6, 7], dtype="Int64"),
        }
    )
    whole = _format_csv(table)
    for rows in (1, 3, 7, 100):
        buf = io.StringIO()
        write_csv(table, buf, chunk_rows=rows)
        assert buf.getvalue() == whole
    lines = whole.splitlines()
    assert lines[0] == "frame,score,positive,note,track"
    assert lines[1] == "0,0.1,true,'=SUM(A1),1"
    assert len(lines) == 9  # header + 7 rows; the quoted "a\nb" spans two lines
    empty = io.StringIO()
    write_csv(table.iloc[0:0], empty)
    assert empty.getvalue() == "frame,score,positive,note,track\n"
