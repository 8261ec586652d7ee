"""uptake_summary and kaplan_meier: per-frame counts and the acquisition curves."""

from __future__ import annotations

import doctest

import numpy as np
import pandas as pd
import pytest

import pgpviewer.core.uptake as uptake_module
from pgpviewer.core.events import detect_events
from pgpviewer.core.metrics_tracking import label_contacts, label_table
from pgpviewer.core.params import EventParams, TrackingParams
from pgpviewer.core.tracking import track_cells
from pgpviewer.core.uptake import CURVE_COLUMNS, SUMMARY_COLUMNS, kaplan_meier, uptake_summary

# simulator settings for ground-truth tables only: render just the P-gp channel, no noise
GT_ONLY = {"include_nuclei": False, "include_recipient_dye": False, "add_noise": False}

def test_docstring_examples():
    assert doctest.testmod(uptake_module, optionflags=doctest.NORMALIZE_WHITESPACE).failed == 0


def _cells(spec):
    """spec: {track_id: (population, first_frame, '+-' string, parent)} -> cells table."""
    parts = []
    for tid, (pop, first, pos, parent) in spec.items():
        n = len(pos)
        parts.append(pd.DataFrame({
            "frame": np.arange(first, first + n),
            "label": tid,
            "track_id": tid,
            "parent_track_id": pd.array([parent] * n, dtype="Int64"),
            "population": pop,
            "centroid_y": 0.0,
            "centroid_x": 10.0 * tid,
            "pgp_score": [5.0 if c == "+" else 0.0 for c in pos],
            "pgp_positive": [c == "+" for c in pos],
            "pgp_puncta": [2 if c == "+" else 0 for c in pos],
        }))
    return pd.concat(parts, ignore_index=True)


SPEC = {
    1: ("recipient", 0, "--++++", None),  # event at 2
    2: ("recipient", 0, "------", None),  # censored at 5
    3: ("recipient", 0, "++++++", None),  # positive at start
    4: ("recipient", 0, "---", None),  # divides after frame 2 -> 5, 6
    5: ("recipient", 3, "-+++", 4),  # event at 4 (daughter)
    6: ("recipient", 3, "-+--", 4),  # blip only: censored at its last frame, 6
    7: ("donor", 0, "+++++++", None),
    8: ("recipient", 1, "-+-", None),  # blip at frame 2, leaves after frame 3
}


@pytest.fixture()
def analysed():
    cells = _cells(SPEC)
    events, tracks = detect_events(cells, None, EventParams())
    return cells, events, tracks


def test_statuses_of_the_fixture(analysed):
    _, events, tracks = analysed
    st = tracks.set_index("track_id")["status"].to_dict()
    assert st == {1: "event", 2: "no_event", 3: "positive_at_start", 4: "no_event",
                  5: "event", 6: "no_event", 7: "not_recipient", 8: "no_event"}
    assert events["frame"].tolist() == [2, 4]


def test_summary_per_frame(analysed):
    cells, events, tracks = analysed
    summary, _ = uptake_summary(cells, events, tracks, frame_interval_s=None, frames=range(0, 9))
    assert list(summary.columns) == SUMMARY_COLUMNS
    assert summary["frame"].tolist() == list(range(9))
    assert summary["time_s"].isna().all()
    s = summary.set_index("frame")
    assert s.loc[0, "n_cells"] == 5 and s.loc[0, "n_donors"] == 1 and s.loc[0, "n_recipients"] == 4
    # frame 2: recipients 1, 2, 3, 4, 8; acquired 1 and 3 (8's blip is not counted)
    assert s.loc[2, "n_recipients"] == 5 and s.loc[2, "n_recipients_positive"] == 2
    assert s.loc[2, "n_recipients_positive_raw"] == 3
    # frame 4: recipients 1, 2, 3, 5, 6; acquired 1, 3, 5
    assert s.loc[4, "n_recipients_positive"] == 3
    assert s.loc[4, "fraction_recipients_positive"] == pytest.approx(3 / 5)
    assert s.loc[4, "n_recipients_positive_raw"] == 4  # 6's blip
    assert s["new_events"].tolist() == [0, 0, 1, 0, 1, 0, 0, 0, 0]
    assert s["cumulative_events"].tolist() == [0, 0, 1, 1, 2, 2, 2, 2, 2]
    assert s.loc[4, "puncta_in_recipients"] == 2 * 4
    # frames without cells still have a row
    assert s.loc[8, "n_cells"] == 0 and np.isnan(s.loc[8, "fraction_recipients_positive"])


def test_time_columns(analysed):
    cells, events, tracks = analysed
    summary, curves = uptake_summary(cells, events, tracks, frame_interval_s=120.0,
                                     frames=range(2, 5))
    assert summary["time_s"].tolist() == [240.0, 360.0, 480.0]
    assert curves["time_s"].tolist() == [240.0, 360.0, 480.0]


def test_curves_delayed_entry_and_censoring(analysed):
    cells, events, tracks = analysed
    _, curves = uptake_summary(cells, events, tracks, frame_interval_s=None, frames=range(0, 7))
    assert list(curves.columns) == CURVE_COLUMNS
    c = curves.set_index("frame")
    # subjects: 1 [0, 2] event, 2 [0, 5] censored, 4 [0, 2] censored (division), 5 [3, 4]
    # event, 6 [3, 6] censored, 8 [1, 3] censored; 3 (positive at start) is never at risk
    assert c["at_risk"].tolist() == [3, 4, 4, 4, 3, 2, 1]
    assert c["acquired"].tolist() == [0, 0, 1, 1, 2, 2, 2]
    s2 = 1 - 1 / 4
    s4 = s2 * (1 - 1 / 3)
    assert c["km_not_acquired"].tolist() == pytest.approx([1, 1, s2, s2, s4, s4, s4])
    assert (c["km_ci_low"] <= c["km_not_acquired"] + 1e-12).all()
    assert (c["km_ci_high"] >= c["km_not_acquired"] - 1e-12).all()
    assert c.loc[0, "km_ci_low"] == 1.0 and c.loc[0, "km_ci_high"] == 1.0


def test_kaplan_meier_matches_hand_computation():
    # textbook example without delayed entry: 6 subjects, events at 2, 3, 3, censored 3, 5, 6
    km = kaplan_meier(np.zeros(6, int), np.array([2, 3, 3, 3, 5, 6]),
                      np.array([1, 1, 1, 0, 0, 0], bool), np.arange(7))
    s = km.set_index("frame")
    assert s.loc[2, "km_not_acquired"] == pytest.approx(5 / 6)
    assert s.loc[3, "km_not_acquired"] == pytest.approx(5 / 6 * 3 / 5)
    assert s["at_risk"].tolist() == [6, 6, 6, 5, 2, 2, 1]
    # Greenwood + log-log interval at frame 3
    S = 0.5
    var = 1 / (6 * 5) + 2 / (5 * 3)
    se = np.sqrt(var) / abs(np.log(S))
    assert s.loc[3, "km_ci_low"] == pytest.approx(S ** np.exp(1.959964 * se), rel=1e-5)
    assert s.loc[3, "km_ci_high"] == pytest.approx(S ** np.exp(-1.959964 * se), rel=1e-5)
    assert 0 <= s.loc[3, "km_ci_low"] < S < s.loc[3, "km_ci_high"] <= 1


def test_kaplan_meier_all_acquired_and_empty():
    km = kaplan_meier(np.zeros(2, int), np.array([1, 1]), np.array([True, True]), np.arange(3))
    assert km["km_not_acquired"].tolist() == [1.0, 0.0, 0.0]
    assert km["km_ci_low"].isna().tolist() == [False, True, True]
    empty = kaplan_meier(np.empty(0, int), np.empty(0, int), np.empty(0, bool), np.arange(2))
    assert empty["km_not_acquired"].tolist() == [1.0, 1.0]
    assert empty["at_risk"].tolist() == [0, 0]


def test_no_cells_at_all():
    cells = _cells({1: ("recipient", 0, "-", None)}).iloc[0:0]
    events, tracks = detect_events(cells, None, EventParams())
    summary, curves = uptake_summary(cells, events, tracks, frame_interval_s=10.0,
                                     frames=range(3))
    assert summary["n_cells"].tolist() == [0, 0, 0]
    assert curves["km_not_acquired"].tolist() == [1.0, 1.0, 1.0]


def test_fraction_positive_matches_simulated_ground_truth():
    synthetic = pytest.importorskip("pgpviewer.core.synthetic")
    rng = np.random.default_rng(5)
    sim = synthetic.simulate_coculture(seed=31, n_frames=30, shape_yx=(384, 384), n_cells=80,
                                       **GT_ONLY)
    links = track_cells(label_table(sim.labels), TrackingParams())
    cells = sim.cells.rename(columns={"cell_id": "label"}).merge(links, on=["frame", "label"])
    hot = cells["pgp_positive"] | cells["blip"] | (cells["population"] == "donor")
    cells["pgp_score"] = np.where(hot, 5.0, 0.0) + rng.normal(0, 1, len(cells))
    cells["pgp_positive"] = cells["pgp_score"] > 2.33
    cells["pgp_puncta"] = cells["n_puncta"]
    events, tracks = detect_events(cells, label_contacts(sim.labels), EventParams())
    summary, curves = uptake_summary(cells, events, tracks, frame_interval_s=600.0,
                                     frames=range(30))
    rec = sim.cells[sim.cells["population"] == "recipient"]
    truth = rec.groupby("frame")["pgp_positive"].mean()
    err = (summary.set_index("frame")["fraction_recipients_positive"] - truth).abs()
    print(f"fraction positive: max error {err.max():.3f}, mean {err.mean():.4f}")
    assert err.max() <= 0.03
    # the acquisition curve counts the simulated events (up to onset shifts of <= 2 frames)
    assert abs(curves["acquired"].iloc[-1] - len(sim.events)) <= 1
    assert curves["km_not_acquired"].is_monotonic_decreasing
