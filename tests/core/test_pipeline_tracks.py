"""Tracks and populations from per-frame tables read one at a time equal the whole-table ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pgpviewer.core.classification import classify_cells
from pgpviewer.core.frames import segment_frame
from pgpviewer.core.params import AnalysisParams
from pgpviewer.core.pipeline_tracks import link_and_classify
from pgpviewer.core.stack import Stack
from pgpviewer.core.synthetic import simulate_coculture
from pgpviewer.core.tablestore import FrameTables
from pgpviewer.core.tracking import track_cells


@pytest.fixture(scope="module")
def features():
    sim = simulate_coculture(seed=8, n_frames=14, shape_yx=(160, 160), n_cells=24,
                             division_rate=0.05)
    stack = Stack.from_array(sim.image, "TCYX", channel_names=sim.channel_names)
    params = AnalysisParams().replace(segmentation={"cell_diameter_px": 30.0})
    parts = [segment_frame(stack, t, sim.channel_roles, params).features
             for t in range(stack.n_frames)]
    return parts, sim.channel_roles


@pytest.mark.parametrize("on_disk", [False, True])
@pytest.mark.parametrize("case", ["identity", "pgp_first_frame", "gaps", "fixed_distance"])
def test_link_and_classify_equals_track_cells_and_classify_cells(features, tmp_path, on_disk,
                                                                  case):
    parts, roles = features
    params = AnalysisParams()
    if case == "pgp_first_frame":
        roles = {"nuclei": roles["nuclei"], "pgp": roles["pgp"]}
    if case == "gaps":  # frames without cells, long gap closing
        parts = [p.iloc[0:0] if i in (3, 4, 9) else p for i, p in enumerate(parts)]
        params = params.replace(tracking={"gap_closing_frames": 3, "area_change_weight": 0.5})
    if case == "fixed_distance":
        params = params.replace(tracking={"max_distance_px": 9.0, "divisions": False})
    store = FrameTables(tmp_path if on_disk else None)
    for p in parts:
        store.append(p)
    links = link_and_classify(store, roles, params, tmp_path if on_disk else None)
    got = pd.concat(list(links), ignore_index=True)

    whole = pd.concat(parts, ignore_index=True)
    expected = track_cells(whole, params.tracking)
    pops = classify_cells(whole.merge(expected, on=["frame", "label"], how="left"), roles,
                          params.classification)
    expected = expected.merge(pops[["track_id", "population"]], on="track_id", how="left")
    expected["population"] = expected["population"].fillna("unknown")
    pd.testing.assert_frame_equal(got, expected)
    assert expected["parent_track_id"].notna().any() or case == "fixed_distance"
    assert set(expected["population"]) >= {"donor", "recipient"}
    assert links.n_tracks == expected["track_id"].max()
    np.testing.assert_array_equal(links.nodes(5)["track_id"], got[got.frame == 5]["track_id"])
