"""Automatic cell diameter: the typical size of the cells of a frame, measured from the image.

Used when ``SegmentationParams.cell_diameter_px`` is None (see :mod:`pgpviewer.core.segmentation`;
the pipeline measures it once per movie with :func:`estimate_movie_diameter` and records the
value in the parameters it saves). The diameter is the median equivalent diameter of the
objects that are confidently single cells (:func:`estimate_cell_diameter`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
from scipy import ndimage as ndi

from pgpviewer.core.kernels import edt, fill_small_holes
from pgpviewer.core.params import DEFAULT_CELL_DIAMETER_PX, SegmentationParams
from pgpviewer.core.seg_channels import prepare_channel

__all__ = ["estimate_cell_diameter", "estimate_movie_diameter"]

# Channels are prepared for the estimate with this background scale (px of cell diameter): wide,
# so that cells several times the default size are not taken for background.
_PROVISIONAL_DIAMETER = 2 * DEFAULT_CELL_DIAMETER_PX
# A confidently single object: its area is at most this many times the disk of its largest
# inscribed radius (an ellipse of aspect 1.6; two touching disks are ≈ 2)...
_MAX_COMPACTNESS = 1.6
# ...and, with nuclei, it holds exactly one nucleus. At least this many are needed.
_MIN_SINGLES = 5
_BODY_ROLES = ("donor", "recipient", "pgp")


def estimate_cell_diameter(
    images: Mapping[str, np.ndarray], params: SegmentationParams | None = None
) -> float | None:
    """Typical cell diameter (px) of one frame, or None when too few cells are seen.

    The cell-body channels (``donor``, ``recipient``, ``pgp``; else ``efflux``; else ``nuclei``,
    whose objects are then the cells) are thresholded as for segmentation
    (:func:`~pgpviewer.core.seg_channels.prepare_channel`, with a wide background window) and
    combined; holes are filled (rim-only cells). Objects touching the image border or smaller
    than ``min_area_px`` are left out. An object is a confidently single cell when its area is
    at most 1.6 × the disk of its largest inscribed radius (clumps of touching cells are not)
    and, with a ``nuclei`` channel next to body channels, when it holds exactly one nucleus
    object. The diameter is the equivalent diameter (2·√(area/π)) of their median area.

    Parameters
    ----------
    images : mapping of str to ndarray of shape (Y, X)
        Channel role → image.
    params : SegmentationParams, optional
        Smoothing, threshold and ``min_area_px`` (its ``cell_diameter_px`` is not used).

    Returns
    -------
    float or None
        None with fewer than 5 single cells.

    Examples
    --------
    >>> yy, xx = np.mgrid[:128, :128]
    >>> img = np.full((128, 128), 10.0)
    >>> for cy, cx in [(20, 20), (20, 64), (20, 108), (64, 20), (64, 64), (108, 108)]:
    ...     img += 100 * ((yy - cy) ** 2 + (xx - cx) ** 2 < 12 ** 2)
    >>> round(estimate_cell_diameter({"recipient": img}))
    24
    """
    params = params or SegmentationParams()
    body_roles = [r for r in _BODY_ROLES if r in images] or [
        r for r in ("efflux", "nuclei") if r in images
    ][:1]
    if not body_roles:
        return None
    shape = np.shape(next(iter(images.values())))
    max_hole = (min(shape) / 4.0) ** 2
    mask = np.zeros(shape, bool)
    for role in body_roles:
        sig, thr = prepare_channel(images[role], params, diameter_px=_PROVISIONAL_DIAMETER)
        mask |= fill_small_holes(sig > thr, max_hole)
    mask = fill_small_holes(mask, max_hole)
    lab, n = ndi.label(mask)
    if n < _MIN_SINGLES:
        return None
    idx = np.arange(1, n + 1)
    area = np.bincount(lab.ravel(), minlength=n + 1)[1:].astype(float)
    depth = np.asarray(ndi.maximum(edt(mask), lab, idx), float)
    edge = np.zeros(n + 1, bool)
    for side in (lab[0], lab[-1], lab[:, 0], lab[:, -1]):
        edge[side] = True
    single = (
        ~edge[1:]
        & (area >= params.min_area_px)
        & (area <= _MAX_COMPACTNESS * np.pi * np.maximum(depth, 0.5) ** 2)
    )
    inner = ~edge[1:] & (area >= params.min_area_px)
    if "nuclei" in images and body_roles != ["nuclei"]:
        # with nuclei: the area per nucleus of the objects (clumps included); a nucleus object
        # counts as round(area / median nucleus area) nuclei (touching nuclei) in the object
        # holding its deepest pixel
        sig, thr = prepare_channel(images["nuclei"], params, diameter_px=_PROVISIONAL_DIAMETER)
        nuc, nn = ndi.label(sig > thr)
        if nn >= _MIN_SINGLES:
            a_nuc = np.bincount(nuc.ravel(), minlength=nn + 1)[1:].astype(float)
            big = a_nuc >= 0.25 * params.min_area_px
            weight = np.maximum(1.0, np.rint(a_nuc / np.median(a_nuc[big])))
            pos = ndi.maximum_position(edt(nuc > 0), nuc, np.arange(1, nn + 1))
            owner = np.array([lab[p] for p in pos], np.intp)
            count = np.bincount(owner[big], weights=weight[big], minlength=n + 1)[1:]
            use = inner & (count > 0)
            if count[use].sum() < _MIN_SINGLES:  # few whole objects: take the cut ones too
                use = (area >= params.min_area_px) & (count > 0)
            if count[use].sum() >= _MIN_SINGLES:
                per = area[use] / count[use]
                return float(2.0 * np.sqrt(_weighted_median(per, count[use]) / np.pi))
    if single.sum() < _MIN_SINGLES:
        return None
    return float(2.0 * np.sqrt(np.median(area[single]) / np.pi))


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    cum = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cum, 0.5 * cum[-1])])


def estimate_movie_diameter(
    frame: Callable[[int], Mapping[str, np.ndarray]],
    n_frames: int,
    params: SegmentationParams | None = None,
    samples: int = 3,
) -> float:
    """Typical cell diameter of a movie: the median of :func:`estimate_cell_diameter` over a few
    evenly spaced frames (first, middle, last by default).

    Parameters
    ----------
    frame : callable
        ``frame(t)`` → the channel role → image mapping of frame ``t``.
    n_frames : int
    params : SegmentationParams, optional
    samples : int
        Frames measured.

    Returns
    -------
    float
        Rounded to 0.1 px; :data:`~pgpviewer.core.params.DEFAULT_CELL_DIAMETER_PX` when no
        frame shows enough single cells.
    """
    ts: Sequence[int] = sorted({int(t) for t in np.rint(np.linspace(0, n_frames - 1, samples))})
    values = [estimate_cell_diameter(frame(t), params) for t in ts if n_frames > 0]
    values = [v for v in values if v is not None]
    if not values:
        return float(DEFAULT_CELL_DIAMETER_PX)
    return round(float(np.median(values)), 1)
