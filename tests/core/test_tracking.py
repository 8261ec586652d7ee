"""track_cells: LAP linking, gap closing, divisions, entries/exits, output contract."""

from __future__ import annotations

import doctest

import numpy as np
import pandas as pd
import pytest

import pgpviewer.core.metrics_tracking as metrics_tracking
import pgpviewer.core.tracking as tracking
from pgpviewer.core.metrics_tracking import (
    division_scores,
    label_table,
    link_scores,
    track_divisions,
    track_links,
)
from pgpviewer.core.params import TrackingParams
from pgpviewer.core.tracking import max_distance, solve_lap, track_cells

# simulator settings for ground-truth tables only: render just the P-gp channel, no noise
GT_ONLY = {"include_nuclei": False, "include_recipient_dye": False, "add_noise": False}

@pytest.mark.parametrize("module", [tracking, metrics_tracking])
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def _table(rows):
    """rows: (frame, label, y, x[, area]) -> features."""
    df = pd.DataFrame(rows, columns=["frame", "label", "centroid_y", "centroid_x", "area_px"][
        : len(rows[0])
    ])
    if "area_px" not in df:
        df["area_px"] = 300.0
    return df


def _walk(n_cells=30, n_frames=20, seed=0, step=2.0, spacing=40.0):
    """Cells on a jittered grid doing small random walks; label = row order shuffled."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n_cells)))
    gy, gx = np.divmod(np.arange(n_cells), side)
    y = gy * spacing + rng.uniform(-5, 5, n_cells)
    x = gx * spacing + rng.uniform(-5, 5, n_cells)
    rows = []
    for t in range(n_frames):
        y = y + rng.normal(0, step, n_cells)
        x = x + rng.normal(0, step, n_cells)
        perm = rng.permutation(n_cells)
        for k in range(n_cells):
            rows.append((t, int(perm[k]) + 1, y[k], x[k], 300.0, k + 1))
    return pd.DataFrame(rows, columns=["frame", "label", "centroid_y", "centroid_x", "area_px",
                                       "gt"])


def _gt_links(df, parent=None):
    gt = df.assign(track_id=df["gt"])
    if parent is not None:
        gt["parent_track_id"] = df["gt"].map(parent)
        return track_links(gt)
    return track_links(gt, parent_col=None)


def test_random_walk_is_tracked_perfectly():
    df = _walk()
    out = track_cells(df, TrackingParams())
    scores = link_scores(_gt_links(df), track_links(out))
    assert scores["link_accuracy"] == 1.0 and scores["link_precision"] == 1.0
    assert out["track_id"].nunique() == 30
    assert out["parent_track_id"].isna().all()


def test_output_contract_and_row_alignment():
    df = _walk(n_cells=6, n_frames=4).sample(frac=1.0, random_state=3)  # shuffled rows
    df.index = np.arange(100, 100 + len(df))
    out = track_cells(df, TrackingParams())
    assert list(out.columns) == ["frame", "label", "track_id", "parent_track_id"]
    assert len(out) == len(df)
    assert (out["frame"].to_numpy() == df["frame"].to_numpy()).all()
    assert (out["label"].to_numpy() == df["label"].to_numpy()).all()
    assert out["track_id"].dtype == np.int64 and out["track_id"].min() == 1
    assert str(out["parent_track_id"].dtype) == "Int64"
    # track ids are 1..n, numbered by first appearance
    assert sorted(out["track_id"].unique()) == list(range(1, out["track_id"].nunique() + 1))


def test_result_does_not_depend_on_row_order():
    df = _walk(n_cells=12, n_frames=6, seed=2)
    a = track_cells(df, TrackingParams()).sort_values(["frame", "label"], ignore_index=True)
    b = track_cells(df.sample(frac=1.0, random_state=1), TrackingParams()).sort_values(
        ["frame", "label"], ignore_index=True
    )
    pd.testing.assert_frame_equal(a, b)


def test_frame_offset_and_empty_frame():
    df = _walk(n_cells=5, n_frames=6, seed=4)
    df["frame"] += 100
    df = df[df["frame"] != 103]  # no cells at all in one frame: gap closing bridges it
    out = track_cells(df, TrackingParams(gap_closing_frames=1))
    assert out["track_id"].nunique() == 5
    assert link_scores(_gt_links(df), track_links(out))["link_accuracy"] == 1.0


def test_gap_closing_within_limit_only():
    rows = [(t, 1, 50.0, 10.0 + 2 * t) for t in range(10) if t not in (3, 4)]
    rows += [(t, 2, 150.0, 10.0 + 2 * t) for t in range(10) if t not in (5, 6, 7)]
    df = _table(rows)
    out = track_cells(df, TrackingParams(gap_closing_frames=2))
    # cell 1 missed for 2 frames: one track; cell 2 missed for 3 frames: two tracks
    assert out[out["label"] == 1]["track_id"].nunique() == 1
    assert out[out["label"] == 2]["track_id"].nunique() == 2
    out0 = track_cells(df, TrackingParams(gap_closing_frames=0))
    assert out0[out0["label"] == 1]["track_id"].nunique() == 2


def test_max_distance_limits_links():
    df = _table([(0, 1, 10.0, 10.0), (1, 1, 10.0, 40.0)])
    assert track_cells(df, TrackingParams(max_distance_px=25))["track_id"].nunique() == 2
    assert track_cells(df, TrackingParams(max_distance_px=35))["track_id"].nunique() == 1


def _division_table():
    # mother (label 1) moves right, divides after frame 3 into labels 1 and 2 either side;
    # a bystander (label 9) passes nearby
    rows = []
    for t in range(4):
        rows.append((t, 1, 50.0, 20.0 + 2 * t, 400.0))
        rows.append((t, 9, 90.0, 20.0 + 2 * t, 400.0))
    for t in range(4, 8):
        rows.append((t, 1, 50.0 - 9 - t, 28.0 + 2 * (t - 4), 200.0))
        rows.append((t, 2, 50.0 + 9 + t, 28.0 + 2 * (t - 4), 200.0))
        rows.append((t, 9, 90.0 + 3, 20.0 + 2 * t, 400.0))
    return _table(rows)


def test_division_gives_two_new_daughter_tracks():
    df = _division_table()
    out = track_cells(df, TrackingParams())
    mother = out[(out["frame"] == 3) & (out["label"] == 1)]["track_id"].item()
    d1 = out[(out["frame"] == 4) & (out["label"] == 1)]
    d2 = out[(out["frame"] == 4) & (out["label"] == 2)]
    assert d1["track_id"].item() != mother and d2["track_id"].item() != mother
    assert d1["track_id"].item() != d2["track_id"].item()
    assert d1["parent_track_id"].item() == mother and d2["parent_track_id"].item() == mother
    # the mother's track ends at the division; daughters keep their ids afterwards
    assert out[out["track_id"] == mother]["frame"].max() == 3
    for lab in (1, 2):
        assert out[(out["frame"] >= 4) & (out["label"] == lab)]["track_id"].nunique() == 1
    # the bystander is untouched
    assert out[out["label"] == 9]["track_id"].nunique() == 1
    assert out[out["label"] == 9]["parent_track_id"].isna().all()


def test_divisions_off():
    out = track_cells(_division_table(), TrackingParams(divisions=False))
    assert out["parent_track_id"].isna().all()
    assert out["track_id"].nunique() == 3  # mother continues into one daughter; one new track


def test_cell_appearing_beside_a_neighbour_is_not_a_division():
    # a cell enters next to an existing cell that keeps moving steadily: the existing cell is
    # not at the midpoint of "itself" and the newcomer, so no division is linked
    rows = [(t, 1, 50.0, 20.0 + 2 * t) for t in range(8)]
    rows += [(t, 2, 50.0, 2.0 + 2 * t) for t in range(4, 8)]
    out = track_cells(_table(rows), TrackingParams())
    assert out["parent_track_id"].isna().all()
    assert out["track_id"].nunique() == 2


def test_entering_and_leaving_cells_start_and_end_tracks():
    rows = [(t, 1, 50.0, 10.0 + 2 * t) for t in range(10)]
    rows += [(t, 2, 300.0, 300.0) for t in range(3)]  # leaves after frame 2
    rows += [(t, 3, 500.0, 500.0) for t in range(6, 10)]  # enters at frame 6
    out = track_cells(_table(rows), TrackingParams())
    assert out.groupby("label")["track_id"].nunique().tolist() == [1, 1, 1]
    assert out["track_id"].nunique() == 3


def test_area_penalty_resolves_ambiguous_link():
    # two cells of very different size each move 4 px; each ends 3 px from where the other
    # was: distance alone swaps them (9 + 9 < 16 + 16), the area change penalty does not
    rows = [
        (0, 1, 50.0, 50.0, 1000.0), (0, 2, 50.0, 57.0, 200.0),
        (1, 1, 50.0, 54.0, 1000.0), (1, 2, 50.0, 53.0, 200.0),
    ]
    df = _table(rows)
    plain = track_cells(df, TrackingParams(area_change_weight=0))
    weighted = track_cells(df, TrackingParams(area_change_weight=1))
    same = weighted.groupby("label")["track_id"].nunique()
    assert (same == 1).all()
    assert (plain.groupby("label")["track_id"].nunique() == 2).all()


def test_empty_and_single_frame():
    empty = track_cells(_table([(0, 1, 1.0, 1.0)]).iloc[0:0], TrackingParams())
    assert list(empty.columns) == ["frame", "label", "track_id", "parent_track_id"]
    assert len(empty) == 0
    one = track_cells(_table([(5, 1, 1.0, 1.0), (5, 2, 9.0, 9.0)]), TrackingParams())
    assert one["track_id"].tolist() == [1, 2]


def test_invalid_input():
    with pytest.raises(ValueError, match="column"):
        track_cells(pd.DataFrame({"frame": [0], "label": [1]}), TrackingParams())
    with pytest.raises(ValueError, match="twice"):
        track_cells(_table([(0, 1, 1.0, 1.0), (0, 1, 5.0, 5.0)]), TrackingParams())
    with pytest.raises(ValueError, match="non-finite"):
        track_cells(_table([(0, 1, np.nan, 1.0)]), TrackingParams())


def test_solve_lap_prefers_global_optimum_and_leaves_costly_rows():
    # greedy would take (0, 0) at cost 1 and force (1, 1) at 10; optimum is 2 + 2
    r, c = solve_lap(np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]),
                     np.array([1.0, 2.0, 2.0, 10.0]), 100.0, 100.0)
    assert sorted(zip(r.tolist(), c.tolist(), strict=True)) == [(0, 1), (1, 0)]
    # a candidate dearer than ending + starting is not taken
    r, c = solve_lap(np.array([0]), np.array([0]), np.array([50.0]), 20.0, 20.0)
    assert len(r) == 0


def _dividing_walk(seed=0, n_cells=40, n_frames=30):
    """Random walk on a grid with divisions (daughters ±8 px), GT ids and parents."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n_cells)))
    gy, gx = np.divmod(np.arange(n_cells), side)
    y = gy * 45.0 + rng.uniform(-4, 4, n_cells)
    x = gx * 45.0 + rng.uniform(-4, 4, n_cells)
    ids = np.arange(1, n_cells + 1)
    parent = {int(i): 0 for i in ids}
    nxt = n_cells + 1
    rows = []
    for t in range(n_frames):
        y = y + rng.normal(0, 1.5, len(ids))
        x = x + rng.normal(0, 1.5, len(ids))
        if t and t % 5 == 0:
            k = rng.choice(len(ids), 3, replace=False)
            th = rng.uniform(0, np.pi, 3)
            keep = np.setdiff1d(np.arange(len(ids)), k)
            kids = np.arange(nxt, nxt + 6)
            nxt += 6
            for j, m in enumerate(np.repeat(ids[k], 2)):
                parent[int(kids[j])] = int(m)
            sgn = np.tile([1.0, -1.0], 3)
            y = np.concatenate([y[keep], np.repeat(y[k], 2) + 8 * sgn * np.repeat(np.sin(th), 2)])
            x = np.concatenate([x[keep], np.repeat(x[k], 2) + 8 * sgn * np.repeat(np.cos(th), 2)])
            ids = np.concatenate([ids[keep], kids])
        perm = rng.permutation(len(ids))
        for k in range(len(ids)):
            rows.append((t, int(perm[k]) + 1, y[k], x[k], 300.0, int(ids[k])))
    df = pd.DataFrame(rows, columns=["frame", "label", "centroid_y", "centroid_x", "area_px",
                                     "gt"])
    return df, {k: (v if v else None) for k, v in parent.items()}


def test_divisions_in_a_random_walk():
    df, parent = _dividing_walk()
    out = track_cells(df, TrackingParams())
    gt = df.assign(track_id=df["gt"], parent_track_id=df["gt"].map(parent))
    assert link_scores(track_links(gt), track_links(out))["link_accuracy"] == 1.0
    div = division_scores(track_divisions(gt), track_divisions(out))
    assert div["division_recall"] == 1.0 and div["division_precision"] == 1.0


# ---------------------------------------------------------------------------------------------
# the co-culture simulator's ground truth


@pytest.fixture(scope="module")
def simulations():
    synthetic = pytest.importorskip("pgpviewer.core.synthetic")
    return [synthetic.simulate_coculture(seed=s, n_frames=30, **GT_ONLY) for s in (11, 12)]


def test_link_accuracy_on_simulated_cocultures(simulations):
    for sim in simulations:
        feats = label_table(sim.labels)  # label value = GT cell id
        out = track_cells(feats, TrackingParams())
        gt = feats.assign(track_id=feats["label"])
        par = sim.tracks.set_index("cell_id")["parent_id"]
        gt["parent_track_id"] = gt["label"].map(par).where(lambda s: s > 0)
        scores = link_scores(track_links(gt), track_links(out))
        assert scores["link_accuracy"] >= 0.99, scores
        assert scores["link_precision"] >= 0.99, scores


def test_area_median_counted_by_frame_equals_the_median_of_all_cells():
    """The automatic distance limit of a movie streamed frame by frame is the one of the whole
    table (odd and even counts, repeated areas, missing and zero areas)."""
    from pgpviewer.core.track_stream import AreaMedian

    rng = np.random.default_rng(4)
    for n in (1, 2, 7, 8, 301):
        area = rng.integers(0, 60, n).astype(float)
        area[rng.random(n) < 0.1] = np.nan
        counted = AreaMedian()
        for part in np.array_split(area, 4):
            counted.add(part)
        assert max_distance(TrackingParams(), counted) == max_distance(TrackingParams(), area)
