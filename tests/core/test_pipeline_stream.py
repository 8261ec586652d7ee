"""The pipeline's frame-by-frame events, tracks and uptake equal the whole-table functions.

run_pipeline reads its per-frame tables one frame at a time for the gate, events and uptake
(on disk for a large movie); detect_events and uptake_summary take the joined tables. Both must
give the same tables, on the disk path and in memory, with and without puncta.
"""

from __future__ import annotations

import pandas as pd
import pytest

from pgpviewer.core import labelstore
from pgpviewer.core.events import detect_events
from pgpviewer.core.params import AnalysisParams
from pgpviewer.core.pipeline import run_pipeline
from pgpviewer.core.stack import Stack
from pgpviewer.core.synthetic import simulate_coculture
from pgpviewer.core.uptake import uptake_summary


@pytest.fixture(scope="module")
def sim():
    return simulate_coculture(seed=8, n_frames=24, shape_yx=(160, 160), n_cells=24,
                              contact_transfer_prob=0.1, remote_transfer_rate=0.06,
                              division_rate=0.02)


@pytest.mark.parametrize("spill", [True, False])
@pytest.mark.parametrize("variant", ["default", "longest_border", "no_puncta"])
def test_streamed_events_and_uptake_equal_the_whole_table_functions(sim, tmp_path, monkeypatch,
                                                                    spill, variant):
    monkeypatch.setattr(labelstore, "IN_MEMORY_MAX_BYTES", 0 if spill else 1 << 40)
    params = AnalysisParams().replace(segmentation={"cell_diameter_px": 30.0})
    if variant == "longest_border":
        params = params.replace(events={"contact_source": "longest_border",
                                        "trace_vesicles": False})
    if variant == "no_puncta":
        params = params.replace(puncta={"enabled": False})
    stack = Stack.from_array(sim.image, "TCYX", channel_names=sim.channel_names,
                             frame_interval_s=sim.frame_interval_s)
    res = run_pipeline(stack, sim.channel_roles, params, workers=1, workdir=tmp_path)
    cells = res.cells
    events, tracks = detect_events(cells, res.contacts, params.events,
                                   frame_interval_s=stack.frame_interval_s, spots=res.puncta,
                                   gate=res.gate.value)
    assert len(events) > 0
    pd.testing.assert_frame_equal(events, res.events)
    pd.testing.assert_frame_equal(tracks, res.tracks)
    summary, curves = uptake_summary(cells, events, tracks,
                                     frame_interval_s=stack.frame_interval_s,
                                     frames=range(*res.frames))
    pd.testing.assert_frame_equal(summary, res.summary)
    pd.testing.assert_frame_equal(curves, res.curves)
