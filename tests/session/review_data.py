"""A hand-made analysis result (no segmentation) for the review and persistence tests.

Five frames of 20×40 pixels: recipient track 1 (label 1) touches donor track 2 (label 2) and
turns P-gp positive at frame 2 (a contact event); recipient track 3 (label 3) stays negative.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

N_FRAMES = 5


def make_labels() -> np.ndarray:
    labels = np.zeros((N_FRAMES, 20, 40), np.int32)
    labels[:, 2:8, 2:10] = 1
    labels[:, 2:8, 10:18] = 2
    labels[:, 12:18, 25:35] = 3
    return labels


def cells_from_labels(labels: np.ndarray) -> pd.DataFrame:
    rows = []
    for f in range(labels.shape[0]):
        for lab in np.unique(labels[f]):
            if lab == 0:
                continue
            ys, xs = np.nonzero(labels[f] == lab)
            pop = "donor" if lab == 2 else "recipient"
            score = 5.0 if lab == 2 else (2.0 if (lab == 1 and f >= 2) else 0.1)
            rows.append(
                {
                    "frame": f,
                    "label": int(lab),
                    "track_id": int(lab),
                    "parent_track_id": pd.NA,
                    "population": pop,
                    "centroid_y": float(ys.mean()),
                    "centroid_x": float(xs.mean()),
                    "area_px": len(ys),
                    "pgp_score": score,
                    "pgp_positive": score > 1.0,
                    "pgp_puncta": 1 if score > 1 else 0,
                    "touching_donor": lab == 1,
                    "nearest_donor_track_id": 2 if lab != 2 else pd.NA,
                    "nearest_donor_distance_px": 0.0 if lab == 1 else 15.0,
                }
            )
    cells = pd.DataFrame(rows)
    cells["parent_track_id"] = pd.array([pd.NA] * len(cells), dtype="Int64")
    cells["nearest_donor_track_id"] = pd.array(cells["nearest_donor_track_id"], dtype="Int64")
    return cells


def make_result():
    from pgpviewer.core.events import detect_events
    from pgpviewer.core.gate import GateResult
    from pgpviewer.core.params import AnalysisParams
    from pgpviewer.core.pipeline import PipelineResult
    from pgpviewer.core.stack import Stack
    from pgpviewer.core.uptake import uptake_summary

    labels = make_labels()
    image = np.zeros((N_FRAMES, 2, 20, 40), np.uint16)
    stack = Stack.from_array(
        image, "TCYX", channel_names=["CellTracker Blue", "P-gp-EGFP"], frame_interval_s=60.0
    )
    params = AnalysisParams()
    cells = cells_from_labels(labels)
    contacts = pd.DataFrame({"frame": range(N_FRAMES), "label_a": 1, "label_b": 2, "border_px": 6})
    events, tracks = detect_events(cells, contacts, params.events, frame_interval_s=60.0)
    summary, curves = uptake_summary(
        cells, events, tracks, frame_interval_s=60.0, frames=range(N_FRAMES)
    )
    gate = GateResult(
        value=1.0, source="set by the user", false_positive_rate=float("nan"), n_calibration_cells=0
    )
    return PipelineResult(
        stack=stack,
        roles={"recipient": 0, "pgp": 1},
        params=params,
        gate=gate,
        labels=labels,
        cells=cells,
        tracks=tracks,
        events=events,
        summary=summary,
        curves=curves,
        puncta=pd.DataFrame(columns=["frame", "y", "x", "label"]),
        contacts=contacts,
        frames=(0, N_FRAMES),
    )
