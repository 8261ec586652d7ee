"""Result → layer adapters and display helpers (pure numpy/pandas, no display needed)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from pgpviewer.core.stack import Stack
from pgpviewer.gui.display import (
    channel_view,
    colormap_for,
    display_geometry,
    robust_contrast_limits,
    sample_frames,
)
from pgpviewer.gui.result_layers import (
    CLASS_COLORS,
    DONOR,
    RECIPIENT_NEGATIVE,
    RECIPIENT_POSITIVE,
    build_result_layers,
    cell_classes,
    display_values,
    event_text,
    uptake_headline,
)


def toy_result():
    labels = np.zeros((2, 10, 10), np.int32)
    labels[:, 1:4, 1:4] = 1
    labels[:, 5:9, 5:9] = 2
    cells = pd.DataFrame(
        {
            "frame": [0, 0, 1, 1],
            "label": [1, 2, 1, 2],
            "track_id": [1, 2, 1, 2],
            "population": ["donor", "recipient", "donor", "recipient"],
            "pgp_positive": [True, False, True, True],
            "centroid_y": [2.0, 6.5, 2.0, 6.5],
            "centroid_x": [2.0, 6.5, 2.0, 6.5],
        }
    )
    events = pd.DataFrame(
        {
            "event_id": [1],
            "recipient_track_id": [2],
            "frame": [1],
            "centroid_y": [6.5],
            "centroid_x": [6.5],
            "donor_track_id": [1],
            "mode": ["contact"],
        }
    )
    tracks = pd.DataFrame({"track_id": [1, 2], "parent_track_id": [pd.NA, pd.NA]})
    summary = pd.DataFrame(
        {
            "frame": [0, 1],
            "n_recipients": [1, 1],
            "n_recipients_positive": [0, 1],
            "fraction_recipients_positive": [0.0, 1.0],
            "cumulative_events": [0, 1],
        }
    )
    puncta = pd.DataFrame({"frame": [1], "y": [6.0], "x": [6.0], "label": [2]})
    return SimpleNamespace(
        labels=labels,
        cells=cells,
        events=events,
        tracks=tracks,
        summary=summary,
        puncta=puncta,
        frames=(0, 2),
        params=SimpleNamespace(events=SimpleNamespace(min_persistence_frames=3)),
        gate=SimpleNamespace(value=12.5, source="manual"),
    )


def test_classes_and_lazy_colour_values():
    r = toy_result()
    assert cell_classes(r.cells).tolist() == [DONOR, RECIPIENT_NEGATIVE, DONOR, RECIPIENT_POSITIVE]
    specs = {s.name: s for s in build_result_layers(r, (60.0, 0.5, 0.5))}
    cells = specs["cells"]
    shown = np.asarray(cells.data.compute())
    values = display_values(r.cells)
    assert shown[0, 2, 2] == values[0] and shown[1, 6, 6] == values[3]
    assert shown[0, 6, 6] != shown[1, 6, 6]  # the recipient turned positive
    colors = cells.kwargs["colormap"].color_dict
    assert np.allclose(colors[int(values[3])][:3], np.array([0x3C, 0xFF, 0x3C]) / 255, atol=0.01)
    assert CLASS_COLORS[RECIPIENT_POSITIVE] == "#3cff3c"
    assert cells.kwargs["scale"] == (60.0, 0.5, 0.5)
    feats = cells.kwargs["features"]
    assert set(feats["population"]) == {
        "donor",
        "recipient, P-gp negative",
        "recipient, P-gp positive",
    }
    assert specs["tracks"].data.shape == (4, 4)
    assert specs["P-gp puncta"].data.tolist() == [[1.0, 6.0, 6.0]]
    ev = specs["transfer events"]
    assert ev.data.tolist() == [[1.0, 6.5, 6.5]]
    assert ev.kwargs["features"]["event"].tolist() == ["D1 → R2"]


def test_event_text_without_donor():
    ev = pd.DataFrame({"donor_track_id": [pd.NA, 4.0], "recipient_track_id": [7, 9]})
    assert event_text(ev) == ["? → R7", "D4 → R9"]


def test_headline():
    text = uptake_headline(toy_result())
    assert "1/1 recipients P-gp+ (100 %)" in text and "1 transfer event (1 contact)" in text


def test_display_helpers():
    data = np.arange(3 * 2 * 4 * 16 * 16, dtype=np.uint16).reshape(3, 2, 4, 16, 16)
    stack = Stack.from_array(
        data,
        "TCZYX",
        channel_names=("DAPI", "GFP"),
        pixel_size_um=(0.5, 0.4),
        frame_interval_s=30.0,
    )
    assert colormap_for(1, {"pgp": 1}) == "green" and colormap_for(0, {"pgp": 1}) == "gray"
    geo = display_geometry(stack)
    assert geo.scale == (30.0, 0.5, 0.4) and geo.units[1] == "micrometer"
    view = channel_view(stack, 1)
    assert view.shape == (3, 16, 16)
    assert (np.asarray(view[2]) == data[2, 1].max(axis=0)).all()
    lo, hi = robust_contrast_limits(stack, 0)
    assert data[:, 0].min() <= lo < hi <= data[:, 0].max()
    assert sample_frames(100) == [0, 50, 99] and sample_frames(2) == [0, 1]
    flat = Stack.from_array(np.full((2, 1, 8, 8), 7, np.uint16), "TCYX")
    assert robust_contrast_limits(flat, 0) == (7.0, 8.0)
    assert display_geometry(flat).scale == (1.0, 1.0, 1.0)
