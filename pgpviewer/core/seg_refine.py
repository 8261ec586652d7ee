"""Refinement steps of segmentation: cell edges, nuclei, body-less cells and clean-up helpers.

:func:`refine_cells` trims regions found at the low detection threshold to each cell's edge
(membrane crest or a fraction of the cell's level, :data:`EDGE_FRACTIONS`),
:func:`_refine_nuclei` does so for nuclei (splitting off dim nuclei merged with bright ones) and
:func:`grow_bodyless_cells` gives a body to cells no channel shows (see
:mod:`pgpviewer.core.segmentation`, steps 3–5). The hole and piece helpers
(:func:`_fill_label_holes`, :func:`_keep_largest_piece`) and the morphology kernels they use
live here too.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage import morphology

from pgpviewer.core.kernels import fill_label_holes, keep_largest_piece
from pgpviewer.core.measurements import label_percentile
from pgpviewer.core.neighbours import shift_max, shift_min

#: Where a cell's edge lies in a channel without a membrane rim, as a fraction of the cell's level
#: in it: half-maximum for a compartment with a sharp boundary (nuclei), lower for signals that
#: thin out with the cell towards its edge (cytoplasmic tracker dyes; P-gp in the cytoplasm).
EDGE_FRACTIONS = {
    "nuclei": 0.5,
    "pgp": 0.3,
    "donor": 0.2,
    "recipient": 0.2,
    "efflux": 0.2,
    "other": 0.3,
}
#: Channels of a membrane protein (P-gp): the cell's edge is the membrane itself, so wherever no
#: closed crest places it, the edge is where the signal falls below :data:`LOCAL_EDGE_RATIO` of
#: its maximum within :data:`LOCAL_EDGE_RADIUS_PX` (the local, not the cell-wide, half-maximum).
LOCAL_EDGE_ROLES = ("pgp",)
#: Local edge ratio: 0.5 would be the half-maximum of a blurred step; 0.6 measured best on the
#: simulator (mean IoU 0.8799 / 0.8832 / 0.8714 at 0.5 / 0.6 / 0.7, 4 movies).
LOCAL_EDGE_RATIO = 0.6
LOCAL_EDGE_RADIUS_PX = 2
# Trimming a cell to its local edge must not cut it apart (a broken rim whose inside faces out
# through the break): a cell whose trimmed mask keeps less than this share of its area in one
# piece keeps the untrimmed mask.
_TRIM_KEEP = 0.75
# A dim cell's region, found at the detection threshold, can end inside its edge (the threshold
# is above the edge fraction of its level): such a cell's volume-like edge may lie up to this far
# (chessboard distance) into the background around it. In low light (bench_robustness "noisy")
# recipients were ~0.5 px too small all round; mean IoU 0.865 -> 0.878 there, unchanged on the
# other variants.
_REACH_PX = 2
#: A cell's level in a channel: this percentile of its pixels (:data:`CELL_LEVEL_PERCENTILE` for
#: the body channels). Nuclear stains are textured (chromatin, bright chromocentres), so a
#: nucleus's level is ``"core"``: the median of its pixels more than 3 px inside the detected
#: region, beyond the blur halo.
LEVEL_PERCENTILES: dict[str, float | str] = {"nuclei": "core"}
_LEVEL_PERCENTILE = 90.0
#: The body channels' cell level: the 80th percentile, not the 90th, which noise, puncta and
#: texture lift above the cell's plateau (putting its edge too far in). segment_cells, 4 movies:
#: mean IoU 0.889 -> 0.893 (default), 0.874 -> 0.880 (dense), 0.878 -> 0.882 (low light);
#: small cells (radius 5-11 px) 0.832 -> 0.824.
CELL_LEVEL_PERCENTILE = 80.0
_CORE_DEPTH = 3
# A cell shows in a channel when its level there exceeds this many detection thresholds.
_VISIBLE_LEVEL = 1.25
# Membrane-like profile: the outer 2 px of a cell's half-level mask this many times brighter
# than its inside.
_RIM_SCORE = 1.3
# A membrane crest closes when the region it encloses falls short of the half-level mask by at
# most this band (px of equivalent radius): the blurred membrane's outer half (1-2 px). A crest
# broken by noise encloses only part of the cell and falls short by more.
_CREST_BAND_PX = 2.0


def _label_percentile(values: np.ndarray, labels: np.ndarray, n: int, q: float) -> np.ndarray:
    return label_percentile(values, labels, q, n)


def _ridge_crest(sig: np.ndarray, where: np.ndarray | None = None) -> np.ndarray:
    """Pixels on the crest of bright ridges: local maxima across the ridge (Hessian direction).

    ``where`` (bool, optional) limits the computation to those pixels (False elsewhere).
    """
    ny, nx = sig.shape
    if where is None:
        where = np.ones(sig.shape, bool)
    crest = np.zeros(sig.shape, bool)
    idx = np.flatnonzero(where)
    if idx.size == 0 or min(ny, nx) < 1:
        return crest
    # edge-padded copy: every pixel has 8 neighbours; curvatures across the image edge are 0
    pad = np.pad(np.asarray(sig, np.float32), 1, mode="edge")
    w = nx + 2
    yy, xx = np.divmod(idx, nx)
    p = (yy + 1) * w + (xx + 1)
    f = pad.ravel()
    c = f[p]
    n_, s_, w_, e_ = f[p - w], f[p + w], f[p - 1], f[p + 1]
    hyy = np.where((yy > 0) & (yy < ny - 1), s_ - 2 * c + n_, np.float32(0))
    hxx = np.where((xx > 0) & (xx < nx - 1), e_ - 2 * c + w_, np.float32(0))
    inner = (yy > 0) & (yy < ny - 1) & (xx > 0) & (xx < nx - 1)
    hxy = np.where(
        inner,
        np.float32(0.25) * (f[p + w + 1] - f[p + w - 1] - f[p - w + 1] + f[p - w - 1]),
        np.float32(0),
    )
    half_tr = 0.5 * (hyy + hxx)
    disc = np.sqrt((0.5 * (hyy - hxx)) ** 2 + hxy**2)
    lam1 = half_tr - disc  # most negative curvature: across the ridge
    # eigenvector of lam1, quantised to 4 directions (0, 45, 90, 135 degrees)
    angle = np.degrees(np.arctan2(lam1 - hxx, hxy)) % 180.0  # direction (dy, dx) = (l-hxx, hxy)
    q = (np.rint(angle / 45.0).astype(np.int8)) % 4
    # q: 0 -> along x (dy=0), 1 -> 45 deg, 2 -> along y, 3 -> 135 deg
    off = np.array([1, w + 1, w, w - 1])[q]
    ok = (c >= f[p + off]) & (c >= f[p - off]) & (lam1 < 0)
    crest.ravel()[idx[ok]] = True
    return crest


def _closing_3x3(mask: np.ndarray) -> np.ndarray:
    """``ndi.binary_closing(mask, np.ones((3, 3)))`` (border value 0) by shifts."""
    out = shift_min(shift_max(mask, 1), 1)
    out[[0, -1], :] = False
    out[:, [0, -1]] = False
    return out


def refine_cells(
    regions: np.ndarray,
    signals: list[np.ndarray],
    thresholds: list[float],
    edge_fractions: list[float] | None = None,
    level_percentiles: list[float | str] | None = None,
    membrane: list[bool] | None = None,
    local_edges: list[bool] | None = None,
) -> np.ndarray:
    """Trim each region (found at a low threshold, so with the blur halo) to its cell's edge.

    Each channel is divided, region by region, by the region's level in it (a percentile of its
    pixels, see :data:`LEVEL_PERCENTILES`); a channel shapes a region only where that level
    exceeds 1.25 × the channel's detection threshold (regions no channel shows are dropped as
    background texture). In each such channel the region's pixels are classed by the intensity
    profile of its periphery:

    * **membrane-like** (the outer 2 px of the hole-filled half-level mask are on average 1.3 ×
      brighter than the inside, e.g. P-gp on the plasma membrane): a blurred membrane spreads
      beyond the cell, so the edge is at the crest of the rim (pixels that are a local maximum
      across the ridge, grown by 1 px for the membrane's outer half); the cell is the crest and
      everything it encloses. When the crest does not close (the equivalent radius of what it
      encloses is more than :data:`_CREST_BAND_PX` short of the half-level mask's, e.g. a
      crest broken by noise), the half-level mask is used.
    * **volume-like**: pixels above the channel's edge fraction of the level
      (:data:`EDGE_FRACTIONS`); for a region whose detection threshold lies above that
      fraction of its level (a dim cell), also such pixels of the background within
      :data:`_REACH_PX` of it.

    In a membrane-protein channel (``local_edges``), masks not set by a closed crest lose their
    outer pixels that are below :data:`LOCAL_EDGE_RATIO` of the signal's maximum within
    :data:`LOCAL_EDGE_RADIUS_PX` (:func:`trim_to_local_edge`): the cell-wide level of a cell with
    a bright rim and a dimmer inside puts the edge on the rim's outer blur.

    A pixel is in the cell when any channel puts it there; holes enclosed by one cell are filled
    and each cell keeps its largest piece.

    Parameters
    ----------
    regions : ndarray of int, shape (Y, X)
        One region per cell.
    signals : list of ndarray of shape (Y, X)
        Background-subtracted channels.
    thresholds : list of float
        Detection threshold of each channel.
    edge_fractions : list of float, optional
        Edge fraction per channel for volume-like profiles (default 0.5).
    level_percentiles : list of float or "core", optional
        How each channel's cell level is taken (default the 90th percentile).
    membrane : list of bool, optional
        Whether a channel may show membrane-like profiles (default True for all).
    local_edges : list of bool, optional
        Whether a channel marks a membrane protein whose edge is placed locally (default False
        for all).

    Returns
    -------
    ndarray of int32, shape (Y, X)
    """
    n = int(regions.max())
    if n == 0:
        return regions.astype(np.int32)
    inside = regions > 0
    keep = np.zeros(regions.shape, bool)
    grown = np.zeros(regions.shape, np.int32)  # background pixels given to dim cells
    if edge_fractions is None:
        edge_fractions = [0.5] * len(signals)
    if level_percentiles is None:
        level_percentiles = [_LEVEL_PERCENTILE] * len(signals)
    if membrane is None:
        membrane = [True] * len(signals)
    if local_edges is None:
        local_edges = [False] * len(signals)
    flat_r = regions.ravel()
    core_lab = None
    for sig, thr, frac, q, can_rim, local in zip(
        signals, thresholds, edge_fractions, level_percentiles, membrane, local_edges,
        strict=True,
    ):
        if q == "core":
            if core_lab is None:
                core_lab = np.where(
                    (shift_min(regions, _CORE_DEPTH) == regions)
                    & (shift_max(regions, _CORE_DEPTH) == regions),
                    regions,
                    0,
                )
            level = _label_percentile(sig, core_lab, n, 50.0)
            fallback = _label_percentile(sig, regions, n, _LEVEL_PERCENTILE)
            level = np.nan_to_num(np.where(np.isfinite(level), level, fallback), nan=0.0)
        else:
            level = np.nan_to_num(_label_percentile(sig, regions, n, q), nan=0.0)
        ok = level > _VISIBLE_LEVEL * thr
        ok[0] = False
        if not ok.any():
            continue
        scale = np.where(ok, 1.0 / np.where(ok, level, 1.0), 0.0).astype(np.float32)
        norm = sig * scale.take(regions)
        lab_half = _fill_label_holes(np.where((norm >= 0.5) & inside, regions, 0))
        half = lab_half > 0
        core = (shift_min(lab_half, 2) == lab_half) & (shift_max(lab_half, 2) == lab_half)
        hidx = np.flatnonzero(half)
        lab_h = flat_r[hidx]
        val_h = norm.ravel()[hidx]
        in_core = core.ravel()[hidx]
        nc = np.bincount(lab_h[in_core], minlength=n + 1)
        sc = np.bincount(lab_h[in_core], weights=val_h[in_core], minlength=n + 1)
        na = np.bincount(lab_h, minlength=n + 1)
        sa = np.bincount(lab_h, weights=val_h, minlength=n + 1)
        nb, sb = na - nc, sa - sc
        with np.errstate(invalid="ignore", divide="ignore"):
            rim_score = (sb / nb) / (sc / nc)
        rimlike = ok & (nc > 0) & (np.nan_to_num(rim_score) > _RIM_SCORE) & can_rim
        volume = ok & ~rimlike
        loose = volume.take(regions) & (norm >= frac) & inside
        cut_short = volume & (thr > frac * level)
        if not local and cut_short.any():
            short = np.where(cut_short.take(regions), regions, 0)
            near = np.where(inside, 0, shift_max(short, _REACH_PX))
            outer = (near > 0) & (sig * scale.take(near) >= frac)
            grown = np.where(outer, near, grown)
        if rimlike.any():
            rim_px = rimlike.take(regions)
            crest = _ridge_crest(sig, half & rim_px)
            crest = _closing_3x3(crest) & inside
            crest &= rim_px
            filled = _fill_label_holes(np.where(crest, regions, 0))
            a_fill = np.bincount(filled.ravel(), minlength=n + 1)[: n + 1]
            a_half = np.bincount(lab_half.ravel(), minlength=n + 1)[: n + 1]
            closed = rimlike & (
                np.sqrt(a_half / np.pi) - np.sqrt(a_fill / np.pi) <= _CREST_BAND_PX
            )
            # the membrane's outer half lies beyond the crest pixel: grow it by 1 px (within
            # the half-level mask)
            filled = np.where((shift_max(filled, 1) == regions) & half, regions, 0)
            keep |= (filled > 0) & closed.take(regions) & (filled == regions)
            loose |= half & (rimlike & ~closed).take(regions)
        keep |= trim_to_local_edge(loose, regions, sig) if local else loose
    out = np.where(keep & inside, regions, grown).astype(np.int32)
    return _fill_label_holes(_keep_largest_piece(out))


def trim_to_local_edge(mask: np.ndarray, regions: np.ndarray, sig: np.ndarray) -> np.ndarray:
    """Remove a mask's outer pixels that are below :data:`LOCAL_EDGE_RATIO` of the signal's
    maximum over the mask's pixels within :data:`LOCAL_EDGE_RADIUS_PX`.

    Each region's part of ``mask`` is hole-filled first, so only pixels facing the background
    are candidates (one pixel deep). A region whose trimmed mask keeps less than
    :data:`_TRIM_KEEP` of its area in its largest piece keeps its untrimmed mask.

    Parameters
    ----------
    mask : ndarray of bool, shape (Y, X)
    regions : ndarray of int, shape (Y, X)
        One region per cell.
    sig : ndarray of float, shape (Y, X)
        The channel's signal.

    Returns
    -------
    ndarray of bool, shape (Y, X)
    """
    lab = _fill_label_holes(np.where(mask, regions, 0))
    if not lab.any():
        return lab > 0
    peak = shift_max(np.where(lab > 0, sig, -np.inf).astype(np.float32), LOCAL_EDGE_RADIUS_PX)
    outer = (lab > 0) & (shift_min(lab, 1) == 0)
    drop = outer & (sig < np.float32(LOCAL_EDGE_RATIO) * peak)
    trimmed = _fill_label_holes(_keep_largest_piece(np.where(drop, 0, lab)))
    n = int(regions.max()) + 1
    before = np.bincount(lab.ravel(), minlength=n)[:n]
    after = np.bincount(trimmed.ravel(), minlength=n)[:n]
    broken = after < _TRIM_KEEP * before
    return np.where(broken.take(regions), lab > 0, trimmed > 0)


def _fill_label_holes(labels: np.ndarray) -> np.ndarray:
    """Fill background holes enclosed by a single label."""
    return fill_label_holes(labels)


def _refine_nuclei(
    regions: np.ndarray, sig: np.ndarray, thr: float, diameter: float, min_area: int
) -> np.ndarray:
    """Refine nucleus regions; dim nuclei merged at the detection threshold with a bright one
    (and so trimmed away at the bright one's level) become nuclei of their own.

    The pixels of a region above the detection threshold that the trimming dropped are opened
    with a disk of a quarter nucleus diameter (removing the thin blur halo); pieces of at least
    ``min_area`` pixels are refined again on their own level.
    """
    kw = dict(
        edge_fractions=[EDGE_FRACTIONS["nuclei"]],
        level_percentiles=[LEVEL_PERCENTILES["nuclei"]],
        membrane=[False],
    )
    out = refine_cells(regions, [sig], [thr], **kw)
    for _ in range(2):
        dropped = (regions > 0) & (out == 0) & (sig > thr)
        r = max(1, int(diameter / 4))
        dropped = _opening_disk(dropped, r)
        if not dropped.any():
            break
        pieces, n = ndi.label(dropped)
        sizes = np.bincount(pieces.ravel(), minlength=n + 1)
        pieces = np.where(sizes[pieces] >= min_area, pieces, 0)
        if not pieces.any():
            break
        extra = refine_cells(pieces, [sig], [thr], **kw)
        extra = np.where((extra > 0) & (out == 0), extra + out.max(), 0)
        if not extra.any():
            break
        out = np.where(extra > 0, extra, out).astype(np.int32)
        regions = np.where(extra > 0, extra, regions)
    return out


def _opening_disk(mask: np.ndarray, r: int) -> np.ndarray:
    """``ndi.binary_opening(mask, disk(r))``, computed only where the opening can be non-empty.

    The erosion by the disk is inside the erosion by its horizontal and vertical diameters
    (cheap shifts); the exact opening is done on the bounding box of those candidates with a
    margin of 2r + 1, which contains everything the opening can reach.
    """
    if r < 1 or not mask.any():
        return mask.copy() if r < 1 else np.zeros(mask.shape, bool)
    cand = mask.copy()
    for axis in (0, 1):
        for k in range(1, r + 1):
            if k >= mask.shape[axis]:
                cand[:] = False
                break
            lo = [slice(None)] * 2
            hi = [slice(None)] * 2
            lo[axis] = slice(None, -k)
            hi[axis] = slice(k, None)
            a = mask[tuple(hi)]
            b = mask[tuple(lo)]
            cand[tuple(lo)] &= a
            cand[tuple(hi)] &= b
            # pixels within k of the image edge: the disk leaves the image (border value 0)
            edge = [slice(None)] * 2
            edge[axis] = slice(mask.shape[axis] - k, None)
            cand[tuple(edge)] = False
            edge[axis] = slice(None, k)
            cand[tuple(edge)] = False
    out = np.zeros(mask.shape, bool)
    if not cand.any():
        return out
    ys, xs = np.nonzero(cand)
    m = 2 * r + 1
    sl = (
        slice(max(ys.min() - m, 0), min(ys.max() + m + 1, mask.shape[0])),
        slice(max(xs.min() - m, 0), min(xs.max() + m + 1, mask.shape[1])),
    )
    sub = mask[sl]
    # erosion with the crop edge as border 0 is exact at the candidates (margin ≥ r) and
    # never adds pixels; the dilation of the exact erosion stays inside the crop
    out[sl] = ndi.binary_opening(sub, structure=morphology.disk(r))
    return out


def grow_bodyless_cells(
    labels: np.ndarray,
    nuclei: np.ndarray,
    diameter_px: float,
    body: np.ndarray | None = None,
) -> np.ndarray:
    """Give cells whose body no channel shows a body: their nucleus grown to a typical cell.

    A cell is body-less when its area is under 1.5 × its nucleus's area (its edges were trimmed
    to the nucleus) or when less than half of its nucleus lies in ``body``, the pixels the body
    channels detect (e.g. a recipient without dye imaged with nuclei, donor dye and P-gp, or a
    donor whose dim P-gp rim is broken by noise: its cell may be larger than its nucleus, but
    only by pieces of the body). Its nucleus is grown to the radius the cells with a visible body
    have for a nucleus of that size: the nucleus's equivalent radius times the median ratio of
    cell to nucleus equivalent radius of the cells with a visible body that do not touch the
    image border (``diameter_px / 2`` over the median nucleus radius when fewer than 5 such
    cells exist). Growth goes only into background pixels, each to its nearest body-less
    nucleus, so it stops at neighbouring cells; the pixels the cell already has are kept.

    Parameters
    ----------
    labels : ndarray of int, shape (Y, X)
        Cells; cell ``k`` grew from nucleus ``k``.
    nuclei : ndarray of int, shape (Y, X)
        Nucleus labels.
    diameter_px : float
        Typical cell diameter.
    body : ndarray of bool, shape (Y, X), optional
        Pixels the body channels detect.

    Returns
    -------
    ndarray of int32, shape (Y, X)
    """
    n = int(max(labels.max(), nuclei.max()))
    a_cell = np.bincount(labels.ravel(), minlength=n + 1)[: n + 1].astype(float)
    a_nuc = np.bincount(nuclei.ravel(), minlength=n + 1)[: n + 1].astype(float)
    has_nuc = a_nuc > 0
    has_nuc[0] = False
    bodyless = has_nuc & (a_cell < 1.5 * a_nuc)
    if body is not None:
        shown = np.bincount(nuclei[body], minlength=n + 1)[: n + 1]
        bodyless |= has_nuc & (shown < 0.5 * a_nuc)
    if not bodyless.any():
        return labels
    edge = np.zeros(n + 1, bool)
    for side in (labels[0], labels[-1], labels[:, 0], labels[:, -1]):
        edge[side] = True
    with_body = has_nuc & ~bodyless & (a_cell > 0) & ~edge
    r_nuc = np.sqrt(a_nuc / np.pi)
    if with_body.sum() >= 5:
        ratio = float(np.median(np.sqrt(a_cell[with_body] / a_nuc[with_body])))
    else:
        ratio = float(diameter_px / 2.0 / np.median(r_nuc[has_nuc]))
    margin = np.where(bodyless, (ratio - 1.0) * r_nuc, 0.0)
    if margin.max() < 0.5:
        return labels
    src = np.where(bodyless[nuclei], nuclei, 0)
    ys, xs = np.nonzero(src)
    m = int(np.ceil(margin.max())) + 1
    sl = (
        slice(max(ys.min() - m, 0), min(ys.max() + m + 1, labels.shape[0])),
        slice(max(xs.min() - m, 0), min(xs.max() + m + 1, labels.shape[1])),
    )
    sub = src[sl]
    dist, (iy, ix) = ndi.distance_transform_edt(sub == 0, return_indices=True)
    near = sub[iy, ix]
    grown = np.where(dist <= margin[near], near, 0)
    out = labels.astype(np.int32, copy=True)
    view = out[sl]
    add = (view == 0) & (grown > 0)
    view[add] = grown[add]
    return out


def _keep_largest_piece(labels: np.ndarray) -> np.ndarray:
    """Each label keeps only its largest 4-connected piece."""
    return keep_largest_piece(labels)
