"""Populations per track from per-frame identity / P-gp signals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pgpviewer.core.classification import (
    TrackVotes,
    call_codes,
    classify_cells,
    classify_frame,
    resolve_method,
    split_bright_dim,
)
from pgpviewer.core.errors import InputError
from pgpviewer.core.params import ClassificationParams


def _features(signals: dict[int, list[float]], role="recipient", noise=2.0, parents=None):
    """One row per (track, frame); track ids = labels; ``signals[track] = per-frame values``."""
    rows = []
    for tid, values in signals.items():
        for f, v in enumerate(values):
            if v is None:
                continue
            rows.append({"frame": f, "label": tid, "track_id": tid,
                         "parent_track_id": (parents or {}).get(tid, pd.NA),
                         f"{role}_signal": v, f"{role}_noise": noise})
    return pd.DataFrame(rows)


def _pops(table):
    return dict(zip(table["track_id"], table["population"], strict=True))


def test_split_bright_dim_basic_and_one_population():
    bright, margin = split_bright_dim([100, 120, 90, 2, 1, 3], noise=1.0)
    assert bright.tolist() == [True, True, True, False, False, False]
    assert (margin[:3] > 0).all() and (margin[3:] < 0).all()
    assert split_bright_dim([100, 120, 90, 80], noise=1.0)[0].all()
    assert not split_bright_dim([1.0, 2.0, -1.0, 0.5], noise=1.0)[0].any()
    b, m = split_bright_dim([np.nan, 50.0, 1.0, 60.0], noise=1.0)
    assert b.tolist() == [False, True, False, True] and np.isnan(m[0])


def test_split_is_not_fooled_by_broad_bright_group_or_a_tail():
    # recipients whose dye varies 4-fold after divisions, donors at the floor with spill-over
    rng = np.random.default_rng(0)
    recipients = rng.uniform(100, 450, 30)
    donors = np.concatenate([rng.normal(3, 4, 25), [15, 19, 27]])
    s = np.concatenate([recipients, donors])
    bright, _ = split_bright_dim(s, noise=7.0)
    assert bright[:30].all() and not bright[30:].any()


def test_recipients_diluted_by_divisions_stay_bright():
    # daughters and granddaughters (1/2, 1/4 of the dye) fall in the widest log gap's lower side,
    # but they are far above the dye-negative donors
    rng = np.random.default_rng(1)
    recipients = np.concatenate([rng.uniform(200, 260, 12), [110, 120, 60, 52, 45]])
    donors = rng.normal(5, 3, 20)
    bright, _ = split_bright_dim(np.concatenate([recipients, donors]), noise=7.4)
    assert bright[:17].all() and not bright[17:].any()
    # dim recipients just above a noisy floor
    s = np.concatenate([rng.uniform(23, 98, 20), rng.normal(2, 4, 12)])
    bright, _ = split_bright_dim(s, noise=7.0)
    assert bright[:20].all() and not bright[20:].any()


def test_resolve_method():
    p = ClassificationParams()
    assert resolve_method({"recipient": 1, "pgp": 2}, p) == "identity"
    assert resolve_method({"nuclei": 0, "pgp": 1}, p) == "pgp_first_frame"
    assert resolve_method({"nuclei": 0}, p) == "none"
    with pytest.raises(InputError, match="donor or recipient"):
        resolve_method({"pgp": 1}, ClassificationParams(method="identity"))
    with pytest.raises(InputError, match="P-gp channel"):
        resolve_method({"donor": 1}, ClassificationParams(method="pgp_first_frame"))
    assert resolve_method({"donor": 0, "pgp": 1},
                          ClassificationParams(method="pgp_first_frame")) == "pgp_first_frame"


def test_recipient_dye_dilution_and_bleaching_do_not_flip_tracks():
    # recipient dye halves at each of 3 divisions and bleaches; donors stay at the floor
    decay = [0.5 ** (f // 4) * np.exp(-0.05 * f) for f in range(12)]
    signals = {
        1: [400 * d for d in decay], 2: [300 * d for d in decay], 3: [500 * d for d in decay],
        4: [1.0] * 12, 5: [-2.0] * 12, 6: [3.0] * 12,
    }
    out = classify_cells(_features(signals), {"recipient": 1})
    assert _pops(out) == {1: "recipient", 2: "recipient", 3: "recipient",
                          4: "donor", 5: "donor", 6: "donor"}
    assert (out["population_basis"] == "identity").all()
    assert (out["population_vote"] == 1.0).all()


def test_donor_dye_and_both_dyes():
    f = pd.DataFrame({
        "frame": 0, "label": [1, 2, 3, 4], "track_id": [1, 2, 3, 4], "parent_track_id": pd.NA,
        "donor_signal": [200.0, 1.0, 150.0, 2.0], "donor_noise": 1.0,
        "recipient_signal": [2.0, 80.0, 1.0, 1.5], "recipient_noise": 1.0,
    })
    both = classify_frame(f, {"donor": 0, "recipient": 1})
    assert both["call"].tolist() == ["donor", "recipient", "donor", "unknown"]
    only_donor = classify_frame(f, {"donor": 0})
    assert only_donor["call"].tolist() == ["donor", "recipient", "donor", "recipient"]


def test_majority_vote_and_min_confidence():
    # track 3 flips in 2 of 5 frames; track 4 is undecided 50/50
    signals = {1: [100] * 5, 2: [2] * 5, 3: [100, 100, 2, 100, 2], 4: [100, 2, 100, 2, None],
               5: [90] * 5, 6: [1] * 5}
    out = _pops(classify_cells(_features(signals), {"recipient": 0}))
    assert out[3] == "recipient"
    assert out[4] == "unknown"
    strict = classify_cells(_features(signals), {"recipient": 0},
                            ClassificationParams(min_confidence=0.8))
    assert _pops(strict)[3] == "unknown"


def test_daughters_inherit_when_their_evidence_is_weak():
    # daughter 7 (no usable signal) inherits; daughter 8 (clearly bright) keeps its own
    signals = {1: [300, 300, 300, None], 2: [2, 2, 2, 2], 3: [250] * 4, 4: [1] * 4,
               7: [None, None, None, np.nan], 8: [None, None, None, 200]}
    parents = {7: 1, 8: 2}
    out = classify_cells(_features(signals, parents=parents), {"recipient": 0})
    pops = _pops(out)
    assert pops[7] == "recipient"
    assert out.set_index("track_id").loc[7, "population_basis"] == "inherited"
    assert pops[8] == "recipient"  # clear own evidence beats the parent
    # a cycle in parent links does not hang
    loop = _features({1: [None, 5.0], 2: [None, 5.2]}, parents={1: 2, 2: 1})
    assert set(classify_cells(loop, {"recipient": 0})["track_id"]) == {1, 2}


def test_daughter_with_half_its_parents_dye_stays_in_the_parents_population():
    # low light: donors read ~6 (spill, noise), recipients ~40; a recipient's daughters carry
    # half its dye (~14-16) and fall below the frames' split, so on their own they read donor.
    # Daughter 11 of recipient 1 keeps 'recipient'; daughter 12 of recipient 2 carries almost
    # none of its dye (a wrongly linked division) and stays a donor; daughter 13 of donor 5 is
    # dye-bright and stays a recipient (its parent has no recipient dye to pass on).
    none3 = [None] * 3
    signals = {1: [40, 42, 38, *none3], 2: [41, 39, 40, *none3], 3: [40] * 6, 4: [44] * 6,
               5: [6, 5, 7, *none3], 6: [6] * 6, 7: [5] * 6, 8: [7] * 6,
               11: [*none3, 14, 15, 16], 12: [*none3, 3, 2, 3], 13: [*none3, 45, 41, 43]}
    parents = {11: 1, 12: 2, 13: 5}
    out = classify_cells(_features(signals, noise=1.0, parents=parents), {"recipient": 0})
    pops = _pops(out)
    assert pops[1] == pops[2] == "recipient" and pops[5] == "donor"
    assert pops[11] == "recipient"
    assert out.set_index("track_id").loc[11, "population_basis"] == "inherited"
    assert pops[12] == "donor"
    assert pops[13] == "recipient"
    # the same a frame at a time (TrackVotes, as the pipeline runs long movies)
    feats = _features(signals, noise=1.0, parents=parents)
    votes = TrackVotes(int(feats["track_id"].max()), "identity", {"recipient": 0})
    for f, part in feats.groupby("frame", sort=True):
        calls = classify_frame(part, {"recipient": 0})
        votes.add(part["track_id"].to_numpy(), int(f), call_codes(calls["call"]),
                  calls["margin"].to_numpy(), {"recipient": part["recipient_signal"].to_numpy()})
    streamed = votes.result(parents, ClassificationParams())
    pd.testing.assert_frame_equal(streamed.reset_index(drop=True), out.reset_index(drop=True),
                                  check_dtype=False)
    with pytest.raises(ValueError, match="identity-dye signals"):
        TrackVotes(20, "identity", {"recipient": 0}).add(np.array([1]), 0, np.array([1]),
                                                          np.array([1.0]))


def test_pgp_first_frame_and_inheritance():
    # donors P-gp bright from the start; recipient 3 acquires P-gp in frame 2 and divides
    # (daughter 5 starts P-gp bright: inherits 'recipient'); 6 enters late without a parent
    signals = {1: [500, 480, 470, 460], 2: [450, 440, 430, 420], 3: [3, 4, 150, None],
               4: [2, 2, 3, 3], 5: [None, None, None, 160], 6: [None, None, 400, 390]}
    out = classify_cells(_features(signals, role="pgp", parents={5: 3}), {"pgp": 2})
    pops = _pops(out)
    assert pops[1] == pops[2] == "donor"
    assert pops[3] == pops[4] == "recipient"
    assert pops[5] == "recipient"
    assert pops[6] == "donor"  # P-gp bright in its own first frame
    assert set(out["population_basis"]) <= {"pgp_first_frame", "inherited"}


def test_no_identity_no_pgp_gives_unknown_and_empty_input():
    f = _features({1: [5, 5], 2: [6, 6]}, role="recipient")
    out = classify_cells(f, {"nuclei": 0})
    assert (out["population"] == "unknown").all()
    empty = classify_cells(f.iloc[0:0], {"recipient": 0})
    assert len(empty) == 0 and "population" in empty


def test_missing_track_ids_are_ignored():
    f = _features({1: [100, 100], 2: [1, 1], 3: [90, 80]})
    f.loc[0, "track_id"] = np.nan
    out = classify_cells(f, {"recipient": 0})
    assert _pops(out) == {1: "recipient", 2: "donor", 3: "recipient"}
