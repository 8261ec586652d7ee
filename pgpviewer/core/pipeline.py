"""run_pipeline: the whole per-file analysis, streamed frame by frame.

Two passes over the frames, each frame independent so they run in parallel:

1. **segment** — z-projection, :func:`segment_cells` (with the cell diameter measured once on
   the movie when it is not set: :func:`estimate_movie_diameter`; the value is in the result's
   parameters and notes), and :func:`frame_features` (positions, areas, identity-dye signals,
   cell–cell contacts). Labels go to a label store (a memory map on
   disk for large stacks) as they are made.
2. After pass 1, tracking and populations (decided per track), reading the per-frame feature
   tables one frame at a time (:func:`~pgpviewer.core.pipeline_tracks.link_and_classify`: the
   tracks of :func:`track_cells`, the populations of :func:`classify_cells`).
3. **measure** — :func:`detect_puncta` and :func:`measure_cells`, which need the populations
   (recipient pixels next to a donor are excluded). Then the gate (:func:`calibrate_gate`),
   positivity, the events of :func:`detect_events` and the uptake of :func:`uptake_summary`.

**Memory.** Each frame's tables are appended to a :class:`~pgpviewer.core.tablestore.FrameTables`
as the frame is done (a file on disk when the label stack is on disk, i.e. for large movies),
and every whole-movie step reads them back one frame at a time: tracking and populations
(:mod:`~pgpviewer.core.pipeline_tracks`), the gate (the first frames only), events
(:class:`~pgpviewer.core.event_data.StoreEvents`: per row only track, frame, score and
positivity, while the tracks' observation sequences are built; everything else is read for the
frames around each event) and uptake (:func:`~pgpviewer.core.uptake.uptake_summary_frames`).
What stays in memory grows with the number of tracks and, during event detection, by about
40 bytes per cell row. The full cell, puncta and contact tables are assembled only when asked
for (:class:`PipelineResult` fields) or written out a chunk at a time
(:meth:`PipelineResult.table_chunks`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pgpviewer.core.errors import InputError
from pgpviewer.core.event_data import StoreEvents
from pgpviewer.core.events import events_from
from pgpviewer.core.frames import FrameRunner, default_workers
from pgpviewer.core.gate import GateResult, calibrate_gate
from pgpviewer.core.labelstore import DiskLabels
from pgpviewer.core.labelstore import label_store as make_label_store
from pgpviewer.core.params import AnalysisParams
from pgpviewer.core.pipeline_tracks import TrackLinks, link_and_classify
from pgpviewer.core.progress import CancelCheck, Progress, ProgressCallback, as_progress
from pgpviewer.core.seg_diameter import estimate_movie_diameter
from pgpviewer.core.stack import Stack
from pgpviewer.core.tablestore import FrameTables, LazyTable, concat_tables
from pgpviewer.core.uptake import uptake_summary_frames

#: Cell columns the gate, events and uptake read (``pgp_positive`` is added after the gate).
EVENT_COLUMNS_IN = [
    "frame", "label", "track_id", "parent_track_id", "population", "pgp_score",
    "touching_donor", "centroid_y", "centroid_x", "area_px", "nearest_donor_track_id",
    "nearest_donor_distance_px", "pgp_puncta",
]
_PUNCTA_EMPTY = ["y", "x", "amplitude", "snr", "label", "frame"]


class _Table:
    """A dataclass field that also accepts a :class:`LazyTable`, assembled on first read."""

    def __set_name__(self, owner, name):
        self._slot = "_" + name

    def __get__(self, obj, objtype=None):
        if obj is None:
            raise AttributeError(self._slot)  # (no default value for the dataclass)
        value = obj.__dict__[self._slot]
        if isinstance(value, LazyTable):
            value = value.to_frame()
            obj.__dict__[self._slot] = value
        return value

    def __set__(self, obj, value):
        obj.__dict__[self._slot] = value


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
        ``cells``, ``puncta`` and ``contacts`` may be given as a :class:`LazyTable`; they are
        assembled on first read (use :meth:`table_chunks` and :meth:`n_rows` to avoid that).
    frames : tuple of int
        First (inclusive) and last (exclusive) file frame analysed; ``frame`` columns are file
        frame indices.
    """

    stack: Stack
    roles: dict[str, int]
    params: AnalysisParams
    gate: GateResult
    labels: Any
    cells: pd.DataFrame = _Table()
    tracks: pd.DataFrame
    events: pd.DataFrame
    summary: pd.DataFrame
    curves: pd.DataFrame
    puncta: pd.DataFrame = _Table()
    contacts: pd.DataFrame = _Table()
    frames: tuple[int, int] = (0, 0)
    notes: list[str] = field(default_factory=list)

    def table_chunks(self, name: str, rows: int = 100_000):
        """Yield table ``name`` (``cells``, ``puncta``, ``contacts``…) ``rows`` rows at a time,
        without assembling it when it is still on disk."""
        value = self._raw(name)
        if isinstance(value, LazyTable):
            yield from value.chunks(rows)
            return
        for start in range(0, max(len(value), 1), rows):
            yield value.iloc[start : start + rows]

    def n_rows(self, name: str) -> int:
        """Number of rows of table ``name`` (without assembling it)."""
        return len(self._raw(name))

    def _raw(self, name: str):
        """Table ``name`` as stored (a :class:`LazyTable` is not assembled)."""
        slot = "_" + name
        return self.__dict__[slot] if slot in self.__dict__ else getattr(self, name)


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

    spill = _spill_folder(label_store, workdir)
    with FrameRunner(stack, roles, params, workers) as runner:
        feature_store, contact_store = _segment_pass(
            runner, label_store, spill, segment=labels is None, progress=prog.sub(0.0, 0.5)
        )
        prog.sub(0.5, 0.55)(0.0, "tracking cells")
        links = _track_and_classify(feature_store, roles, params, spill)
        feature_store.close()
        cell_store, narrow, puncta_store = _measure_pass(
            runner, label_store, links, spill, progress=prog.sub(0.55, 0.9)
        )
        links.close()
    prog.sub(0.9, 0.95)(0.0, "calibrating the P-gp gate")
    gate = _gate(narrow, params, control, control_roles or roles, workers, prog.sub(0.9, 0.95))
    notes += [f"P-gp gate {gate.source}"] if np.isnan(gate.value) else []
    prog.sub(0.95, 1.0)(0.0, "detecting transfer events")

    def positive(table: pd.DataFrame) -> pd.DataFrame:
        return table.assign(pgp_positive=_positive(table, gate))

    events, tracks = events_from(
        StoreEvents(narrow, contact_store, puncta_store, positive), params.events,
        frame_interval_s=stack.frame_interval_s, gate=gate.value,
    )
    summary, curves = uptake_summary_frames(
        (positive(part) for part in narrow),
        events,
        tracks,
        frame_interval_s=stack.frame_interval_s,
        frames=range(offset, offset + n),
        has_puncta="pgp_puncta" in narrow.empty().columns,
    )
    narrow.close()

    def finish(cells: pd.DataFrame) -> pd.DataFrame:
        cells = cells.assign(pgp_positive=_positive(cells, gate))
        _add_time_columns(cells, stack)
        return cells

    prog(1.0, "done")
    return PipelineResult(
        stack=stack,
        roles=dict(roles),
        params=params,
        gate=gate,
        labels=label_store,
        cells=LazyTable(cell_store, finish),
        tracks=tracks,
        events=events,
        summary=summary,
        curves=curves,
        puncta=puncta_store.to_frame() if not spill else LazyTable(puncta_store, None),
        contacts=contact_store.to_frame() if not spill else LazyTable(contact_store, None),
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


def _spill_folder(label_store, workdir) -> Path | None:
    """Where per-frame tables go: next to an on-disk label stack (a large movie), else memory."""
    if not isinstance(label_store, DiskLabels):
        return None
    return Path(workdir) if workdir else label_store.path.parent


def _positive(cells: pd.DataFrame, gate: GateResult) -> pd.Series:
    return (cells["pgp_score"] > gate.value).fillna(False).astype(bool)


def _segment_pass(runner, label_store, spill, *, segment, progress):
    n = runner.stack.n_frames
    items = ((t, () if segment else (np.asarray(label_store[t]),)) for t in range(n))
    feats, conts = FrameTables(spill), FrameTables(spill)
    for t, seg in enumerate(
        runner.map("segment", items, progress=progress, message="segmenting frame", total=n)
    ):
        if segment:
            label_store[t] = seg.labels
        feats.append(seg.features)
        conts.append(seg.contacts)
    return feats, conts


def _track_and_classify(feature_store: FrameTables, roles, params, spill) -> TrackLinks:
    """Tracks and populations of every cell (:func:`link_and_classify`: the frames are read
    one at a time)."""
    return link_and_classify(feature_store, roles, params, spill)


def _measure_pass(runner, label_store, links: TrackLinks, spill, *, progress):
    stack = runner.stack
    pending: list[pd.DataFrame] = []  # the nodes of frames in flight, in order

    def items():
        for t, feats in enumerate(links):
            pops = dict(zip(feats["label"], feats["population"], strict=True))
            tracks = dict(zip(feats["label"], feats["track_id"], strict=True))
            pending.append(feats)
            yield t, (np.asarray(label_store[t]), pops, tracks)

    cells, puncta, narrow = FrameTables(spill), FrameTables(spill), FrameTables(spill)
    results = runner.map(
        "measure", items(), progress=progress, message="measuring frame", total=stack.n_frames
    )
    for table, spots in results:
        table = _with_lineage(table, pending.pop(0))
        cells.append(table)
        narrow.append(table[EVENT_COLUMNS_IN])
        if spots is not None:
            puncta.append(spots)
    if puncta.n_parts == 0:
        puncta.append(pd.DataFrame(columns=_PUNCTA_EMPTY))
    return cells, narrow, puncta


def _with_lineage(table: pd.DataFrame, nodes: pd.DataFrame) -> pd.DataFrame:
    """One frame's cells plus ``parent_track_id`` and the nearest donor's track id."""
    table = table.merge(
        nodes[["frame", "label", "parent_track_id"]], on=["frame", "label"], how="left"
    )
    # nearest donor as a track id (measure_cells reports the donor's label in that frame)
    donors = nodes[["frame", "label", "track_id"]].rename(
        columns={"label": "nearest_donor_label", "track_id": "nearest_donor_track_id"}
    )
    near = table[["frame", "nearest_donor_label"]].merge(
        donors, on=["frame", "nearest_donor_label"], how="left", validate="many_to_one"
    )
    table["nearest_donor_track_id"] = pd.array(
        near["nearest_donor_track_id"].to_numpy(), dtype="Int64"
    )
    return table


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
        rec, every = [], []  # (every score only until a recipient is seen)
        for chunk in ctrl.table_chunks("cells"):
            is_rec = chunk["population"] == "recipient"
            rec.append(chunk.loc[is_rec, "pgp_score"].to_numpy(dtype=float))
            if not any(len(r) for r in rec):
                every.append(chunk["pgp_score"].to_numpy(dtype=float))
        scores = np.concatenate(rec if any(len(r) for r in rec) else every or [np.empty(0)])
        return calibrate_gate(scores, g, source=f"control file {control.name}")
    if g.source == "manual":
        return calibrate_gate(None, g, source="set by the user")
    sel = _first_recipient_scores(cells, g.n_first_frames)
    scores = sel.to_numpy(dtype=float)
    if not np.isfinite(scores).any():
        # Nothing to calibrate on (no P-gp channel, a blank field, no recipients at the
        # start): no cell is called positive, and the output says why.
        why = (
            "no P-gp channel is mapped"
            if not any(part["pgp_score"].notna().any() for part in cells)
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
        sel, g, source=f"recipients in the first {g.n_first_frames} frame(s)"
    )


def _first_recipient_scores(cells: FrameTables, n_first: int) -> pd.Series:
    """``pgp_score`` of the recipients in the first ``n_first`` frames with cells (frames are
    in increasing order, so only those frames are read)."""
    parts, first = [], None
    for part in cells:
        if len(part) == 0:
            continue
        first = int(part["frame"].min()) if first is None else first
        if int(part["frame"].min()) >= first + n_first:
            break
        sel = part[(part["frame"] < first + n_first) & (part["population"] == "recipient")]
        parts.append(sel["pgp_score"])
    return concat_tables(parts, pd.Series([], dtype=float)) if parts else pd.Series(
        [], dtype=float)


def _add_time_columns(cells: pd.DataFrame, stack: Stack) -> None:
    dt = stack.frame_interval_s
    cells.insert(1, "time_s", cells["frame"] * dt if dt else np.nan)
    px = stack.pixel_size_um
    cells["centroid_y_um"] = cells["centroid_y"] * px[0] if px else np.nan
    cells["centroid_x_um"] = cells["centroid_x"] * px[1] if px else np.nan
    cells["area_um2"] = cells["area_px"] * px[0] * px[1] if px else np.nan
