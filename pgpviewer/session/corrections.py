"""Review and correction without Qt: edited labels, event decisions, population overrides.

A :class:`ReviewState` holds what the user changed on top of one analysis:

- **labels**: a writable copy of the cell labels, changed by :class:`LabelEditCommand` (merge,
  split, erase, or a brush stroke captured as a before/after patch of one frame). Changed
  labels make the analysis stale; the GUI then re-runs the downstream steps
  (``run_pipeline(stack, roles, params, labels=...)``) and calls :meth:`ReviewState.set_base`.
- **event decisions** (accepted / rejected) and **population overrides** per track.

Decisions and overrides are keyed by a cell, ``(frame, label)`` — the recipient cell at the
event frame, or any cell of the track — not by event or track ids, because those are renumbered
when tracking re-runs after a label correction, while a cell's label in a frame only changes when
that cell is edited. :func:`apply_review` turns a pipeline result plus the decisions into the
reviewed result: rejected events leave ``events``, their recipient tracks (and daughters that
inherited the acquisition) become ``no_event``, and the per-frame counts and the curves are
recomputed with :func:`~pgpviewer.core.uptake.uptake_summary`. Overridden populations re-run
:func:`~pgpviewer.core.events.detect_events` on the cells (the P-gp measurements themselves are
not re-measured: the donor-rim exclusion keeps the populations of the analysis).

Every change is a :class:`~pgpviewer.session.commands.Command`, so undo/redo covers all of them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from psygnal import Signal

from pgpviewer.core.errors import InputError
from pgpviewer.session.commands import Command

ACCEPTED, REJECTED = "accepted", "rejected"
DECISIONS = (ACCEPTED, REJECTED)
POPULATIONS = ("donor", "recipient", "unknown")

CellKey = tuple[int, int]  # (file frame, label)


class CorrectionError(InputError):
    """A correction that cannot be made (shown to the user as one line)."""

    def __init__(self, problem: str):
        super().__init__(None, problem)


# ---------------------------------------------------------------------------------------------
# label operations on one frame (pure: return a new array)


def merge_labels(frame_labels: np.ndarray, labels: Sequence[int]) -> np.ndarray:
    """Merge cells: every label in ``labels`` becomes the first one.

    Examples
    --------
    >>> a = np.array([[1, 1, 2, 2], [1, 1, 2, 0]])
    >>> merge_labels(a, [2, 1])
    array([[2, 2, 2, 2],
           [2, 2, 2, 0]])
    """
    labels = [int(v) for v in labels]
    if len(set(labels)) < 2:
        raise CorrectionError("select two different cells to merge")
    present = set(np.unique(frame_labels).tolist())
    missing = [v for v in labels if v not in present or v == 0]
    if missing:
        raise CorrectionError(f"cell {missing[0]} is not in this frame")
    out = np.array(frame_labels, copy=True)
    out[np.isin(out, labels[1:])] = labels[0]
    return out


def split_label(
    frame_labels: np.ndarray,
    label: int,
    seeds: Sequence[Sequence[float]] | None = None,
    new_label: int | None = None,
) -> np.ndarray:
    """Split one cell into two by a watershed of its distance map from two seeds.

    Parameters
    ----------
    frame_labels : ndarray of shape (Y, X)
    label : int
        The cell to split.
    seeds : two (y, x) points, optional
        Inside the cell (the nearest cell pixel is used otherwise). By default the two seeds are
        placed on the cell's long axis at the first and third quartile, which splits two
        touching cells at their neck and an elongated cell across its middle.
    new_label : int, optional
        Label of the second part (default: the frame's largest label + 1).

    Examples
    --------
    >>> a = np.zeros((5, 9), int); a[1:4, 0:9] = 3
    >>> out = split_label(a, 3)
    >>> sorted(np.unique(out).tolist()), int((out == 3).sum()), int((out == 4).sum())
    ([0, 3, 4], 12, 15)
    """
    from scipy import ndimage as ndi
    from skimage.segmentation import watershed

    label = int(label)
    mask_full = frame_labels == label
    if label == 0 or not mask_full.any():
        raise CorrectionError(f"cell {label} is not in this frame")
    ys, xs = np.nonzero(mask_full)
    if len(ys) < 4:
        raise CorrectionError(f"cell {label} is too small to split")
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    mask = mask_full[y0:y1, x0:x1]
    coords = np.column_stack([ys - y0, xs - x0]).astype(float)
    if seeds is None:
        centre = coords.mean(axis=0)
        cov = np.cov((coords - centre).T) if len(coords) > 2 else np.eye(2)
        axis = np.linalg.eigh(np.atleast_2d(cov))[1][:, -1]
        proj = (coords - centre) @ axis
        pts = [centre + axis * np.percentile(proj, 25), centre + axis * np.percentile(proj, 75)]
    else:
        if len(seeds) != 2:
            raise CorrectionError("a split needs two seed points")
        pts = [np.asarray(s, float) - (y0, x0) for s in seeds]
    markers = np.zeros(mask.shape, np.int32)
    snapped = []
    for k, p in enumerate(pts, start=1):
        i = int(np.argmin(((coords - p) ** 2).sum(axis=1)))  # nearest pixel of the cell
        yy, xx = int(coords[i, 0]), int(coords[i, 1])
        snapped.append((yy, xx))
        markers[yy, xx] = k
    if snapped[0] == snapped[1]:
        raise CorrectionError("the two seeds fall on the same pixel: click further apart")
    dist = ndi.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1]  # image edges are borders
    parts = watershed(-dist, markers, mask=mask)
    if not ((parts == 1).any() and (parts == 2).any()):  # pragma: no cover - defensive
        raise CorrectionError(f"cell {label} could not be split")
    new = int(new_label) if new_label is not None else int(frame_labels.max()) + 1
    out = np.array(frame_labels, copy=True)
    sub = out[y0:y1, x0:x1]
    sub[parts == 2] = new
    return out


def erase_labels(frame_labels: np.ndarray, labels: Iterable[int]) -> np.ndarray:
    """Remove cells (their pixels become background)."""
    labels = [int(v) for v in labels if int(v) != 0]
    if not labels:
        raise CorrectionError("select a cell to erase")
    out = np.array(frame_labels, copy=True)
    out[np.isin(out, labels)] = 0
    return out


# ---------------------------------------------------------------------------------------------
# state


class ReviewState:
    """Corrections and decisions made on top of one analysis result.

    Attributes
    ----------
    base : PipelineResult or None
        The pipeline output the decisions apply to (from the analysis, or from a re-run of the
        downstream steps on the corrected labels).
    labels : ndarray of shape (T, Y, X) or None
        The corrected labels (a writable copy; frame ``t`` is file frame ``t + offset``).
    decisions : dict
        ``(frame, label)`` of the recipient at the event frame → ``"accepted"|"rejected"``.
    overrides : dict
        ``(frame, label)`` of a cell of the track → population.
    label_generation : int
        Increases with every change of ``labels`` (the GUI compares it to decide whether a
        finished re-run is still current).
    """

    labels_edited = Signal(int)
    """Labels of this file frame changed (a correction, its undo or redo)."""
    decisions_changed = Signal()
    """An event decision or population override changed."""
    reset_done = Signal()
    """A new analysis replaced the state (corrections and decisions cleared)."""

    def __init__(self) -> None:
        self.base: Any = None
        self.labels: np.ndarray | None = None
        self.decisions: dict[CellKey, str] = {}
        self.overrides: dict[CellKey, str] = {}
        self.label_generation = 0
        self.base_generation = 0
        self.decision_generation = 0
        self.net_label_edits = 0

    # -- lifecycle -----------------------------------------------------------------------
    def reset(self, result: Any) -> None:
        """Start reviewing ``result`` (None: nothing to review)."""
        self.base = result
        self.labels = None if result is None else np.array(result.labels, copy=True)
        self.decisions = {}
        self.overrides = {}
        self.label_generation = self.base_generation = 0
        self.decision_generation = 0
        self.net_label_edits = 0
        self.reset_done.emit()

    def set_base(self, result: Any, generation: int) -> None:
        """A re-run on the labels of ``generation`` finished."""
        self.base = result
        self.base_generation = generation

    @property
    def active(self) -> bool:
        return self.base is not None and self.labels is not None

    @property
    def offset(self) -> int:
        return int(self.base.frames[0]) if self.base is not None and self.base.frames else 0

    @property
    def needs_rerun(self) -> bool:
        """True when the labels changed since ``base`` was computed."""
        return self.label_generation != self.base_generation

    @property
    def labels_corrected(self) -> bool:
        """True when the labels differ from the analysis' own segmentation (edits not undone)."""
        return self.net_label_edits != 0

    @property
    def changed(self) -> bool:
        """Anything to save: corrected labels, decisions or overrides."""
        return self.labels_corrected or bool(self.decisions) or bool(self.overrides)

    # -- lookups -------------------------------------------------------------------------
    def frame_labels(self, frame: int) -> np.ndarray:
        """The corrected labels of file frame ``frame``."""
        return self.labels[int(frame) - self.offset]

    def label_at(self, frame: int, y: float, x: float) -> int:
        """The label under pixel (y, x) of file frame ``frame`` (0 outside the image)."""
        if not self.active:
            return 0
        t = int(frame) - self.offset
        iy, ix = round(float(y)), round(float(x))
        n, h, w = self.labels.shape
        if not (0 <= t < n and 0 <= iy < h and 0 <= ix < w):
            return 0
        return int(self.labels[t, iy, ix])

    def event_key(self, event: Any, cells: pd.DataFrame | None = None) -> CellKey | None:
        """``(frame, label)`` of the recipient at the event frame (None if not found)."""
        cells = self.base.cells if cells is None else cells
        return event_key(cells, int(event["recipient_track_id"]), int(event["frame"]))

    def track_key(self, track_id: int, cells: pd.DataFrame | None = None) -> CellKey | None:
        """``(frame, label)`` of the first cell of a track (anchors an override)."""
        cells = self.base.cells if cells is None else cells
        rows = cells[pd.to_numeric(cells["track_id"], errors="coerce") == int(track_id)]
        if not len(rows):
            return None
        r = rows.sort_values("frame").iloc[0]
        return int(r["frame"]), int(r["label"])

    # -- writes used by commands ---------------------------------------------------------
    def _write_patch(self, frame: int, sl: tuple[slice, slice], patch: np.ndarray, d: int) -> None:
        self.labels[int(frame) - self.offset][sl] = patch
        self.label_generation += 1
        self.net_label_edits += d
        self.labels_edited.emit(int(frame))

    def _set_item(self, table: dict, key: CellKey, value: str | None) -> None:
        if value is None:
            table.pop(key, None)
        else:
            table[key] = value
        self.decision_generation += 1
        self.decisions_changed.emit()


# ---------------------------------------------------------------------------------------------
# commands


class LabelEditCommand(Command):
    """Replace a rectangle of one frame's labels (stored as before/after patches)."""

    def __init__(
        self,
        state: ReviewState,
        frame: int,
        sl: tuple[slice, slice],
        before: np.ndarray,
        after: np.ndarray,
        text: str,
    ):
        self.state = state
        self.frame = int(frame)
        self.sl = sl
        self.before = before
        self.after = after
        self.text = text

    @classmethod
    def from_frames(
        cls, state: ReviewState, frame: int, old: np.ndarray, new: np.ndarray, text: str
    ) -> LabelEditCommand | None:
        """The command turning ``old`` into ``new`` (None when they are equal)."""
        diff = np.asarray(old) != np.asarray(new)
        if not diff.any():
            return None
        ys, xs = np.nonzero(diff)
        sl = (slice(int(ys.min()), int(ys.max()) + 1), slice(int(xs.min()), int(xs.max()) + 1))
        return cls(state, frame, sl, np.array(old[sl]), np.array(new[sl]), text)

    def do(self) -> None:
        self.state._write_patch(self.frame, self.sl, self.after, +1)

    def undo(self) -> None:
        self.state._write_patch(self.frame, self.sl, self.before, -1)


class SetDecisionCommand(Command):
    """Set (or clear, with None) an entry of ``state.decisions`` or ``state.overrides``."""

    def __init__(self, state: ReviewState, table: str, key: CellKey, value: str | None, text: str):
        self.state = state
        self.table = table
        self.key = (int(key[0]), int(key[1]))
        self.value = value
        self.old = getattr(state, table).get(self.key)
        self.text = text

    def do(self) -> None:
        self.state._set_item(getattr(self.state, self.table), self.key, self.value)

    def undo(self) -> None:
        self.state._set_item(getattr(self.state, self.table), self.key, self.old)


def merge_command(state: ReviewState, frame: int, labels: Sequence[int]) -> LabelEditCommand:
    """Merge cells ``labels`` of file frame ``frame`` into the first."""
    old = state.frame_labels(frame)
    new = merge_labels(old, labels)
    names = " + ".join(str(int(v)) for v in labels)
    return LabelEditCommand.from_frames(state, frame, old, new, f"merge cells {names}")


def split_command(
    state: ReviewState, frame: int, label: int, seeds: Sequence[Sequence[float]] | None = None
) -> LabelEditCommand:
    """Split cell ``label`` of file frame ``frame`` in two."""
    old = state.frame_labels(frame)
    new_label = int(state.labels.max()) + 1  # unique over the movie: never joins another cell
    new = split_label(old, label, seeds, new_label=new_label)
    return LabelEditCommand.from_frames(state, frame, old, new, f"split cell {int(label)}")


def erase_command(state: ReviewState, frame: int, labels: Sequence[int]) -> LabelEditCommand:
    old = state.frame_labels(frame)
    new = erase_labels(old, labels)
    names = ", ".join(str(int(v)) for v in labels)
    return LabelEditCommand.from_frames(state, frame, old, new, f"erase cell {names}")


def decision_command(state: ReviewState, event: Any, decision: str | None) -> SetDecisionCommand:
    """Accept or reject an event (a row of the events table); None clears the decision."""
    if decision is not None and decision not in DECISIONS:
        raise ValueError(f"decision must be one of {DECISIONS} or None")
    key = state.event_key(event)
    if key is None:
        raise CorrectionError(f"event {event['event_id']}: its recipient cell is not found")
    word = {ACCEPTED: "accept", REJECTED: "reject", None: "clear decision on"}[decision]
    return SetDecisionCommand(
        state, "decisions", key, decision, f"{word} event {event['event_id']}"
    )


def override_command(
    state: ReviewState, track_id: int, population: str | None
) -> SetDecisionCommand:
    """Set the population of a track (and its daughters); None removes the override."""
    if population is not None and population not in POPULATIONS:
        raise ValueError(f"population must be one of {POPULATIONS} or None")
    key = state.track_key(track_id)
    if key is None:
        raise CorrectionError(f"track {track_id} is not in the result")
    # one override per track: replace one anchored on another cell of the same track
    for k in list(state.overrides):
        if k != key and _track_of(state.base.cells, k) == int(track_id):
            key = k
    text = f"track {int(track_id)} → {population}" if population else f"reset track {track_id}"
    return SetDecisionCommand(state, "overrides", key, population, text)


# ---------------------------------------------------------------------------------------------
# applying the decisions to a result


def event_key(cells: pd.DataFrame, recipient_track_id: int, frame: int) -> CellKey | None:
    sel = cells[
        (pd.to_numeric(cells["track_id"], errors="coerce") == recipient_track_id)
        & (cells["frame"] == frame)
    ]
    return (int(frame), int(sel["label"].iloc[0])) if len(sel) else None


def _track_of(cells: pd.DataFrame, key: CellKey) -> int | None:
    sel = cells[(cells["frame"] == key[0]) & (cells["label"] == key[1])]
    if not len(sel) or pd.isna(sel["track_id"].iloc[0]):
        return None
    return int(sel["track_id"].iloc[0])


def _descendants(tracks: pd.DataFrame, roots: Iterable[int]) -> dict[int, int]:
    """Every track below ``roots`` (and the roots) → the root it descends from."""
    par = pd.to_numeric(tracks["parent_track_id"], errors="coerce")
    children: dict[int, list[int]] = {}
    for child, parent in zip(tracks["track_id"], par, strict=True):
        if pd.notna(parent):
            children.setdefault(int(parent), []).append(int(child))
    out: dict[int, int] = {}
    for root in roots:
        todo = [int(root)]
        while todo:
            t = todo.pop()
            if t in out:
                continue
            out[t] = int(root)
            todo.extend(children.get(t, []))
    return out


def event_decisions(
    events: pd.DataFrame, cells: pd.DataFrame, decisions: Mapping[CellKey, str]
) -> list[str]:
    """The decision ("accepted", "rejected" or "") for each row of ``events``."""
    out = []
    for rid, frame in zip(events["recipient_track_id"], events["frame"], strict=True):
        key = event_key(cells, int(rid), int(frame))
        out.append(decisions.get(key, "") if key is not None else "")
    return out


def apply_review(
    result: Any,
    decisions: Mapping[CellKey, str] | None = None,
    overrides: Mapping[CellKey, str] | None = None,
) -> tuple[Any, pd.DataFrame]:
    """The reviewed result and the candidate events with their decision.

    Parameters
    ----------
    result : PipelineResult
    decisions : mapping
        ``(frame, label)`` of an event's recipient cell → ``"accepted"|"rejected"``.
    overrides : mapping
        ``(frame, label)`` of a cell → population of its track and the track's daughters.

    Returns
    -------
    reviewed : PipelineResult
        ``result`` itself when nothing changes it; otherwise a copy whose ``events`` lack the
        rejected events (``event_id`` kept), whose ``tracks``, ``summary`` and ``curves`` are
        recomputed, and whose ``notes`` say what the review changed.
    candidates : DataFrame
        The events before rejection (after overrides) with a ``review`` column.
    """
    from pgpviewer.core.events import detect_events
    from pgpviewer.core.uptake import uptake_summary

    decisions = dict(decisions or {})
    overrides = dict(overrides or {})
    cells, events, tracks = result.cells, result.events, result.tracks
    notes = list(result.notes)
    changed = False
    dt = result.stack.frame_interval_s

    if overrides:
        per_track: dict[int, str] = {}
        for key, pop in overrides.items():
            tid = _track_of(cells, key)
            if tid is not None:
                per_track[tid] = pop
        if per_track:
            below = _descendants(tracks, per_track)
            tid_col = pd.to_numeric(cells["track_id"], errors="coerce")
            new_pop = tid_col.map({t: per_track[r] for t, r in below.items()})
            if (new_pop.notna() & (new_pop != cells["population"])).any():
                cells = cells.copy()
                cells["population"] = new_pop.fillna(cells["population"]).astype(object)
                events, tracks = detect_events(
                    cells, result.contacts, result.params.events, frame_interval_s=dt,
                    spots=result.puncta, gate=result.gate.value,
                )
                changed = True
            notes.append(
                "population set by the user for track(s) "
                + ", ".join(f"{t} ({p})" for t, p in sorted(per_track.items()))
            )

    candidates = events.copy()
    candidates["review"] = event_decisions(events, cells, decisions) if len(events) else []
    rejected = candidates["review"] == REJECTED
    if rejected.any():
        rej = candidates[rejected]
        events = events[~rejected.to_numpy()].reset_index(drop=True)
        tracks = tracks.copy()
        onset = dict(
            zip(rej["recipient_track_id"].astype(int), rej["frame"].astype(int), strict=True)
        )
        below = _descendants(tracks, onset)
        acq = pd.to_numeric(tracks["acquired_frame"], errors="coerce")
        hit = np.array(
            [
                int(t) in below and s == "event" and a == onset[below[int(t)]]
                for t, s, a in zip(tracks["track_id"], tracks["status"], acq, strict=True)
            ],
            bool,
        )
        tracks.loc[hit, "status"] = "no_event"
        tracks.loc[hit, "acquired_frame"] = pd.NA
        notes.append(
            "transfer event(s) rejected by the user: "
            + ", ".join(str(int(e)) for e in rej["event_id"])
        )
        changed = True
    if not changed:
        return result, candidates
    frames = range(int(result.frames[0]), int(result.frames[1]))
    summary, curves = uptake_summary(cells, events, tracks, frame_interval_s=dt, frames=frames)
    reviewed = dataclasses.replace(
        result,
        cells=cells,
        tracks=tracks,
        events=events,
        summary=summary,
        curves=curves,
        notes=notes,
    )
    return reviewed, candidates


def review_record(state: ReviewState) -> dict[str, Any]:
    """JSON-ready record of the decisions (written next to exported results)."""
    return {
        "labels_corrected": bool(state.labels_corrected),
        "event_decisions": [
            {"frame": k[0], "label": k[1], "decision": v}
            for k, v in sorted(state.decisions.items())
        ],
        "population_overrides": [
            {"frame": k[0], "label": k[1], "population": v}
            for k, v in sorted(state.overrides.items())
        ],
    }
