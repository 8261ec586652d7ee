"""Neighbourhood helpers on label images: shifts, cell borders, contacts, nearest donors.

:func:`shift_max` / :func:`shift_min` are square grey dilation / erosion (compiled),
:func:`border_pixels` the rim of each cell, :func:`label_contacts` the table of touching cells
and :func:`_nearest_donors` each cell's nearest donor (definitions in
:mod:`pgpviewer.core.measurements`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pgpviewer.core.kernels import as_kernel_labels, as_kernel_pixels


def _check_labels(labels: np.ndarray) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError(f"labels must be 2-D (Y, X), got shape {labels.shape}")
    if labels.dtype.kind not in "iu":
        if labels.size and not np.all(np.mod(labels, 1) == 0):
            raise ValueError("labels must be integers")
        labels = labels.astype(np.int64)
    if labels.size and labels.min() < 0:
        raise ValueError("labels must be non-negative")
    return labels


def shift_max(a: np.ndarray, radius: int) -> np.ndarray:
    """Grey dilation of a 2-D array with a (2r+1) × (2r+1) square, edges not padded.

    Parameters
    ----------
    a : ndarray of shape (Y, X)
        Any numeric or boolean array.
    radius : int
        Half-size of the square neighbourhood (chessboard radius), ``>= 0``.

    Returns
    -------
    ndarray of shape (Y, X)
        Maximum of ``a`` over each pixel's neighbourhood (inside the image).

    Examples
    --------
    >>> a = np.zeros((5, 5), int); a[2, 2] = 1
    >>> int(shift_max(a, 1).sum())
    9
    """
    return _shift_extreme(a, radius, True)


def shift_min(a: np.ndarray, radius: int) -> np.ndarray:
    """Grey erosion with a (2r+1) × (2r+1) square, edges not padded (see :func:`shift_max`).

    Examples
    --------
    >>> a = np.ones((5, 5), int); a[2, 2] = 0
    >>> int((shift_min(a, 1) == 0).sum())
    9
    """
    return _shift_extreme(a, radius, False)


def _shift_extreme(a: np.ndarray, radius: int, take_max: bool) -> np.ndarray:
    """Separable running maximum/minimum over a (2r+1)² square, clipped at the edges
    (compiled: :func:`pgpviewer.core._cfilters.extreme_filter`)."""
    from pgpviewer.core._cfilters import extreme_filter

    a = np.asarray(a)
    if a.ndim != 2:
        raise ValueError(f"expected a 2-D array, got shape {a.shape}")
    radius = int(radius)
    if radius < 0:
        raise ValueError(f"radius must be >= 0, got {radius}")
    out = extreme_filter(as_kernel_pixels(a), radius, take_max)
    return out.view(bool) if a.dtype == bool else out.astype(a.dtype, copy=False)


def border_pixels(labels: np.ndarray, width_px: int) -> np.ndarray:
    """Pixels of each cell within ``width_px`` of the cell's border.

    A cell's border pixels are those with a 4-neighbour of another label (background or another
    cell); the rim is the border pixels widened by ``width_px - 1`` (chessboard distance)
    within the cell.

    Parameters
    ----------
    labels : ndarray of int, shape (Y, X)
        Label image (0 = background).
    width_px : int
        Rim width; 1 selects the cell's outermost pixel layer.

    Returns
    -------
    ndarray of bool, shape (Y, X)
        True on cell pixels near the cell's border with background or another cell. The image
        edge is not a border.

    Examples
    --------
    >>> lab = np.zeros((7, 7), np.int32); lab[1:6, 1:6] = 1
    >>> int(border_pixels(lab, 1).sum())
    16
    >>> int(border_pixels(lab, 2).sum())
    24
    """
    labels = np.asarray(labels)
    if width_px <= 0:
        return np.zeros(labels.shape, bool)
    edge = np.zeros(labels.shape, bool)
    d = labels[1:] != labels[:-1]
    edge[1:] |= d
    edge[:-1] |= d
    d = labels[:, 1:] != labels[:, :-1]
    edge[:, 1:] |= d
    edge[:, :-1] |= d
    if width_px > 1:
        edge = shift_max(edge, width_px - 1)
    return edge & (labels > 0)


def label_contacts(labels: np.ndarray, gap_px: int = 0) -> pd.DataFrame:
    """Pairs of touching cells and the length of their shared border.

    Parameters
    ----------
    labels : ndarray of int, shape (Y, X)
        Label image (0 = background).
    gap_px : int, optional
        Cells separated along a row or column by at most this many background pixels also
        touch (0: only directly adjacent pixels count).

    Returns
    -------
    DataFrame
        Columns ``label_a``, ``label_b`` (``label_a < label_b``) and ``border_px``: the number
        of 4-neighbour pixel pairs (or pairs across a gap of ≤ ``gap_px`` background pixels)
        with one pixel in each cell. Sorted by ``label_a``, ``label_b``.

    Examples
    --------
    >>> lab = np.array([[1, 1, 2, 2],
    ...                 [1, 1, 2, 2],
    ...                 [0, 0, 0, 0],
    ...                 [3, 3, 0, 0]])
    >>> label_contacts(lab).values.tolist()
    [[1, 2, 2]]
    >>> label_contacts(lab, gap_px=1).values.tolist()
    [[1, 2, 2], [1, 3, 2]]
    """
    from pgpviewer.core._clabels import contact_codes

    labels = _check_labels(labels)
    n = int(labels.max()) if labels.size else 0
    base = np.int64(n + 1)
    codes = contact_codes(as_kernel_labels(labels), max(0, int(gap_px)), base)
    if codes.size == 0:
        return pd.DataFrame(
            {
                "label_a": np.zeros(0, np.int64),
                "label_b": np.zeros(0, np.int64),
                "border_px": np.zeros(0, np.int64),
            }
        )
    uniq, counts = np.unique(codes, return_counts=True)
    return pd.DataFrame(
        {"label_a": uniq // base, "label_b": uniq % base, "border_px": counts.astype(np.int64)}
    )


def _nearest_donors(
    table: dict, is_donor: np.ndarray, touching: np.ndarray, contacts: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    labels = table["label"]
    m = len(labels)
    near_lab = np.zeros(m, np.int64)
    near_dist = np.full(m, np.nan)
    near_gap = np.full(m, np.nan)
    donors = np.flatnonzero(is_donor[labels])
    if len(donors) == 0 or m == 0:
        return near_lab, near_dist, near_gap
    pos = np.column_stack([table["centroid_y"], table["centroid_x"]])
    radius = np.sqrt(table["area_px"] / np.pi)
    d = np.sqrt(((pos[:, None, :] - pos[None, donors, :]) ** 2).sum(-1))
    same = labels[:, None] == labels[None, donors]
    d[same] = np.inf
    j = np.argmin(d, axis=1)
    best = d[np.arange(m), j]
    ok = np.isfinite(best)
    near_lab[ok] = labels[donors[j[ok]]]
    near_dist[ok] = best[ok]
    gap = np.maximum(best - radius - radius[donors[j]], 0.0)
    if len(contacts):
        pairs = set(zip(contacts["label_a"].tolist(), contacts["label_b"].tolist(), strict=True))
        nl = near_lab.tolist()
        lt = labels.tolist()
        touch_nearest = np.array(
            [(min(a, b), max(a, b)) in pairs for a, b in zip(lt, nl, strict=True)], bool
        )
        gap[touch_nearest] = 0.0
    near_gap[ok] = gap[ok]
    return near_lab, near_dist, near_gap
