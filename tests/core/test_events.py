"""detect_events: persistence, lineages, source donor, mode, the tracks/events contract."""

from __future__ import annotations

import doctest

import numpy as np
import pandas as pd
import pytest

import pgpviewer.core.events as events_module
from pgpviewer.core.events import EVENT_COLUMNS, TRACK_COLUMNS, detect_events
from pgpviewer.core.metrics_tracking import event_scores, label_contacts, label_table
from pgpviewer.core.params import EventParams, TrackingParams
from pgpviewer.core.tracking import track_cells

# simulator settings for ground-truth tables only: render just the P-gp channel, no noise
GT_ONLY = {"include_nuclei": False, "include_recipient_dye": False, "add_noise": False}

def test_docstring_examples():
    assert doctest.testmod(events_module, optionflags=doctest.NORMALIZE_WHITESPACE).failed == 0


def track(tid, positive, *, first=0, parent=None, population="recipient", label=None,
          y=0.0, x=0.0, touching=None, score=None, puncta=None):
    """Rows of one track; ``positive`` is a string like '--+++' ('?' = score not measured)."""
    n = len(positive)
    frames = np.arange(first, first + n)
    pos = np.array([c == "+" for c in positive])
    sc = np.where(pos, 5.0, 0.5) if score is None else np.asarray(score, float)
    sc = np.where(np.array([c == "?" for c in positive]), np.nan, sc)
    return pd.DataFrame({
        "frame": frames,
        "label": label if label is not None else tid,
        "track_id": tid,
        "parent_track_id": pd.array([parent] * n, dtype="Int64"),
        "population": population,
        "centroid_y": y,
        "centroid_x": x,
        "pgp_score": sc,
        "pgp_positive": pos,
        "pgp_puncta": puncta if puncta is not None else 0,
        "touching_donor": touching if touching is not None else False,
        "nearest_donor_track_id": pd.array([pd.NA] * n, dtype="Int64"),
        "nearest_donor_distance_px": np.nan,
    })


def run(*tracks_, contacts=None, **params):
    cells = pd.concat(tracks_, ignore_index=True)
    ev, tr = detect_events(cells, contacts, EventParams(**params))
    return ev, tr.set_index("track_id")


def test_contract_columns_and_dtypes():
    ev, tr = detect_events(track(1, "--+++"), None, EventParams())
    assert list(ev.columns) == EVENT_COLUMNS
    tr = tr.reset_index(drop=True)
    assert list(tr.columns) == TRACK_COLUMNS
    assert str(ev["donor_track_id"].dtype) == "Int64"
    assert str(tr["acquired_frame"].dtype) == "Int64"
    assert str(tr["parent_track_id"].dtype) == "Int64"
    assert ev["time_s"].isna().all()
    ev2, _ = detect_events(track(1, "--+++"), None, EventParams(), frame_interval_s=30.0)
    assert ev2["time_s"].tolist() == [60.0]
    empty_ev, empty_tr = detect_events(track(1, "--+++").iloc[0:0], None, EventParams())
    assert list(empty_ev.columns) == EVENT_COLUMNS and len(empty_ev) == 0
    assert list(empty_tr.columns) == TRACK_COLUMNS and len(empty_tr) == 0


def test_persistent_switch_is_an_event_at_the_first_frame():
    ev, tr = run(track(1, "---+++++", y=3.0, x=4.0, score=[0, 0.1, 0.2, 4, 5, 6, 7, 8]))
    assert ev["frame"].tolist() == [3]
    assert ev["recipient_track_id"].tolist() == [1]
    assert (ev["centroid_y"].item(), ev["centroid_x"].item()) == (3.0, 4.0)
    assert tr.loc[1, "status"] == "event" and tr.loc[1, "acquired_frame"] == 3
    # before: median of the last three scores before the onset; after: the persistence window
    assert ev["pgp_score_before"].item() == pytest.approx(0.1)
    assert ev["pgp_score_after"].item() == pytest.approx(5.0)


def test_blips_are_not_events():
    ev, tr = run(track(1, "--+--+--++---+"))
    assert len(ev) == 0 and tr.loc[1, "status"] == "no_event"
    # a blip just before the real switch does not move the onset
    ev, _ = run(track(2, "--+-++++"))
    assert ev["frame"].tolist() == [4]


def test_min_persistence_parameter():
    cells = track(1, "---++---")
    assert len(run(cells, min_persistence_frames=3)[0]) == 0
    assert run(cells, min_persistence_frames=2)[0]["frame"].tolist() == [3]
    assert run(track(2, "--+--"), min_persistence_frames=1)[0]["frame"].tolist() == [2]


def test_run_cut_short_by_the_end_of_the_track_is_not_an_event():
    ev, tr = run(track(1, "-----++"))
    assert len(ev) == 0
    assert tr.loc[1, "status"] == "no_event" and pd.isna(tr.loc[1, "acquired_frame"])


def test_positive_at_start():
    ev, tr = run(track(1, "+++++"), track(2, "++"), track(3, "+-----++++"))
    assert tr.loc[1, "status"] == "positive_at_start"
    assert tr.loc[2, "status"] == "positive_at_start"  # never contradicted
    assert pd.isna(tr.loc[1, "acquired_frame"])
    # a first-frame blip is noise: the track starts negative and has an event later
    assert tr.loc[3, "status"] == "event" and tr.loc[3, "acquired_frame"] == 6
    assert ev["recipient_track_id"].tolist() == [3]
    # a cell entering the field already positive is positive at start too
    _, tr = run(track(4, "++++", first=7))
    assert tr.loc[4, "status"] == "positive_at_start"


def test_unmeasured_frames_neither_start_nor_break_runs():
    ev, _ = run(track(1, "--+?++"))
    assert ev["frame"].tolist() == [2]
    ev, _ = run(track(2, "-?-?+?"))  # only one positive observation, at the end
    assert len(ev) == 0
    _, tr = run(track(3, "??+++"))
    assert tr.loc[3, "status"] == "positive_at_start"


def test_not_recipient_tracks():
    ev, tr = run(track(1, "--+++", population="donor"), track(2, "--+++", population="unknown"))
    assert len(ev) == 0
    assert set(tr["status"]) == {"not_recipient"}


def test_daughters_inherit_an_acquisition():
    mother = track(1, "--+++", first=0)
    d1 = track(2, "++++", first=5, parent=1)
    d2 = track(3, "--++", first=5, parent=1)  # dims after division: still acquired (inherited)
    ev, tr = run(mother, d1, d2)
    assert ev["recipient_track_id"].tolist() == [1]
    for t in (2, 3):
        assert tr.loc[t, "status"] == "event" and tr.loc[t, "acquired_frame"] == 2
        assert tr.loc[t, "parent_track_id"] == 1


def test_run_straddling_a_division_is_an_event_of_the_mother():
    mother = track(1, "----+", first=0)  # onset in the mother's last frame
    d1 = track(2, "+++", first=5, parent=1)
    d2 = track(3, "---", first=5, parent=1)
    ev, tr = run(mother, d1, d2)
    assert ev["recipient_track_id"].tolist() == [1] and ev["frame"].tolist() == [4]
    assert tr.loc[3, "status"] == "event" and tr.loc[3, "acquired_frame"] == 4
    # confirmed on no branch: a blip in one daughter, too short in the other -> no event
    ev, tr = run(track(1, "----+"), track(2, "+", first=5, parent=1),
                 track(3, "-", first=5, parent=1))
    assert len(ev) == 0 and set(tr["status"]) == {"no_event"}


def test_daughter_of_negative_mother_can_have_its_own_event():
    mother = track(1, "-----", first=0)
    d1 = track(2, "-+++", first=5, parent=1)
    d2 = track(3, "----", first=5, parent=1)
    ev, tr = run(mother, d1, d2)
    assert ev["recipient_track_id"].tolist() == [2] and ev["frame"].tolist() == [6]
    assert tr.loc[1, "status"] == "no_event" and tr.loc[3, "status"] == "no_event"
    # the daughter's first frame can be the onset when the mother ended negative
    ev, _ = run(track(1, "---"), track(2, "+++", first=3, parent=1))
    assert ev["recipient_track_id"].tolist() == [2] and ev["frame"].tolist() == [3]


def test_daughters_of_positive_at_start_mother():
    _, tr = run(track(1, "+++"), track(2, "++++", first=3, parent=1))
    assert tr.loc[2, "status"] == "positive_at_start"


def _donor(tid, n, *, label, y=0.0, x=0.0, first=0):
    return track(tid, "+" * n, first=first, population="donor", label=label, y=y, x=x)


def test_source_donor_longest_border_at_event_frame():
    rec = track(1, "--+++", label=1, touching=True)
    contacts = pd.DataFrame({
        "frame": [2, 2, 2],
        "label_a": [1, 3, 1],
        "label_b": [2, 1, 4],
        "border_px": [5, 12, 30],  # label 4 is a recipient: never a source
    })
    ev, _ = run(rec, _donor(10, 5, label=2), _donor(11, 5, label=3),
                track(12, "-----", label=4), contacts=contacts)
    assert ev["donor_track_id"].tolist() == [11]
    assert ev["mode"].tolist() == ["contact"]


def test_contact_lookback_and_remote():
    # touched donor 10 at frame 1, event at frame 3, no contact at 2 or 3
    touch = [False, True, False, False, False, False]
    rec = track(1, "---+++", label=1, touching=touch)
    contacts = pd.DataFrame({"frame": [1], "label_a": [1], "label_b": [2], "border_px": [8]})
    donor = _donor(10, 6, label=2, y=0.0, x=40.0)
    ev, _ = run(rec, donor, contacts=contacts, contact_lookback_frames=2)
    assert ev["mode"].tolist() == ["contact"] and ev["donor_track_id"].tolist() == [10]
    ev, _ = run(rec, donor, contacts=contacts, contact_lookback_frames=1)
    assert ev["mode"].tolist() == ["remote"]
    # remote: the nearest donor (centroid fallback) within the search distance, else none
    assert ev["donor_track_id"].tolist() == [10]
    ev, _ = run(rec, donor, contacts=contacts, contact_lookback_frames=1,
                donor_search_distance_px=30)
    assert ev["donor_track_id"].isna().all()


def test_contact_lookback_follows_the_lineage_into_the_mother():
    mother = track(1, "---", label=1, touching=[False, False, True])
    daughter = track(2, "+++", first=3, parent=1, label=5)
    contacts = pd.DataFrame({"frame": [2], "label_a": [1], "label_b": [9], "border_px": [4]})
    ev, _ = run(mother, daughter, _donor(10, 6, label=9), contacts=contacts)
    assert ev["recipient_track_id"].tolist() == [2]
    assert ev["mode"].tolist() == ["contact"] and ev["donor_track_id"].tolist() == [10]


def test_nearest_donor_columns_are_used_for_remote_events():
    rec = track(1, "--+++")
    rec["nearest_donor_track_id"] = pd.array([7] * 5, dtype="Int64")
    rec["nearest_donor_distance_px"] = [10.0, 10.0, 50.0, 10.0, 10.0]
    ev, _ = run(rec, _donor(7, 5, label=7, x=500.0))
    assert ev["mode"].tolist() == ["remote"] and ev["donor_track_id"].tolist() == [7]
    ev, _ = run(rec, _donor(7, 5, label=7, x=500.0), donor_search_distance_px=40)
    assert ev["donor_track_id"].isna().all()


def test_track_table_counts_and_puncta():
    _, tr = run(track(1, "--+++", puncta=[0, 1, 3, 4, 5]), _donor(2, 3, label=2, first=1))
    assert tr.loc[1, ["first_frame", "last_frame", "n_frames"]].tolist() == [0, 4, 5]
    assert tr.loc[2, ["first_frame", "last_frame", "n_frames"]].tolist() == [1, 3, 3]
    assert tr.loc[1, "puncta_gained"] == 4 - 1  # median of last 3 minus median of first 3
    assert tr.loc[2, "population"] == "donor"


def test_event_ids_are_ordered_by_frame():
    ev, _ = run(track(5, "-----+++"), track(2, "---+++++"), track(9, "---+++++"))
    assert ev["event_id"].tolist() == [1, 2, 3]
    assert ev["recipient_track_id"].tolist() == [2, 9, 5]


def test_missing_columns_are_an_error():
    with pytest.raises(ValueError, match="column"):
        detect_events(pd.DataFrame({"frame": [0]}), None, EventParams())


# ---------------------------------------------------------------------------------------------
# against the co-culture simulator's ground truth


def measured_cells(sim, links, rng):
    """The cells table the pipeline would build from perfect masks, with a noisy P-gp gate.

    Scores: N(0, 1) in negative cells, N(5, 1) in acquired cells, donors and on blip frames;
    gate at 2.33 (1 % false positives). Populations are the ground truth per track (the
    classification is tested elsewhere); touching_donor comes from the simulator.
    """
    gt = sim.cells.rename(columns={"cell_id": "label"})
    c = gt.merge(links, on=["frame", "label"])
    pop = c.groupby("track_id")["population"].agg(lambda s: s.mode().iloc[0])
    c["population"] = c["track_id"].map(pop)
    hot = c["pgp_positive"].to_numpy() | c["blip"].to_numpy() | (c["population"] == "donor")
    c["pgp_score"] = np.where(hot, 5.0, 0.0) + rng.normal(0, 1, len(c))
    c["pgp_positive"] = c["pgp_score"] > 2.33
    c["pgp_puncta"] = c["n_puncta"]
    c["nearest_donor_track_id"] = pd.array([pd.NA] * len(c), dtype="Int64")
    c["nearest_donor_distance_px"] = np.nan  # events fall back to centroid distances
    return c


def to_gt_ids(events, cells):
    """Predicted recipient/donor track ids -> simulator cell ids at the event frame."""
    node = cells.set_index(["frame", "track_id"])["label"]
    ev = events.copy()
    ev["recipient_id"] = [node[(f, t)] for f, t in zip(ev["frame"], ev["recipient_track_id"],
                                                        strict=True)]
    ev["donor_id"] = [0 if pd.isna(d) else node.get((f, int(d)), -1)
                      for f, d in zip(ev["frame"], ev["donor_track_id"], strict=True)]
    return ev


@pytest.fixture(scope="module")
def simulated_events():
    synthetic = pytest.importorskip("pgpviewer.core.synthetic")
    out = []
    for seed in (21, 22, 23):
        sim = synthetic.simulate_coculture(seed=seed, n_frames=40, **GT_ONLY)
        links = track_cells(label_table(sim.labels), TrackingParams())
        cells = measured_cells(sim, links, np.random.default_rng(seed))
        ev, tr = detect_events(cells, label_contacts(sim.labels), EventParams())
        out.append((sim, cells, to_gt_ids(ev, cells), tr))
    return out


def test_events_match_simulated_ground_truth(simulated_events):
    truth = pd.concat([s.events.assign(sim=k) for k, (s, *_) in enumerate(simulated_events)])
    pred = pd.concat([e.assign(sim=k) for k, (_, _, e, _) in enumerate(simulated_events)])
    truth["key"] = truth["sim"].astype(str) + ":" + truth["recipient_id"].astype(str)
    pred["key"] = pred["sim"].astype(str) + ":" + pred["recipient_id"].astype(str)
    scores = event_scores(truth, pred, truth_cols=("key", "frame"),
                          predicted_cols=("key", "frame"), tolerance_frames=2)
    print("events:", scores)
    assert scores["n_true"] >= 20
    assert scores["f1"] >= 0.9, scores
    # contact events: the donor with the longest shared border is the simulated source when one
    # donor touches; with several, the simulator draws the source in proportion to border
    # length, so the longest border is only the most likely one
    contact = truth[truth["mode"] == "contact"]
    kw = {"truth_cols": ("key", "frame"), "predicted_cols": ("key", "frame"),
          "donor_cols": ("donor_id", "donor_id")}
    cscores = event_scores(contact, pred[pred["mode"] == "contact"], **kw)
    print("contact events:", cscores)
    assert cscores["recall"] >= 0.9, cscores  # mode right for contact events
    single = contact[contact["n_touching_donors"] == 1]
    sscores = event_scores(single, pred[pred["mode"] == "contact"], **kw)
    assert sscores["donor_accuracy"] >= 0.95, sscores
    assert cscores["donor_accuracy"] >= 0.8, cscores
    remote = truth[truth["mode"] == "remote"]
    rscores = event_scores(remote, pred[pred["mode"] == "remote"],
                           truth_cols=("key", "frame"), predicted_cols=("key", "frame"))
    print("remote events:", rscores)
    assert rscores["recall"] >= 0.9, rscores  # mode right for remote events


def test_track_status_matches_simulated_ground_truth(simulated_events):
    for sim, cells, _, tr in simulated_events:
        first_label = cells.sort_values("frame").groupby("track_id")["label"].first()
        st = tr.assign(cell_id=tr["track_id"].map(first_label)).merge(
            sim.tracks[["cell_id", "status"]], on="cell_id", suffixes=("", "_gt"))
        agree = (st["status"] == st["status_gt"]).mean()
        assert agree >= 0.95, st[st["status"] != st["status_gt"]]


# --------------------------------------------------------------------------------------------
# two-level (hysteresis) positive state


def _gated(scores_by_track, gate):
    """Recipient tracks with the given scores; ``pgp_positive = score > gate``."""
    parts = []
    for tid, sc in scores_by_track.items():
        sc = np.asarray(sc, float)
        t = track(tid, "-" * len(sc), score=sc)
        t["pgp_positive"] = sc > gate
        parts.append(t)
    return pd.concat(parts, ignore_index=True)


def _background(rng, n_tracks=8, n=30):
    """Negative recipients with baselines spread between cells and frame noise SD 0.5."""
    return {100 + i: rng.normal(rng.normal(5.0, 3.0), 0.5, n) for i in range(n_tracks)}


def test_cell_hovering_at_the_gate_is_dated_to_its_real_rise():
    # baseline 13.5 just above the gate 12.5 (noise 0.5): a single threshold calls it
    # positive_at_start-like runs from frame 1; the real transfer is the jump at frame 14
    rng = np.random.default_rng(1)
    gate = 12.5
    hover = np.r_[11.6, rng.normal(13.3, 0.5, 13), rng.normal(60.0, 5.0, 16)]
    cells = _gated({1: hover, **_background(rng)}, gate)
    ev, _ = detect_events(cells, None, EventParams(), gate=gate)
    assert ev["recipient_track_id"].tolist() == [1]
    assert ev["frame"].tolist() == [14]
    old, _ = detect_events(cells, None, EventParams(hysteresis_noise_sds=0), gate=gate)
    assert old.loc[old["recipient_track_id"] == 1, "frame"].tolist() != [14]


def test_baseline_just_above_the_gate_is_neither_event_nor_positive_at_start():
    rng = np.random.default_rng(2)
    gate = 14.8
    drift = np.r_[15.0, 15.2, 14.6, 15.0, rng.normal(14.0, 0.4, 8), rng.normal(15.7, 0.4, 18)]
    cells = _gated({1: drift, **_background(rng)}, gate)
    ev, tr = detect_events(cells, None, EventParams())  # gate inferred from pgp_positive
    assert 1 not in ev["recipient_track_id"].tolist()
    assert tr.set_index("track_id").loc[1, "status"] == "no_event"


def test_low_baseline_cell_rising_to_about_the_gate_is_dated_to_the_step():
    # baseline -9.5, step at frame 12 to ~9 then ~18-22 around the gate 18.4: the gate is first
    # crossed at frame 14 and again only at 17; the event is the step
    rng = np.random.default_rng(3)
    gate = 18.4
    sc = np.r_[rng.normal(-9.5, 0.5, 12), 8.9, 14.3, 22.0, 18.0, 17.0, 18.8, 19.1,
               rng.normal(20.0, 1.0, 11)]
    cells = _gated({1: sc, **_background(rng)}, gate)
    ev, _ = detect_events(cells, None, EventParams(), gate=gate)
    assert ev.loc[ev["recipient_track_id"] == 1, "frame"].tolist() == [12]


def test_spike_on_a_cell_just_under_the_gate_is_a_blip():
    rng = np.random.default_rng(4)
    gate = 18.3
    sc = rng.normal(16.6, 0.4, 30)
    sc[10] = 72.0
    cells = _gated({1: sc, **_background(rng)}, gate)
    ev, tr = detect_events(cells, None, EventParams(), gate=gate)
    assert len(ev) == 0
    assert tr.set_index("track_id").loc[1, "status"] == "no_event"


def test_hysteresis_off_without_enough_noise_pairs_or_a_threshold_table():
    # a table whose pgp_positive is not a threshold on pgp_score keeps pgp_positive
    cells = track(1, "--+++", score=[0.1, 9.0, 2.0, 2.1, 2.2])
    ev, _ = detect_events(cells, None, EventParams())
    assert ev["frame"].tolist() == [2]


def test_version_1_parameter_files_keep_the_single_threshold():
    from pgpviewer.core.params import AnalysisParams

    p = AnalysisParams.from_dict({"version": 1})
    assert p.events.hysteresis_noise_sds == 0
    assert AnalysisParams().events.hysteresis_noise_sds == 3.0
