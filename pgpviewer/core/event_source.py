"""Source donor of a remote (vesicle-mediated) transfer event, traced from P-gp puncta.

A recipient that acquires P-gp without touching a donor received it in a vesicle (or along a
nanotube) that left a donor some frames earlier. A distance rule does not identify that donor:
vesicles travel many cell diameters and the nearest donor is usually not the one that released
it. The puncta do: a vesicle is a diffraction-limited P-gp spot that leaves the releasing
donor's facing edge, moves on a roughly straight path, and becomes the recipient's new punctum
at the onset. This module reads that path back from the per-frame spot table (``frame``, ``y``,
``x``, ``label``, optionally ``snr``; :func:`~pgpviewer.core.puncta.detect_puncta`) and the
cells table. It uses image-derived tables only.

Method (:func:`remote_source`), for a recipient whose onset is frame ``f0``:

1. **Arrival.** The arrival frames ``fa`` are the run of frames, ending at ``f0``, in which the
   recipient contains a punctum, at most ``vesicle_lookback_frames`` back (the onset found
   from the P-gp score can lag the arrival); ``f0 + 1`` when the recipient has no punctum at
   ``f0``. Every punctum ``a`` of the recipient at ``fa`` is a candidate arrival point; ``e``
   is the recipient's centroid and ``r_e`` its equivalent radius at ``fa``.
2. **Path in transit.** A *free* spot lies outside every cell, or in a cell that is neither a
   donor nor P-gp positive in that frame (such a cell has no puncta of its own; the recipient's
   own puncta before ``fa`` are excluded: they had already arrived), with ``snr >=
   vesicle_min_snr``. A path starts at a free spot ``p1`` of frame ``fa - 1`` within
   ``vesicle_max_step_px + r_e`` of ``e``. Its velocity ``v`` (pointing back to the source) is
   ``p2 - p1`` for a spot ``p2`` of frame ``fa - 2`` (free or in a donor) whose constant-velocity
   extrapolation ``2 p1 - p2`` lands within ``2 × vesicle_path_tolerance_px`` of an arrival
   point, or ``p1 - a`` for an arrival point ``a`` on the line from ``e`` to ``p1`` (off it by at
   most ``vesicle_path_tolerance_px + arrival_position_error_px``). The path then continues
   backwards: the spot of the next earlier frame must lie within ``vesicle_path_tolerance_px``
   of the last position plus ``v``, up to ``fa - vesicle_lookback_frames``. A vesicle that
   crosses another P-gp positive cell is seen inside it, so ``p1`` or ``p2`` may also be a spot
   in such a cell (with ``snr >= vesicle_min_snr``, and never the recipient's own) when the
   path moves more than ``2 × vesicle_path_tolerance_px`` per frame (resident puncta move with
   their cell); such a path counts only when it has at least 3 spots or ends at a release seen
   inside a donor (step 3), since chance alignments of two resident puncta are common.
3. **Release point.** A donor releases a vesicle from inside its facing edge, so its centroid
   lies on the path's line behind the release point: at most 2 equivalent radii ``r`` further
   along ``v`` and at most ``max(0.5 r, vesicle_path_tolerance_px)`` off the line. A path spot
   inside a donor (its mask, or within ``r`` of its centroid) must be such a release point of
   that donor, with its centroid behind the spot (not further than the spot towards the
   recipient: a punctum on the donor's far side was not released towards it), and a spot in a
   donor's mask must be that donor's release point, which is then the source; otherwise it
   is the donor's own punctum and the path is rejected. A path that never enters a donor was
   released one step before its earliest spot ``p_m``, at ``p_m + v`` (the release spot inside
   a donor is often too faint against the donor's own P-gp to be detected), by the donor so
   placed, else at ``p_m`` itself (a donor whose mask misses its dim edge); when there is
   none, the vesicle came from no donor (an unlabelled cell, debris, the medium) and the event
   has no source donor.
4. **Release seen at the donor.** A vesicle that crosses in a single frame is only seen at
   ``fa - 1`` inside its donor: a donor's spot within ``vesicle_range_px`` counts when its
   direction from ``e`` matches an arrival point's (within ``2σ``, ``σ =
   arrival_position_error_px / |a − e|``) and it sits on the donor's facing edge on that line
   (0.5–1.5 ``r`` in front of the centroid, at most ``vesicle_path_tolerance_px + 0.15 r`` off
   the line: a mask's centroid is uncertain by up to ~0.15 ``r``, the 90th percentile on
   simulated co-cultures). Such a spot is weak evidence: donors carry puncta of their own, and
   one sits there by chance for 6 % of the donors in the arrival direction (for 23 % of the
   sources; simulated co-cultures, all conditions pooled), so with
   ``vesicle_release_likelihood_ratio`` = λ > 0 (default 3.5, about that ratio) it adds
   ``log λ`` to that donor's direction score (step 5) instead of overruling the direction
   (λ = 0: it ranks above every direction-only hypothesis, as in parameter files before
   format 4).
5. **Direction only.** Otherwise the arrival point still lies on the line from the recipient's
   centre towards the source. Each donor within ``vesicle_range_px`` (centroid at ``fa - 1``)
   scores ``−Δ² / 2σ² − log σ − log d`` (a normalised Gaussian log-likelihood, so that an
   arrival point near the centre, whose direction is uninformative, cannot win on the
   distance prior alone): ``Δ`` the angle between ``a − e`` and the donor's direction, ``σ``
   the arrival's angular error plus a third of the donor's angular radius, ``d`` its distance
   (nearer donors deliver more vesicles). The best donor with ``|Δ| ≤ 3σ`` over all arrival
   points is the source; no donor fits: no source.
6. **Choice.** Longer traced paths win (with λ = 0, a release seen at the donor ranks between
   a one-spot path and direction only); among paths of equal length, one ending at a donor
   beats one that ends nowhere (a release point exactly on a donor's facing edge is no
   coincidence), then the smaller mean deviation from the straight path; among
   direction-only hypotheses, the score.

:func:`remote_source` returns the donor's track id, ``0`` for "a vesicle from no donor", or
``None`` when the recipient has no punctum in the window (no evidence: the caller falls back to
the nearest donor).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pgpviewer.core.columns import flag_column, numeric_column
from pgpviewer.core.params import EventParams

__all__ = ["SourceContext", "frames_of", "remote_source", "spots_of"]

_RELEASE_DEPTH = 2.0  # a donor's centroid lies at most this many radii behind a release point
_RELEASE_REACH = 0.5  # ...and at most this many radii off the path's line
_CONFIRM = 3  # spots that confirm a path crossing another cell without a release seen
_CENTROID_ERROR = 0.15  # uncertainty of a mask's centroid, in equivalent radii (~90th pct.)
_DIRECT_RANK = 0.5  # a release spot seen at its donor ranks between direction and path


@dataclass
class _Frame:
    label_row: dict[int, int]  # label -> row in the frame arrays
    track: np.ndarray
    donor: np.ndarray  # bool
    positive: np.ndarray  # bool
    cy: np.ndarray
    cx: np.ndarray
    radius: np.ndarray  # equivalent radius sqrt(area / pi) (NaN when unknown)


@dataclass
class _Spots:
    y: np.ndarray
    x: np.ndarray
    label: np.ndarray
    snr: np.ndarray


@dataclass
class _Hypothesis:
    n_path: float  # spots on the traced path (0 = direction only, 0.5 = release spot only)
    residual: float  # mean distance of path spots from the straight-line prediction
    score: float  # direction score (higher is better)
    donor: int  # track id, 0 = no donor


class SourceContext:
    """Per-frame cells and spots, indexed once for all the events of a movie.

    Parameters
    ----------
    cells : DataFrame
        Cells table with ``frame``, ``label``, ``track_id``, ``centroid_y``, ``centroid_x`` and
        optionally ``area_px`` and ``pgp_positive``.
    spots : DataFrame
        Puncta with ``frame``, ``y``, ``x`` and ``label`` (0 outside cells).
    donor_tracks : set of int
        Track ids whose population is donor.
    min_snr : float
        Smallest ``snr`` of a free spot (spots without ``snr`` always qualify).
    tolerance : float
        Path tolerance in pixels (``EventParams.vesicle_path_tolerance_px``).
    """

    def __init__(
        self, cells: pd.DataFrame, spots: pd.DataFrame, donor_tracks: set[int],
        min_snr: float = 0.0, tolerance: float = 3.0,
    ):
        self.min_snr = min_snr
        self.tolerance = tolerance
        self.frames: Mapping[int, _Frame] = frames_of(cells, donor_tracks)
        self.spots: Mapping[int, _Spots] = spots_of(spots)

    @classmethod
    def from_mappings(
        cls, frames: Mapping[int, _Frame], spots: Mapping[int, _Spots], min_snr: float = 0.0,
        tolerance: float = 3.0,
    ) -> SourceContext:
        """A context on per-frame cells and spots that are already indexed (e.g. mappings that
        read a frame from disk when it is asked for; see :func:`frames_of`, :func:`spots_of`).
        ``frames`` must iterate over its frames in increasing order."""
        ctx = cls.__new__(cls)
        ctx.min_snr, ctx.tolerance, ctx.frames, ctx.spots = min_snr, tolerance, frames, spots
        return ctx

    def _free(self, f: int) -> np.ndarray:
        """Spots of frame ``f`` outside donors and P-gp-positive cells, bright enough."""
        s, fr = self.spots.get(f), self.frames.get(f)
        if s is None:
            return np.zeros(0, bool)
        if fr is None:
            return (s.label == 0) & (s.snr >= self.min_snr)
        out = s.snr >= self.min_snr
        for i, lab in enumerate(s.label.tolist()):
            r = fr.label_row.get(lab)
            if lab != 0 and r is not None and (fr.donor[r] or fr.positive[r]):
                out[i] = False
        return out

    def _in_donor(self, f: int) -> np.ndarray:
        """Spots of frame ``f`` inside a donor."""
        s, fr = self.spots.get(f), self.frames.get(f)
        if s is None or fr is None:
            return np.zeros(0 if s is None else len(s.label), bool)
        return np.array([self._donor_at(f, lab) is not None for lab in s.label.tolist()], bool)

    def _in_donor_body(self, f: int, p: np.ndarray, lab: int) -> bool:
        """Whether point ``p`` of frame ``f`` (label ``lab``) is in a donor: its mask, or
        within the equivalent radius of a donor's centroid (a mask can miss a dim edge)."""
        if self._donor_at(f, lab) is not None:
            return True
        fr = self.frames.get(f)
        if fr is None:
            return False
        i = np.flatnonzero(fr.donor)
        return bool((np.hypot(fr.cy[i] - p[0], fr.cx[i] - p[1]) < fr.radius[i]).any())

    def _donor_at(self, f: int, lab: int) -> int | None:
        fr = self.frames.get(f)
        r = fr.label_row.get(lab) if fr is not None and lab != 0 else None
        return int(fr.track[r]) if r is not None and fr.donor[r] else None


def frames_of(cells: pd.DataFrame, donor_tracks: set[int]) -> dict[int, _Frame]:
    """Cells by frame, as :class:`SourceContext` indexes them.

    Parameters
    ----------
    cells : DataFrame
        As for :class:`SourceContext`.
    donor_tracks : set of int
        Track ids of donors.

    Returns
    -------
    dict of int to _Frame
        In increasing frame order.
    """
    out: dict[int, _Frame] = {}
    area = numeric_column(cells, "area_px")
    positive = flag_column(cells, "pgp_positive")
    frame = cells["frame"].astype(np.int64).to_numpy()
    label = cells["label"].astype(np.int64).to_numpy()
    track = cells["track_id"].astype(np.int64).to_numpy()
    cy = numeric_column(cells, "centroid_y")
    cx = numeric_column(cells, "centroid_x")
    donor = np.isin(track, list(donor_tracks))
    order = np.argsort(frame, kind="stable")
    cuts = np.flatnonzero(np.diff(frame[order])) + 1
    for rows in np.split(order, cuts) if len(order) else []:
        out[int(frame[rows[0]])] = _Frame(
            label_row={int(v): i for i, v in enumerate(label[rows].tolist())},
            track=track[rows], donor=donor[rows], positive=positive[rows],
            cy=cy[rows], cx=cx[rows], radius=np.sqrt(area[rows] / np.pi),
        )
    return out


def spots_of(spots: pd.DataFrame) -> dict[int, _Spots]:
    """Spots by frame, as :class:`SourceContext` indexes them.

    Parameters
    ----------
    spots : DataFrame
        As for :class:`SourceContext`.

    Returns
    -------
    dict of int to _Spots
        Frames with at least one spot.
    """
    out: dict[int, _Spots] = {}
    if len(spots):
        sf = spots["frame"].astype(np.int64).to_numpy()
        sy = numeric_column(spots, "y")
        sx = numeric_column(spots, "x")
        sl = pd.to_numeric(spots["label"], errors="coerce").fillna(0).astype(np.int64)
        sl = sl.to_numpy()
        snr = (
            pd.to_numeric(spots["snr"], errors="coerce").fillna(np.inf).to_numpy(float)
            if "snr" in spots.columns else np.full(len(spots), np.inf)
        )
        for f in np.unique(sf).tolist():
            m = sf == f
            out[int(f)] = _Spots(sy[m], sx[m], sl[m], snr[m])
    return out


def remote_source(
    ctx: SourceContext, lineage: dict[int, int], labels: np.ndarray, f0: int,
    params: EventParams,
) -> int | None:
    """Source donor of a remote event from the vesicle path (see the module docstring).

    Parameters
    ----------
    ctx : SourceContext
        Cells and spots of the movie.
    lineage : dict of int to int
        Frame → row in the cells table of the recipient (its track and ancestors).
    labels : ndarray of int
        ``label`` column of the cells table (indexed by the rows in ``lineage``).
    f0 : int
        Event (onset) frame.
    params : EventParams
        ``vesicle_*`` and ``arrival_position_error_px`` settings.

    Returns
    -------
    int or None
        Donor track id; ``0`` when the vesicle came from no donor; ``None`` when the recipient
        has no punctum in the window (no evidence).

    Examples
    --------
    A vesicle seen at (20, 40) one frame before it arrives at (20, 30) in a recipient centred at
    (20, 24); donor track 9 (centroid (20, 56)) lies straight behind it on that line:

    >>> import pandas as pd
    >>> cells = pd.DataFrame({"frame": [0, 0, 1, 1], "label": [1, 2, 1, 2],
    ...     "track_id": [5, 9, 5, 9], "centroid_y": [20.0] * 4,
    ...     "centroid_x": [24.0, 56.0, 24.0, 56.0], "area_px": [300, 400, 300, 400],
    ...     "pgp_positive": [False, True, True, True]})
    >>> spots = pd.DataFrame({"frame": [0, 1], "y": [20.0, 20.0], "x": [40.0, 30.0],
    ...     "label": [0, 1]})
    >>> ctx = SourceContext(cells, spots, {9})
    >>> remote_source(ctx, {0: 0, 1: 2}, cells["label"].to_numpy(), 1, EventParams())
    9
    """
    best: _Hypothesis | None = None
    seen = False
    for fa in range(f0 + 1, f0 - params.vesicle_lookback_frames - 1, -1):
        r = lineage.get(fa)
        fr = ctx.frames.get(fa)
        row = fr.label_row.get(int(labels[r])) if r is not None and fr is not None else None
        if row is None:
            continue  # not observed in this frame
        s = ctx.spots.get(fa)
        arrivals = (
            [np.array([s.y[k], s.x[k]]) for k in np.flatnonzero(s.label == int(labels[r]))]
            if s is not None else []
        )
        if not arrivals:
            if seen:
                break  # the vesicle arrived after this frame
            continue
        if fa > f0 and _has_spot(ctx, lineage, labels, f0):
            continue  # the frame after the onset counts only when the onset has no punctum
        seen = True
        e = np.array([fr.cy[row], fr.cx[row]])
        r_e = float(fr.radius[row]) if np.isfinite(fr.radius[row]) else 0.0
        prev = lineage.get(fa - 1)
        own = int(labels[prev]) if prev is not None else None
        hyps = _paths(ctx, fa, e, r_e, arrivals, own, params)
        released = _direct_releases(ctx, fa, e, arrivals, params)
        lr = params.vesicle_release_likelihood_ratio
        if lr > 0:  # a release seen raises its donor's direction score by log λ
            bonus = {h.donor: float(np.log(lr)) for h in released}
            hyps += [_direction(ctx, fa, a, e, params, bonus) for a in arrivals]
        else:
            hyps += released + [_direction(ctx, fa, a, e, params) for a in arrivals]
        for h in hyps:
            if h is not None and (best is None or _better(h, best)):
                best = h
    return None if best is None else best.donor


def _has_spot(ctx: SourceContext, lineage, labels, f: int) -> bool:
    r, s = lineage.get(f), ctx.spots.get(f)
    return r is not None and s is not None and bool((s.label == int(labels[r])).any())


def _better(h: _Hypothesis, b: _Hypothesis) -> bool:
    if h.n_path != b.n_path:
        return h.n_path > b.n_path
    if h.n_path and (h.donor != 0) != (b.donor != 0):
        return h.donor != 0  # a release point on a donor's facing edge is no coincidence
    if h.n_path and not np.isclose(h.residual, b.residual):
        return h.residual < b.residual
    return h.score > b.score


def _paths(ctx: SourceContext, fa: int, e: np.ndarray, r_e: float, arrivals, own, params):
    """Vesicle paths into the recipient (centroid ``e``, radius ``r_e``) arriving at ``fa``.

    A path starts at a free spot ``p1`` of frame ``fa - 1``. Its velocity comes either from a
    second spot ``p2`` at ``fa - 2`` (free, or inside a donor: the release point) whose
    constant-velocity extrapolation ``2 p1 - p2`` lands inside the recipient, or from an arrival
    spot ``a`` that lies on the line from ``e`` towards ``p1``. ``p1`` is not inside the
    recipient itself (label ``own`` at ``fa - 1``): such a punctum had already arrived.
    A vesicle crossing another (P-gp positive) cell is seen inside it: ``p1`` or ``p2`` may lie
    in such a cell (``snr >= vesicle_min_snr``) when the hop ``|p2 - p1|`` exceeds twice the
    path tolerance (resident puncta move with their cell) and :func:`_trace` confirms the path.
    """
    out = []
    s1 = ctx.spots.get(fa - 1)
    if s1 is None:
        return out
    step = params.vesicle_max_step_px
    tol = params.vesicle_path_tolerance_px
    d1 = np.hypot(s1.y - e[0], s1.x - e[1])
    s2 = ctx.spots.get(fa - 2)
    if s2 is not None:
        in_donor2 = ctx._in_donor(fa - 2)
        free2 = ctx._free(fa - 2)
        cross2 = ~free2 & ~in_donor2 & (s2.snr >= ctx.min_snr)
        ok2 = free2 | in_donor2 | cross2
    free = ctx._free(fa - 1)
    near = (d1 > 0) & (d1 <= step + r_e) & (s1.label != (own or -1))
    crossing = near & ~free & ~ctx._in_donor(fa - 1) & (s1.snr >= ctx.min_snr)
    for j in np.flatnonzero(near & (free | crossing)).tolist():
        p1 = np.array([s1.y[j], s1.x[j]])
        if s2 is not None:
            arr_y, arr_x = 2 * p1[0] - s2.y, 2 * p1[1] - s2.x
            hop = np.hypot(s2.y - p1[0], s2.x - p1[1])
            into = np.hypot(arr_y - e[0], arr_x - e[1]) <= max(r_e, tol)
            crosses = crossing[j] | cross2
            moved = hop > np.where(crosses, 2 * tol, 0.0)
            for i in np.flatnonzero(ok2 & into & moved & (hop <= step)).tolist():
                p2 = np.array([s2.y[i], s2.x[i]])
                miss = min(np.hypot(*(2 * p1 - p2 - a)) for a in arrivals)
                if miss > 2 * tol:
                    continue  # does not end at a punctum of the recipient
                out.append(_trace(ctx, fa, [p1, p2], [int(s1.label[j]), int(s2.label[i])],
                                  p2 - p1, params, [float(miss)], bool(crosses[i])))
        if crossing[j]:
            continue  # a lone spot in another cell may be its own punctum
        u = (p1 - e) / d1[j]
        for a in arrivals:
            along = float(np.dot(a - e, u))
            off = abs(float((a - e)[0] * u[1] - (a - e)[1] * u[0]))
            if -tol <= along < d1[j] and off <= tol + params.arrival_position_error_px:
                out.append(_trace(ctx, fa, [p1], [int(s1.label[j])], p1 - a, params, [off]))
    return out


def _direct_releases(ctx: SourceContext, fa: int, e: np.ndarray, arrivals, params):
    """A vesicle that crossed in one frame: seen at ``fa - 1`` at its donor's facing edge.

    A spot inside a donor at ``fa - 1`` counts when it lies in the arrival direction (within
    twice the arrival's angular error) and where the donor would release a vesicle towards the
    recipient (see :func:`_release_donor`).
    """
    out = []
    s1, fr = ctx.spots.get(fa - 1), ctx.frames.get(fa - 1)
    if s1 is None or fr is None:
        return out
    d1 = np.hypot(s1.y - e[0], s1.x - e[1])
    inside = ctx._in_donor(fa - 1) & (d1 > 0) & (d1 <= params.vesicle_range_px)
    for j in np.flatnonzero(inside).tolist():
        p1 = np.array([s1.y[j], s1.x[j]])
        donor = ctx._donor_at(fa - 1, int(s1.label[j]))
        for a in arrivals:
            rad = float(np.hypot(*(a - e)))
            if rad <= 0:
                continue
            dang = np.angle(np.exp(1j * (np.arctan2(*(p1 - e)) - np.arctan2(*(a - e)))))
            sigma = params.arrival_position_error_px / rad
            if abs(dang) > 2 * sigma:
                continue
            u = (p1 - a) / np.hypot(*(p1 - a))
            if _release_donor(ctx, fa - 1, p1, u, strict=True) == donor:
                out.append(_Hypothesis(n_path=_DIRECT_RANK, residual=abs(float(dang)) * rad,
                                       score=0.0, donor=donor))
    return out


def _trace(ctx: SourceContext, fa: int, path, labs, v: np.ndarray, params, res,
           crossing: bool = False):
    """Follow a path (spots of frames ``fa - 1``, ``fa - 2``, …) back at constant velocity ``v``.

    Returns None when a spot of the path lies in a donor's body without being where that donor
    would release a vesicle moving along ``v`` (a resident punctum, not a vesicle), or lies in
    one donor's mask while the release geometry points at another, or when a ``crossing``
    path (one of its first two spots lies in another cell) has fewer than ``_CONFIRM`` spots
    and no release seen in a donor. A path ending outside every donor was released one step
    before its earliest spot (a release spot inside a donor is often too faint against the
    donor's own P-gp to be detected), else at its earliest spot (a donor mask missing its dim
    edge), else by no donor.
    """
    frames = [fa - 1 - i for i in range(len(path))]
    u = v / np.hypot(*v)
    tol = params.vesicle_path_tolerance_px
    i = 0
    while True:
        if i == len(path):  # extend by one frame
            g = frames[-1] - 1
            s = ctx.spots.get(g)
            if g < fa - params.vesicle_lookback_frames or s is None or not len(s.y):
                break
            pred = path[-1] + v
            d = np.hypot(s.y - pred[0], s.x - pred[1])
            j = int(np.argmin(d))
            if d[j] > tol:
                break
            path.append(np.array([s.y[j], s.x[j]]))
            labs.append(int(s.label[j]))
            frames.append(g)
            res.append(float(d[j]))
        if ctx._in_donor_body(frames[i], path[i], labs[i]):
            donor = _release_donor(ctx, frames[i], path[i], u, seen=True)
            mask = ctx._donor_at(frames[i], labs[i])
            if donor is None or mask not in (None, donor):
                return None
            return _Hypothesis(n_path=i + 1, residual=float(np.mean(res)), score=0.0,
                               donor=donor)
        i += 1
    if crossing and len(path) < _CONFIRM:
        return None
    donor = _release_donor(ctx, frames[-1] - 1, path[-1] + v, u)
    if donor is None:
        donor = _release_donor(ctx, frames[-1], path[-1], u) or 0
    return _Hypothesis(n_path=len(path), residual=float(np.mean(res)), score=0.0, donor=donor)


def _release_donor(
    ctx: SourceContext, g: int, start: np.ndarray, u: np.ndarray, *, strict: bool = False,
    seen: bool = False,
) -> int | None:
    """The donor that released a vesicle at ``start`` moving along ``-u`` in frame ``g``.

    A vesicle leaves a donor from inside its facing edge, so the donor's centroid lies behind
    the release point on the path's line: at most ``_RELEASE_DEPTH`` equivalent radii ``r``
    further along ``u`` and at most ``_RELEASE_REACH · r`` (or the path tolerance) off it.
    Masks of dim donors can be smaller than the cell, hence the generous depth. A spot ``seen``
    in a donor's body must have the centroid behind it (``along >= 0``): a spot on the far
    side of a donor was not released towards the recipient. ``strict`` (a lone spot, no path):
    on the facing edge, 0.5–1.5 ``r`` in front of the centroid and at most the path tolerance
    plus the centroid's uncertainty (``_CENTROID_ERROR · r``) off the line.
    """
    fr = ctx.frames.get(g)
    if fr is None and ctx.frames:
        fr = ctx.frames[min(ctx.frames, key=lambda f: abs(f - g))]
    if fr is None or not fr.donor.any():
        return None
    i = np.flatnonzero(fr.donor)
    r = np.where(np.isfinite(fr.radius[i]), fr.radius[i], 0.0)
    dy, dx = fr.cy[i] - start[0], fr.cx[i] - start[1]
    along = dy * u[0] + dx * u[1]
    off = np.abs(dy * u[1] - dx * u[0])
    if strict:  # a lone spot in a donor: on the path's line, near the facing edge
        ok = (along >= 0.5 * r) & (along <= 1.5 * r)
        ok &= off <= ctx.tolerance + _CENTROID_ERROR * r
    else:
        ok = (along >= (0.0 if seen else -_RELEASE_REACH * r)) & (along <= _RELEASE_DEPTH * r)
        ok &= off <= np.maximum(_RELEASE_REACH * r, ctx.tolerance)
    if not ok.any():
        return None
    k = np.flatnonzero(ok)
    return int(fr.track[i[k[np.argmin(off[k] / np.maximum(r[k], 1e-9))]]])


def _direction(ctx: SourceContext, fa: int, a: np.ndarray, e: np.ndarray, params,
               bonus: dict[int, float] | None = None):
    """Donor best aligned with the arrival direction (``donor = 0`` when none fits); ``bonus``
    (track id → log-likelihood ratio) adds evidence seen at some donors."""
    none = _Hypothesis(n_path=0, residual=0.0, score=-np.inf, donor=0)
    fr = ctx.frames.get(fa - 1) or ctx.frames.get(fa)
    rad = np.hypot(*(a - e))
    if fr is None or not fr.donor.any() or rad <= 0:
        return none
    i = np.flatnonzero(fr.donor)
    dy, dx = fr.cy[i] - e[0], fr.cx[i] - e[1]
    dist = np.hypot(dy, dx)
    dang = np.angle(np.exp(1j * (np.arctan2(dy, dx) - np.arctan2(a[0] - e[0], a[1] - e[1]))))
    r_d = np.where(np.isfinite(fr.radius[i]), fr.radius[i], 0.0)
    sigma = params.arrival_position_error_px / rad + np.arctan2(r_d, np.maximum(dist, 1e-9)) / 3
    ok = (dist > 0) & (dist <= params.vesicle_range_px) & (np.abs(dang) <= 3 * sigma)
    if not ok.any():
        return none
    score = -0.5 * (dang / sigma) ** 2 - np.log(sigma) - np.log(np.maximum(dist, 1.0))
    if bonus:
        score = score + np.array([bonus.get(int(t), 0.0) for t in fr.track[i].tolist()])
    score = np.where(ok, score, -np.inf)
    k = int(np.argmax(score))
    return _Hypothesis(n_path=0, residual=0.0, score=float(score[k]), donor=int(fr.track[i[k]]))
