"""Accuracy of the per-frame analysis core against ground truth.

* Simulated co-cultures (:mod:`pgpviewer.core.synthetic`) of varied density, noise and seed:
  segmentation, population per track, fraction of recipients P-gp positive per frame, puncta.
  Tracks are taken from the ground truth (each segmented cell gets the id of the ground-truth
  cell it matches), so these numbers measure this core, not the tracker.
* Real images in ``../shared/data``: nuclei segmentation against the Cell Tracking Challenge
  ground truth; multichannel cells and puncta images must run with sensible counts.

The bounds below are regression guards set just under what the core achieves; the numbers
measured are printed (``pytest -s``).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pgpviewer.core.classification import classify_cells
from pgpviewer.core.gate import calibrate_gate
from pgpviewer.core.measurements import frame_features, measure_cells
from pgpviewer.core.metrics import match_label_stacks, match_labels, match_points
from pgpviewer.core.params import (
    ClassificationParams,
    GateParams,
    MeasurementParams,
    PunctaParams,
    SegmentationParams,
)
from pgpviewer.core.puncta import detect_puncta
from pgpviewer.core.segmentation import segment_cells

DATA = Path(__file__).parents[2].parent / "shared" / "data"

SIM_CASES = {
    "default": dict(seed=0),
    "dense": dict(seed=3, n_cells=80, clustering=0.9),
    "noisy": dict(seed=2, photons_per_unit=100),
    "donor_dye": dict(seed=4, include_donor_dye=True),
}
N_FRAMES = 8


@cache
def _core_on_simulation(case: str) -> dict:
    synthetic = pytest.importorskip("pgpviewer.core.synthetic")
    sim = synthetic.simulate_coculture(n_frames=N_FRAMES, **SIM_CASES[case])
    roles = dict(sim.channel_roles)
    names = list(sim.channel_names)
    seg_p, meas_p = SegmentationParams(), MeasurementParams()
    feats, labels = [], []
    for f in range(sim.image.shape[0]):
        frame = sim.image[f]
        lab = segment_cells({r: frame[i] for r, i in roles.items()}, seg_p)
        labels.append(lab)
        ft, _ = frame_features(frame, lab, roles, meas_p)
        m = match_labels(sim.labels[f], lab)
        gt = dict(zip(m.pairs["pred"], m.pairs["gt"], strict=True))
        ft.insert(0, "frame", f)
        ft["gt"] = [gt.get(k, -(f * 100000 + k)) for k in ft["label"]]
        feats.append(ft)
    feats = pd.concat(feats, ignore_index=True)
    parent = dict(zip(sim.cells["cell_id"], sim.cells["parent_id"], strict=False))
    feats["track_id"] = feats["gt"]
    feats["parent_track_id"] = [
        parent.get(g, 0) or pd.NA if g > 0 else pd.NA for g in feats["gt"]
    ]
    pops = classify_cells(feats, roles, ClassificationParams())
    feats = feats.merge(pops[["track_id", "population"]], on="track_id")

    cells, spots_all = [], []
    for f in range(sim.image.shape[0]):
        frame = sim.image[f]
        ft = feats[feats["frame"] == f]
        spots = detect_puncta(frame[roles["pgp"]], labels[f], PunctaParams())
        spots_all.append(spots.assign(frame=f))
        t = measure_cells(frame, labels[f], names, roles,
                          dict(zip(ft["label"], ft["population"], strict=True)), spots, meas_p)
        cells.append(t.assign(frame=f).merge(ft[["label", "gt", "population"]], on="label"))
    cells = pd.concat(cells, ignore_index=True)
    first = cells[(cells["frame"] == 0) & (cells["population"] == "recipient")]
    gate = calibrate_gate(first["pgp_score"], GateParams(), source="frame 0")
    cells["positive"] = cells["pgp_score"] > gate.value

    seg, _ = match_label_stacks(sim.labels, np.stack(labels))
    gt_cells = sim.cells
    gt_pop = gt_cells.groupby("cell_id")["population"].first()
    tracks = feats.drop_duplicates("track_id")
    tracks = tracks[tracks["track_id"] > 0]
    pop_acc = float((tracks["population"].to_numpy()
                     == gt_pop.reindex(tracks["track_id"]).to_numpy()).mean())
    pred_frac = cells[cells["population"] == "recipient"].groupby("frame")["positive"].mean()
    gt_frac = gt_cells[gt_cells["population"] == "recipient"].groupby("frame")[
        "pgp_positive"].mean()
    frac_err = float((pred_frac - gt_frac).abs().mean())
    # puncta in recipient cells: detected in cells called recipient vs ground truth in recipients
    spots = pd.concat(spots_all, ignore_index=True)
    pop_of = cells.set_index(["frame", "label"])["population"]
    spots["population"] = [pop_of.get((f, lb), "none") for f, lb in
                           zip(spots["frame"], spots["label"], strict=True)]
    gp = sim.puncta.assign(population=sim.puncta["cell_id"].map(gt_pop))
    tp = tp_r = n_det = n_gt = 0
    for f in range(sim.image.shape[0]):
        det = spots[(spots["frame"] == f) & (spots["population"] == "recipient")]
        truth = gp[(gp["frame"] == f) & (gp["population"] == "recipient")]
        everything = spots[spots["frame"] == f]
        m_p = match_points(gp.loc[gp["frame"] == f, ["y", "x"]].to_numpy(),
                           det[["y", "x"]].to_numpy(), 2.0)  # precision: any true punctum
        m_r = match_points(truth[["y", "x"]].to_numpy(), everything[["y", "x"]].to_numpy(), 2.0)
        tp += m_p.tp
        n_det += len(det)
        n_gt += len(truth)
        tp_r += m_r.tp
    out = {
        "f1": seg.f1, "mean_iou": seg.mean_iou, "population_accuracy": pop_acc,
        "n_tracks": len(tracks), "fraction_positive_error": frac_err, "gate": gate.value,
        "recipient_puncta_precision": tp / max(1, n_det),
        "recipient_puncta_recall": tp_r / max(1, n_gt), "recipient_puncta": n_gt,
    }
    print(case, {k: round(v, 3) if isinstance(v, float) else v for k, v in out.items()})
    return out


@pytest.mark.parametrize("case", list(SIM_CASES))
def test_segmentation_on_simulated_cocultures(case):
    r = _core_on_simulation(case)
    assert r["f1"] >= 0.96
    assert r["mean_iou"] >= 0.84


@pytest.mark.parametrize("case", list(SIM_CASES))
def test_population_and_positivity_on_simulated_cocultures(case):
    r = _core_on_simulation(case)
    assert r["population_accuracy"] >= 0.98
    # per frame, with the gate from frame 0 and true tracks; measured 0.026 / 0.002 / 0.075 /
    # 0.018. The low-light case lost ground (0.038 -> 0.075) when recipients stopped counting
    # pixels within 2 px of other cells (less light, noisier scores), while the whole pipeline
    # on low-light movies improved (bench_robustness "noisy": fraction error 0.069 -> 0.054,
    # event F1 0.86 -> 0.89), where the same rule removes spill-over from bright neighbours.
    # The 80th-percentile cell level (segmentation) moved it to 0.081 (one more wrong call in
    # ~170 recipient-frames) while the whole pipeline on low-light movies improved again
    # (bench_robustness "noisy", 3 seeds: fraction error 0.064 -> 0.060, IoU 0.874 -> 0.877).
    assert r["fraction_positive_error"] <= 0.085


def test_pooled_targets_on_simulated_cocultures():
    rs = [_core_on_simulation(c) for c in SIM_CASES]
    assert np.mean([r["f1"] for r in rs]) >= 0.98
    assert np.mean([r["mean_iou"] for r in rs]) >= 0.85
    assert np.mean([r["population_accuracy"] for r in rs]) >= 0.99
    assert np.mean([r["fraction_positive_error"] for r in rs]) <= 0.045


def test_puncta_in_recipients_on_simulated_cocultures():
    rs = [_core_on_simulation(c) for c in SIM_CASES]
    assert np.mean([r["recipient_puncta_precision"] for r in rs]) >= 0.8
    assert np.mean([r["recipient_puncta_recall"] for r in rs]) >= 0.5


# ------------------------------------------------------------------------------------------
# real data
# ------------------------------------------------------------------------------------------
def _data(*parts) -> Path:
    path = DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real test data not available: {path} (needs ../shared/data)")
    return path


@pytest.mark.realdata
@pytest.mark.parametrize("diameter", [50.0, None], ids=["set", "measured"])
def test_ctc_simulated_nuclei_f1(diameter):
    # unset, the diameter is measured: 49.5-56.7 px per frame (true median 53.8 px), with the
    # same F1 1.0 and mean IoU 0.893 as the 50 px set by hand
    from pgpviewer.core.segmentation import estimate_cell_diameter

    tifffile = pytest.importorskip("tifffile")
    folder = _data("ctc_fluo-n2dh-sim_01_10frames_gt")
    raw = tifffile.imread(folder / "raw.tif")
    gt = tifffile.imread(folder / "gt_labels.tif")
    if diameter is None:
        d = estimate_cell_diameter({"nuclei": raw[0]})
        assert d is not None and 45 <= d <= 62
    p = SegmentationParams(cell_diameter_px=diameter)
    pred = np.stack([segment_cells({"nuclei": f}, p) for f in raw])
    total, _ = match_label_stacks(gt, pred)
    print("CTC Fluo-N2DH-SIM 01:", f"F1={total.f1:.3f}", f"mean IoU={total.mean_iou:.3f}")
    assert total.f1 >= 0.90
    assert total.mean_iou >= 0.85


@pytest.mark.realdata
def test_multichannel_cells_run_with_sensible_counts():
    tifffile = pytest.importorskip("tifffile")
    folder = _data("neubias_multichannel_cells")
    cases = [  # file, roles, diameter, expected cell count range
        ("xyc_8bit__membranes_nuclei.tif", {"pgp": 0, "nuclei": 1}, 40, (35, 90)),
        ("xyc_8bit__cyto_nuclei.tif", {"recipient": 0, "nuclei": 1}, 40, (8, 25)),
        ("xyc_16bit__nuclei_golgi.tif", {"nuclei": 0}, 20, (4, 15)),
    ]
    for name, roles, d, (lo, hi) in cases:
        img = tifffile.imread(folder / name)
        lab = segment_cells({r: img[i] for r, i in roles.items()},
                            SegmentationParams(cell_diameter_px=d))
        names = [f"ch{i}" for i in range(img.shape[0])]
        t = measure_cells(img, lab, names, roles, {}, None, MeasurementParams())
        print(name, int(lab.max()), "cells")
        assert lo <= lab.max() <= hi, name
        assert len(t) == lab.max()


@pytest.mark.realdata
def test_marker_positive_subpopulation_stand_in():
    # CellProfiler ExampleHuman: DNA, PH3 (mitotic cells only) as the "donor" dye, cell body
    tifffile = pytest.importorskip("tifffile")
    folder = _data("cellprofiler_examplehuman_3ch")
    chans = [tifffile.imread(folder / f"AS_09125_050116030001_D03f00d{i}.tif") for i in range(3)]
    img = np.stack(chans)
    roles = {"nuclei": 0, "donor": 1, "recipient": 2}
    lab = segment_cells({"nuclei": img[0], "recipient": img[2]},
                        SegmentationParams(cell_diameter_px=25))
    feats, contacts = frame_features(img, lab, roles, MeasurementParams())
    feats["frame"], feats["track_id"], feats["parent_track_id"] = 0, feats["label"], pd.NA
    pops = classify_cells(feats, {"nuclei": 0, "donor": 1}, ClassificationParams())
    n_pos = int((pops["population"] == "donor").sum())
    print("ExampleHuman:", int(lab.max()), "cells,", n_pos, "PH3-positive")
    assert 150 <= lab.max() <= 450
    assert 5 <= n_pos <= 0.15 * lab.max()  # a small mitotic subpopulation
    assert len(contacts) > 50


@pytest.mark.realdata
def test_puncta_images_run_with_sensible_counts():
    tifffile = pytest.importorskip("tifffile")
    folder = _data("neubias_puncta")
    auto = tifffile.imread(folder / "xy_16bit__autophagosomes.tif")
    n_auto = len(detect_puncta(auto, None, PunctaParams()))
    golgi = tifffile.imread(folder / "xyt_calibrated_16bit__golgi_bfa_sum_projection.tif")
    n_golgi = [len(detect_puncta(golgi[t], None, PunctaParams())) for t in (0, 29)]
    print("autophagosomes:", n_auto, "puncta; golgi movie first/last:", n_golgi)
    assert 20 <= n_auto <= 300
    assert all(10 <= n <= 400 for n in n_golgi)
