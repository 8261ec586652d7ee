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
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, min_weight_full_bipartite_matching
from scipy.spatial import cKDTree

from pgpviewer.core.params import TrackingParams

__all__ = ["LINK_COLUMNS", "max_distance", "solve_lap", "track_cells"]

#: Columns returned by :func:`track_cells`.
LINK_COLUMNS = ["frame", "label", "track_id", "parent_track_id"]

#: Cost of ending (or starting) a track, as a fraction of the cost of a link at the maximum
#: distance: an end plus a start cost exactly one link at ``max_distance_px``.
_ALT_FRACTION = 0.5
#: A division needs the mother within this fraction of the daughters' half-separation of their
#: midpoint (measured on real divisions: 0.07-0.4; a neighbour appearing beside a cell: ~1).
_DIVISION_MAX_RESIDUAL_RATIO = 0.5
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

    # nodes are rows in (frame, label) order; slices per frame
    uframes, starts = np.unique(f_sorted, return_index=True)
    bounds = dict(
        zip(uframes.tolist(), zip(starts.tolist(), [*starts[1:].tolist(), n], strict=True),
            strict=True)
    )
    succ, pred = _link_frames(pos, area, uframes, bounds, maxd, params)
    extra_src, extra_dst = _link_segments(pos, f_sorted, succ, pred, bounds, maxd, params)
    track, parent = _tracks_from_links(f_sorted, succ, extra_src, extra_dst)

    out = pd.DataFrame({"frame": frame, "label": label})
    inv = np.empty(n, dtype=np.int64)
    inv[order] = np.arange(n)
    out["track_id"] = track[inv]
    out["parent_track_id"] = pd.array(
        np.where(parent[inv] > 0, parent[inv], 0), dtype="Int64"
    )
    out.loc[parent[inv] <= 0, "parent_track_id"] = pd.NA
    return out


def max_distance(params: TrackingParams, area_px: np.ndarray | None = None) -> float:
    """The linking distance limit: ``params.max_distance_px``, or automatic.

    Automatic (``max_distance_px=None``): the median equivalent diameter
    ``sqrt(4 · area / π)`` of the cells, at least 5 px; 25 px when no areas are known.

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


def _penalised_cost(
    dist: np.ndarray, area: np.ndarray | None, i: np.ndarray, j: np.ndarray, weight: float
) -> np.ndarray:
    """Squared distance × (1 + w·1.5·|Δa|/(a_i + a_j))² (TrackMate's feature penalty)."""
    if area is None or weight <= 0:
        return dist**2
    ai, aj = area[i], area[j]
    rel = np.abs(ai - aj) / np.maximum(ai + aj, 1e-12)
    return (dist * (1.0 + weight * 1.5 * rel)) ** 2


def solve_lap(
    rows: np.ndarray,
    cols: np.ndarray,
    cost: np.ndarray,
    row_alt: float | np.ndarray,
    col_alt: float | np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Minimum-cost partial assignment on a sparse candidate list.

    Each row may stay unassigned at cost ``row_alt`` and each column at cost ``col_alt``; the
    problem is augmented to the square (R + C) LAP of Jaqaman et al. and solved with
    :func:`scipy.sparse.csgraph.min_weight_full_bipartite_matching`.

    Parameters
    ----------
    rows, cols : ndarray of int, shape (K,)
        Candidate pairs (any integer ids; each pair at most once).
    cost : ndarray of float, shape (K,)
        Cost of each candidate (≥ 0).
    row_alt, col_alt : float or ndarray
        Cost of leaving a row (column) unassigned, scalar or per candidate's row (column) id
        in the order of ``np.unique(rows)`` (``np.unique(cols)``).

    Returns
    -------
    assigned_rows, assigned_cols : ndarray of int
        The chosen pairs, as ids from ``rows`` and ``cols``.

    Examples
    --------
    >>> import numpy as np
    >>> solve_lap(np.array([0, 0, 1]), np.array([0, 1, 0]), np.array([1.0, 2.0, 1.5]), 5.0, 5.0)
    (array([0, 1]), array([1, 0]))
    """
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    if len(rows) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    urow, ri = np.unique(rows, return_inverse=True)
    ucol, ci = np.unique(cols, return_inverse=True)
    nr, nc = len(urow), len(ucol)
    # shift all weights by a constant: every full matching has nr + nc entries, so the optimum is
    # unchanged, and no weight is zero (sparse matrices would drop it)
    shift = 1.0
    w = np.concatenate(
        [
            cost + shift,
            np.broadcast_to(np.asarray(row_alt, dtype=np.float64) + shift, (nr,)),
            np.broadcast_to(np.asarray(col_alt, dtype=np.float64) + shift, (nc,)),
            np.full(len(ri), shift),
        ]
    )
    r = np.concatenate([ri, np.arange(nr), nr + np.arange(nc), nr + ci])
    c = np.concatenate([ci, nc + np.arange(nr), np.arange(nc), nc + ri])
    m = coo_matrix((w, (r, c)), shape=(nr + nc, nr + nc)).tocsr()
    _, match = min_weight_full_bipartite_matching(m)
    sel = np.flatnonzero(match[:nr] < nc)
    return urow[sel], ucol[match[sel]]


def _link_frames(pos, area, uframes, bounds, maxd, params):
    """Step 1: frame-to-frame LAP. Returns successor and predecessor node index (-1 = none)."""
    n = len(pos)
    succ = np.full(n, -1, dtype=np.int64)
    pred = np.full(n, -1, dtype=np.int64)
    alt = _ALT_FRACTION * maxd**2
    trees: dict[int, cKDTree] = {}

    def tree(t):
        if t not in trees:
            a, b = bounds[t]
            trees[t] = cKDTree(pos[a:b])
        return trees[t]

    for t in uframes.tolist():
        if t + 1 not in bounds:
            continue
        a0, _ = bounds[t]
        b0, _ = bounds[t + 1]
        m = tree(t).sparse_distance_matrix(tree(t + 1), maxd, output_type="ndarray")
        trees.pop(t, None)
        if len(m) == 0:
            continue
        i = m["i"].astype(np.int64) + a0
        j = m["j"].astype(np.int64) + b0
        cost = _penalised_cost(m["v"], area, i, j, params.area_change_weight)
        si, sj = solve_lap(i, j, cost, alt, alt)
        succ[si] = sj
        pred[sj] = si
    return succ, pred


def _link_segments(pos, frame, succ, pred, bounds, maxd, params):
    """Step 2: gap closing and splitting in one LAP. Returns extra edges (src, dst)."""
    gap = params.gap_closing_frames
    ends = np.flatnonzero(succ < 0)
    starts = np.flatnonzero(pred < 0)
    if len(starts) == 0 or (gap == 0 and not params.divisions):
        return np.empty(0, np.int64), np.empty(0, np.int64)
    first_frame = frame.min()
    starts = starts[frame[starts] > first_frame]  # cells in the first frame have no past
    ends_by_frame = _group(ends, frame[ends])
    starts_by_frame = _group(starts, frame[starts])

    cand_r, cand_c, cand_w = [], [], []
    # gap closing: end at t -> start at t + 2 ... t + 1 + gap (rows = end nodes)
    for t, e in ends_by_frame.items():
        te = cKDTree(pos[e])
        for k in range(2, gap + 2):
            s = starts_by_frame.get(t + k)
            if s is None:
                continue
            m = te.sparse_distance_matrix(cKDTree(pos[s]), maxd, output_type="ndarray")
            if len(m):
                cand_r.append(e[m["i"]])
                cand_c.append(s[m["j"]])
                cand_w.append(m["v"] ** 2)
    # splitting: start s at t + 1 -> a cell p at t that also continues to q at t + 1. The two
    # daughters q and s lie either side of where the mother was, so the mother must be near
    # their midpoint: residual |p - (q + s) / 2| <= ratio * |q - s| / 2, and the cost is the
    # squared residual (the mother's own displacement).
    if params.divisions:
        n = len(pos)
        for t1, s in starts_by_frame.items():
            if t1 - 1 not in bounds:
                continue
            a, b = bounds[t1 - 1]
            mothers = np.arange(a, b)[succ[a:b] >= 0]
            if len(mothers) == 0:
                continue
            m = cKDTree(pos[mothers]).sparse_distance_matrix(
                cKDTree(pos[s]), maxd, output_type="ndarray"
            )
            if len(m) == 0:
                continue
            p = mothers[m["i"]]
            d = s[m["j"]]
            q = succ[p]
            residual = np.linalg.norm(pos[p] - (pos[q] + pos[d]) / 2, axis=1)
            half_sep = np.linalg.norm(pos[q] - pos[d], axis=1) / 2
            ok = residual <= _DIVISION_MAX_RESIDUAL_RATIO * half_sep
            if ok.any():
                cand_r.append(p[ok] + n)
                cand_c.append(d[ok])
                cand_w.append(residual[ok] ** 2)
    if not cand_r:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    r = np.concatenate(cand_r)
    c = np.concatenate(cand_c)
    w = np.concatenate(cand_w)
    alt = _ALT_FRACTION * maxd**2
    sr, sc = solve_lap(r, c, w, alt, alt)
    n = len(pos)
    src = np.where(sr >= n, sr - n, sr)
    return src, sc


def _group(idx: np.ndarray, key: np.ndarray) -> dict[int, np.ndarray]:
    if len(idx) == 0:
        return {}
    o = np.argsort(key, kind="stable")
    k = key[o]
    cut = np.flatnonzero(np.diff(k)) + 1
    return {
        int(g[0]): i
        for g, i in zip(np.split(k, cut), np.split(idx[o], cut), strict=True)
    }


def _tracks_from_links(frame, succ, extra_src, extra_dst):
    """Turn links into track ids (int, from 1) and parent track ids (0 = none) per node."""
    n = len(frame)
    has = succ >= 0
    src = np.concatenate([np.flatnonzero(has), extra_src])
    dst = np.concatenate([succ[has], extra_dst])
    n_succ = np.bincount(src, minlength=n)
    cont = n_succ[src] == 1  # a cell with two successors ends its track (division)
    g = coo_matrix((np.ones(cont.sum()), (src[cont], dst[cont])), shape=(n, n))
    _, comp = connected_components(g, directed=False)
    # number tracks by their first node (nodes are sorted by frame, then label)
    first_node = np.full(comp.max() + 1, n, dtype=np.int64)
    np.minimum.at(first_node, comp, np.arange(n))
    rank = np.empty_like(first_node)
    rank[np.argsort(first_node, kind="stable")] = np.arange(1, len(first_node) + 1)
    track = rank[comp]
    div = ~cont
    parent_of_track = np.zeros(len(first_node) + 1, dtype=np.int64)
    parent_of_track[track[dst[div]]] = track[src[div]]
    parent = parent_of_track[track]
    return track, parent
