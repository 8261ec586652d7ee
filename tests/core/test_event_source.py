"""Source donor of remote transfer events traced from P-gp puncta (event_source, detect_events)."""

from __future__ import annotations

import doctest

import numpy as np
import pandas as pd
import pytest
from sim_tables import gt_tables

import pgpviewer.core.event_source as event_source_module
from pgpviewer.core.events import detect_events
from pgpviewer.core.metrics_tracking import event_scores, label_contacts
from pgpviewer.core.params import AnalysisParams, EventParams

GT_ONLY = {"include_nuclei": False, "include_recipient_dye": False, "add_noise": False}
N = 6  # frames
ONSET = 3  # the recipient is positive from this frame on


def test_docstring_examples():
    assert doctest.testmod(event_source_module).failed == 0


def cell(tid, y, x, *, population="donor", label=None, area=400, positive=None):
    """Rows of a cell that sits still at (y, x) for ``N`` frames."""
    pos = [True] * N if positive is None else positive
    return pd.DataFrame({
        "frame": np.arange(N), "label": label or tid, "track_id": tid, "population": population,
        "centroid_y": float(y), "centroid_x": float(x), "area_px": area,
        "pgp_score": np.where(pos, 5.0, 0.5), "pgp_positive": pos, "touching_donor": False,
    })


def recipient(y=50.0, x=50.0):
    """Track 1, label 1, radius ≈ 9.8 px, positive from frame ``ONSET``."""
    return cell(1, y, x, population="recipient", area=300,
                positive=[f >= ONSET for f in range(N)])


def spots(*rows):
    """``(frame, y, x, label)`` tuples → a spot table (bright: snr 30)."""
    f, y, x, lab = zip(*rows, strict=True)
    return pd.DataFrame({"frame": f, "y": y, "x": x, "label": lab, "snr": 30.0})


def source(cells, spot_table, **params):
    ev, _ = detect_events(pd.concat(cells, ignore_index=True), None, EventParams(**params),
                          spots=spot_table)
    assert ev["mode"].tolist() == ["remote"] and ev["frame"].tolist() == [ONSET]
    d = ev["donor_track_id"].iloc[0]
    return None if pd.isna(d) else int(d)


# a vesicle moving 30 px per frame along -x towards the recipient at (50, 50): released at the
# facing edge of donor 11 (centroid (50, 150)) at frame 0, arriving at (50, 56) at ONSET
NEAR = cell(10, 20.0, 50.0)  # the nearest donor (30 px), not on the path
FAR = cell(11, 50.0, 150.0)
PATH = [(0, 50.0, 146.0, 11), (1, 50.0, 116.0, 0), (2, 50.0, 86.0, 0), (3, 50.0, 56.0, 1)]


def test_path_traced_back_to_the_releasing_donor_not_the_nearest():
    assert source([recipient(), NEAR, FAR], spots(*PATH)) == 11
    # the release spot inside the donor unseen: the path still points at the donor's edge
    assert source([recipient(), NEAR, FAR], spots(*PATH[1:])) == 11
    # without puncta (or with tracing off) the nearest donor within the search distance
    assert source([recipient(), NEAR, FAR], None) == 10
    assert source([recipient(), NEAR, FAR], spots(*PATH), trace_vesicles=False) == 10


BESIDE = cell(11, 65.0, 150.0)  # 15 px beside the path's line


def test_path_that_leads_to_no_donor_means_no_source():
    # the vesicle did not come from a donor beside its path, nor from the nearest donor
    assert source([recipient(), NEAR, BESIDE], spots(*PATH[1:])) is None


def test_faint_spots_are_not_vesicles():
    # the same path made of spots at the detection limit is ignored: direction only, and the
    # arrival direction (+x) points at donor 11 (8.5° off), not at the nearest donor (−y)
    faint = spots(*PATH[1:]).assign(snr=[5.0, 5.0, 30.0])
    assert source([recipient(), NEAR, BESIDE], faint, vesicle_min_snr=10) == 11
    assert source([recipient(), NEAR, BESIDE], faint, vesicle_min_snr=0) is None


def test_resident_punctum_of_a_donor_is_not_a_release_point():
    # the path's next step lands on a punctum of donor 12 whose centroid is not behind it on
    # the path (a resident punctum): that path is rejected, the shorter one stands
    other = cell(12, 62.0, 146.0)
    rows = [(1, 50.0, 116.0, 0), (2, 50.0, 86.0, 0), (3, 50.0, 56.0, 1), (0, 50.0, 146.0, 12)]
    assert source([recipient(), NEAR, FAR, other], spots(*rows)) == 11


def test_direction_of_arrival_without_a_path():
    # one-frame crossing: only the arriving punctum, pointing (+x) at donor 11, 100 px away
    assert source([recipient(), NEAR, FAR], spots((3, 50.0, 56.0, 1))) == 11
    # pointing at no donor (−x): no source
    assert source([recipient(), NEAR, FAR], spots((3, 50.0, 44.0, 1))) is None
    # beyond the vesicle range: no source
    assert source([recipient(), NEAR, FAR], spots((3, 50.0, 56.0, 1)),
                  vesicle_range_px=80) is None


def test_release_seen_inside_the_donor():
    # crossing in one frame, seen at ONSET - 1 at donor 13's facing edge (140 px away); donor
    # 11 lies in nearly the same direction but closer, so the direction alone would pick it
    d13 = cell(13, 52.0, 190.0)
    rows = [(2, 51.8, 181.0, 13), (3, 50.0, 56.0, 1)]
    assert source([recipient(), NEAR, FAR, d13], spots(*rows)) == 13
    assert source([recipient(), NEAR, FAR, d13], spots(rows[1])) == 11


def test_release_seen_is_weighed_against_the_direction():
    # donor 13 lies 0.32 rad (1.6 σ) off the arrival direction, donor 11 on it, both 100 px
    # away; a spot on donor 13's facing edge one frame before the arrival is a release seen
    d13 = cell(13, 81.46, 144.92)
    rows = [(2, 78.45, 136.42, 13), (3, 50.0, 56.0, 1)]
    cells = [recipient(), FAR, d13]
    assert source(cells, spots(rows[1])) == 11  # the direction alone
    # parameter files before format 4: the release outranks any direction
    assert source(cells, spots(*rows), vesicle_release_likelihood_ratio=0) == 13
    # as evidence, log λ against the direction's −z²/2 = −1.23: it wins only when strong
    assert source(cells, spots(*rows), vesicle_release_likelihood_ratio=10) == 13
    assert source(cells, spots(*rows), vesicle_release_likelihood_ratio=2) == 11


def test_path_across_positive_cells():
    # the vesicle crosses two P-gp positive recipients on its way (frames 1 and 2): spots inside
    # them still make the path, confirmed by the release seen at donor 11 or by three spots
    crossed = [cell(20, 50.0, 86.0, population="recipient", area=300),
               cell(21, 50.0, 116.0, population="recipient", area=300)]
    rows = [(0, 50.0, 146.0, 11), (1, 50.0, 116.0, 21), (2, 50.0, 86.0, 20), (3, 50.0, 56.0, 1)]
    # arriving from +x, but donor 12 lies closer in nearly that direction: direction alone
    # would pick it
    d12 = cell(12, 54.0, 100.0)
    assert source([recipient(), NEAR, FAR, d12, *crossed], spots(rows[2], rows[3])) == 12
    assert source([recipient(), NEAR, FAR, d12, *crossed], spots(*rows)) == 11
    # two spots in other cells alone may be their own puncta aligned by chance: not a path
    assert source([recipient(), NEAR, FAR, d12, *crossed], spots(*rows[1:])) == 12
    # a third spot (free, frame 0) confirms the path; released a step earlier by donor 11
    far = cell(11, 50.0, 180.0)
    rows[0] = (0, 50.0, 146.0, 0)
    assert source([recipient(), NEAR, far, d12, *crossed], spots(*rows)) == 11


def test_spot_on_a_donors_far_side_is_not_a_release():
    # a vesicle leaves from the donor's facing edge: the centroid lies behind the spot along
    # the path (u points back to the source), never in front of it
    cells = pd.concat([recipient(), cell(11, 50.0, 150.0)], ignore_index=True)
    ctx = event_source_module.SourceContext(cells, spots((0, 50.0, 146.0, 11)), {11})
    u = np.array([0.0, 1.0])
    facing, far_side = np.array([50.0, 142.0]), np.array([50.0, 155.0])
    assert event_source_module._release_donor(ctx, 0, facing, u, seen=True) == 11
    assert event_source_module._release_donor(ctx, 0, far_side, u, seen=True) is None


def test_arrival_near_the_centre_carries_no_direction():
    # two new puncta: one 6 px from the centre towards donor 11 (+x, 100 px away), one at the
    # centre. The central one fits any direction, but only as a broad likelihood: it does not
    # hand the event to the nearest donor (10, 30 px away along −y)
    rows = [(3, 50.0, 56.0, 1), (3, 50.5, 50.3, 1)]
    assert source([recipient(), NEAR, FAR], spots(*rows)) == 11


def test_arrival_before_the_detected_onset():
    # the punctum arrived one frame before the score crossed the gate: the path is one frame
    # earlier than the onset
    early = [(f - 1, y, x, lab) for f, y, x, lab in PATH[1:]] + [(3, 50.0, 57.0, 1)]
    assert source([recipient(), NEAR, FAR], spots(*early)) == 11


def test_new_parameters_round_trip():
    p = AnalysisParams().replace(events={**EventParams().model_dump(), "vesicle_min_snr": 7.5,
                                         "trace_vesicles": False})
    q = AnalysisParams.from_json(p.to_json())
    assert q == p and q.events.vesicle_min_snr == 7.5 and not q.events.trace_vesicles


# ---------------------------------------------------------------------------------------------
# against the simulator: perfect masks and puncta isolate the attribution rule


def to_ids(ev, cells):
    node = cells.set_index(["frame", "track_id"])["label"]
    ev = ev.assign(recipient_id=[node[(f, t)] for f, t in zip(ev["frame"],
                                                            ev["recipient_track_id"],
                                                            strict=True)])
    ev["donor_id"] = [0 if pd.isna(d) else node.get((f, int(d)), -1)
                      for f, d in zip(ev["frame"], ev["donor_track_id"], strict=True)]
    return ev


def test_remote_sources_match_the_simulated_releasing_donor():
    synthetic = pytest.importorskip("pgpviewer.core.synthetic")
    hits = {True: [], False: []}
    contact_same = []
    for seed in (21, 22, 23, 24):
        sim = synthetic.simulate_coculture(seed=seed, n_frames=40, **GT_ONLY)
        cells, _, puncta = gt_tables(sim, seed)
        contacts = label_contacts(sim.labels)
        truth = sim.events
        preds = {}
        for trace in (True, False):
            ev, _ = detect_events(cells, contacts, EventParams(trace_vesicles=trace),
                                  spots=puncta)
            preds[trace] = ev = to_ids(ev, cells)
            s = event_scores(truth[truth["mode"] == "remote"], ev[ev["mode"] == "remote"],
                             donor_cols=("donor_id", "donor_id"))
            hits[trace] += [s["donor_accuracy"]] * s["n_matched"]
        # contact events keep the longest-border donor
        contact_same.append(
            preds[True].loc[preds[True]["mode"] == "contact", "donor_id"].tolist()
            == preds[False].loc[preds[False]["mode"] == "contact", "donor_id"].tolist()
        )
    traced, nearest = np.mean(hits[True]), np.mean(hits[False])
    print(f"remote donor accuracy: traced {traced:.3f}, nearest donor {nearest:.3f}, "
          f"{len(hits[True])} events")
    assert len(hits[True]) >= 15
    assert traced >= 0.9
    assert traced >= nearest + 0.4
    assert all(contact_same)
