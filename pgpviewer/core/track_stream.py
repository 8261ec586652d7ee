"""The LAP tracker of :mod:`pgpviewer.core.tracking`, fed one frame at a time.

:func:`~pgpviewer.core.tracking.track_cells` links a whole table at once; a long movie's table
does not fit in memory, so the pipeline gives the frames to a :class:`StreamTracker` in order
instead. It keeps only what the two LAP steps need beyond the current frame:

- **frame to frame**: the previous frame's positions (its successors are decided when the next
  frame arrives);
- **gap closing**: the track ends of the last ``gap_closing_frames + 1`` frames, matched against
  the starts of each new frame, and **splitting**: the previous frame's cells that continue,
  matched against the new frame's starts. Both give candidate links, small lists (one per end
  or start, not per cell), solved in one LAP at the end as before.

Each cell is given the id of its *chain* (its run of frame-to-frame links) as it arrives; the
caller keeps these ids (e.g. in a per-frame table on disk). :meth:`StreamTracker.finish` solves
the segment LAP and returns a :class:`TrackMap`, which turns (chain, frame) into the track id
and the parent track id. Candidates are built from the same positions in the same order and
solved by the same LAP as in the one-table form, so the tracks are identical.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, min_weight_full_bipartite_matching
from scipy.spatial import cKDTree

from pgpviewer.core.params import TrackingParams

__all__ = ["AreaMedian", "StreamTracker", "TrackMap", "solve_lap"]

#: Cost of ending (or starting) a track, as a fraction of the cost of a link at the maximum
#: distance: an end plus a start cost exactly one link at ``max_distance_px``.
_ALT_FRACTION = 0.5
#: A division needs the mother within this fraction of the daughters' half-separation of their
#: midpoint (measured on real divisions: 0.07-0.4; a neighbour appearing beside a cell: ~1).
_DIVISION_MAX_RESIDUAL_RATIO = 0.5
_KEY = np.int64(1) << np.int64(32)  # (chain, frame) as one sortable integer
_FRAME0 = np.int64(1) << np.int64(31)  # frames may be negative


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


class AreaMedian:
    """The median equivalent diameter ``sqrt(4 · area / π)`` of cells given frame by frame.

    Keeps one count per distinct area (pixel counts are integers), so the exact median of all
    cells is found without keeping one value per cell; equal to ``np.median`` of all values.

    Examples
    --------
    >>> m = AreaMedian()
    >>> m.add(np.array([314.0, 320.0]))
    >>> m.add(np.array([300.0, np.nan]))
    >>> round(m.median(), 3) == round(float(np.median(np.sqrt(4 * np.array(
    ...     [314.0, 320.0, 300.0]) / np.pi))), 3)
    True
    """

    def __init__(self):
        self._counts: dict[float, int] = {}

    def add(self, area) -> None:
        """Count the finite, positive areas of one frame.

        Parameters
        ----------
        area : array-like of float
            The frame's cell areas (pixels).
        """
        a = np.asarray(area, dtype=np.float64)
        a = a[np.isfinite(a) & (a > 0)]
        values, counts = np.unique(a, return_counts=True)
        for v, c in zip(values.tolist(), counts.tolist(), strict=True):
            self._counts[v] = self._counts.get(v, 0) + c

    def median(self) -> float | None:
        """The median equivalent diameter.

        Returns
        -------
        float or None
            None when no area was counted.
        """
        if not self._counts:
            return None
        values = np.array(sorted(self._counts), dtype=np.float64)
        cum = np.cumsum([self._counts[v] for v in values.tolist()])
        n = int(cum[-1])
        kth = [n // 2] if n % 2 else [n // 2 - 1, n // 2]
        picked = values[np.searchsorted(cum, np.array(kth) + 1, side="left")]
        return float(np.median(np.sqrt(4.0 * picked / np.pi)))


@dataclass
class _Frame:
    frame: int
    first: int  # global id of the frame's first cell
    pos: np.ndarray
    area: np.ndarray | None
    chain: np.ndarray
    tree: cKDTree


def _cost(dist, ai, aj, weight):
    """Squared distance × (1 + w·1.5·|Δa|/(a_i + a_j))² (TrackMate's feature penalty)."""
    if ai is None or weight <= 0:
        return dist**2
    rel = np.abs(ai - aj) / np.maximum(ai + aj, 1e-12)
    return (dist * (1.0 + weight * 1.5 * rel)) ** 2


class StreamTracker:
    """Link cells frame by frame (frames in increasing order, cells by increasing label).

    Parameters
    ----------
    params : TrackingParams
        Gap closing, divisions and the area penalty.
    max_distance : float
        The linking distance limit (:func:`~pgpviewer.core.tracking.max_distance`).
    """

    def __init__(self, params: TrackingParams, max_distance: float):
        self.params = params
        self.maxd = float(max_distance)
        self.alt = _ALT_FRACTION * self.maxd**2
        self.n = 0
        self._prev: _Frame | None = None
        self._first_frame: int | None = None
        self._chain_first: list[np.ndarray] = []
        self._n_chains = 0
        self._ends: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._gap: list[tuple[tuple[int, int], tuple]] = []
        self._split: list[tuple] = []

    def add(self, frame: int, pos: np.ndarray, area: np.ndarray | None = None) -> np.ndarray:
        """Add one frame's cells and link them to the previous frame's.

        Parameters
        ----------
        frame : int
            The frame (greater than every frame added before).
        pos : ndarray of float, shape (k, 2)
            Centroids (y, x) of the frame's cells, in increasing label order.
        area : ndarray of float, shape (k,), optional
            Areas for the area-change penalty (None: no penalty).

        Returns
        -------
        ndarray of int, shape (k,)
            Each cell's chain id (for :meth:`TrackMap.tracks`).
        """
        frame = int(frame)
        pos = np.asarray(pos, dtype=np.float64).reshape(-1, 2)
        k = len(pos)
        if k == 0:
            return np.empty(0, np.int64)
        first = self.n
        ids = first + np.arange(k, dtype=np.int64)
        pred = np.full(k, -1, dtype=np.int64)
        tree = cKDTree(pos)
        prev = self._prev
        linked = prev is not None and prev.frame == frame - 1
        succ_prev = None
        if prev is not None:
            succ_prev = np.full(len(prev.pos), -1, dtype=np.int64)
            if linked:
                m = prev.tree.sparse_distance_matrix(tree, self.maxd, output_type="ndarray")
                if len(m):
                    li, lj = m["i"].astype(np.int64), m["j"].astype(np.int64)
                    cost = _cost(m["v"], None if area is None else prev.area[li],
                                 None if area is None else area[lj],
                                 self.params.area_change_weight)
                    si, sj = solve_lap(li + prev.first, lj + first, cost, self.alt, self.alt)
                    succ_prev[si - prev.first] = sj
                    pred[sj - first] = si
            ends = np.flatnonzero(succ_prev < 0)
            if len(ends):
                self._ends[prev.frame] = (ends + prev.first, prev.pos[ends], prev.chain[ends])
        chain = np.empty(k, dtype=np.int64)
        cont = pred >= 0
        chain[cont] = prev.chain[pred[cont] - prev.first] if cont.any() else 0
        new = np.flatnonzero(~cont)
        chain[new] = self._n_chains + np.arange(len(new))
        self._n_chains += len(new)
        self._chain_first.append(ids[new])
        if self._first_frame is None:
            self._first_frame = frame  # cells in the first frame have no past
        else:
            self._candidates(frame, pos, ids, chain, new, prev if linked else None, succ_prev)
        gap = self.params.gap_closing_frames
        for t in [t for t in self._ends if t < frame - gap]:
            del self._ends[t]
        self._prev = _Frame(frame, first, pos, None if area is None else np.asarray(area, float),
                            chain, tree)
        self.n += k
        return chain

    def _candidates(self, frame, pos, ids, chain, starts, prev, succ_prev) -> None:
        """Gap-closing and splitting candidates for the starts of ``frame``."""
        if len(starts) == 0:
            return
        s_ids, s_pos, s_chain = ids[starts], pos[starts], chain[starts]
        gap = self.params.gap_closing_frames
        s_tree = None
        for k in range(2, gap + 2):
            e = self._ends.get(frame - k)
            if e is None:
                continue
            s_tree = s_tree if s_tree is not None else cKDTree(s_pos)
            m = cKDTree(e[1]).sparse_distance_matrix(s_tree, self.maxd, output_type="ndarray")
            if len(m):
                self._gap.append(((frame - k, k), (
                    e[0][m["i"]], s_ids[m["j"]], m["v"] ** 2, e[2][m["i"]], s_chain[m["j"]])))
        if not self.params.divisions or prev is None:
            return
        mothers = np.flatnonzero(succ_prev >= 0)
        if len(mothers) == 0:
            return
        m = cKDTree(prev.pos[mothers]).sparse_distance_matrix(
            cKDTree(s_pos), self.maxd, output_type="ndarray"
        )
        if len(m) == 0:
            return
        p = mothers[m["i"]]
        d = m["j"]
        q = succ_prev[p] - ids[0]
        pp, pq, pd_ = prev.pos[p], pos[q], s_pos[d]
        residual = np.linalg.norm(pp - (pq + pd_) / 2, axis=1)
        half_sep = np.linalg.norm(pq - pd_, axis=1) / 2
        ok = residual <= _DIVISION_MAX_RESIDUAL_RATIO * half_sep
        if ok.any():
            self._split.append((
                p[ok] + prev.first, s_ids[d[ok]], residual[ok] ** 2, q[ok] + ids[0],
                prev.chain[p[ok]], s_chain[d[ok]], frame - 1,
            ))

    def finish(self) -> TrackMap:
        """Solve the segment LAP (gap closing and divisions) and number the tracks.

        Returns
        -------
        TrackMap
            Track ids and parents of the cells added, by chain id and frame.
        """
        n = self.n
        chain_first = (np.concatenate(self._chain_first) if self._chain_first
                       else np.empty(0, np.int64))
        gap = [b for _, b in sorted(self._gap, key=lambda kb: kb[0])]
        blocks = [(b[0], b[1], b[2]) for b in gap]
        blocks += [(b[0] + n, b[1], b[2]) for b in self._split]
        chain_of: dict[int, int] = {}
        for b in gap:
            chain_of.update(zip(b[0].tolist(), b[3].tolist(), strict=True))
            chain_of.update(zip(b[1].tolist(), b[4].tolist(), strict=True))
        split_of: dict[int, tuple[int, int, int]] = {}
        for b in self._split:
            for p, q, cp, f in zip(b[0].tolist(), b[3].tolist(), b[4].tolist(),
                                   [b[6]] * len(b[0]), strict=True):
                split_of[p] = (q, cp, f)
            chain_of.update(zip(b[1].tolist(), b[5].tolist(), strict=True))
        joins: list[tuple[int, int]] = []  # (end chain, start chain): the track continues
        cuts: list[tuple[int, int, int, int]] = []  # (chain, frame, q, daughter's chain)
        if blocks:
            r = np.concatenate([b[0] for b in blocks])
            c = np.concatenate([b[1] for b in blocks])
            w = np.concatenate([b[2] for b in blocks])
            sr, sc = solve_lap(r, c, w, self.alt, self.alt)
            for a, b in zip(sr.tolist(), sc.tolist(), strict=True):
                if a >= n:
                    q, cp, f = split_of[a - n]
                    cuts.append((cp, f, q, chain_of[b]))
                else:
                    joins.append((chain_of[a], chain_of[b]))
        return TrackMap(self._n_chains, chain_first, joins, cuts)


class TrackMap:
    """Track ids from chain ids: chains cut at divisions, joined by gap closing.

    Parameters
    ----------
    n_chains : int
        Number of chains.
    chain_first : ndarray of int
        Global id of each chain's first cell.
    joins : list of (int, int)
        Gap-closing links: (chain that ends, chain that starts).
    cuts : list of (int, int, int, int)
        Divisions: (mother's chain, mother's frame, global id of the mother's successor in its
        chain, the other daughter's chain).
    """

    def __init__(self, n_chains: int, chain_first: np.ndarray, joins, cuts):
        cuts = sorted(cuts)
        n_cuts = np.bincount(np.array([c[0] for c in cuts], np.int64), minlength=n_chains)
        base = (np.cumsum(1 + n_cuts) - (1 + n_cuts)).astype(np.int64)
        n_pieces = int(n_chains + len(cuts))
        self._cut_keys = np.array([c[0] * _KEY + _FRAME0 + c[1] for c in cuts], np.int64)
        self._base = base
        piece_first = np.empty(n_pieces, np.int64)
        piece_first[base] = chain_first
        src, dst = [], []
        k_of_chain: dict[int, int] = {}
        div: list[tuple[int, int, int]] = []  # (mother's piece, daughter piece, daughter piece)
        for cp, _f, q, cs in cuts:
            k = k_of_chain.get(cp, 0)
            k_of_chain[cp] = k + 1
            piece_first[base[cp] + k + 1] = q
            div.append((base[cp] + k, base[cp] + k + 1, base[cs]))
        for ce, cs in joins:
            src.append(base[ce] + n_cuts[ce])
            dst.append(base[cs])
        g = coo_matrix((np.ones(len(src)), (src, dst)), shape=(n_pieces, n_pieces))
        n_comp, comp = (connected_components(g, directed=False) if n_pieces
                        else (0, np.empty(0, np.int64)))
        first_node = np.full(n_comp, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(first_node, comp, piece_first)
        rank = np.empty(n_comp, np.int64)
        rank[np.argsort(first_node, kind="stable")] = np.arange(1, n_comp + 1)
        self.piece_track = rank[comp]
        self.parent = np.zeros(n_comp + 1, np.int64)  # by track id; 0 = none
        for mother, a, b in div:
            self.parent[self.piece_track[a]] = self.piece_track[mother]
            self.parent[self.piece_track[b]] = self.piece_track[mother]
        self.n_tracks = int(n_comp)

    def tracks(self, chain: np.ndarray, frame) -> tuple[np.ndarray, np.ndarray]:
        """Track id and parent track id of cells given their chain and frame.

        Parameters
        ----------
        chain : ndarray of int
            Chain ids (from :meth:`StreamTracker.add`).
        frame : int or ndarray of int
            The cells' frames.

        Returns
        -------
        track, parent : ndarray of int
            Track ids (from 1, numbered as :func:`~pgpviewer.core.tracking.track_cells` does)
            and parent track ids (0: none).
        """
        chain = np.asarray(chain, np.int64)
        frame = np.broadcast_to(np.asarray(frame, np.int64), chain.shape)
        k = (np.searchsorted(self._cut_keys, chain * _KEY + _FRAME0 + frame, side="left")
             - np.searchsorted(self._cut_keys, chain * _KEY, side="left"))
        track = self.piece_track[self._base[chain] + k] if len(chain) else np.empty(0, np.int64)
        return track, self.parent[track]
