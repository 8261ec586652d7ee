"""Source donor of a contact transfer event, from where the recipient's new P-gp appears.

SCIENCE.md item 6 names the donor touching the recipient with the longest shared border as the
source of a contact event. Border length says which donor is *likely* to have given P-gp (more
contact, more transfer) but not which one did. Contact-mediated transfer (membrane exchange,
trogocytosis, short nanotubes across the contact) deposits the transferred P-gp at the contact
site (Noack 2016 saw P-gp-EGFP arrive at contacts), so the recipient's first P-gp puncta lie
just inside its shared border with the donor that gave them. This module reads that evidence
from the per-frame spot table (``frame``, ``y``, ``x``, ``label``;
:func:`~pgpviewer.core.puncta.detect_puncta`) and the cells table; it uses image-derived
tables only.

Method (:func:`contact_source`), for a contact event of a recipient with onset ``f0``:

1. **Candidates.** The donors touching the recipient lineage in the contact frame: the most
   recent frame of the window ``[f0 - contact_lookback_frames, f0]`` with a donor contact (the
   frame the longest-border rule uses), each with its shared border length ``b`` there. One
   candidate: it is the source.
2. **New puncta.** The recipient's puncta in frames ``f0 - 1`` to ``f0 + 1`` (the onset found
   from the P-gp score can lag or lead the deposit by a frame) that are new: farther than
   ``_SAME_SPOT_PX`` from every punctum the recipient had in the frame before, after moving
   those with the recipient's centroid.
3. **Distance to each donor.** A deposit lies a few pixels inside the recipient from the source
   donor's mask. The masks are not in the tables, so the distance from a punctum ``p`` to donor
   ``d`` is taken to the donor's equivalent circle: ``δ = max(|p − c_d| − r_d, 0)`` (``c_d`` its
   centroid, ``r_d = sqrt(area / π)``, both in the punctum's frame, or in the contact frame when
   the donor is not seen then; when the area is unknown, ``r_d`` is half the distance between
   the two centroids: touching cells of equal size meet halfway).
4. **Choice.** Each candidate scores ``b · Π_p (exp(−δ² / 2σ²) + ε)`` over the new puncta, with
   ``σ = _SITE_SIGMA_PX`` (deposit depth plus the error of the circle model) and ``ε =
   _UNRELATED`` (a punctum may have nothing to do with the contact: then it says little). That
   is the posterior of "donor ``d`` gave the P-gp" under a prior ∝ shared border (more contact,
   more transfer) and a deposit near the source. The highest score wins; ties go to the longer
   border, then the smaller track id.

5. **Puncta inside a donor's mask** (``in_donor``; ``EventParams.contact_puncta_in_donor``).
   The masks of touching cells are uncertain by a few pixels at their shared border, so a deposit
   can fall inside the source's mask. A candidate's new puncta in frames ``f0 - 1`` to ``f0 + 1``
   (as in step 2, moved with the donor's centroid) each multiply its score by ``1 + exp(−δ_r² /
   2σ²) / _IN_DONOR_FLOOR``, ``δ_r`` the punctum's distance outside the recipient's equivalent
   circle: at most a doubling, as donors gain puncta of their own all the time (on simulated
   co-cultures such a punctum within 3 px of the recipient is seen at 36 % of the sources and
   13 % of the other touching donors).

No new punctum: no evidence, and the caller keeps the longest-border rule, so this rule reduces
to SCIENCE.md's definition when the puncta say nothing (and, with equally distant puncta, the
border prior still decides). With ``EventParams.contact_source = "longest_border"`` the caller
skips this module altogether.
"""

from __future__ import annotations

import numpy as np

from pgpviewer.core.event_source import SourceContext

__all__ = ["contact_source", "far_from_contact"]

_SAME_SPOT_PX = 3.0  # a punctum this close to one of the frame before (moved with the cell) is old
_EVIDENCE_FRAMES = (-1, 0, 1)  # frames around the onset searched for new puncta
_SITE_SIGMA_PX = 4.0  # spread of a deposit's distance from its donor's equivalent circle
_UNRELATED = 0.1  # likelihood floor: a punctum unrelated to the contact
_FAR_SIGMAS = 2.5  # a punctum farther than this many σ from every touching donor is no deposit
_IN_DONOR_FLOOR = 1.0  # likelihood floor of a new punctum inside a donor's mask (weak evidence)


def contact_source(
    ctx: SourceContext,
    lineage: dict[int, int],
    labels: np.ndarray,
    f0: int,
    borders: dict[int, float],
    contact_frame: int,
    *,
    in_donor: bool = False,
) -> int | None:
    """Source donor of a contact event from the recipient's new puncta (see module docstring).

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
    borders : dict of int to float
        Candidate donors: track id → shared border length (px) in ``contact_frame``.
    contact_frame : int
        The frame of the contact window in which the candidates touch the recipient.
    in_donor : bool
        Also weigh the candidates' own new puncta next to the recipient (step 5).

    Returns
    -------
    int or None
        Donor track id; ``None`` when there are no candidates or no new puncta (no evidence:
        the caller then uses the longest shared border).

    Examples
    --------
    A recipient (track 1) at (50, 50) touches donor 10 on its left (border 14 px) and donor 11
    on its right (border 10 px); its new punctum at the onset (frame 1) sits just inside the
    border with donor 11:

    >>> import pandas as pd
    >>> cells = pd.DataFrame({"frame": [0, 0, 0, 1, 1, 1], "label": [1, 2, 3] * 2,
    ...     "track_id": [1, 10, 11] * 2, "centroid_y": [50.0] * 6,
    ...     "centroid_x": [50.0, 30.0, 70.0] * 2, "area_px": [314, 314, 314] * 2})
    >>> spots = pd.DataFrame({"frame": [1], "y": [51.0], "x": [56.0], "label": [1]})
    >>> ctx = SourceContext(cells, spots, {10, 11})
    >>> labels = cells["label"].to_numpy()
    >>> contact_source(ctx, {0: 0, 1: 3}, labels, 1, {10: 14.0, 11: 10.0}, 1)
    11
    >>> no_spots = SourceContext(cells, spots.iloc[:0], {10, 11})
    >>> contact_source(no_spots, {0: 0, 1: 3}, labels, 1, {10: 14.0, 11: 10.0}, 1) is None
    True
    """
    if not borders:
        return None
    if len(borders) == 1:
        return next(iter(borders))
    donors = sorted(borders)
    log_score = np.log(np.maximum([float(borders[d]) for d in donors], 1e-9))
    seen = False
    for g in (f0 + k for k in _EVIDENCE_FRAMES):
        for p, e in _new_puncta(ctx, lineage, labels, g):
            seen = True
            for k, d in enumerate(donors):
                delta = _distance_to_donor(ctx, d, g, contact_frame, p, e)
                like = np.exp(-0.5 * (delta / _SITE_SIGMA_PX) ** 2) if np.isfinite(delta) else 0
                log_score[k] += np.log(like + _UNRELATED)
    if in_donor:
        for g in (f0 + k for k in _EVIDENCE_FRAMES):
            for k, d in enumerate(donors):
                for delta in _in_donor_distances(ctx, lineage, labels, d, g):
                    seen = True
                    like = np.exp(-0.5 * (delta / _SITE_SIGMA_PX) ** 2)
                    log_score[k] += np.log1p(like / _IN_DONOR_FLOOR)
    if not seen:
        return None
    order = sorted(range(len(donors)),
                   key=lambda k: (-log_score[k], -float(borders[donors[k]]), donors[k]))
    return donors[order[0]]


def far_from_contact(
    ctx: SourceContext,
    lineage: dict[int, int],
    labels: np.ndarray,
    f0: int,
    donors: list[int],
    contact_frame: int,
) -> bool:
    """Whether the recipient's new puncta around the onset all lie far from every touching donor.

    A contact deposit lies a few pixels inside the recipient from the source's mask, so a
    recipient whose every new punctum (frames ``f0 - 1`` to ``f0 + 1``, as in
    :func:`contact_source`) lies farther than ``_FAR_SIGMAS · _SITE_SIGMA_PX`` (10 px) from the
    equivalent circle of every donor in ``donors`` got its P-gp from elsewhere.

    Parameters
    ----------
    ctx : SourceContext
        Cells and spots of the movie.
    lineage : dict of int to int
        Frame → row in the cells table of the recipient (its track and ancestors).
    labels : ndarray of int
        ``label`` column of the cells table.
    f0 : int
        Event (onset) frame.
    donors : list of int
        Track ids of the donors touching the recipient in ``contact_frame``.
    contact_frame : int
        The frame in which they touch (their position when they are not seen in a puncta frame).

    Returns
    -------
    bool
        False when the recipient has no new punctum (no evidence) or one lies near a donor.

    Examples
    --------
    The recipient (track 1) at (50, 50) touches donor 10 (centroid (50, 30), radius 10) on its
    left; its new punctum at the onset lies on its right side, 24 px from the donor's circle:

    >>> import pandas as pd
    >>> cells = pd.DataFrame({"frame": [1, 1], "label": [1, 2], "track_id": [1, 10],
    ...     "centroid_y": [50.0, 50.0], "centroid_x": [50.0, 30.0], "area_px": [314, 314]})
    >>> spots = pd.DataFrame({"frame": [1], "y": [50.0], "x": [64.0], "label": [1]})
    >>> ctx = SourceContext(cells, spots, {10})
    >>> far_from_contact(ctx, {1: 0}, cells["label"].to_numpy(), 1, [10], 1)
    True
    """
    near = _FAR_SIGMAS * _SITE_SIGMA_PX
    seen = False
    for g in (f0 + k for k in _EVIDENCE_FRAMES):
        for p, e in _new_puncta(ctx, lineage, labels, g):
            seen = True
            for d in donors:
                if _distance_to_donor(ctx, d, g, contact_frame, p, e) <= near:
                    return False
    return seen


def _recipient(ctx: SourceContext, lineage, labels, g: int):
    """(frame data, row, label) of the recipient in frame ``g``, or None when not seen."""
    r, fr = lineage.get(g), ctx.frames.get(g)
    if r is None or fr is None:
        return None
    row = fr.label_row.get(int(labels[r]))
    return None if row is None else (fr, row, int(labels[r]))


def _new_puncta(ctx: SourceContext, lineage, labels, g: int):
    """The recipient's puncta in frame ``g`` that it did not have in ``g - 1``.

    Yields ``(position, recipient centroid)``.
    """
    here, s = _recipient(ctx, lineage, labels, g), ctx.spots.get(g)
    if here is None or s is None:
        return
    fr, row, lab = here
    e = np.array([fr.cy[row], fr.cx[row]])
    old = np.zeros((0, 2))
    before, s0 = _recipient(ctx, lineage, labels, g - 1), ctx.spots.get(g - 1)
    if before is not None and s0 is not None:
        fb, rb, lb = before
        m = s0.label == lb
        shift = e - np.array([fb.cy[rb], fb.cx[rb]])
        old = np.column_stack([s0.y[m], s0.x[m]]) + np.nan_to_num(shift)
    for k in np.flatnonzero(s.label == lab).tolist():
        p = np.array([s.y[k], s.x[k]])
        if len(old) and np.hypot(*(old - p).T).min() <= _SAME_SPOT_PX:
            continue
        yield p, e


def _distance_to_donor(ctx: SourceContext, donor: int, g: int, g_touch: int,
                       p: np.ndarray, e: np.ndarray) -> float:
    """Distance from ``p`` to the equivalent circle of ``donor`` in frame ``g`` (else
    ``g_touch``); ``e`` is the recipient's centroid (for the radius when the area is unknown).
    inf when the donor is seen in neither frame."""
    for h in (g, g_touch):
        fr = ctx.frames.get(h)
        rows = np.flatnonzero(fr.track == donor) if fr is not None else []
        if len(rows):
            c = np.array([fr.cy[rows[0]], fr.cx[rows[0]]])
            r_d = float(fr.radius[rows[0]])
            if not np.isfinite(r_d):
                r_d = 0.5 * float(np.hypot(*(c - e)))
            dist = float(np.hypot(*(c - p)))
            return max(dist - r_d, 0.0) if np.isfinite(dist) and np.isfinite(r_d) else np.inf
    return np.inf


def _in_donor_distances(ctx: SourceContext, lineage, labels, donor: int, g: int):
    """Distances outside the recipient's equivalent circle (frame ``g``) of the puncta in
    ``donor``'s mask in frame ``g`` that the donor did not have in ``g - 1``."""
    here, rec = _donor_spots(ctx, donor, g), _recipient(ctx, lineage, labels, g)
    if here is None or rec is None:
        return
    fr, row, _ = rec
    e, r_e = np.array([fr.cy[row], fr.cx[row]]), float(fr.radius[row])
    if not np.isfinite(r_e):
        return
    pts, c = here
    before = _donor_spots(ctx, donor, g - 1)
    old = before[0] + np.nan_to_num(c - before[1]) if before is not None else np.zeros((0, 2))
    for p in pts:
        if len(old) and np.hypot(*(old - p).T).min() <= _SAME_SPOT_PX:
            continue
        yield max(float(np.hypot(*(p - e))) - r_e, 0.0)


def _donor_spots(ctx: SourceContext, donor: int, g: int):
    """(positions of the puncta in ``donor``'s mask in frame ``g``, its centroid) or None."""
    fr, s = ctx.frames.get(g), ctx.spots.get(g)
    rows = np.flatnonzero(fr.track == donor) if fr is not None and s is not None else []
    if not len(rows):
        return None
    lab = next(k for k, v in fr.label_row.items() if v == rows[0])
    m = s.label == lab
    return np.column_stack([s.y[m], s.x[m]]), np.array([fr.cy[rows[0]], fr.cx[rows[0]]])
