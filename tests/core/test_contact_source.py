"""Source donor of contact transfer events from the recipient's new puncta (contact_source),
and the simulator's contact-site deposits it relies on."""

from __future__ import annotations

import doctest

import numpy as np
import pandas as pd
import pytest
from scipy import ndimage
from sim_tables import gt_tables

import pgpviewer.core.contact_source as contact_source_module
from pgpviewer.core.errors import InputError
from pgpviewer.core.events import detect_events
from pgpviewer.core.metrics_tracking import event_scores
from pgpviewer.core.params import AnalysisParams, EventParams

N = 6  # frames
ONSET = 3  # the recipient is positive from this frame on


def test_docstring_examples():
    assert doctest.testmod(contact_source_module).failed == 0


def cell(tid, y, x, *, population="donor", area=314, positive=None):
    """Rows of a cell (label = track id) that sits still at (y, x) for ``N`` frames."""
    pos = [True] * N if positive is None else positive
    return pd.DataFrame({
        "frame": np.arange(N), "label": tid, "track_id": tid, "population": population,
        "centroid_y": float(y), "centroid_x": float(x), "area_px": area,
        "pgp_score": np.where(pos, 5.0, 0.5), "pgp_positive": pos,
        "touching_donor": population == "recipient",
    })


# recipient 1 (radius 10) between donor 10 on its left and donor 11 on its right; the border
# with donor 10 is the longer one
RECIPIENT = cell(1, 50.0, 50.0, population="recipient",
                 positive=[f >= ONSET for f in range(N)])
LEFT, RIGHT = cell(10, 50.0, 30.0), cell(11, 50.0, 70.0)
CONTACTS = pd.DataFrame({"frame": np.repeat(np.arange(N), 2), "label_a": 1,
                         "label_b": [10, 11] * N, "border_px": [14, 10] * N})


def spots(*rows):
    """``(frame, y, x, label)`` tuples → a spot table."""
    f, y, x, lab = zip(*rows, strict=True)
    return pd.DataFrame({"frame": f, "y": y, "x": x, "label": lab, "snr": 30.0})


def source(spot_table, contacts=CONTACTS, cells=(RECIPIENT, LEFT, RIGHT), **params):
    ev, _ = detect_events(pd.concat(cells, ignore_index=True), contacts, EventParams(**params),
                          spots=spot_table)
    assert ev["mode"].tolist() == ["contact"] and ev["frame"].tolist() == [ONSET]
    return int(ev["donor_track_id"].iloc[0])


def test_punctum_at_one_border_names_that_donor():
    # a new punctum 4 px inside the (shorter) border with donor 11
    assert source(spots((ONSET, 51.0, 56.0, 1))) == 11
    # ... and inside the border with donor 10: the longer border agrees
    assert source(spots((ONSET, 49.0, 44.0, 1))) == 10
    # the deposit seen a frame after the onset (the onset found from the score led it)
    assert source(spots((ONSET + 1, 51.0, 56.0, 1))) == 11


def test_no_evidence_falls_back_to_the_longest_border():
    assert source(None) == 10
    assert source(spots((0, 10.0, 10.0, 0))) == 10  # puncta, none in the recipient
    # a punctum the recipient already had before the window is not new: no evidence
    old = [(f, 51.0, 56.0, 1) for f in range(N)]
    assert source(spots(*old)) == 10
    # a punctum at the centre is as far from both borders: the longer border decides
    assert source(spots((ONSET, 50.0, 50.0, 1))) == 10


def test_longest_border_option_ignores_the_puncta():
    assert source(spots((ONSET, 51.0, 56.0, 1)), contact_source="longest_border") == 10
    # the vesicle tracer's switch does not affect contact events
    assert source(spots((ONSET, 51.0, 56.0, 1)), trace_vesicles=False) == 11


def test_only_donors_touching_in_the_contact_frame_are_candidates():
    # donor 11 touches only before the contact window: donor 10 is the one candidate
    contacts = pd.DataFrame({"frame": [0, 1, 2, 3], "label_a": 1, "label_b": [11, 11, 10, 10],
                             "border_px": [10, 10, 3, 3]})
    # (a 3-px contact far from the new punctum would otherwise be taken as remote)
    assert source(spots((ONSET, 51.0, 56.0, 1)), contacts=contacts,
                  contact_lookback_frames=1, weak_contact_border_px=0) == 10


def test_strong_evidence_beats_a_much_longer_border_weak_does_not():
    contacts = CONTACTS.assign(border_px=[40, 5] * N)
    assert source(spots((ONSET, 51.0, 56.0, 1), (ONSET, 47.0, 57.0, 1)),
                  contacts=contacts) == 11
    # a punctum near the middle of the recipient, slightly to the right: the border decides
    assert source(spots((ONSET, 50.0, 51.5, 1)), contacts=contacts) == 10


def test_new_punctum_inside_a_donor_mask_next_to_the_recipient():
    # 1 px outside the recipient's circle, inside donor 11's mask: a deposit its mask covers
    assert source(spots((ONSET, 50.0, 61.0, 11))) == 11
    assert source(spots((ONSET, 50.0, 61.0, 11)), contact_puncta_in_donor=False) == 10
    # one the donor has had all along is its own
    assert source(spots(*[(f, 50.0, 61.0, 11) for f in range(N)])) == 10
    # one on the donor's far side says nothing
    assert source(spots((ONSET, 50.0, 78.0, 11))) == 10
    # it weighs less than a punctum in the recipient at the other donor's border
    assert source(spots((ONSET, 50.0, 61.0, 11), (ONSET, 49.0, 44.0, 1))) == 10


def event(spot_table, contacts, **params):
    cells = pd.concat([RECIPIENT, LEFT, RIGHT], ignore_index=True)
    ev, _ = detect_events(cells, contacts, EventParams(**params), spots=spot_table)
    assert ev["frame"].tolist() == [ONSET]
    d = ev["donor_track_id"].iloc[0]
    return ev["mode"].iloc[0], None if pd.isna(d) else int(d)


def test_short_contact_far_from_the_new_puncta_is_remote():
    short = CONTACTS.assign(border_px=[6, 4] * N)
    top = spots((ONSET, 42.0, 50.0, 1))  # 11.5 px from both donors' circles
    assert event(top, short)[0] == "remote"
    assert event(top, short, weak_contact_border_px=0) == ("contact", 10)
    assert event(top, CONTACTS) == ("contact", 10)  # long borders: a real contact
    # a punctum at a donor's border, or none at all: the contact stands
    assert event(spots((ONSET, 51.0, 56.0, 1)), short) == ("contact", 11)
    assert event(None, short) == ("contact", 10)


def test_sizes_unknown_the_distance_is_to_the_centroids():
    cells = [c.drop(columns="area_px") for c in (RECIPIENT, LEFT, RIGHT)]
    assert source(spots((ONSET, 51.0, 56.0, 1)), cells=cells) == 11


def test_parameter_round_trip_and_validation():
    p = AnalysisParams().replace(events={**EventParams().model_dump(),
                                         "contact_source": "longest_border"})
    q = AnalysisParams.from_json(p.to_json())
    assert q == p and q.events.contact_source == "longest_border"
    assert EventParams().contact_source == "puncta"
    bad = {**AnalysisParams().to_dict()}
    bad["events"] = {**bad["events"], "contact_source": "nearest"}
    with pytest.raises(InputError, match="contact_source"):
        AnalysisParams.from_dict(bad)


# ---------------------------------------------------------------------------------------------
# the simulator's contact-site deposits, and the rule on perfect masks and puncta

GT_ONLY = {"include_nuclei": False, "include_recipient_dye": False, "add_noise": False}
SEEDS = (31, 32, 33, 34, 35, 36)


@pytest.fixture(scope="module")
def sims():
    synthetic = pytest.importorskip("pgpviewer.core.synthetic")
    return [synthetic.simulate_coculture(seed=s, n_frames=30, contact_transfer_prob=0.15,
                                         **GT_ONLY) for s in SEEDS]


def test_simulated_contact_puncta_lie_at_the_source_donor(sims):
    n_events = n_ambiguous = 0
    for sim in sims:
        pu = sim.puncta
        donors = set(sim.tracks.loc[sim.tracks["population"] == "donor", "cell_id"])
        for ev in sim.events[sim.events["mode"] == "contact"].itertuples():
            at = pu[(pu["cell_id"] == ev.recipient_id) & (pu["frame"] == ev.frame)]
            assert len(at) >= 1  # the patch handed over at the contact
            lab = sim.labels[ev.frame]
            iy = np.floor(at["y"].to_numpy() + 0.5).astype(int)
            ix = np.floor(at["x"].to_numpy() + 0.5).astype(int)
            to_src = ndimage.distance_transform_edt(lab != ev.donor_id)[iy, ix]
            # inside the recipient, off the excluded rim, near the source's border
            assert (lab[iy, ix] == ev.recipient_id).all()
            assert (to_src >= 3.0).all() and (to_src <= 7.0 + 1e-9).all()
            others = donors - {ev.donor_id}
            if ev.n_touching_donors > 1:
                n_ambiguous += 1
                to_other = ndimage.distance_transform_edt(~np.isin(lab, list(others)))[iy, ix]
                assert (to_src < to_other).all()
            n_events += 1
    assert n_events >= 40 and n_ambiguous >= 10


def test_contact_sources_match_the_simulated_source(sims):
    hits = {"puncta": [], "longest_border": []}
    for seed, sim in zip(SEEDS, sims, strict=True):
        cells, contacts, puncta = gt_tables(sim, seed)
        node = cells.set_index(["frame", "track_id"])["label"]
        truth = sim.events[(sim.events["mode"] == "contact")
                           & (sim.events["n_touching_donors"] > 1)]
        for rule in hits:
            ev, _ = detect_events(cells, contacts, EventParams(contact_source=rule),
                                  spots=puncta)
            ev = ev[ev["mode"] == "contact"]
            ev = ev.assign(
                recipient_id=[node[(f, t)] for f, t in zip(ev["frame"], ev["recipient_track_id"],
                                                          strict=True)],
                donor_id=[0 if pd.isna(d) else node.get((f, int(d)), -1)
                          for f, d in zip(ev["frame"], ev["donor_track_id"], strict=True)],
            )
            s = event_scores(truth, ev, donor_cols=("donor_id", "donor_id"))
            hits[rule] += [s["donor_accuracy"]] * s["n_matched"]
    puncta, longest = np.mean(hits["puncta"]), np.mean(hits["longest_border"])
    print(f"ambiguous contact events: puncta {puncta:.3f}, longest border {longest:.3f}, "
          f"{len(hits['puncta'])} events")
    assert len(hits["puncta"]) >= 10
    assert puncta >= 0.9
    assert puncta >= longest + 0.15
