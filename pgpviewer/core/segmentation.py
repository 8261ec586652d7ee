"""Whole-cell instance segmentation of one frame.

:func:`segment_cells` dispatches to a registered backend (``SegmentationParams.method``); the
built-in ``"classical"`` backend (:func:`segment_classical`) needs no trained model:

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
   weak edge, the idea of CellProfiler's "propagation"); foreground parts no nucleus reaches get
   seeds of their own when they are at least half a typical cell (π·(diameter/2)²) in area.
   Without nuclei the seeds are blob centres at a tenth of a cell diameter
   (:func:`_seeds_without_nuclei`) and cells meet in the intensity valleys between them.
3. **Edges** (:func:`refine_cells`): each region found at the low threshold includes the blur
   halo; it is trimmed to the cell in each channel relative to the cell's own level there — at
   the crest of a membrane rim (membrane-like profile) or at a fixed fraction of the level
   (:data:`EDGE_FRACTIONS`; volume-like profile).
4. **Cells without a visible body** (with nuclei only): a nucleus whose cell is not larger than
   the nucleus (e.g. a P-gp-negative recipient imaged with nuclei + P-gp only) is grown by the
   typical cytoplasm width (:func:`grow_bodyless_cells`).
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
from skimage import filters, measure, morphology, segmentation
from skimage.feature import peak_local_max

from pgpviewer.core.errors import InputError
from pgpviewer.core.kernels import edt, fill_label_holes, fill_small_holes, local_max_3x3
from pgpviewer.core.measurements import (
    label_percentile,
    pixel_noise_sd,
    shift_max,
    shift_min,
)
from pgpviewer.core.params import SegmentationParams

Segmenter = Callable[[Mapping[str, np.ndarray], SegmentationParams], np.ndarray]

#: Registered segmentation backends: name → ``fn(images, params) -> labels``.
SEGMENTERS: dict[str, Segmenter] = {}

BODY_ROLES = ("donor", "recipient", "pgp")
# Background window (grey opening) in cell diameters.
_BACKGROUND_DIAMETERS = 4.0
# The detection threshold of a channel: background level + this many background SDs...
_MIN_THRESHOLD_SNR = 5.0
# ...and at least this fraction of the automatic threshold.
_AUTO_FRACTION = 0.2
#: Where a cell's edge lies in a channel without a membrane rim, as a fraction of the cell's level
#: in it: half-maximum for a compartment with a sharp boundary (nuclei), lower for signals that
#: thin out with the cell towards its edge (cytoplasmic tracker dyes; P-gp in the cytoplasm).
EDGE_FRACTIONS = {
    "nuclei": 0.5, "pgp": 0.3, "donor": 0.2, "recipient": 0.2, "efflux": 0.2, "other": 0.3,
}
#: A cell's level in a channel: this percentile of its pixels (default 90). Nuclear stains are
#: textured (chromatin, bright chromocentres), so a nucleus's level is ``"core"``: the median of
#: its pixels more than 3 px inside the detected region, beyond the blur halo.
LEVEL_PERCENTILES: dict[str, float | str] = {"nuclei": "core"}
_LEVEL_PERCENTILE = 90.0
_CORE_DEPTH = 3
# A cell shows in a channel when its level there exceeds this many detection thresholds.
_VISIBLE_LEVEL = 1.25
# Membrane-like profile: the outer 2 px of a cell's half-level mask this many times brighter
# than its inside.
_RIM_SCORE = 1.3
# Holes up to this many typical cell areas are filled (rim-only cells).
_MAX_HOLE_CELLS = 1.5
# Nucleus-seeded split: compact watershed on the edge strength (per-channel normalised gradient,
# ≈ 0.2 per px at a cell edge) with this weight per pixel of distance from the seed.
_COMPACTNESS = 0.01
# Seeds without nuclei: blob centres of the normalised image smoothed at this fraction of the
# cell diameter, at least this fraction of a diameter apart.
_SEED_BLOB = 0.1
_SEED_SPACING = 0.33
# Smoothing (px) of the normalised image whose valleys separate cells without nuclei.
_SPLIT_BLUR = 1.0
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
            None, f"unknown segmentation method {params.method!r} "
            f"(available: {', '.join(sorted(SEGMENTERS))})",
        ) from None
    labels = np.asarray(fn(images, params))
    if labels.shape != next(iter(shapes)):
        raise ValueError(f"segmenter {params.method!r} returned shape {labels.shape}")
    return _relabel(labels)


# --------------------------------------------------------------------------------------------
# channel preparation
# --------------------------------------------------------------------------------------------
def smooth_background(image: np.ndarray, scale_px: float) -> np.ndarray:
    """Smooth background under the objects, robust to uneven illumination and image edges.

    The image is divided into boxes of about ``scale_px / 2``; in each box, pixels more than 2.5
    SDs above the median are discarded repeatedly (objects are brighter than the background;
    the SD is taken from the lower half of the box's values, median − 15.9th percentile, which
    objects do not reach) and the median of the rest is the box's background. The box grid is
    median-filtered (3 × 3; a box covered mostly by cells takes its neighbours' value),
    interpolated bilinearly between box centres and extrapolated linearly beyond the outer
    ones, so a sloping background is followed up to the image edges.

    Parameters
    ----------
    image : ndarray of shape (Y, X)
    scale_px : float
        Scale of the background variations (a few cell diameters).

    Returns
    -------
    ndarray of float32, shape (Y, X)

    Examples
    --------
    >>> yy, xx = np.mgrid[:128, :128]
    >>> img = 50 + 0.5 * xx + 200 * ((yy - 64) ** 2 + (xx - 64) ** 2 < 100)
    >>> bg = smooth_background(img, 60)
    >>> abs(float(bg[64, 64]) - 82) < 5, abs(float(bg[10, 125]) - 112) < 5
    (True, True)
    """
    img = np.asarray(image, dtype=np.float32)
    ny, nx = img.shape
    if img.size == 0:
        return img.copy()
    gy = max(1, round(ny / max(8.0, scale_px / 2)))
    gx = max(1, round(nx / max(8.0, scale_px / 2)))
    by, bx = -(-ny // gy), -(-nx // gx)
    gy, gx = -(-ny // by), -(-nx // bx)
    padded = np.full((gy * by, gx * bx), np.nan, np.float32)
    padded[:ny, :nx] = img
    boxes = np.sort(padded.reshape(gy, by, gx, bx).transpose(0, 2, 1, 3).reshape(gy, gx, -1))
    n_valid = np.sum(np.isfinite(boxes), axis=2)
    # objects are brighter than the background: clip from the top, estimating the spread from
    # the lower half (median - 15.9th percentile), which objects do not reach
    keep = n_valid.copy()
    for _ in range(5):
        k = np.maximum(keep - 1, 0)
        med = np.take_along_axis(boxes, (k // 2)[..., None], axis=2)[..., 0]
        low = np.take_along_axis(boxes, (k * 0.1587).astype(np.intp)[..., None], axis=2)[..., 0]
        limit = med + 2.5 * (med - low)
        new_keep = np.sum(boxes <= limit[..., None], axis=2)
        new_keep = np.clip(new_keep, np.minimum(8, n_valid), n_valid)
        if np.array_equal(new_keep, keep):
            break
        keep = new_keep
    k = np.maximum(keep - 1, 0)
    grid = np.take_along_axis(boxes, (k // 2)[..., None], axis=2)[..., 0].astype(np.float64)
    if min(gy, gx) >= 3:
        grid = ndi.median_filter(grid, size=3, mode="nearest")
    # separable linear interpolation between box centres, linear extrapolation beyond them
    cy = (np.arange(gy) * by + np.minimum((np.arange(gy) + 1) * by, ny) - 1) / 2.0
    cx = (np.arange(gx) * bx + np.minimum((np.arange(gx) + 1) * bx, nx) - 1) / 2.0
    rows = _interp_linear(cy, grid, np.arange(ny))
    out = _interp_linear(cx, rows.T, np.arange(nx)).T
    return out.astype(np.float32)


def _interp_linear(centres: np.ndarray, values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Interpolate ``values`` (n, m) given at ``centres`` (n,) to ``at`` (k,) → (k, m)."""
    if len(centres) == 1:
        return np.repeat(values, len(at), axis=0)
    idx = np.clip(np.searchsorted(centres, at) - 1, 0, len(centres) - 2)
    c0 = centres[idx]
    c1 = centres[idx + 1]
    w = ((at - c0) / (c1 - c0))[:, None]
    return values[idx] * (1 - w) + values[idx + 1] * w


def background_spread(values: np.ndarray, split: float) -> tuple[float, float]:
    """Level and SD of the background from the lower side of its peak.

    The pixels below ``split`` (e.g. an Otsu threshold) are mostly background; their median is
    the background level and the distance from the median down to the 15.9th percentile its SD
    (the lower half of the peak is free of cell pixels, which are brighter). Unlike the pixel-
    difference estimate this includes spatially correlated background fluctuations.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> v = np.concatenate([rng.normal(0, 2, 9000), rng.normal(100, 10, 1000)])
    >>> [round(x) for x in background_spread(v, 50.0)]
    [0, 2]
    """
    v = np.asarray(values).ravel()
    if v.dtype.kind != "f":
        v = v.astype(np.float64)
    low = v[v < split]
    if low.size < 100:
        low = v
    if low.size == 0:
        return 0.0, 0.0
    med, p16 = _percentiles(low, (50.0, 15.87))
    return float(med), float(max(med - p16, 0.0))


def _percentiles(values: np.ndarray, qs) -> list[float]:
    """``np.percentile(values, qs)`` (linear interpolation) with one partial sort, in float64
    from the values' own precision."""
    n = values.size
    pos = [q / 100.0 * (n - 1) for q in qs]
    ks = sorted({min(int(np.floor(p)) + j, n - 1) for p in pos for j in (0, 1)})
    part = np.partition(values, ks)
    out = []
    for p in pos:
        lo = int(np.floor(p))
        a = float(part[lo])
        b = float(part[min(lo + 1, n - 1)])
        t = p - lo
        out.append(b - (b - a) * (1 - t) if t >= 0.5 else a + (b - a) * t)
    return out


def _smoothing_gain(sigma: float) -> float:
    """SD of Gaussian-smoothed unit white noise (2-D)."""
    if sigma <= 0:
        return 1.0
    r = int(np.ceil(4 * sigma))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    return float((k**2).sum())


_THRESHOLDS = {
    "otsu": filters.threshold_otsu,
    "li": filters.threshold_li,
    "triangle": filters.threshold_triangle,
}


def prepare_channel(
    image: np.ndarray, params: SegmentationParams, *, diameter_px: float | None = None
) -> tuple[np.ndarray, float]:
    """Smooth, background-subtract and threshold one channel.

    Parameters
    ----------
    image : ndarray of shape (Y, X)
    params : SegmentationParams
    diameter_px : float, optional
        Object diameter setting the background scale (default ``params.cell_diameter_px``).

    Returns
    -------
    signal : ndarray of float32, shape (Y, X)
        Smoothed, background-subtracted image.
    threshold : float
        Detection threshold on ``signal``: ``threshold_factor`` × the larger of the background
        level + 5 background SDs (:func:`background_spread`; at least the smoothed white
        noise) and 0.2 × the automatic threshold. Low on purpose: it finds
        dim cells; each cell's edge is then placed at half its own level (:func:`refine_cells`).
    """
    d = float(diameter_px or params.cell_diameter_px)
    raw = np.asarray(image)
    x = raw.astype(np.float32)
    if params.smoothing_sigma_px > 0:
        x = ndi.gaussian_filter(x, params.smoothing_sigma_px, mode="nearest")
    x = x - smooth_background(x, _BACKGROUND_DIAMETERS * d)
    white = pixel_noise_sd(raw) * _smoothing_gain(params.smoothing_sigma_px)
    if not np.isfinite(white):
        white = 0.0
    step = max(1, int(np.sqrt(x.size / 262144)))
    sample = x[::step, ::step].ravel()
    try:
        auto = float(_THRESHOLDS[params.threshold_method](sample))
    except ValueError:  # constant image
        auto = float(sample.max()) if sample.size else 0.0
    level, spread = background_spread(sample, auto)
    noise = max(spread, white)
    threshold = params.threshold_factor * max(
        _AUTO_FRACTION * auto, level + _MIN_THRESHOLD_SNR * noise
    )
    if threshold <= 0:
        threshold = np.nextafter(np.float32(0), np.float32(1))
    return x, float(threshold)


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
        sl = (slice(max(sy.start - 1, 0), min(sy.stop + 1, ny)),
              slice(max(sx.start - 1, 0), min(sx.stop + 1, nx)))
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


def _edge_strength(signals: list[np.ndarray], thresholds: list[float]) -> np.ndarray:
    """Sum over channels of the gradient magnitude of the channel divided by its cell level.

    The level of a channel is the 90th percentile of its pixels above the detection threshold,
    so every channel's cells are ≈ 1 and a dim recipient dye counts as much as a bright donor.
    """
    out = None
    for sig, thr in zip(signals, thresholds, strict=True):
        fg = sig[sig > thr]
        level = float(np.percentile(fg, _LEVEL_PERCENTILE)) if fg.size >= 10 else 0.0
        if level <= 0:
            continue
        g = filters.sobel(sig * np.float32(1.0 / level))
        out = g if out is None else out + g
    if out is None:
        out = np.zeros(signals[0].shape, np.float32)
    return out


def _seeds_without_nuclei(
    body: np.ndarray, signals: list[np.ndarray], thresholds: list[float],
    filled: list[np.ndarray], diameter: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Seeds and split landscape for touching cells without nuclei.

    Each channel is divided by its cell level (90th percentile of its pixels above the detection
    threshold) and the filled-in inside of membrane-only cells is set to 1; the channels are
    combined by maximum. Seeds are the local maxima of this image smoothed at a tenth of a cell
    diameter, at least a third of a diameter apart (cells are brightest inside and dimmer where
    they meet); the returned landscape (the image smoothed by 1 px, negated) puts the split
    lines in the valleys between seeds.

    Returns
    -------
    markers : ndarray of int32, shape (Y, X)
    landscape : ndarray of float32, shape (Y, X)
    """
    comb = np.zeros(body.shape, np.float32)
    for sig, thr, fm in zip(signals, thresholds, filled, strict=True):
        fg = sig[sig > thr]
        level = float(np.percentile(fg, _LEVEL_PERCENTILE)) if fg.size >= 10 else 0.0
        if level <= 0:
            continue
        norm = sig / np.float32(level)
        np.maximum(norm, (fm & (sig <= thr)).astype(np.float32), out=norm)
        np.maximum(comb, norm, out=comb)
    blob = ndi.gaussian_filter(comb, max(0.5, _SEED_BLOB * diameter))
    blob[~body] = 0
    peaks = peak_local_max(
        blob, min_distance=max(1, int(diameter * _SEED_SPACING)), labels=ndi.label(body)[0],
        exclude_border=False,
    )
    markers = np.zeros(body.shape, np.int32)
    markers[peaks[:, 0], peaks[:, 1]] = np.arange(1, len(peaks) + 1)
    return markers, -ndi.gaussian_filter(comb, _SPLIT_BLUR)


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
    hxy = np.where(inner, np.float32(0.25) * (f[p + w + 1] - f[p + w - 1] - f[p - w + 1]
                                               + f[p - w - 1]), np.float32(0))
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
      everything it encloses. When the crest does not close (it encloses less than half of the
      half-level mask), the half-level mask is used.
    * **volume-like**: pixels above the channel's edge fraction of the level
      (:data:`EDGE_FRACTIONS`).

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

    Returns
    -------
    ndarray of int32, shape (Y, X)
    """
    n = int(regions.max())
    if n == 0:
        return regions.astype(np.int32)
    inside = regions > 0
    keep = np.zeros(regions.shape, bool)
    if edge_fractions is None:
        edge_fractions = [0.5] * len(signals)
    if level_percentiles is None:
        level_percentiles = [_LEVEL_PERCENTILE] * len(signals)
    if membrane is None:
        membrane = [True] * len(signals)
    flat_r = regions.ravel()
    core_lab = None
    for sig, thr, frac, q, can_rim in zip(
        signals, thresholds, edge_fractions, level_percentiles, membrane, strict=True
    ):
        if q == "core":
            if core_lab is None:
                core_lab = np.where(
                    (shift_min(regions, _CORE_DEPTH) == regions)
                    & (shift_max(regions, _CORE_DEPTH) == regions), regions, 0)
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
        keep |= volume.take(regions) & (norm >= frac)
        if rimlike.any():
            rim_px = rimlike.take(regions)
            crest = _ridge_crest(sig, half & rim_px)
            crest = _closing_3x3(crest) & inside
            crest &= rim_px
            filled = _fill_label_holes(np.where(crest, regions, 0))
            a_fill = np.bincount(filled.ravel(), minlength=n + 1)[: n + 1]
            a_half = np.bincount(lab_half.ravel(), minlength=n + 1)[: n + 1]
            closed = rimlike & (a_fill >= 0.5 * a_half)
            # the membrane's outer half lies beyond the crest pixel: grow it by 1 px (within
            # the half-level mask)
            filled = np.where((shift_max(filled, 1) == regions) & half, regions, 0)
            keep |= (filled > 0) & closed.take(regions) & (filled == regions)
            keep |= half & (rimlike & ~closed).take(regions)
    out = np.where(keep & inside, regions, 0).astype(np.int32)
    return _fill_label_holes(_keep_largest_piece(out))


def _fill_label_holes(labels: np.ndarray) -> np.ndarray:
    """Fill background holes enclosed by a single label."""
    return fill_label_holes(labels)


# --------------------------------------------------------------------------------------------
# the classical backend
# --------------------------------------------------------------------------------------------
def segment_classical(
    images: Mapping[str, np.ndarray], params: SegmentationParams
) -> np.ndarray:
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
    d = float(params.cell_diameter_px)
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
            regions, nuc_sig, nuc_thr, d_nuc,
            max(1, int(params.min_area_px * (0.25 if body_roles else 1))),
        )

    if not body_roles:
        if nuclei_lab is None:
            return np.zeros(shape, np.int32)
        return _finish(nuclei_lab, params, d)

    signals = []
    thresholds = []
    filled_masks = []
    for role in body_roles:
        sig, thr = prepare_channel(images[role], params)
        signals.append(sig)
        thresholds.append(thr)
        filled_masks.append(_fill_small_holes(sig > thr, max_hole))
    body = np.logical_or.reduce(filled_masks)
    if nuc_mask is not None:
        body |= nuc_mask
    body = _fill_small_holes(body, max_hole)
    if nuclei_lab is not None and nuclei_lab.max() > 0 and params.split_touching:
        markers = np.where(body, nuclei_lab, 0).astype(np.int32)
        regions = segmentation.watershed(
            _edge_strength(signals, thresholds), markers, mask=body,
            compactness=_COMPACTNESS,
        ).astype(np.int32)
        # body parts no nucleus reached get seeds of their own when they are cell-sized (smaller
        # ones are fragments, e.g. pieces of a dim, broken membrane rim)
        rest = body & (regions == 0)
        if rest.any():
            small = max(params.min_area_px, int(0.5 * _typical_area(d)))
            rest = morphology.remove_small_objects(rest, max_size=small - 1)
            extra = _segment_objects(rest, d, True)
            regions = np.where(extra > 0, extra + regions.max(), regions)
    elif params.split_touching:
        markers, valleys = _seeds_without_nuclei(body, signals, thresholds, filled_masks, d)
        regions = segmentation.watershed(valleys, markers, mask=body).astype(np.int32)
    else:
        regions = ndi.label(body)[0].astype(np.int32)
    fractions = [EDGE_FRACTIONS.get(r, EDGE_FRACTIONS["other"]) for r in body_roles]
    percentiles = [LEVEL_PERCENTILES.get(r, _LEVEL_PERCENTILE) for r in body_roles]
    membrane = [True] * len(body_roles)
    if nuc_sig is not None:
        signals.append(nuc_sig)
        thresholds.append(nuc_thr)
        fractions.append(EDGE_FRACTIONS["nuclei"])
        percentiles.append(LEVEL_PERCENTILES["nuclei"])
        membrane.append(False)
    labels = refine_cells(regions, signals, thresholds, fractions, percentiles, membrane)
    if nuclei_lab is not None and nuclei_lab.max() > 0:
        labels = grow_bodyless_cells(labels, nuclei_lab, d)
    return _finish(labels, params, d)


def _refine_nuclei(
    regions: np.ndarray, sig: np.ndarray, thr: float, diameter: float, min_area: int
) -> np.ndarray:
    """Refine nucleus regions; dim nuclei merged at the detection threshold with a bright one
    (and so trimmed away at the bright one's level) become nuclei of their own.

    The pixels of a region above the detection threshold that the trimming dropped are opened
    with a disk of a quarter nucleus diameter (removing the thin blur halo); pieces of at least
    ``min_area`` pixels are refined again on their own level.
    """
    kw = dict(edge_fractions=[EDGE_FRACTIONS["nuclei"]],
              level_percentiles=[LEVEL_PERCENTILES["nuclei"]], membrane=[False])
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
    sl = (slice(max(ys.min() - m, 0), min(ys.max() + m + 1, mask.shape[0])),
          slice(max(xs.min() - m, 0), min(xs.max() + m + 1, mask.shape[1])))
    sub = mask[sl]
    # erosion with the crop edge as border 0 is exact at the candidates (margin ≥ r) and
    # never adds pixels; the dilation of the exact erosion stays inside the crop
    out[sl] = ndi.binary_opening(sub, structure=morphology.disk(r))
    return out


def grow_bodyless_cells(
    labels: np.ndarray, nuclei: np.ndarray, diameter_px: float
) -> np.ndarray:
    """Give cells whose body no channel shows a body: their nucleus grown by a typical margin.

    A cell is body-less when its area is under 1.5 × its nucleus's area (e.g. a P-gp-negative
    recipient when only nuclei and P-gp are imaged). It is grown into background pixels (never
    into another cell) by the median difference between cell and nucleus equivalent radii of the
    cells with a visible body, or by ``diameter_px / 2`` minus its nucleus radius when fewer than
    5 cells show a body.

    Parameters
    ----------
    labels : ndarray of int, shape (Y, X)
        Cells; cell ``k`` grew from nucleus ``k``.
    nuclei : ndarray of int, shape (Y, X)
        Nucleus labels.
    diameter_px : float
        Typical cell diameter.

    Returns
    -------
    ndarray of int32, shape (Y, X)
    """
    from skimage.segmentation import expand_labels

    n = int(max(labels.max(), nuclei.max()))
    a_cell = np.bincount(labels.ravel(), minlength=n + 1)[: n + 1].astype(float)
    a_nuc = np.bincount(nuclei.ravel(), minlength=n + 1)[: n + 1].astype(float)
    has_nuc = a_nuc > 0
    has_nuc[0] = False
    bodyless = has_nuc & (a_cell < 1.5 * a_nuc)
    if not bodyless.any():
        return labels
    with_body = has_nuc & ~bodyless & (a_cell > 0)
    r_nuc = np.sqrt(a_nuc / np.pi)
    if with_body.sum() >= 5:
        margin = float(np.median(np.sqrt(a_cell[with_body] / np.pi) - r_nuc[with_body]))
    else:
        margin = float(np.median(diameter_px / 2.0 - r_nuc[bodyless]))
    if margin < 0.5:
        return labels
    # start from the cell, or its nucleus where that is larger
    src = np.where(bodyless[labels], labels, 0)
    src = np.where((src == 0) & (labels == 0) & bodyless[nuclei], nuclei, src)
    grown = expand_labels(src.astype(np.int32), distance=margin)
    out = np.where((labels == 0) & (grown > 0), grown, labels)
    return out.astype(np.int32)


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


def _keep_largest_piece(labels: np.ndarray) -> np.ndarray:
    """Each label keeps only its largest 4-connected piece."""
    if labels.max() == 0:
        return labels
    pieces = measure.label(labels, connectivity=1, background=0)
    n_pieces = int(pieces.max())
    if n_pieces == int(np.count_nonzero(np.bincount(labels.ravel())[1:])):
        return labels
    sizes = np.bincount(pieces.ravel(), minlength=n_pieces + 1)
    owner = np.zeros(n_pieces + 1, np.int64)
    owner[pieces.ravel()] = labels.ravel()
    best = np.zeros(int(labels.max()) + 1, np.int64)
    order = np.argsort(sizes[1:], kind="stable") + 1  # ascending; the largest wins last
    best[owner[order]] = order
    keep = np.zeros(n_pieces + 1, bool)
    keep[best[best > 0]] = True
    return np.where(keep[pieces], labels, 0)


register_segmenter("classical", segment_classical)
