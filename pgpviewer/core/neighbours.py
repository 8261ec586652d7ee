"""Neighbourhood helpers on label images: shifts, cell borders, contacts, nearest donors.

:func:`shift_max` / :func:`shift_min` are square grey dilation / erosion by array shifts,
:func:`border_pixels` the rim of each cell, :func:`label_contacts` the table of touching cells
and :func:`_nearest_donors` each cell's nearest donor (definitions in
:mod:`pgpviewer.core.measurements`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


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
    return _shift_extreme(a, radius, np.maximum)


def shift_min(a: np.ndarray, radius: int) -> np.ndarray:
    """Grey erosion with a (2r+1) × (2r+1) square, edges not padded (see :func:`shift_max`).

    Examples
    --------
    >>> a = np.ones((5, 5), int); a[2, 2] = 0
    >>> int((shift_min(a, 1) == 0).sum())
    9
    """
    return _shift_extreme(a, radius, np.minimum)


def _shift_extreme(a: np.ndarray, radius: int, op: np.ufunc) -> np.ndarray:
    """Separable running ``op`` (maximum/minimum) over a (2r+1)² square by array shifts."""
    out = np.array(a, copy=True)
    for axis in (0, 1):
        src = out.copy()
        for k in range(1, radius + 1):
            if k >= out.shape[axis]:
                break
            lo = [slice(None)] * 2
            hi = [slice(None)] * 2
            lo[axis] = slice(None, -k)
            hi[axis] = slice(k, None)
            op(out[tuple(lo)], src[tuple(hi)], out=out[tuple(lo)])
            op(out[tuple(hi)], src[tuple(lo)], out=out[tuple(hi)])
    return out


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
    labels = _check_labels(labels)
    n = int(labels.max()) if labels.size else 0
    codes = []
    base = np.int64(n + 1)
    ny, nx = labels.shape
    flat = labels.ravel()
    zero = flat == 0 if gap_px > 0 else None
    for step, size in ((1, nx), (nx, ny)):  # along rows, then along columns
        for k in range(1, gap_px + 2):
            if k >= size:
                break
            off = k * step
            a = flat[:-off]
            b = flat[off:]
            idx = np.flatnonzero(a != b)
            av = a[idx]
            bv = b[idx]
            keep = (av > 0) & (bv > 0)
            if step == 1:
                keep &= (idx % nx) < nx - k  # both pixels on the same row
            for j in range(1, k):
                keep &= zero[idx + j * step]
            if keep.any():
                av = av[keep].astype(np.int64)
                bv = bv[keep].astype(np.int64)
                codes.append(np.minimum(av, bv) * base + np.maximum(av, bv))
    if not codes:
        return pd.DataFrame(
            {
                "label_a": np.zeros(0, np.int64),
                "label_b": np.zeros(0, np.int64),
                "border_px": np.zeros(0, np.int64),
            }
        )
    uniq, counts = np.unique(np.concatenate(codes), return_counts=True)
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
