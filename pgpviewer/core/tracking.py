"""Linking cells over time: LAP tracking with gap closing and divisions.

The tracker follows Jaqaman et al. (2008, Nat Methods 5:695) as implemented in TrackMate and
laptrack, in two global optimisations solved as sparse linear assignment problems (LAP):

1. **Frame to frame.** Cells in frame ``t`` are linked to cells in frame ``t + 1``. A link costs
   the squared centroid distance, optionally inflated by the relative area change (TrackMate's
   feature penalty, ``area_change_weight``). Pairs farther apart than ``max_distance_px`` are
   never linked.
2. **Segments.** The chains from step 1 (segments) are joined in one LAP over the whole movie:
   *gap closing* links a segment end at frame ``t`` to a segment start at ``t + 2 …
   t + 1 + gap_closing_frames`` within ``max_distance_px`` (cost: squared distance), and
   *splitting* links a segment start ``s`` at ``t + 1`` to a cell ``p`` at ``t`` that continues
   to ``q`` at ``t + 1`` (a division into ``q`` and ``s``). Merging is not allowed.

**Distance limit.** ``max_distance_px``, or, when it is None (the default), the median cell
diameter ``sqrt(4 · area / π)`` from ``area_px`` (25 px without areas): daughters typically
appear half to one diameter from their mother, and a cell that moves more than its diameter per
frame cannot be followed reliably in a crowded culture anyway.

**Alternative costs.** Ending or starting a track costs half a link at the maximum distance, so
an end plus a start costs exactly one such link: a lone link within ``max_distance_px`` is always
made, but a chain of shifted links that costs more in total than breaking one track is not.
(TrackMate and laptrack use 1.05 × the largest candidate cost, which lets one missed cell shift
the identities of its neighbours in crowded fields; see ``benchmarks/bench_tracking.py``.)

**Divisions.** Daughters lie either side of where the mother was, so the mother must lie near the
midpoint of the two daughters: a split ``p → {q, s}`` is a candidate only when
``|p − (q + s)/2| ≤ 0.5 · |q − s|/2`` (the mother's own displacement is at most half the
daughters' half-separation; measured on real divisions 0.07–0.4, while a cell that merely
appears beside a moving neighbour gives ≈ 1), and it costs ``|p − (q + s)/2|²``. This removes
most false divisions that a distance-only split cost makes at field borders and in crowded
cultures, at the price of missing strongly asymmetric divisions (those daughters start new
tracks without a parent). A division is only linked when the new daughter appears in the frame
right after the mother (no gap).

**Track ids.** A cell with two successors ends its track; both daughters start **new** tracks
whose ``parent_track_id`` is the mother's track id. Tracks are numbered from 1 in order of their
first frame (then label), so the numbering does not depend on the row order of the input.

The cost matrices are built with :class:`scipy.spatial.cKDTree` and solved with
:func:`scipy.sparse.csgraph.min_weight_full_bipartite_matching` (LAPJVsp); 2000 cells ×
100 frames take about a second.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pgpviewer.core.params import TrackingParams
from pgpviewer.core.track_stream import AreaMedian, StreamTracker, solve_lap

__all__ = ["LINK_COLUMNS", "max_distance", "solve_lap", "track_cells"]

#: Columns returned by :func:`track_cells`.
LINK_COLUMNS = ["frame", "label", "track_id", "parent_track_id"]

#: Linking distance when it is automatic and no cell areas are known.
_DEFAULT_MAX_DISTANCE = 25.0


def track_cells(features: pd.DataFrame, params: TrackingParams | None = None) -> pd.DataFrame:
    """Link cells across frames into tracks with gap closing and divisions.

    Parameters
    ----------
    features : DataFrame
        One row per cell per frame with columns ``frame`` (int; any offset), ``label`` (int,
        unique within a frame), ``centroid_y`` and ``centroid_x`` (pixels). ``area_px``, when
        present, sets the automatic distance limit (see :func:`max_distance`) and the
        area-change penalty. Other columns are ignored. Frames without cells may be missing.
    params : TrackingParams, optional
        Linking distance, gap closing, divisions and area penalty; defaults to
        ``TrackingParams()``.

    Returns
    -------
    DataFrame
        One row per input row, in input order, with columns ``frame``, ``label``, ``track_id``
        (int64, ≥ 1) and ``parent_track_id`` (nullable Int64; ``<NA>`` unless the track is a
        daughter of a division, then the mother's track id).

    Raises
    ------
    ValueError
        When required columns are missing, a (frame, label) pair occurs twice or a centroid is
        not finite.

    Notes
    -----
    A mother track ends at the frame before its daughters appear. A division is only linked when
    a new segment appears in the frame right after the mother (no gap); a daughter missed in its
    first frame starts a track without a parent.

    Examples
    --------
    Two cells move right; the lower one divides in frame 2:

    >>> import pandas as pd
    >>> feats = pd.DataFrame({
    ...     "frame": [0, 0, 1, 1, 2, 2, 2],
    ...     "label": [1, 2, 1, 2, 1, 2, 3],
    ...     "centroid_y": [10.0, 50.0, 10.0, 50.0, 10.0, 44.0, 57.0],
    ...     "centroid_x": [10.0, 10.0, 13.0, 13.0, 16.0, 16.0, 16.0],
    ... })
    >>> track_cells(feats)
       frame  label  track_id  parent_track_id
    0      0      1         1             <NA>
    1      0      2         2             <NA>
    2      1      1         1             <NA>
    3      1      2         2             <NA>
    4      2      1         1             <NA>
    5      2      2         3                2
    6      2      3         4                2
    """
    params = params or TrackingParams()
    missing = {"frame", "label", "centroid_y", "centroid_x"} - set(features.columns)
    if missing:
        raise ValueError(f"features lack column(s) {sorted(missing)}")
    n = len(features)
    if n == 0:
        return _empty_links()
    frame = features["frame"].to_numpy(dtype=np.int64)
    label = features["label"].to_numpy(dtype=np.int64)
    order = np.lexsort((label, frame))
    f_sorted = frame[order]
    dup = (np.diff(f_sorted) == 0) & (np.diff(label[order]) == 0)
    if dup.any():
        k = order[np.flatnonzero(dup)[0]]
        raise ValueError(f"label {label[k]} occurs twice in frame {frame[k]}")
    pos = features[["centroid_y", "centroid_x"]].to_numpy(dtype=np.float64)[order]
    if not np.isfinite(pos).all():
        raise ValueError("features have non-finite centroids")
    area = None
    if "area_px" in features.columns:
        area = features["area_px"].to_numpy(dtype=np.float64)[order]
    maxd = max_distance(params, area)
    if params.area_change_weight <= 0:
        area = None

    # nodes are rows in (frame, label) order, given to the tracker a frame at a time
    uframes, starts = np.unique(f_sorted, return_index=True)
    stops = [*starts[1:].tolist(), n]
    tracker = StreamTracker(params, maxd)
    chain = np.empty(n, dtype=np.int64)
    for t, a, b in zip(uframes.tolist(), starts.tolist(), stops, strict=True):
        chain[a:b] = tracker.add(t, pos[a:b], None if area is None else area[a:b])
    track, parent = tracker.finish().tracks(chain, f_sorted)

    out = pd.DataFrame({"frame": frame, "label": label})
    inv = np.empty(n, dtype=np.int64)
    inv[order] = np.arange(n)
    out["track_id"] = track[inv]
    out["parent_track_id"] = pd.array(
        np.where(parent[inv] > 0, parent[inv], 0), dtype="Int64"
    )
    out.loc[parent[inv] <= 0, "parent_track_id"] = pd.NA
    return out


def max_distance(
    params: TrackingParams, area_px: np.ndarray | AreaMedian | None = None
) -> float:
    """The linking distance limit: ``params.max_distance_px``, or automatic.

    Automatic (``max_distance_px=None``): the median equivalent diameter
    ``sqrt(4 · area / π)`` of the cells, at least 5 px; 25 px when no areas are known.

    Parameters
    ----------
    params : TrackingParams
        ``max_distance_px``.
    area_px : ndarray or AreaMedian, optional
        The cells' areas, or an :class:`~pgpviewer.core.track_stream.AreaMedian` that counted
        them frame by frame (same result).

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> round(max_distance(TrackingParams(), np.array([314.0, 320.0, 300.0])), 1)
    20.0
    >>> max_distance(TrackingParams(max_distance_px=12.0))
    12.0
    """
    if params.max_distance_px is not None:
        return float(params.max_distance_px)
    if area_px is None:
        return _DEFAULT_MAX_DISTANCE
    if isinstance(area_px, AreaMedian):
        d = area_px.median()
        return _DEFAULT_MAX_DISTANCE if d is None else max(d, 5.0)
    a = np.asarray(area_px, dtype=np.float64)
    a = a[np.isfinite(a) & (a > 0)]
    if len(a) == 0:
        return _DEFAULT_MAX_DISTANCE
    return max(float(np.median(np.sqrt(4.0 * a / np.pi))), 5.0)


def _empty_links() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "frame": pd.Series([], dtype=np.int64),
            "label": pd.Series([], dtype=np.int64),
            "track_id": pd.Series([], dtype=np.int64),
            "parent_track_id": pd.Series([], dtype="Int64"),
        }
    )
