"""Whole-cell instance segmentation of one frame.

:func:`segment_cells` dispatches to a registered backend (``SegmentationParams.method``); the
built-in ``"classical"`` backend (:func:`segment_classical`) needs no trained model:

0. **Cell diameter**: ``cell_diameter_px``, or when it is None the median equivalent diameter of
   the frame's confidently single cells (:func:`estimate_cell_diameter`; the pipeline measures
   it once per movie instead and records it), or 30 px when fewer than 5 are seen.
1. **Each channel on its own** (``nuclei``, and the cell-body channels ``donor``, ``recipient``,
   ``pgp``; ``efflux`` is a body channel only when none of those is mapped): Gaussian smoothing
   (``smoothing_sigma_px``), subtraction of a smooth background (grey opening 4 cell diameters
   wide on a block-averaged copy: removes uneven illumination and offsets) and a deliberately
   low *detection* threshold (:func:`prepare_channel`: background level + 5 background SDs, at
   least 0.2 × the automatic ``threshold_method`` threshold, times ``threshold_factor``) that
   also finds dim cells. Channels are thresholded separately and combined with OR, so a dim
   recipient next to a bright donor is found in its own dye channel. Holes up to 1.5 typical
   cell areas are filled, so a donor whose P-gp is only on its membrane is a whole object.
2. **Seeds and split** (``split_touching``): with a ``nuclei`` channel the seeds are the nuclei
   (split at distance-transform necks, edges at half their core median) and the foreground is
   divided by a compact watershed on the per-channel normalised gradient (cells of different
   brightness meet at their common edge; the compactness keeps a flood from running far past a
   weak edge, the idea of CellProfiler's "propagation") minus a quarter of the normalised
   intensity of volume dyes (touching cells meet in their valleys; :func:`_edge_strength`);
   foreground parts no nucleus reaches get
   seeds of their own when they are at least half a typical cell (π·(diameter/2)²) in area.
   Nuclei that touched at the detection threshold are split again at the necks of their
   refined masks (:func:`_resplit`; small cells, whose nuclei merge in the blur).
   Without nuclei the seeds are cell interiors (:func:`_seeds_without_nuclei`): the body minus
   thin bright lines (membranes: a P-gp rim, the shared membrane of touching donors) and their
   flanks, plus whatever the membranes enclose, minus thin dark lines (valleys where
   volume-stained cells touch), split at distance-transform necks; the body is divided by the
   same compact watershed on the normalised gradient as with nuclei, and body parts no seed
   reaches become cells of their own when at least half a typical cell in area.
3. **Edges** (:func:`refine_cells`): each region found at the low threshold includes the blur
   halo; it is trimmed to the cell in each channel relative to the cell's own level there — at
   the crest of a membrane rim (membrane-like profile) or at a fixed fraction of the level
   (:data:`EDGE_FRACTIONS`; volume-like profile); in the P-gp channel (a membrane protein)
   the latter is then trimmed to the local half-maximum (:data:`LOCAL_EDGE_ROLES`).
4. **Cells without a visible body** (with nuclei only): a cell hardly larger than its nucleus,
   or whose nucleus lies mostly outside what the body channels detect (e.g. a recipient
   without dye imaged with nuclei, donor dye and P-gp; a dim donor whose P-gp rim noise
   breaks up), is its nucleus grown by the cell-to-nucleus size ratio of the cells with a
   visible body in the frame, into background only (:func:`grow_bodyless_cells`).
5. **Clean-up**: objects smaller than ``min_area_px`` are removed and each cell keeps its largest
   piece; with ``exclude_border_fragments`` cells touching the image border whose area is under
   half the median area of the cells not touching it (half of π·(diameter/2)² with fewer than 5
   such cells) are removed; labels are renumbered 1..N in raster order of their first pixel.

With only a ``nuclei`` channel, the cells are the nuclei (steps 1–3 and 5 on the nuclei channel
with ``cell_diameter_px`` as the nucleus diameter).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
from scipy import ndimage as ndi
from skimage import morphology, segmentation

from pgpviewer.core._cfilters import sobel_magnitude
from pgpviewer.core.errors import InputError
from pgpviewer.core.kernels import edt, fill_small_holes, local_max_3x3, seeded_watershed
from pgpviewer.core.params import DEFAULT_CELL_DIAMETER_PX, SegmentationParams
from pgpviewer.core.seg_channels import background_spread, prepare_channel, smooth_background
from pgpviewer.core.seg_diameter import estimate_cell_diameter
from pgpviewer.core.seg_refine import (
    _LEVEL_PERCENTILE,
    CELL_LEVEL_PERCENTILE,
    EDGE_FRACTIONS,
    LEVEL_PERCENTILES,
    LOCAL_EDGE_ROLES,
    _keep_largest_piece,
    _refine_nuclei,
    grow_bodyless_cells,
    refine_cells,
)

__all__ = [
    "BODY_ROLES",
    "EDGE_FRACTIONS",
    "LEVEL_PERCENTILES",
    "SEGMENTERS",
    "Segmenter",
    "background_spread",
    "estimate_cell_diameter",
    "grow_bodyless_cells",
    "prepare_channel",
    "refine_cells",
    "register_segmenter",
    "segment_cells",
    "segment_classical",
    "smooth_background",
]

Segmenter = Callable[[Mapping[str, np.ndarray], SegmentationParams], np.ndarray]

#: Registered segmentation backends: name → ``fn(images, params) -> labels``.
SEGMENTERS: dict[str, Segmenter] = {}

BODY_ROLES = ("donor", "recipient", "pgp")
# Holes up to this many typical cell areas are filled (rim-only cells).
_MAX_HOLE_CELLS = 1.5
# Nucleus-seeded split: compact watershed on the edge strength (per-channel normalised gradient,
# ≈ 0.2 per px at a cell edge) with this weight per pixel of distance from the seed.
_COMPACTNESS = 0.01
# Weight of a volume dye's normalised intensity in the flood's landscape (:func:`_edge_strength`).
# Measured with bench_robustness (3 movies per simulator variant): at 0.25 mean IoU rose on every
# variant (default 0.881 -> 0.885, small cells 0.821 -> 0.831, donor dye 0.824 -> 0.838) and the
# source donor was found more often (default 0.879 -> 0.910, donor dye 0.800 -> 0.864). Adding
# the P-gp intensity too (its crest as the border) gained IoU but lost transfer events (event F1
# 0.920 -> 0.864 with a donor dye, 0.794 -> 0.717 without nuclei): a recipient then takes half
# of a touching donor's rim.
_VALLEY_WEIGHT = 0.25
# Seeds without nuclei (:func:`_seeds_without_nuclei`): membranes and valleys are lines
# narrower than a disk of this radius (px, the blurred width of a 1-2 px membrane); a membrane
# is brighter than the opened image by this fraction of it and of the cell level, and larger
# than a punctum (px); pixels this close (px) to a membrane are its flank; a valley is deeper
# than this fraction of the closed image; interiors at least this deep (px) are seeds.
_LINE_RADIUS = 3
_RIDGE_REL = 0.3
_RIDGE_ABS = 0.08
_SPOT_AREA = 40
_FLANK_PX = 2.0
_VALLEY_REL = 0.25
_MIN_DEPTH_PX = 1.5
# Nuclei split: distance-transform maxima deeper than this fraction of the nucleus diameter.
_SEED_DEPTH = 0.15
_MAD_TO_SD_SEG = 1.4826


def register_segmenter(name: str, fn: Segmenter | None = None):
    """Register a segmentation backend under ``name`` (usable as a decorator).

    Parameters
    ----------
    name : str
        The value of ``SegmentationParams.method`` that selects it.
    fn : callable, optional
        ``fn(images, params) -> labels`` with the contract of :func:`segment_cells`.

    Returns
    -------
    callable
        ``fn`` (or a decorator when ``fn`` is None).

    Examples
    --------
    >>> def everything(images, params):
    ...     shape = next(iter(images.values())).shape
    ...     return np.ones(shape, np.int32)
    >>> _ = register_segmenter("everything", everything)
    >>> segment_cells({"nuclei": np.zeros((4, 4))}, SegmentationParams(method="everything")).max()
    np.int32(1)
    >>> del SEGMENTERS["everything"]
    """

    def deco(f: Segmenter) -> Segmenter:
        if not callable(f):
            raise TypeError("a segmenter must be callable")
        SEGMENTERS[str(name)] = f
        return f

    return deco(fn) if fn is not None else deco


def segment_cells(
    images: Mapping[str, np.ndarray], params: SegmentationParams | None = None
) -> np.ndarray:
    """Segment the cells of one frame.

    Parameters
    ----------
    images : mapping of str to ndarray of shape (Y, X)
        Channel role (``nuclei``, ``donor``, ``recipient``, ``pgp``, ``efflux``; any subset, at
        least one) → 2-D image of any dtype.
    params : SegmentationParams, optional
        ``method`` picks the backend from :data:`SEGMENTERS`.

    Returns
    -------
    ndarray of int32, shape (Y, X)
        Cell labels 1..N (consecutive), 0 = background.

    Raises
    ------
    InputError
        Unknown method or no usable image.

    Examples
    --------
    >>> yy, xx = np.mgrid[:64, :64]
    >>> img = 10.0 + 100 * ((yy - 20) ** 2 + (xx - 20) ** 2 < 64)
    >>> img += 100 * ((yy - 44) ** 2 + (xx - 40) ** 2 < 81)
    >>> lab = segment_cells({"nuclei": img}, SegmentationParams(cell_diameter_px=16))
    >>> lab.dtype.name, int(lab.max())
    ('int32', 2)
    """
    params = params or SegmentationParams()
    images = {k: np.asarray(v) for k, v in images.items() if v is not None}
    if not images:
        raise InputError(None, "segmentation needs at least one channel image")
    shapes = {v.shape for v in images.values()}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2:
        raise InputError(None, f"segmentation needs 2-D images of one shape, got {shapes}")
    try:
        fn = SEGMENTERS[params.method]
    except KeyError:
        raise InputError(
            None,
            f"unknown segmentation method {params.method!r} "
            f"(available: {', '.join(sorted(SEGMENTERS))})",
        ) from None
    labels = np.asarray(fn(images, params))
    if labels.shape != next(iter(shapes)):
        raise ValueError(f"segmenter {params.method!r} returned shape {labels.shape}")
    return _relabel(labels)


# --------------------------------------------------------------------------------------------
# building blocks
# --------------------------------------------------------------------------------------------
def _typical_area(diameter: float) -> float:
    return float(np.pi * (diameter / 2.0) ** 2)


def _fill_small_holes(mask: np.ndarray, max_area: float) -> np.ndarray:
    return fill_small_holes(mask, max_area)


def _seeds_and_split(mask: np.ndarray, diameter: float) -> np.ndarray:
    """Split ``mask`` at distance-transform necks: one region per seed.

    Seeds are the regional maxima of the smoothed distance map deeper than a fraction of the
    diameter (h-maxima); a component without such a maximum is one region. The regions are a
    watershed of the negated distance from the seeds. A component whose smoothed distance map
    has a single local-maximum plateau cannot be split and is one region as it is; h-maxima
    and the watershed run only on the bounding boxes of the other components (the same result
    as on the whole image, where components do not interact, at a fraction of the cost).
    """
    comp, nc = ndi.label(mask)
    if nc == 0:
        return np.zeros(mask.shape, np.int32)
    dist = edt(mask)
    smooth = ndi.gaussian_filter(dist, max(1.0, diameter / 15.0))
    smooth[~mask] = 0
    h = max(1.0, _SEED_DEPTH * diameter)
    cand = local_max_3x3(smooth) & mask
    blobs, nb = ndi.label(cand, structure=np.ones((3, 3), bool))
    out = comp.astype(np.int32)
    if nb <= nc:
        return out
    blob_comp = np.zeros(nb + 1, np.int64)
    cidx = np.flatnonzero(cand.ravel())
    blob_comp[blobs.ravel()[cidx]] = comp.ravel()[cidx]
    n_blobs = np.bincount(blob_comp[1:], minlength=nc + 1)
    multi = np.flatnonzero(n_blobs > 1)
    if multi.size == 0:
        return out
    boxes = ndi.find_objects(comp)
    ny, nx = mask.shape
    next_id = nc + 1
    for k in multi:
        sy, sx = boxes[k - 1]
        sl = (
            slice(max(sy.start - 1, 0), min(sy.stop + 1, ny)),
            slice(max(sx.start - 1, 0), min(sx.stop + 1, nx)),
        )
        sub = comp[sl] == k
        f = np.where(sub, smooth[sl], np.float32(0))
        peaks = (morphology.h_maxima(f, h) > 0) & sub
        markers, nm = ndi.label(peaks, structure=np.ones((3, 3), bool))
        if nm <= 1:
            continue
        ws = segmentation.watershed(-dist[sl], markers, mask=sub)
        view = out[sl]
        view[sub] = ws[sub] + (next_id - 1)
        next_id += nm
    return out


def _edge_strength(
    signals: list[np.ndarray], thresholds: list[float], membrane_marker: list[bool]
) -> np.ndarray:
    """The landscape the seeds flood: where cells meet, it is high.

    Sum over channels of the gradient magnitude of the channel divided by its cell level, minus
    :data:`_VALLEY_WEIGHT` × the normalised intensity of each volume dye (not of a
    membrane-protein channel): two touching cells meet in the dye's valley, where the gradient
    is zero. The level of a channel is the 90th percentile of its pixels above the detection
    threshold, so every channel's cells are ≈ 1 and a dim recipient dye counts as much as a
    bright donor.
    """
    out = None
    for sig, thr, marker in zip(signals, thresholds, membrane_marker, strict=True):
        fg = sig[sig > thr]
        level = float(np.percentile(fg, _LEVEL_PERCENTILE)) if fg.size >= 10 else 0.0
        if level <= 0:
            continue
        norm = np.ascontiguousarray(sig * np.float32(1.0 / level), np.float32)
        g = sobel_magnitude(norm)
        if not marker:
            g -= np.float32(_VALLEY_WEIGHT) * norm
        out = g if out is None else out + g
    if out is None:
        return np.zeros(signals[0].shape, np.float32)
    return out - out.min()


def _seeds_without_nuclei(
    body: np.ndarray,
    signals: list[np.ndarray],
    thresholds: list[float],
    diameter: float,
) -> np.ndarray:
    """Seeds for touching cells without nuclei: cell interiors between membranes and valleys.

    Each channel is divided by its cell level (90th percentile of its pixels above the detection
    threshold) and the channels are combined by maximum (``comb``). With ``opened`` the grey
    opening of ``comb`` by a disk of radius :data:`_LINE_RADIUS` (thin bright structures
    removed):

    * **membranes** are thin bright lines: ``comb - opened`` above :data:`_RIDGE_REL` ×
      ``opened`` and above :data:`_RIDGE_ABS` of the cell level, in pieces larger than a
      punctum (:data:`_SPOT_AREA`). Pixels enclosed by membranes (holes up to 1.5 typical cell
      areas) are interiors, also of a donor whose P-gp is only on its rim and of touching donors
      (their shared membrane separates them); pixels within :data:`_FLANK_PX` of a membrane
      (its blurred flank) are not.
    * **valleys** are thin dark lines of the membrane-free image (closing of ``opened`` by the
      same disk deeper than :data:`_VALLEY_REL` of the closing): where volume-stained cells
      touch. They are not interiors.

    The interiors (opened by a 3 × 3 cross, which cuts one-pixel bridges) are then split at
    distance-transform necks (:func:`_seeds_and_split`) with the cell diameter estimated as
    twice the median depth of the interiors (bounded to 0.3–2 × ``diameter``).

    Returns
    -------
    ndarray of int32, shape (Y, X)
        Seed labels (0 = no seed).
    """
    comb = np.zeros(body.shape, np.float32)
    for sig, thr in zip(signals, thresholds, strict=True):
        fg = sig[sig > thr]
        level = float(np.percentile(fg, _LEVEL_PERCENTILE)) if fg.size >= 10 else 0.0
        if level <= 0:
            continue
        np.maximum(comb, sig / np.float32(level), out=comb)
    fp = morphology.disk(_LINE_RADIUS)
    opened = ndi.grey_opening(comb, footprint=fp)
    ridge = (comb - opened) > np.maximum(_RIDGE_REL * opened, _RIDGE_ABS)
    ridge = morphology.remove_small_objects(ridge, max_size=_SPOT_AREA)
    closed = ndi.grey_closing(opened, footprint=fp)
    valley = (closed - opened) > _VALLEY_REL * closed
    holes = fill_small_holes(ridge, _MAX_HOLE_CELLS * _typical_area(diameter)) & ~ridge
    near = edt(~ridge) <= _FLANK_PX
    interior = body & (holes | (~near & ~valley))
    interior = ndi.binary_opening(interior)
    comp, n = ndi.label(interior)
    if n == 0:
        return np.zeros(body.shape, np.int32)
    depth = np.asarray(ndi.maximum(edt(interior), comp, np.arange(1, n + 1)))
    keep = np.zeros(n + 1, bool)
    keep[1:] = depth >= _MIN_DEPTH_PX
    if keep.sum() >= 3:
        d_est = 2.0 * float(np.median(depth[keep[1:]]))
        diameter = float(np.clip(d_est, 0.3 * diameter, 2.0 * diameter))
    return _seeds_and_split(keep[comp], diameter)


def _segment_objects(mask: np.ndarray, diameter: float, split: bool) -> np.ndarray:
    if not split:
        return ndi.label(mask)[0].astype(np.int32)
    return _seeds_and_split(mask, diameter)


def _remove_small(labels: np.ndarray, min_area: int) -> np.ndarray:
    if labels.max() == 0:
        return labels
    sizes = np.bincount(labels.ravel())
    small = sizes < min_area
    small[0] = False
    if small.any():
        labels = np.where(small[labels], 0, labels)
    return labels


def _drop_border_fragments(labels: np.ndarray, diameter: float) -> np.ndarray:
    n = int(labels.max())
    if n == 0:
        return labels
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    edge = np.zeros(n + 1, bool)
    for side in (labels[0], labels[-1], labels[:, 0], labels[:, -1]):
        edge[side] = True
    edge[0] = False
    inner = sizes[1:][~edge[1:] & (sizes[1:] > 0)]
    typical = float(np.median(inner)) if inner.size >= 5 else _typical_area(diameter)
    drop = edge & (sizes < 0.5 * typical)
    return np.where(drop[labels], 0, labels) if drop.any() else labels


def _relabel(labels: np.ndarray) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.size == 0 or labels.max() <= 0:
        return np.zeros(labels.shape, np.int32)
    flat = labels.ravel()
    idx = np.flatnonzero(flat > 0)
    lab = flat[idx].astype(np.intp)
    n = int(lab.max())
    first = np.full(n + 1, flat.size, np.intp)
    np.minimum.at(first, lab, idx)
    ids = np.flatnonzero(first < flat.size)
    order = ids[np.argsort(first[ids], kind="stable")]
    lut = np.zeros(n + 1, np.int32)
    lut[order] = np.arange(1, len(order) + 1, dtype=np.int32)
    out = np.zeros(labels.shape, np.int32)
    out.ravel()[idx] = lut[lab]
    return out


# --------------------------------------------------------------------------------------------
# the classical backend
# --------------------------------------------------------------------------------------------
def segment_classical(images: Mapping[str, np.ndarray], params: SegmentationParams) -> np.ndarray:
    """Threshold + seeded-watershed segmentation (see the module docstring).

    Parameters
    ----------
    images : mapping of str to ndarray of shape (Y, X)
        Channel role → image.
    params : SegmentationParams

    Returns
    -------
    ndarray of int32, shape (Y, X)
        Labels (not yet renumbered; :func:`segment_cells` does that).
    """
    d = params.cell_diameter_px
    if d is None:
        d = estimate_cell_diameter(images, params) or DEFAULT_CELL_DIAMETER_PX
    d = float(d)
    shape = next(iter(images.values())).shape
    max_hole = _MAX_HOLE_CELLS * _typical_area(d)
    body_roles = [r for r in BODY_ROLES if r in images]
    if not body_roles and "efflux" in images:
        body_roles = ["efflux"]

    nuclei_lab = None
    nuc_mask = None
    nuc_sig = nuc_thr = None
    if "nuclei" in images:
        d_nuc = d if not body_roles else 0.5 * d
        nuc_sig, nuc_thr = prepare_channel(images["nuclei"], params, diameter_px=d)
        nuc_mask = _fill_small_holes(nuc_sig > nuc_thr, _MAX_HOLE_CELLS * _typical_area(d_nuc))
        nuc_mask = morphology.remove_small_objects(
            nuc_mask, max_size=max(1, int(params.min_area_px * (0.25 if body_roles else 1)) - 1)
        )
        if body_roles:
            d_nuc = _nucleus_diameter(nuc_mask, d_nuc)
        regions = _segment_objects(nuc_mask, d_nuc, params.split_touching)
        nuclei_lab = _refine_nuclei(
            regions,
            nuc_sig,
            nuc_thr,
            d_nuc,
            max(1, int(params.min_area_px * (0.25 if body_roles else 1))),
        )
        if params.split_touching and nuclei_lab.max() > 0:
            nuclei_lab = _resplit(nuclei_lab, _nucleus_diameter(nuclei_lab > 0, d_nuc))

    if not body_roles:
        if nuclei_lab is None:
            return np.zeros(shape, np.int32)
        return _finish(nuclei_lab, params, d)

    signals = []
    thresholds = []
    filled_masks = []
    local = [r in LOCAL_EDGE_ROLES for r in body_roles]
    for role in body_roles:
        sig, thr = prepare_channel(images[role], params, diameter_px=d)
        signals.append(sig)
        thresholds.append(thr)
        filled_masks.append(_fill_small_holes(sig > thr, max_hole))
    shown = np.logical_or.reduce(filled_masks)
    body = shown.copy()
    if nuc_mask is not None:
        body |= nuc_mask
    body = _fill_small_holes(body, max_hole)
    if nuclei_lab is not None and nuclei_lab.max() > 0 and params.split_touching:
        markers = np.where(body, nuclei_lab, 0).astype(np.int32)
        regions = _flood(markers, body, signals, thresholds, local, d, params, split_rest=True)
    elif params.split_touching:
        markers = _seeds_without_nuclei(body, signals, thresholds, d)
        regions = _flood(
            markers, body, signals, thresholds, local, d, params, split_rest=False
        )
    else:
        regions = ndi.label(body)[0].astype(np.int32)
    fractions = [EDGE_FRACTIONS.get(r, EDGE_FRACTIONS["other"]) for r in body_roles]
    percentiles = [LEVEL_PERCENTILES.get(r, CELL_LEVEL_PERCENTILE) for r in body_roles]
    membrane = [True] * len(body_roles)
    if nuc_sig is not None:
        signals.append(nuc_sig)
        thresholds.append(nuc_thr)
        fractions.append(EDGE_FRACTIONS["nuclei"])
        percentiles.append(LEVEL_PERCENTILES["nuclei"])
        membrane.append(False)
        local.append(False)
    labels = refine_cells(regions, signals, thresholds, fractions, percentiles, membrane, local)
    if nuclei_lab is not None and nuclei_lab.max() > 0:
        labels = grow_bodyless_cells(labels, nuclei_lab, d, shown)
    return _finish(labels, params, d)


def _resplit(labels: np.ndarray, diameter: float) -> np.ndarray:
    """Split each label at the distance-transform necks of the labels' union (see
    :func:`_seeds_and_split`): objects that touched at the low detection threshold and so were
    one region often separate only at their refined edges."""
    mask = labels > 0
    split = _seeds_and_split(mask, diameter)
    if int(split.max()) <= int(ndi.label(mask)[1]):
        return labels  # no component was divided
    pair = labels.astype(np.int64) * (int(split.max()) + 1) + split
    _, inv = np.unique(pair.ravel(), return_inverse=True)
    out = inv.reshape(labels.shape).astype(np.int32)
    return np.where(labels > 0, out, 0)


def _flood(
    markers, body, signals, thresholds, membrane_marker, d, params, *, split_rest: bool
) -> np.ndarray:
    """Divide ``body`` among ``markers`` by the compact watershed on the edge strength; body
    parts no seed reached become cells of their own when they are at least half a typical cell
    (smaller ones are fragments, e.g. pieces of a dim, broken membrane rim), split at
    distance-transform necks when ``split_rest``."""
    landscape = _edge_strength(signals, thresholds, membrane_marker)
    regions = seeded_watershed(landscape, markers, body, _COMPACTNESS)
    rest = body & (regions == 0)
    if rest.any():
        small = max(params.min_area_px, int(0.5 * _typical_area(d)))
        rest = morphology.remove_small_objects(rest, max_size=small - 1)
        extra = _segment_objects(rest, d, True) if split_rest else ndi.label(rest)[0]
        regions = np.where(extra > 0, extra + regions.max(), regions)
    return regions


def _nucleus_diameter(mask: np.ndarray, default: float) -> float:
    """Median equivalent diameter of the nucleus mask's parts (robust to a few clumps)."""
    lab, n = ndi.label(mask)
    if n < 3:
        return default
    sizes = np.bincount(lab.ravel())[1:]
    return float(np.clip(2.0 * np.sqrt(np.median(sizes) / np.pi), 0.25 * default, 4 * default))


def _finish(labels: np.ndarray, params: SegmentationParams, d: float) -> np.ndarray:
    labels = _remove_small(labels, params.min_area_px)
    labels = _keep_largest_piece(labels)
    if params.exclude_border_fragments:
        labels = _drop_border_fragments(labels, d)
    return _relabel(labels)


register_segmenter("classical", segment_classical)
