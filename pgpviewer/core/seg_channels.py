"""Channel preparation for segmentation: smoothing, background and detection threshold.

:func:`prepare_channel` turns one raw channel into a smoothed, background-subtracted signal and
a deliberately low detection threshold (see :mod:`pgpviewer.core.segmentation`, step 1);
:func:`smooth_background` and :func:`background_spread` are its background estimates.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage import filters

from pgpviewer.core._cfilters import interp_grid
from pgpviewer.core.measurements import pixel_noise_sd
from pgpviewer.core.params import DEFAULT_CELL_DIAMETER_PX, SegmentationParams

# Background window (grey opening) in cell diameters.
_BACKGROUND_DIAMETERS = 4.0
# The detection threshold of a channel: background level + this many background SDs...
_MIN_THRESHOLD_SNR = 5.0
# ...and at least this fraction of the automatic threshold.
_AUTO_FRACTION = 0.2
# The automatic threshold and the background spread are taken from a regular sub-grid of about
# this many pixels (every s-th row and column): ample for two quantiles and a 256-bin histogram.
_STAT_SAMPLES = 65536


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
    if gy >= 2 and gx >= 2:
        return interp_grid(np.ascontiguousarray(grid), cy, cx, ny, nx)
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
        Object diameter setting the background scale (default ``params.cell_diameter_px``, or
        30 px when that is None).

    Returns
    -------
    signal : ndarray of float32, shape (Y, X)
        Smoothed, background-subtracted image.
    threshold : float
        Detection threshold on ``signal``: ``threshold_factor`` × the larger of the background
        level + 5 background SDs (:func:`background_spread`; at least the smoothed white
        noise) and 0.2 × the automatic threshold. Low on purpose: it finds
        dim cells; each cell's edge is then placed at half its own level
        (:func:`~pgpviewer.core.seg_refine.refine_cells`).
    """
    d = float(diameter_px or params.cell_diameter_px or DEFAULT_CELL_DIAMETER_PX)
    raw = np.asarray(image)
    x = raw.astype(np.float32)
    if params.smoothing_sigma_px > 0:
        x = ndi.gaussian_filter(x, params.smoothing_sigma_px, mode="nearest")
    x = x - smooth_background(x, _BACKGROUND_DIAMETERS * d)
    white = pixel_noise_sd(raw) * _smoothing_gain(params.smoothing_sigma_px)
    if not np.isfinite(white):
        white = 0.0
    step = max(1, int(np.sqrt(x.size / _STAT_SAMPLES)))
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
