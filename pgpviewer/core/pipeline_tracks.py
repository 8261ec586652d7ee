"""Tracks and populations of a movie whose per-frame tables are read one frame at a time.

The whole-movie form is :func:`~pgpviewer.core.tracking.track_cells` followed by
:func:`~pgpviewer.core.classification.classify_cells` on the joined feature table; a long
movie's table does not fit in memory, so :func:`link_and_classify` makes the same tracks and
populations in three passes over the per-frame feature tables, each holding one frame:

1. the cells' areas, counted per distinct value, for the automatic linking distance
   (:class:`~pgpviewer.core.track_stream.AreaMedian`; skipped when the distance is set);
2. linking (:class:`~pgpviewer.core.track_stream.StreamTracker`) and each frame's population
   calls (:func:`~pgpviewer.core.classification.classify_frame`), kept per cell in a small
   per-frame table (label, chain id, call, margin; on disk for a large movie);
3. after the segment LAP: track ids per cell, and the population votes per track
   (:class:`~pgpviewer.core.classification.TrackVotes`).

The result, :class:`TrackLinks`, gives each frame's cells with track id, parent track id and
population, frame by frame.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from pgpviewer.core.classification import (
    TrackVotes,
    call_codes,
    classify_frame,
    resolve_method,
)
from pgpviewer.core.dye_lineage import DYE_OF
from pgpviewer.core.params import AnalysisParams
from pgpviewer.core.tablestore import FrameTables
from pgpviewer.core.track_stream import AreaMedian, StreamTracker, TrackMap
from pgpviewer.core.tracking import max_distance

__all__ = ["TrackLinks", "link_and_classify"]


class TrackLinks:
    """Track id, parent track id and population of every cell, a frame at a time.

    Parameters
    ----------
    store : FrameTables
        One table per frame: ``frame``, ``label``, ``chain`` (and the population calls).
    tracks : TrackMap
        Chain and frame → track id and parent.
    population : ndarray of object
        Population by track id (index 0 unused).
    """

    def __init__(self, store: FrameTables, tracks: TrackMap, population: np.ndarray):
        self.store = store
        self.map = tracks
        self.population = population
        self.n_tracks = tracks.n_tracks

    def nodes(self, i: int) -> pd.DataFrame:
        """Cells of the ``i``-th frame: ``frame``, ``label``, ``track_id``,
        ``parent_track_id`` (nullable), ``population`` (as ``run_pipeline`` had them)."""
        return self._nodes(self.store.part(i))

    def __iter__(self) -> Iterator[pd.DataFrame]:
        """:meth:`nodes` of every frame, in order."""
        for part in self.store:
            yield self._nodes(part)

    def _nodes(self, part: pd.DataFrame) -> pd.DataFrame:
        frame = part["frame"].to_numpy(np.int64)
        track, parent = self.map.tracks(part["chain"].to_numpy(np.int64), frame)
        out = pd.DataFrame({"frame": frame, "label": part["label"].to_numpy(np.int64),
                            "track_id": track.astype(np.int64)})
        out["parent_track_id"] = pd.array(parent, dtype="Int64")
        out.loc[parent <= 0, "parent_track_id"] = pd.NA
        out["population"] = pd.Series(self.population[track], dtype="str")
        return out

    def close(self) -> None:
        """Drop the per-frame tables."""
        self.store.close()


def link_and_classify(
    features: FrameTables, roles: Mapping[str, int], params: AnalysisParams,
    spill: Path | None = None,
) -> TrackLinks:
    """Tracks (:func:`~pgpviewer.core.tracking.track_cells`) and populations
    (:func:`~pgpviewer.core.classification.classify_cells`) of the cells of ``features``.

    Parameters
    ----------
    features : FrameTables
        One table per frame, in frame order, as :func:`~pgpviewer.core.measurements.
        frame_features` made them (with ``frame``).
    roles : mapping of str to int
        Channel roles.
    params : AnalysisParams
        ``tracking`` and ``classification``.
    spill : Path, optional
        Folder for the per-cell link table (None: in memory).

    Returns
    -------
    TrackLinks
        Equal, cell by cell, to the tracks and populations of the whole-table functions.

    Raises
    ------
    ValueError
        A label occurs twice in a frame, or a centroid is not finite.
    """
    tp, cp = params.tracking, params.classification
    method = resolve_method(roles, cp)
    has_area = "area_px" in features.empty().columns
    areas = None
    if tp.max_distance_px is None and has_area:
        areas = AreaMedian()
        for part in features:
            areas.add(part["area_px"].to_numpy(dtype=np.float64))
    use_area = has_area and tp.area_change_weight > 0
    tracker = StreamTracker(tp, max_distance(tp, areas))
    nodes = FrameTables(spill)
    for part in features:
        nodes.append(_link_frame(tracker, part, use_area, method, roles, cp))
    tmap = tracker.finish()
    votes = TrackVotes(tmap.n_tracks, method, roles)
    dyes = [r for r in DYE_OF.values() if r in roles]
    for part in nodes:
        frame = part["frame"].to_numpy(np.int64)
        track, _ = tmap.tracks(part["chain"].to_numpy(np.int64), frame)
        signals = {r: part[f"{r}_signal"].to_numpy(np.float64) for r in dyes}
        votes.add(track, int(frame[0]) if len(frame) else 0, part["call"].to_numpy(),
                  part["margin"].to_numpy(), signals)
    parents = {t: int(p) for t, p in enumerate(tmap.parent.tolist()) if p > 0}
    table = votes.result(parents, cp)
    population = np.full(tmap.n_tracks + 1, "unknown", dtype=object)
    population[table["track_id"].to_numpy(np.int64)] = table["population"].to_numpy(object)
    return TrackLinks(nodes, tmap, population)


def _link_frame(tracker, part, use_area, method, roles, cp) -> pd.DataFrame:
    """Give one frame's cells to the tracker; their label, chain id and population call."""
    label = part["label"].to_numpy(np.int64)
    frame = part["frame"].to_numpy(np.int64)
    if len(np.unique(frame)) > 1:
        raise ValueError("a per-frame feature table holds several frames")
    order = np.argsort(label, kind="stable")
    if len(label) and (np.diff(label[order]) == 0).any():
        k = order[np.flatnonzero(np.diff(label[order]) == 0)[0]]
        raise ValueError(f"label {label[k]} occurs twice in frame {frame[k]}")
    pos = part[["centroid_y", "centroid_x"]].to_numpy(dtype=np.float64)[order]
    if not np.isfinite(pos).all():
        raise ValueError("features have non-finite centroids")
    area = part["area_px"].to_numpy(dtype=np.float64)[order] if use_area else None
    chain = np.empty(len(label), np.int64)
    chain[order] = tracker.add(int(frame[0]) if len(frame) else 0, pos, area)
    if method != "none" and len(label):
        calls = classify_frame(part, roles, cp)
        codes, margin = call_codes(calls["call"]), calls["margin"].to_numpy(np.float64)
    else:
        codes, margin = np.full(len(label), 2, np.int8), np.full(len(label), np.nan)
    out = pd.DataFrame({"frame": frame, "label": label, "chain": chain, "call": codes,
                        "margin": margin})
    for r in DYE_OF.values():  # for the daughters' dye check (dye_lineage)
        if r in roles:
            col = f"{r}_signal"
            out[col] = (part[col].to_numpy(np.float64) if col in part
                        else np.full(len(label), np.nan))
    return out

