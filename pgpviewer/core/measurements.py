"""Per-cell measurements: fast single-pass statistics over a label image.

Two entry points, both called once per frame by :func:`pgpviewer.core.pipeline.run_pipeline`:

* :func:`frame_features` (pass 1): positions, areas and the background-corrected identity and
  P-gp signals used to classify cells, plus the cell–cell contact table.
* :func:`measure_cells` (pass 2, once populations are known): every channel's mean and total,
  the P-gp measures (whole cell, membrane rim, cytoplasm, puncta) with recipient pixels next to a
  donor excluded (and, for the intensities, pixels within the spill-over reach of any neighbour),
  contact with donors and the nearest donor.

Every per-label count and sum is one compiled pass over the label image
(:func:`~pgpviewer.core.kernels.label_sums`, bit-identical to ``np.bincount``; no per-cell
Python loop), so a 512 × 512 frame with 200 cells takes a few ms.

Definitions (see also ``../shared/spec/SCIENCE.md``):

* **Background** (``MeasurementParams.background``): ``"global"`` — per frame and channel, the
  median of the pixels farther than 2 px from every cell (all non-cell pixels when there are too
  few; the 1st percentile of the frame when there are none); ``"local"`` — per cell, the median
  of a ring 2–7 px outside the cell that belongs to no cell (the global value where the ring is
  empty).
* **Background-corrected mean** of a channel: mean of the cell's pixels minus its background.
  **Total**: sum of the cell's pixels minus background × area.
* **Counted pixels**: for every non-donor cell (recipient or unknown) the pixels within
  ``donor_exclusion_px`` (chessboard distance) of a donor cell are not counted (SCIENCE.md: a
  touching donor's bright rim is never transfer); a donor counts all its pixels.
* **Scored pixels** (spill-over correction): of a non-donor cell's counted pixels, those within
  ``neighbour_exclusion_px`` (chessboard distance, default 2) of *any* other cell are also left
  out of the P-gp intensity measures. The light of a bright neighbour — a donor, or a recipient
  that has acquired P-gp — spreads by the PSF (≈ 2 σ for a σ ≈ 1 px PSF) and by a border the
  segmentation misplaced by a pixel, so a negative recipient surrounded by bright cells would
  otherwise read positive. Why it matters: on bench_accuracy's simulated movies (seeds 1–20) the
  1-px donor exclusion left truly negative recipients touching a donor ~4 units brighter than
  isolated ones, and all negatives drifted upwards as neighbours acquired P-gp (1.4 % above 20
  in frame 0, 5.8 % in frames 20–30), while the gate is calibrated on frame 0; this caused most
  false events and events placed too early. 2 px rather than 3: a recipient's own P-gp is
  largely on its membrane, and a wider band removes so much of it at contacts that newly
  positive cells are missed in low light. A cell left without a scored pixel (squeezed
  between neighbours) falls back to its counted pixels.
* **pgp_score**: the background-corrected mean P-gp of the cell's scored pixels. This is the
  number the positivity gate is applied to; ``pgp_counted_px`` is the number of scored pixels.
* **pgp_membrane_mean** / **pgp_cytoplasm_mean**: the same over scored pixels within
  ``membrane_width_px`` (chessboard distance) of the cell's border with background or another
  cell, and over the remaining scored pixels. Image edges are not cell borders.
* **pgp_puncta**: puncta whose (rounded) position lies on a counted pixel of the cell (puncta
  are resolved spots, so only the donor exclusion applies: a vesicle handed over at a contact
  lies just inside the shared border and is counted).
* **Contacts**: two cells touch when 4-connected pixels of the two are adjacent, or separated
  along a row or column by at most ``contact_gap_px`` background pixels; ``border_px`` counts
  such pixel pairs (≈ the length of the shared border in pixels).
* **Nearest donor**: the other donor cell with the nearest centroid;
  ``nearest_donor_distance_px`` is the centroid-to-centroid distance and
  ``nearest_donor_gap_px`` an edge-to-edge estimate (centroid distance minus the two
  equivalent-disk radii, at least 0; exactly 0 when the cells touch).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import ndimage as ndi

from pgpviewer.core.kernels import label_centroids, label_sums
from pgpviewer.core.neighbours import (
    _check_labels,
    _nearest_donors,
    border_pixels,
    label_contacts,
    shift_max,
    shift_min,
)
from pgpviewer.core.params import MeasurementParams
from pgpviewer.core.roles import channel_columns

__all__ = [
    "SIGNAL_ROLES",
    "border_pixels",
    "channel_columns",
    "frame_features",
    "label_contacts",
    "label_percentile",
    "measure_cells",
    "pixel_noise_sd",
    "robust_sd",
    "shift_max",
    "shift_min",
]

SIGNAL_ROLES = ("donor", "recipient", "pgp")
#: Identity dyes fill the cytoplasm: their per-cell signal (for populations) is the mean of the
#: cell's core, so light blurred in from a bright neighbour does not count (P-gp, which sits on
#: the membrane, is measured over the whole cell).
CORE_SIGNAL_ROLES = ("donor", "recipient")
_CORE_DEPTH_PX = 2
_CORE_MIN_PX = 9

# Background pixels must be farther than this from every cell ("global" background).
_BG_MARGIN_PX = 2
# "local" background ring: from _BG_MARGIN_PX to _BG_MARGIN_PX + _LOCAL_RING_PX outside the cell.
_LOCAL_RING_PX = 5
# At most this many pixels are used for a background median (a regular sub-sample beyond it).
_BG_MAX_SAMPLES = 16384
_MAD_TO_SD = 1.4826
_IQR_TO_SD = 1.349


# --------------------------------------------------------------------------------------------
# small kernels
# --------------------------------------------------------------------------------------------
def _check_image(image: np.ndarray, labels: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[None]
    if image.ndim != 3 or image.shape[1:] != labels.shape:
        raise ValueError(
            f"image must be (C, Y, X) matching labels {labels.shape}, got {image.shape}"
        )
    return image


def robust_sd(values: np.ndarray) -> float:
    """Standard deviation estimated as 1.4826 × median absolute deviation (NaN if empty).

    Examples
    --------
    >>> round(robust_sd(np.array([1.0, 2.0, 3.0, 4.0, 100.0])), 3)
    1.483
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0:
        return float("nan")
    med = np.median(v)
    return float(_MAD_TO_SD * np.median(np.abs(v - med)))


def pixel_noise_sd(image: np.ndarray) -> float:
    """Pixel noise standard deviation from neighbour differences (robust to smooth structure).

    Horizontal neighbour differences cancel smooth signal and uneven illumination. Their SD is
    estimated as the root mean square of the differences within ±3 robust SDs (1.4826 × MAD,
    at least 1 grey level so that integer images are not under-read), corrected for the
    truncation, and divided by √2.

    Parameters
    ----------
    image : ndarray of shape (Y, X)

    Returns
    -------
    float

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> img = 100 + 5 * rng.standard_normal((256, 256)) + np.linspace(0, 50, 256)
    >>> 4.7 < pixel_noise_sd(img) < 5.3
    True
    >>> noisy = np.round(100 + 1.5 * rng.standard_normal((256, 256)))
    >>> 1.35 < pixel_noise_sd(noisy) < 1.65
    True
    """
    img = np.asarray(image, dtype=np.float32)
    if img.ndim != 2 or img.shape[1] < 2:
        return float("nan")
    step = max(1, int(np.sqrt(img.size / (4 * _BG_MAX_SAMPLES))))
    sub = img[::step]
    d = (sub[:, 1:] - sub[:, :-1]).ravel()
    d -= _median(d)
    mad_sd = _MAD_TO_SD * float(_median(np.abs(d)))
    cut = 3.0 * max(mad_sd, 1.0 if np.issubdtype(np.asarray(image).dtype, np.integer) else 0.0)
    if cut <= 0:
        return 0.0
    inside = d[np.abs(d) <= cut].astype(np.float64)
    rms = np.sqrt(np.mean(inside**2)) if inside.size else 0.0
    # a Gaussian truncated at ±3 SD keeps 97.3 % of its variance (less truncation when the cut
    # was widened for integer data; the correction is then slightly conservative)
    return float(rms / np.sqrt(0.973) / np.sqrt(2.0))


def _median(values: np.ndarray) -> float:
    """``np.median`` of a float32 vector by compiled selection (O(n), no full partition)."""
    from pgpviewer.core._cfilters import median_f32

    if np.isnan(values).any():
        return float(np.median(values))
    return median_f32(np.ascontiguousarray(values, dtype=np.float32))


def label_percentile(
    values: np.ndarray, labels: np.ndarray, q: float, n: int | None = None
) -> np.ndarray:
    """Per-label percentile (nearest rank) of ``values`` over each label's pixels.

    Computed on the values rounded to float32 (one sort of label and value packed into one
    integer key; see :func:`pgpviewer.core.kernels.label_percentiles`).

    Parameters
    ----------
    values : ndarray of shape (Y, X)
    labels : ndarray of int, shape (Y, X)
        0 = background (ignored).
    q : float
        Percentile in [0, 100].
    n : int, optional
        Largest label (default ``labels.max()``).

    Returns
    -------
    ndarray of float, shape (n + 1,)
        Entry ``k`` is the percentile of label ``k`` (NaN for absent labels and for 0).

    Examples
    --------
    >>> lab = np.array([[1, 1, 1, 2]]); v = np.array([[3.0, 1.0, 2.0, 9.0]])
    >>> label_percentile(v, lab, 50).tolist()
    [nan, 2.0, 9.0]
    """
    from pgpviewer.core.kernels import label_percentiles

    return label_percentiles(values, labels, [q], n)[0]


def _quantiles(values: np.ndarray, qs: Sequence[float]) -> list[float]:
    """Order-statistic quantiles (nearest rank) with one partial sort."""
    n = values.size
    ks = [min(n - 1, max(0, round(q * (n - 1)))) for q in qs]
    part = np.partition(values, ks)
    return [float(part[k]) for k in ks]


def _subsample(values: np.ndarray, limit: int = _BG_MAX_SAMPLES) -> np.ndarray:
    step = max(1, values.size // limit)
    return values[::step]


def _global_background(
    image: np.ndarray, labels: np.ndarray, *, with_noise: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel background level and noise SD from pixels away from cells.

    Works on a regular sub-grid (every ``s``-th row and column, ``s`` chosen so that the grid
    has about 65k pixels) so that the cost does not grow with the image.
    """
    s = max(1, int(np.sqrt(labels.size / (4 * _BG_MAX_SAMPLES))))
    cells = labels[::s, ::s] > 0
    far = ~shift_max(cells, max(1, -(-_BG_MARGIN_PX // s)))
    if far.sum() < 64:
        far = ~cells
    n_ch = image.shape[0]
    level = np.empty(n_ch)
    noise = np.full(n_ch, np.nan)
    if far.sum() < 16:
        for c in range(n_ch):
            level[c] = np.percentile(image[c], 1.0)
            if with_noise:
                noise[c] = pixel_noise_sd(image[c])
        return level, noise
    idx = _subsample(np.flatnonzero(far.ravel()))
    for c in range(n_ch):
        v = image[c, ::s, ::s].ravel()[idx]
        if with_noise:
            q1, med, q3 = _quantiles(v, (0.25, 0.5, 0.75))
            noise[c] = (q3 - q1) / _IQR_TO_SD
        else:
            (med,) = _quantiles(v, (0.5,))
        level[c] = med
    return level, noise


def _local_background(
    image: np.ndarray, labels: np.ndarray, n: int, global_level: np.ndarray
) -> np.ndarray:
    """(C, n + 1) per-label background: median of a ring outside each cell."""
    from skimage.segmentation import expand_labels

    inner = expand_labels(labels, _BG_MARGIN_PX)
    outer = expand_labels(labels, _BG_MARGIN_PX + _LOCAL_RING_PX)
    ring = np.where((inner == 0) & (outer > 0), outer, 0)
    index = np.arange(1, n + 1)
    have = np.bincount(ring.ravel(), minlength=n + 1)[: n + 1] > 0
    out = np.repeat(global_level[:, None], n + 1, axis=1).astype(np.float64)
    if not have[1:].any():
        return out
    for c in range(image.shape[0]):
        med = np.asarray(ndi.median(image[c], ring, index), dtype=np.float64)
        out[c, 1:] = np.where(have[1:], med, global_level[c])
    return out


def _backgrounds(image, labels, n, params, *, with_noise=True):
    level, noise = _global_background(image, labels, with_noise=with_noise)
    if params.background == "local":
        per_label = _local_background(image, labels, n, level)
    else:
        per_label = np.repeat(level[:, None], n + 1, axis=1)
    return per_label, level, noise


def _core_labels(labels: np.ndarray, n: int, counts: np.ndarray) -> np.ndarray:
    """Each cell's core: its pixels at least ``_CORE_DEPTH_PX`` (chessboard) from any other
    label or background; cells with fewer than ``_CORE_MIN_PX`` core pixels keep all theirs."""
    d = _CORE_DEPTH_PX
    core = np.where((shift_min(labels, d) == labels) & (shift_max(labels, d) == labels),
                    labels, 0)
    n_core = np.bincount(core.ravel(), minlength=n + 1)[: n + 1]
    small = (n_core < _CORE_MIN_PX) & (counts > 0)
    small[0] = False
    if small.any():
        core = np.where(small[labels], labels, core)
    return core


def _base_table(labels: np.ndarray) -> tuple[np.ndarray, int, dict]:
    """(pixel counts per label 0..n, n, the label/centroid/area columns) in one pass."""
    n = int(labels.max()) if labels.size else 0
    counts, sy, sx = label_centroids(labels, n)
    present = np.flatnonzero(counts[1:]) + 1
    with np.errstate(invalid="ignore", divide="ignore"):
        cy = sy / counts
        cx = sx / counts
    table = {
        "label": present.astype(np.int64),
        "centroid_y": cy[present],
        "centroid_x": cx[present],
        "area_px": counts[present].astype(np.int64),
    }
    return counts, n, table


# --------------------------------------------------------------------------------------------
# pass 1
# --------------------------------------------------------------------------------------------
def frame_features(
    image: np.ndarray,
    labels: np.ndarray,
    roles: Mapping[str, int],
    params: MeasurementParams | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-cell features of one frame for tracking and classification, and cell contacts.

    Parameters
    ----------
    image : ndarray of shape (C, Y, X)
        One frame, any dtype (a 2-D image is taken as one channel).
    labels : ndarray of int, shape (Y, X)
        Cell labels (0 = background; need not be consecutive).
    roles : mapping of str to int
        Channel role → channel index.
    params : MeasurementParams, optional
        Background mode and contact gap.

    Returns
    -------
    features : DataFrame
        One row per label present, sorted by label: ``label``, ``centroid_y``, ``centroid_x``,
        ``area_px``, and for each role in ``donor``, ``recipient``, ``pgp``: ``<role>_signal``
        (background-corrected mean, of the cell's core for the identity dyes
        :data:`CORE_SIGNAL_ROLES`; NaN when the role is not mapped) and ``<role>_noise``
        (robust SD of that channel's background pixels in this frame; NaN when not mapped).
    contacts : DataFrame
        ``label_a``, ``label_b``, ``border_px`` (see :func:`label_contacts`).

    Examples
    --------
    >>> img = np.zeros((2, 20, 20), np.uint16)
    >>> lab = np.zeros((20, 20), np.int32)
    >>> lab[2:8, 2:8] = 1; lab[2:8, 8:14] = 2
    >>> img[0][lab == 1] = 100; img[1][lab == 2] = 50
    >>> feats, contacts = frame_features(img, lab, {"donor": 0, "recipient": 1})
    >>> feats[["label", "area_px", "donor_signal", "recipient_signal"]].values.tolist()
    [[1.0, 36.0, 100.0, 0.0], [2.0, 36.0, 0.0, 50.0]]
    >>> contacts.values.tolist()
    [[1, 2, 6]]
    """
    params = params or MeasurementParams()
    labels = _check_labels(labels)
    image = _check_image(image, labels)
    counts, n, table = _base_table(labels)
    present = table["label"]
    wanted = [r for r in SIGNAL_ROLES if r in roles]
    if wanted:
        sub = image[[roles[r] for r in wanted]]
        per_label, _, noise = _backgrounds(sub, labels, n, params)
        core = None
        for i, role in enumerate(wanted):
            if role in CORE_SIGNAL_ROLES:
                if core is None:
                    core = _core_labels(labels, n, counts)
                n_px, sums = label_sums(core, sub[i], n)
            else:
                n_px, sums = counts, label_sums(labels, sub[i], n)[1]
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = sums / n_px
            table[f"{role}_signal"] = (mean - per_label[i])[present]
            table[f"{role}_noise"] = float(noise[i])
    for role in SIGNAL_ROLES:
        if role not in wanted:
            table[f"{role}_signal"] = np.nan
            table[f"{role}_noise"] = np.nan
    contacts = label_contacts(labels, params.contact_gap_px)
    return pd.DataFrame(table), contacts


# --------------------------------------------------------------------------------------------
# pass 2
# --------------------------------------------------------------------------------------------
def measure_cells(
    image: np.ndarray,
    labels: np.ndarray,
    channel_names: Sequence[str],
    roles: Mapping[str, int],
    populations: Mapping[int, str] | None = None,
    puncta: pd.DataFrame | None = None,
    params: MeasurementParams | None = None,
) -> pd.DataFrame:
    """Measure every cell of one frame: channel intensities, P-gp measures, donor neighbours.

    Parameters
    ----------
    image : ndarray of shape (C, Y, X)
        One frame, any dtype.
    labels : ndarray of int, shape (Y, X)
        Cell labels (0 = background).
    channel_names : sequence of str
        One name per channel; columns are ``mean_<name>`` / ``total_<name>`` with the name made
        a column name by :func:`channel_columns`.
    roles : mapping of str to int
        Channel role → channel index. Without ``pgp`` the P-gp columns are NaN.
    populations : mapping of int to str, optional
        Label → ``"donor"``, ``"recipient"`` or ``"unknown"`` (missing labels are unknown).
    puncta : DataFrame, optional
        Puncta of this frame with ``y``, ``x`` (and ``label``), e.g. from
        :func:`~pgpviewer.core.puncta.detect_puncta`. None: ``pgp_puncta`` is NA.
    params : MeasurementParams, optional
        Rim width, donor and neighbour exclusion distances, background mode, contact gap.

    Returns
    -------
    DataFrame
        One row per label present, sorted by label, with ``label``, ``centroid_y``,
        ``centroid_x``, ``area_px``, ``mean_<ch>``, ``total_<ch>`` for every channel (whole cell,
        background-corrected), ``pgp_score``, ``pgp_membrane_mean``, ``pgp_cytoplasm_mean``,
        ``pgp_counted_px`` (scored pixels used for the P-gp intensity measures), ``pgp_puncta``
        (Int64),
        ``pgp_puncta_amplitude`` (sum of their amplitudes), ``touching_donor`` (bool),
        ``nearest_donor_label`` (0 when there is no other donor), ``nearest_donor_distance_px``
        (centroid to centroid) and ``nearest_donor_gap_px`` (edge-to-edge estimate).
        Definitions are in the module docstring.

    Examples
    --------
    >>> img = np.zeros((1, 12, 20), np.float32)
    >>> lab = np.zeros((12, 20), np.int32)
    >>> lab[2:10, 2:10] = 1; lab[2:10, 10:18] = 2
    >>> img[0][lab == 1] = 100.0; img[0][lab == 2] = 5.0
    >>> t = measure_cells(img, lab, ["P-gp"], {"pgp": 0}, {1: "donor", 2: "recipient"})
    >>> t[["label", "mean_p_gp", "pgp_score", "touching_donor"]].values.tolist()
    [[1, 100.0, 100.0, False], [2, 5.0, 5.0, True]]
    >>> t["pgp_counted_px"].tolist()  # the recipient's column next to the donor is excluded
    [64, 56]
    """
    params = params or MeasurementParams()
    populations = populations or {}
    labels = _check_labels(labels)
    image = _check_image(image, labels)
    if len(channel_names) != image.shape[0]:
        raise ValueError(
            f"{len(channel_names)} channel names for an image with {image.shape[0]} channels"
        )
    counts, n, table = _base_table(labels)
    present = table["label"]
    per_label_bg, _, _ = _backgrounds(image, labels, n, params, with_noise=False)

    columns: dict[str, np.ndarray] = {}
    for c, stem in enumerate(channel_columns(channel_names)):
        sums = label_sums(labels, image[c], n)[1]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = sums / counts - per_label_bg[c]
        total = sums - per_label_bg[c] * counts
        columns[f"mean_{stem}"] = mean[present]
        columns[f"total_{stem}"] = total[present]

    pop = np.full(n + 1, "unknown", dtype=object)
    for lab, p in populations.items():
        if 0 < int(lab) <= n:
            pop[int(lab)] = p
    is_donor = pop == "donor"
    is_donor[0] = False

    counted = None
    if "pgp" in roles:
        c = roles["pgp"]
        donor_px = is_donor[labels]
        if params.donor_exclusion_px > 0 and donor_px.any():
            near = shift_max(donor_px, params.donor_exclusion_px)
            excluded = near & ~donor_px & (labels > 0)
        else:
            excluded = np.zeros(labels.shape, bool)
        counted = (labels > 0) & ~excluded
        scored = counted
        if params.neighbour_exclusion_px > 0:
            scored = _away_from_neighbours(
                labels, counted, ~is_donor, params.neighbour_exclusion_px, n
            )
        n_cnt, s_cnt = label_sums(labels, image[c], n, scored)
        rim = border_pixels(labels, params.membrane_width_px) & scored
        n_rim, s_rim = label_sums(labels, image[c], n, rim)
        bg = per_label_bg[c]
        with np.errstate(invalid="ignore", divide="ignore"):
            score = s_cnt / n_cnt - bg
            membrane = s_rim / n_rim - bg
            cytoplasm = (s_cnt - s_rim) / (n_cnt - n_rim) - bg
        columns["pgp_score"] = score[present]
        columns["pgp_membrane_mean"] = membrane[present]
        columns["pgp_cytoplasm_mean"] = cytoplasm[present]
        columns["pgp_counted_px"] = n_cnt[present].astype(np.int64)
    else:
        for name in ("pgp_score", "pgp_membrane_mean", "pgp_cytoplasm_mean"):
            columns[name] = np.full(len(present), np.nan)
        columns["pgp_counted_px"] = np.zeros(len(present), np.int64)

    if puncta is not None and "pgp" in roles:
        n_spots, amp = _count_puncta(puncta, labels, counted, n)
        columns["pgp_puncta"] = pd.array(n_spots[present], dtype="Int64")
        columns["pgp_puncta_amplitude"] = amp[present]
    else:
        columns["pgp_puncta"] = pd.array([pd.NA] * len(present), dtype="Int64")
        columns["pgp_puncta_amplitude"] = np.full(len(present), np.nan)

    contacts = label_contacts(labels, params.contact_gap_px)
    touching = np.zeros(n + 1, bool)
    if len(contacts):
        a = contacts["label_a"].to_numpy()
        b = contacts["label_b"].to_numpy()
        touching[a[is_donor[b]]] = True
        touching[b[is_donor[a]]] = True
    columns["touching_donor"] = touching[present]

    near_lab, near_dist, near_gap = _nearest_donors(table, is_donor, touching, contacts)
    columns["nearest_donor_label"] = near_lab
    columns["nearest_donor_distance_px"] = near_dist
    columns["nearest_donor_gap_px"] = near_gap
    return pd.DataFrame({**table, **columns})


def _away_from_neighbours(
    labels: np.ndarray, counted: np.ndarray, applies: np.ndarray, radius: int, n: int
) -> np.ndarray:
    """The scored pixels: ``counted`` without the pixels of cells in ``applies`` (bool, indexed
    by label) that lie within ``radius`` (chessboard) of another cell; a cell left with no pixel
    keeps its ``counted`` pixels (see the module docstring)."""
    big = np.int64(n + 1)
    lab = labels.astype(np.int64)
    hi = shift_max(lab, radius)
    lo = shift_min(np.where(lab > 0, lab, big), radius)
    near_other = (lab > 0) & ((hi != lab) | (lo != lab))
    drop = near_other & applies[labels]
    narrowed = counted & ~drop
    kept = np.bincount(labels[narrowed].ravel(), minlength=n + 1)
    empty = (kept == 0) & (np.bincount(labels[counted].ravel(), minlength=n + 1) > 0)
    empty[0] = False
    return np.where(empty[labels], counted, narrowed)


def _count_puncta(
    puncta: pd.DataFrame, labels: np.ndarray, counted: np.ndarray | None, n: int
) -> tuple[np.ndarray, np.ndarray]:
    n_spots = np.zeros(n + 1, np.int64)
    amp = np.zeros(n + 1)
    if puncta is None or len(puncta) == 0:
        return n_spots, amp
    ny, nx = labels.shape
    iy = np.clip(np.rint(puncta["y"].to_numpy(dtype=float)), 0, ny - 1).astype(np.intp)
    ix = np.clip(np.rint(puncta["x"].to_numpy(dtype=float)), 0, nx - 1).astype(np.intp)
    lab = labels[iy, ix].astype(np.int64)
    if counted is not None:
        lab = np.where(counted[iy, ix], lab, 0)
    a = puncta["amplitude"].to_numpy(dtype=float) if "amplitude" in puncta else np.zeros(len(lab))
    n_spots += np.bincount(lab, minlength=n + 1)[: n + 1]
    amp += np.bincount(lab, weights=np.nan_to_num(a), minlength=n + 1)[: n + 1]
    return n_spots, amp
