"""P-gp puncta: diffraction-limited spots (vesicles) with sub-pixel positions.

Method (:func:`detect_puncta`):

1. **Spot filter** — the image is smoothed with a Gaussian of the spot size σ
   (``PunctaParams.spot_sigma_px``, a matched filter) and the Hessian is taken by finite
   differences. The spot response is minus the *larger* Hessian eigenvalue, scaled so that a
   Gaussian spot of height A and width σ on any locally linear background gives A
   (``response = −λ₂ · 4σ²``). Blobs curve down in every direction and respond fully; the
   membrane rim of a cell (a ridge) curves in one direction only, so its larger eigenvalue is ≈ 0
   and it does not respond, while a punctum sitting on the rim still does.
2. **Noise** — the larger of three robust SD estimates (1.4826 × MAD) per location: of the
   pixel noise (neighbour differences / √2) in blocks of 32 × 32 pixels, so bright cells with
   more shot noise need brighter spots (never below half the whole-image value, nor below 0.3
   grey levels for integer images: quantisation); of the spot response itself in the same
   blocks (correlated noise); and, when labels are given, 0.7 × that of the spot response
   inside each cell, widened by 3 px (texture of P-gp in internal membranes is not puncta).
3. **Detection** — local maxima of ``response / noise`` at least ``min_distance_px`` apart and
   above ``threshold_snr``.
4. **Summit check** — a spot centre is a summit of the smoothed image: maxima where the slope
   of the smoothed image over one spot width (√2 σ) exceeds the spot height are dropped (the
   convex outer flank of a bright, curved membrane rim looks blob-like to any curvature filter).
5. **Sub-pixel position** — a parabola through the response at the maximum and its two
   neighbours, independently along y and x (offset clipped to ±0.5 px).

``amplitude`` is the response at the refined position: the spot's height above its local
(linear) background in image units; ``snr`` is amplitude / local noise SD.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import ndimage as ndi

from pgpviewer.core.kernels import block_median, peak_local_max_fast
from pgpviewer.core.measurements import label_percentile, shift_max
from pgpviewer.core.params import PunctaParams

NOISE_BLOCK_PX = 32
_CELL_TEXTURE_WEIGHT = 0.7
_TEXTURE_REACH_PX = 3
_MAD_TO_SD = 1.4826
# Maximum ratio of (smoothed-image slope × spot width) to the spot height at a spot centre.
_MAX_SLOPE_RATIO = 1.0


def _empty() -> pd.DataFrame:
    return pd.DataFrame({
        "y": np.zeros(0), "x": np.zeros(0), "amplitude": np.zeros(0), "snr": np.zeros(0),
        "label": np.zeros(0, np.int64),
    })


def _filter(image: np.ndarray, sigma_px: float) -> tuple[np.ndarray, np.ndarray]:
    """(spot response, smoothed image)."""
    from pgpviewer.core._cfilters import spot_response as _response

    img = np.asarray(image, dtype=np.float32)
    g = ndi.gaussian_filter(img, sigma_px, mode="nearest")
    # Scale to spot height: a matched Gaussian spot (total variance S² = 2σ²) has curvature
    # A / (4σ²) at its centre; the 3-point difference under-reads it by 2S²(1 − exp(−1/2S²)).
    # The Hessian (3-point differences, 0 on the outer rows/columns) and its larger eigenvalue
    # are one compiled pass.
    s2 = 2.0 * sigma_px**2
    scale = 4.0 * sigma_px**2 / (2.0 * s2 * (1.0 - np.exp(-1.0 / (2.0 * s2))))
    return _response(np.ascontiguousarray(g), float(np.float32(scale))), g


def spot_response(image: np.ndarray, sigma_px: float) -> np.ndarray:
    """Spot-enhancing filter: −(larger Hessian eigenvalue) of the σ-smoothed image, in height units.

    Parameters
    ----------
    image : ndarray of shape (Y, X)
        Any dtype.
    sigma_px : float
        Gaussian σ of a spot (also the smoothing scale).

    Returns
    -------
    ndarray of float32, shape (Y, X)
        ≈ spot height above local background at spot centres (exact for a Gaussian spot of
        width σ centred on a pixel); ≈ 0 on flat areas, slopes and straight ridges (membranes);
        negative in dips.

    Examples
    --------
    >>> yy, xx = np.mgrid[:31, :31]
    >>> spot = 100 * np.exp(-((yy - 15) ** 2 + (xx - 15) ** 2) / (2 * 1.2 ** 2))
    >>> ridge = 100 * np.exp(-((xx - 15) ** 2) / (2 * 1.2 ** 2))
    >>> round(float(spot_response(spot, 1.2)[15, 15]))
    100
    >>> round(float(spot_response(ridge, 1.2)[15, 15]))
    0
    """
    return _filter(image, sigma_px)[0]


def noise_map(image: np.ndarray, block_px: int = NOISE_BLOCK_PX) -> np.ndarray:
    """Robust pixel-noise SD per block, expanded to the image shape.

    Parameters
    ----------
    image : ndarray of shape (Y, X)
    block_px : int
        Block size.

    Returns
    -------
    ndarray of float32, shape (Y, X)
        1.4826 × MAD of horizontal neighbour differences / √2 in each block, at least half the
        whole-image value (and at least 0.3 for integer images).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> img = rng.normal(100, 4, (64, 64))
    >>> m = noise_map(img)
    >>> m.shape, 3.5 < float(m.mean()) < 4.5
    ((64, 64), True)
    """
    raw = np.asarray(image)
    img = raw.astype(np.float32)
    ny, nx = img.shape
    d = np.empty_like(img)
    d[:, :-1] = img[:, 1:] - img[:, :-1]
    d[:, -1] = d[:, -2] if nx > 1 else 0.0
    d /= np.float32(np.sqrt(2.0))
    flat = d[:, :-1].ravel() if nx > 1 else d.ravel()
    step = max(1, flat.size // 262144)
    sample = flat[::step]
    whole = _MAD_TO_SD * float(block_median(np.abs(sample - block_median(sample))))
    floor = 0.5 * whole
    if raw.dtype.kind in "iub":
        floor = max(floor, 0.3)
    floor = max(floor, 1e-6 * float(np.max(np.abs(img))) if img.size else 0.0, 1e-12)
    b = int(block_px)
    by, bx = -(-ny // b), -(-nx // b)
    pad = np.pad(d, ((0, by * b - ny), (0, bx * b - nx)), mode="reflect" if min(ny, nx) > 1
                 else "edge")
    blocks = pad.reshape(by, b, bx, b).transpose(0, 2, 1, 3).reshape(by, bx, b * b)
    med = block_median(blocks)[..., None]
    mad = block_median(np.abs(blocks - med)) * _MAD_TO_SD
    mad = np.maximum(mad, floor).astype(np.float32)
    full = np.repeat(np.repeat(mad, b, axis=0), b, axis=1)
    return full[:ny, :nx]


def response_noise_map(resp: np.ndarray, block_px: int = NOISE_BLOCK_PX) -> np.ndarray:
    """Robust SD (1.4826 × MAD) of the spot response per block, expanded to the image shape."""
    ny, nx = resp.shape
    b = int(block_px)
    by, bx = -(-ny // b), -(-nx // b)
    pad = np.pad(resp, ((0, by * b - ny), (0, bx * b - nx)), mode="reflect" if min(ny, nx) > 1
                 else "edge")
    blocks = pad.reshape(by, b, bx, b).transpose(0, 2, 1, 3).reshape(by, bx, b * b)
    med = block_median(blocks)[..., None]
    mad = (block_median(np.abs(blocks - med)) * _MAD_TO_SD).astype(np.float32)
    full = np.repeat(np.repeat(mad, b, axis=0), b, axis=1)
    return full[:ny, :nx]


def detect_puncta(
    pgp: np.ndarray,
    labels: np.ndarray | None = None,
    params: PunctaParams | None = None,
) -> pd.DataFrame:
    """Detect P-gp puncta (diffraction-limited spots) with sub-pixel positions.

    Parameters
    ----------
    pgp : ndarray of shape (Y, X)
        The P-gp channel of one frame, any dtype.
    labels : ndarray of int, shape (Y, X), optional
        Cell labels; each punctum gets the label under it (0 outside cells or without labels).
    params : PunctaParams, optional
        Spot σ, SNR threshold, minimum distance.

    Returns
    -------
    DataFrame
        One row per punctum, sorted by ``y``, ``x``: ``y``, ``x`` (sub-pixel, pixels),
        ``amplitude`` (height above local background, image units), ``snr`` (amplitude / local
        noise SD) and ``label``. See the module docstring for the method.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> img = rng.normal(100, 2, (40, 40))
    >>> yy, xx = np.mgrid[:40, :40]
    >>> img += 60 * np.exp(-((yy - 12.3) ** 2 + (xx - 20.6) ** 2) / (2 * 1.2 ** 2))
    >>> spots = detect_puncta(img)
    >>> len(spots), round(float(spots.y[0]), 1), round(float(spots.x[0]), 1)
    (1, 12.3, 20.6)
    """
    params = params or PunctaParams()
    img = np.asarray(pgp)
    if img.ndim != 2:
        raise ValueError(f"the P-gp image must be 2-D (Y, X), got shape {img.shape}")
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != img.shape:
            raise ValueError(f"labels {labels.shape} do not match the image {img.shape}")
    if img.size == 0 or min(img.shape) < 3:
        return _empty()
    sigma = float(params.spot_sigma_px)
    resp, smooth = _filter(img, sigma)
    noise = np.maximum(noise_map(img), response_noise_map(resp))
    if labels is not None and labels.max() > 0:
        # texture inside a cell (e.g. P-gp in internal membranes) counts as noise for its spots
        med = label_percentile(resp, labels, 50.0)
        med32 = np.nan_to_num(med).astype(np.float32)
        dev = label_percentile(np.abs(resp - med32.take(labels)), labels, 50.0)
        cell_sd = np.nan_to_num(_MAD_TO_SD * dev).astype(np.float32)
        cell_sd[0] = 0.0
        # ...and for the pixels just around the cell (its blurred edge)
        texture = shift_max(cell_sd[labels], _TEXTURE_REACH_PX)
        noise = np.maximum(noise, np.float32(_CELL_TEXTURE_WEIGHT) * texture)
    snr = resp / noise
    # peaks within 1 px of the edge have no parabola neighbours; keep them at integer positions
    peaks = peak_local_max_fast(snr, int(params.min_distance_px), params.threshold_snr)
    if len(peaks) == 0:
        return _empty()
    py, px = peaks[:, 0], peaks[:, 1]
    ny, nx = img.shape
    r0 = resp[py, px].astype(np.float64)
    dy = np.zeros(len(py))
    dx = np.zeros(len(px))
    ay = np.zeros(len(py))
    ax = np.zeros(len(px))
    iny = (py > 0) & (py < ny - 1)
    inx = (px > 0) & (px < nx - 1)
    for inside, off, corr, axis in ((iny, dy, ay, 0), (inx, dx, ax, 1)):
        i = np.flatnonzero(inside)
        if axis == 0:
            lo = resp[py[i] - 1, px[i]].astype(np.float64)
            hi = resp[py[i] + 1, px[i]].astype(np.float64)
        else:
            lo = resp[py[i], px[i] - 1].astype(np.float64)
            hi = resp[py[i], px[i] + 1].astype(np.float64)
        curv = lo - 2 * r0[i] + hi
        with np.errstate(invalid="ignore", divide="ignore"):
            o = np.where(curv < 0, 0.5 * (lo - hi) / curv, 0.0)
        o = np.clip(np.nan_to_num(o), -0.5, 0.5)
        off[i] = o
        corr[i] = 0.25 * (hi - lo) * o  # parabola peak height above the sample
    amplitude = r0 + ay + ax
    # A spot centre is a summit of the smoothed image: reject maxima sitting on a slope steeper
    # than the spot itself (the convex outer flank of a bright curved membrane rim).
    gy = smooth[np.clip(py + 1, 0, ny - 1), px] - smooth[np.clip(py - 1, 0, ny - 1), px]
    gx = smooth[py, np.clip(px + 1, 0, nx - 1)] - smooth[py, np.clip(px - 1, 0, nx - 1)]
    slope = 0.5 * np.hypot(gy, gx) * np.sqrt(2.0) * sigma
    keep = slope <= _MAX_SLOPE_RATIO * amplitude
    y = (py + dy)[keep]
    x = (px + dx)[keep]
    amplitude = amplitude[keep]
    local_noise = noise[py, px].astype(np.float64)[keep]
    lab = (
        labels[py, px].astype(np.int64)[keep]
        if labels is not None
        else np.zeros(int(keep.sum()), np.int64)
    )
    out = pd.DataFrame({
        "y": y, "x": x, "amplitude": amplitude, "snr": amplitude / local_noise, "label": lab,
    })
    return out.sort_values(["y", "x"], kind="stable").reset_index(drop=True)
