"""run_pipeline: the whole per-file analysis, streamed frame by frame.

Two passes over the frames, each frame independent so they run in parallel:

1. **segment** — z-projection, :func:`segment_cells` (with the cell diameter measured once on
   the movie when it is not set: :func:`estimate_movie_diameter`; the value is in the result's
   parameters and notes), and :func:`frame_features` (positions, areas, identity-dye signals,
   cell–cell contacts). Labels go to a label store (a memory map on
   disk for large stacks) as they are made.
2. After pass 1, the whole-movie steps that only need the small tables: :func:`track_cells`
   and :func:`classify_cells` (population decided per track).
3. **measure** — :func:`detect_puncta` and :func:`measure_cells`, which need the populations
   (recipient pixels next to a donor are excluded). Then the gate (:func:`calibrate_gate`),
   positivity, :func:`detect_events` and :func:`uptake_summary`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pgpviewer.core.classification import classify_cells
from pgpviewer.core.errors import InputError
from pgpviewer.core.events import detect_events
from pgpviewer.core.frames import FrameRunner, default_workers
from pgpviewer.core.gate import GateResult, calibrate_gate
from pgpviewer.core.labelstore import label_store as make_label_store
from pgpviewer.core.params import AnalysisParams
from pgpviewer.core.progress import CancelCheck, Progress, ProgressCallback, as_progress
from pgpviewer.core.seg_diameter import estimate_movie_diameter
from pgpviewer.core.stack import Stack
from pgpviewer.core.tracking import track_cells
from pgpviewer.core.uptake import uptake_summary


@dataclass
class PipelineResult:
    """Everything one analysis produced; the export writes it, the GUI shows it.

    Attributes
    ----------
    stack : Stack
        The analysed stack (lazy; frames ``frames[0]:frames[1]`` of the file).
    roles : dict of str to int
        Channel role → channel index.
    params : AnalysisParams
        The parameters used.
    gate : GateResult
        The P-gp positivity gate used and where it came from.
    labels : ndarray of shape (T, Y, X)
        Cell labels per analysed frame (value = ``label`` in ``cells``); may be a memory map.
    cells, tracks, events, summary, curves, puncta, contacts : DataFrame
        The tables of the output contract plus puncta positions and cell–cell contacts.
    frames : tuple of int
        First (inclusive) and last (exclusive) file frame analysed; ``frame`` columns are file
        frame indices.
    """

    stack: Stack
    roles: dict[str, int]
    params: AnalysisParams
    gate: GateResult
    labels: Any
    cells: pd.DataFrame
    tracks: pd.DataFrame
    events: pd.DataFrame
    summary: pd.DataFrame
    curves: pd.DataFrame
    puncta: pd.DataFrame
    contacts: pd.DataFrame
    frames: tuple[int, int] = (0, 0)
    notes: list[str] = field(default_factory=list)


def check_roles(stack: Stack, roles: Mapping[str, int]) -> dict[str, int]:
    """Validate a role mapping against a stack; at least one channel must be usable."""
    roles = dict(roles)
    for role, idx in roles.items():
        if not 0 <= idx < stack.n_channels:
            raise InputError(stack.path, f"role {role!r} names channel {idx}, which does not exist")
    if not roles:
        if stack.n_channels == 1:
            return {"nuclei": 0}
        raise InputError(
            stack.path,
            "no channel roles: map at least one channel (e.g. --channel nuclei=0 --channel pgp=1)",
        )
    return roles


def run_pipeline(
    stack: Stack,
    roles: Mapping[str, int],
    params: AnalysisParams | None = None,
    *,
    control: Stack | None = None,
    control_roles: Mapping[str, int] | None = None,
    labels: Any = None,
    workers: int | None = None,
    workdir: str | Path | None = None,
    progress: ProgressCallback | Progress | None = None,
    cancel: CancelCheck | None = None,
) -> PipelineResult:
    """Analyse a stack: cells, populations, P-gp, puncta, tracks, transfer events, uptake.

    Parameters
    ----------
    stack : Stack
        The image (any frame range; use :meth:`Stack.with_frames` for a part).
    roles : mapping of str to int
        Channel role → channel index (see :mod:`pgpviewer.core.roles`).
    params : AnalysisParams, optional
        Defaults to ``AnalysisParams()``.
    control : Stack, optional
        Control culture for the gate (``params.gate.source == "control"``).
    control_roles : mapping, optional
        Roles for the control (default: the same as ``roles``).
    labels : array-like of shape (T, Y, X), optional
        Corrected labels to use instead of segmenting (re-runs only the downstream steps).
    workers : int, optional
        Parallel frames (default: all cores).
    workdir : path, optional
        Where a large label stack is memory-mapped (default: a temporary folder).
    progress : callable, optional
        ``progress(fraction, message)``.
    cancel : callable, optional
        Returns True to stop; :class:`~pgpviewer.core.errors.Cancelled` is raised.

    Returns
    -------
    PipelineResult
    """
    params = params or AnalysisParams()
    roles = check_roles(stack, roles)
    prog = as_progress(progress, cancel)
    workers = workers or default_workers()
    offset = stack.frame_offset
    n = stack.n_frames

    notes: list[str] = []
    if labels is None and params.segmentation.cell_diameter_px is None:
        params = _with_measured_diameter(stack, roles, params)
        notes.append(f"cell diameter measured: {params.segmentation.cell_diameter_px} px")
    label_store = labels if labels is not None else make_label_store(n, stack.shape_yx, workdir)
    if labels is not None and tuple(label_store.shape) != (n, *stack.shape_yx):
        raise InputError(stack.path, f"labels shape {label_store.shape} does not match the stack")

    with FrameRunner(stack, roles, params, workers) as runner:
        features, contacts = _segment_pass(
            runner, label_store, segment=labels is None, progress=prog.sub(0.0, 0.5)
        )
        prog.sub(0.5, 0.55)(0.0, "tracking cells")
        links = track_cells(features, params.tracking)
        features = features.merge(links, on=["frame", "label"], how="left")
        populations = classify_cells(features, roles, params.classification)
        features = features.merge(populations, on="track_id", how="left")
        features["population"] = features["population"].fillna("unknown")
        cells, puncta = _measure_pass(runner, label_store, features, progress=prog.sub(0.55, 0.9))
    prog.sub(0.9, 0.95)(0.0, "calibrating the P-gp gate")
    gate = _gate(cells, params, control, control_roles or roles, workers, prog.sub(0.9, 0.95))
    cells["pgp_positive"] = (cells["pgp_score"] > gate.value).fillna(False).astype(bool)
    notes += [f"P-gp gate {gate.source}"] if np.isnan(gate.value) else []
    prog.sub(0.95, 1.0)(0.0, "detecting transfer events")
    events, tracks = detect_events(
        cells, contacts, params.events, frame_interval_s=stack.frame_interval_s, spots=puncta
    )
    summary, curves = uptake_summary(
        cells,
        events,
        tracks,
        frame_interval_s=stack.frame_interval_s,
        frames=range(offset, offset + n),
    )
    _add_time_columns(cells, stack)
    prog(1.0, "done")
    return PipelineResult(
        stack=stack,
        roles=dict(roles),
        params=params,
        gate=gate,
        labels=label_store,
        cells=cells,
        tracks=tracks,
        events=events,
        summary=summary,
        curves=curves,
        puncta=puncta,
        contacts=contacts,
        frames=(offset, offset + n),
        notes=notes,
    )


def _with_measured_diameter(stack, roles, params: AnalysisParams) -> AnalysisParams:
    """``params`` with the cell diameter measured on the movie (:func:`estimate_movie_diameter`),
    so every frame is segmented with the same value and the saved parameters reproduce it."""
    def frame(t):
        image = stack.projected_frame(t, params.z_projection)
        return {r: image[i] for r, i in roles.items()}

    d = estimate_movie_diameter(frame, stack.n_frames, params.segmentation)
    seg = {**params.segmentation.model_dump(), "cell_diameter_px": d}
    return params.replace(segmentation=seg)


def _segment_pass(runner, label_store, *, segment, progress):
    n = runner.stack.n_frames
    items = ((t, () if segment else (np.asarray(label_store[t]),)) for t in range(n))
    feats, conts = [], []
    for t, seg in enumerate(
        runner.map("segment", items, progress=progress, message="segmenting frame", total=n)
    ):
        if segment:
            label_store[t] = seg.labels
        feats.append(seg.features)
        conts.append(seg.contacts)
    return pd.concat(feats, ignore_index=True), pd.concat(conts, ignore_index=True)


def _measure_pass(runner, label_store, features, *, progress):
    stack = runner.stack
    by_frame = {f: g for f, g in features.groupby("frame", sort=True)}
    empty = features.iloc[0:0]

    def items():
        for t in range(stack.n_frames):
            feats = by_frame.get(t + stack.frame_offset, empty)
            pops = dict(zip(feats["label"], feats["population"], strict=True))
            tracks = dict(zip(feats["label"], feats["track_id"], strict=True))
            yield t, (np.asarray(label_store[t]), pops, tracks)

    parts = list(
        runner.map(
            "measure", items(), progress=progress, message="measuring frame", total=stack.n_frames
        )
    )
    cells = pd.concat([p[0] for p in parts], ignore_index=True)
    spot_tables = [p[1] for p in parts if p[1] is not None]
    puncta = (
        pd.concat(spot_tables, ignore_index=True)
        if spot_tables
        else pd.DataFrame(columns=["y", "x", "amplitude", "snr", "label", "frame"])
    )
    parents = features[["frame", "label", "parent_track_id"]]
    cells = cells.merge(parents, on=["frame", "label"], how="left")
    # nearest donor as a track id (measure_cells reports the donor's label in that frame)
    # (one vectorised join: a per-row lookup took minutes and GBs for a 1.8 M-row movie)
    donors = features[["frame", "label", "track_id"]].rename(
        columns={"label": "nearest_donor_label", "track_id": "nearest_donor_track_id"}
    )
    near = cells[["frame", "nearest_donor_label"]].merge(
        donors, on=["frame", "nearest_donor_label"], how="left", validate="many_to_one"
    )
    cells["nearest_donor_track_id"] = pd.array(
        near["nearest_donor_track_id"].to_numpy(), dtype="Int64"
    )
    return cells, puncta


def _gate(cells, params, control, control_roles, workers, progress) -> GateResult:
    g = params.gate
    if g.source == "control":
        if control is None:
            raise InputError(None, "the gate source is 'control' but no control file was given")
        ctrl = run_pipeline(
            control,
            control_roles,
            params.replace(gate={**g.model_dump(), "source": "manual", "manual_value": 0.0}),
            workers=workers,
            progress=progress,
        )
        ref = ctrl.cells
        rec = ref[ref["population"] == "recipient"]
        scores = (rec if len(rec) else ref)["pgp_score"]
        return calibrate_gate(scores, g, source=f"control file {control.name}")
    if g.source == "manual":
        return calibrate_gate(None, g, source="set by the user")
    first = cells["frame"].min() if len(cells) else 0
    sel = cells[(cells["frame"] < first + g.n_first_frames) & (cells["population"] == "recipient")]
    scores = sel["pgp_score"].to_numpy(dtype=float)
    if not np.isfinite(scores).any():
        # Nothing to calibrate on (no P-gp channel, a blank field, no recipients at the
        # start): no cell is called positive, and the output says why.
        why = (
            "no P-gp channel is mapped"
            if "pgp_score" not in cells or not cells["pgp_score"].notna().any()
            else f"no recipient with a P-gp score in the first {g.n_first_frames} frame(s)"
        )
        return GateResult(
            value=float("nan"),
            source=f"not calibrated: {why}; no cell is called P-gp "
            "positive (use a control file or a manual gate)",
            false_positive_rate=g.false_positive_rate,
            n_calibration_cells=0,
            method="not calibrated",
        )
    return calibrate_gate(
        sel["pgp_score"], g, source=f"recipients in the first {g.n_first_frames} frame(s)"
    )


def _add_time_columns(cells: pd.DataFrame, stack: Stack) -> None:
    dt = stack.frame_interval_s
    cells.insert(1, "time_s", cells["frame"] * dt if dt else np.nan)
    px = stack.pixel_size_um
    cells["centroid_y_um"] = cells["centroid_y"] * px[0] if px else np.nan
    cells["centroid_x_um"] = cells["centroid_x"] * px[1] if px else np.nan
    cells["area_um2"] = cells["area_px"] * px[0] * px[1] if px else np.nan
