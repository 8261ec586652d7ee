"""The fast kernels give the same results as the formulations they replace."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage import morphology
from skimage.feature import peak_local_max

from pgpviewer.core import kernels
from pgpviewer.core.seg_refine import _closing_3x3, _opening_disk, _ridge_crest
from pgpviewer.core.segmentation import _relabel


def _blobs(seed, shape=(96, 120), frac=0.5, sigma=3.0):
    rng = np.random.default_rng(seed)
    f = ndi.gaussian_filter(rng.normal(size=shape), sigma)
    return f > np.quantile(f, 1 - frac)


@pytest.mark.parametrize("seed", range(4))
def test_fill_small_holes_matches_binary_fill_holes(seed):
    mask = _blobs(seed, frac=0.6)
    filled = ndi.binary_fill_holes(mask)
    lab, n = ndi.label(filled & ~mask)
    sizes = np.bincount(lab.ravel(), minlength=n + 1)
    for max_area in (0, 5, 40, 1e9):
        small = sizes <= max_area
        small[0] = False
        np.testing.assert_array_equal(kernels.fill_small_holes(mask, max_area), mask | small[lab])


def _old_fill_label_holes(labels):
    bg = labels == 0
    outside, _ = ndi.label(bg)
    border = np.unique(np.concatenate([outside[0], outside[-1], outside[:, 0], outside[:, -1]]))
    enclosed = bg & ~np.isin(outside, border)
    if not enclosed.any():
        return labels
    hole_lab, nh = ndi.label(enclosed)
    n = int(labels.max()) + 1
    grown = ndi.grey_dilation(hole_lab, size=3)
    ring = (labels > 0) & (grown > 0)
    pairs = np.unique(grown[ring].astype(np.int64) * n + labels[ring])
    hid = pairs // n
    cnt = np.bincount(hid, minlength=nh + 1)
    owner = np.zeros(nh + 1, np.int64)
    owner[hid] = pairs % n
    single = cnt == 1
    single[0] = False
    out = labels.copy()
    fill = single[hole_lab] & enclosed
    out[fill] = owner[hole_lab[fill]]
    return out


@pytest.mark.parametrize("seed", range(4))
def test_fill_label_holes_matches_dilation_formulation(seed):
    lab, _ = ndi.label(_blobs(seed, frac=0.7))
    # punch holes: some inside one label, some between two
    rng = np.random.default_rng(seed)
    holes = rng.random(lab.shape) < 0.03
    lab = np.where(holes, 0, lab).astype(np.int32)
    np.testing.assert_array_equal(kernels.fill_label_holes(lab), _old_fill_label_holes(lab))


@pytest.mark.parametrize("seed", range(3))
def test_edt_matches_scipy(seed):
    mask = _blobs(seed)
    np.testing.assert_allclose(kernels.edt(mask), ndi.distance_transform_edt(mask), rtol=1e-6)
    assert kernels.edt(np.zeros((4, 4), bool)).max() == 0


@pytest.mark.parametrize("seed", range(3))
def test_label_percentiles_match_sorting(seed):
    rng = np.random.default_rng(seed)
    lab = rng.integers(0, 30, (40, 50))
    lab[lab == 7] = 0  # an absent label
    vals = rng.normal(size=lab.shape).astype(np.float32)
    vals[0, :5] = [-0.0, 0.0, -1e-30, np.inf, -np.inf]
    out = kernels.label_percentiles(vals, lab, [0, 37.5, 50, 90, 100])
    for k in range(1, 30):
        v = np.sort(vals[lab == k])
        for i, q in enumerate([0, 37.5, 50, 90, 100]):
            if v.size == 0:
                assert np.isnan(out[i, k])
            else:
                assert out[i, k] == v[int(np.floor(q / 100 * (v.size - 1)))]
    assert np.isnan(out[:, 0]).all()


def test_block_median_matches_numpy():
    rng = np.random.default_rng(0)
    for shape in ((4, 5, 64), (3, 3, 49)):
        b = rng.normal(size=shape).astype(np.float32)
        np.testing.assert_array_equal(kernels.block_median(b), np.median(b, axis=-1))


@pytest.mark.parametrize("seed", range(4))
def test_peak_local_max_fast_matches_skimage(seed):
    rng = np.random.default_rng(seed)
    img = ndi.gaussian_filter(rng.normal(size=(80, 90)), 1.0).astype(np.float32)
    img[10:13, 10:13] = img.max()  # a plateau
    for d in (1, 2, 4):
        ref = peak_local_max(img, min_distance=d, threshold_abs=0.05, exclude_border=False)
        np.testing.assert_array_equal(kernels.peak_local_max_fast(img, d, 0.05), ref)
    flat = np.ones((10, 10))
    assert len(kernels.peak_local_max_fast(flat, 2, 0.0)) == 0


def test_local_max_matches_maximum_filter():
    img = ndi.gaussian_filter(np.random.default_rng(1).normal(size=(50, 60)), 1.5)
    np.testing.assert_array_equal(
        kernels.local_max_3x3(img), img >= ndi.maximum_filter(img, 3, mode="nearest"))


def _old_ridge_crest(sig: np.ndarray) -> np.ndarray:
    """Pixels on the crest of bright ridges: local maxima across the ridge (Hessian direction)."""
    hyy = np.zeros_like(sig)
    hxx = np.zeros_like(sig)
    hxy = np.zeros_like(sig)
    hyy[1:-1] = sig[2:] - 2 * sig[1:-1] + sig[:-2]
    hxx[:, 1:-1] = sig[:, 2:] - 2 * sig[:, 1:-1] + sig[:, :-2]
    hxy[1:-1, 1:-1] = 0.25 * (sig[2:, 2:] - sig[2:, :-2] - sig[:-2, 2:] + sig[:-2, :-2])
    half_tr = 0.5 * (hyy + hxx)
    disc = np.sqrt((0.5 * (hyy - hxx)) ** 2 + hxy**2)
    lam1 = half_tr - disc  # most negative curvature: across the ridge
    # eigenvector of lam1, quantised to 4 directions (0, 45, 90, 135 degrees)
    angle = np.degrees(np.arctan2(lam1 - hxx, hxy)) % 180.0  # direction (dy, dx) = (l-hxx, hxy)
    q = (np.rint(angle / 45.0).astype(np.int8)) % 4
    pad = np.pad(sig, 1, mode="edge")
    c = pad[1:-1, 1:-1]
    crest = np.zeros(sig.shape, bool)
    # q: 0 -> along x (dy=0), 1 -> 45 deg, 2 -> along y, 3 -> 135 deg
    for k, (dy, dx) in enumerate(((0, 1), (1, 1), (1, 0), (1, -1))):
        a = pad[1 + dy : pad.shape[0] - 1 + dy, 1 + dx : pad.shape[1] - 1 + dx]
        b = pad[1 - dy : pad.shape[0] - 1 - dy, 1 - dx : pad.shape[1] - 1 - dx]
        crest |= (q == k) & (c >= a) & (c >= b)
    return crest & (lam1 < 0)


def test_segmentation_helpers_match_scipy():
    mask = _blobs(5, frac=0.3)
    np.testing.assert_array_equal(
        _closing_3x3(mask), ndi.binary_closing(mask, structure=np.ones((3, 3), bool)))
    for r in (1, 2, 3, 5):
        np.testing.assert_array_equal(
            _opening_disk(mask, r), ndi.binary_opening(mask, structure=morphology.disk(r)))
    sig = ndi.gaussian_filter(np.random.default_rng(2).normal(size=mask.shape), 2.0)
    full = _old_ridge_crest(sig.astype(np.float32))
    np.testing.assert_array_equal(_ridge_crest(sig.astype(np.float32)), full)
    part = _ridge_crest(sig.astype(np.float32), mask)
    np.testing.assert_array_equal(part, full & mask)
    lab, _ = ndi.label(mask)
    rl = _relabel(np.where(lab > 0, lab * 7 + 3, 0))
    ids, first = np.unique(rl.ravel(), return_index=True)
    assert ids.tolist() == list(range(int(rl.max()) + 1))
    assert np.all(np.diff(first[1:]) > 0)  # raster order of first pixels


@pytest.mark.parametrize("dtype", [bool, np.uint8, np.uint16, np.int16, np.int32, np.int64,
                                   np.float32, np.float64])
@pytest.mark.parametrize("radius", [0, 1, 2, 5, 200])
def test_shift_extremes_match_scipy_filters(dtype, radius):
    from pgpviewer.core.neighbours import shift_max, shift_min

    rng = np.random.default_rng(radius)
    a = (rng.random((37, 53)) * 200).astype(dtype)
    size = 2 * radius + 1
    for ours, ref in ((shift_max, ndi.maximum_filter), (shift_min, ndi.minimum_filter)):
        got = ours(a, radius)
        assert got.dtype == a.dtype
        np.testing.assert_array_equal(got, ref(a, size=size, mode="nearest"))
    # non-contiguous input
    np.testing.assert_array_equal(shift_max(a.T, 1), ndi.maximum_filter(a.T, 3, mode="nearest"))


def test_label_percentiles_with_nan_values_use_the_key_sort():
    lab = np.array([[1, 1, 1, 2, 2]])
    v = np.array([[3.0, np.nan, 2.0, 9.0, 1.0]])
    out = kernels.label_percentiles(v, lab, [0, 100])
    assert out[0, 1] == 2.0 and np.isnan(out[1, 1])  # NaN sorts last, as in np.sort
    assert out[:, 2].tolist() == [1.0, 9.0]


def _numpy_spot_response(g, scale):
    hyy = np.zeros_like(g)
    hxx = np.zeros_like(g)
    hxy = np.zeros_like(g)
    hyy[1:-1] = g[2:] - 2 * g[1:-1] + g[:-2]
    hxx[:, 1:-1] = g[:, 2:] - 2 * g[:, 1:-1] + g[:, :-2]
    hxy[1:-1, 1:-1] = 0.25 * (g[2:, 2:] - g[2:, :-2] - g[:-2, 2:] + g[:-2, :-2])
    lam2 = 0.5 * (hyy + hxx) + np.sqrt((0.5 * (hyy - hxx)) ** 2 + hxy**2)
    return (-lam2 * np.float32(scale)).astype(np.float32)


@pytest.mark.parametrize("shape", [(1, 1), (2, 5), (40, 33)])
def test_compiled_spot_response_is_bit_identical_to_numpy(shape):
    from pgpviewer.core._cfilters import spot_response

    g = (np.random.default_rng(7).random(shape) * 1000).astype(np.float32)
    np.testing.assert_array_equal(spot_response(g, 1.7), _numpy_spot_response(g, 1.7))


@pytest.mark.parametrize("dtype", [np.uint16, np.int16, np.float32, bool])
def test_label_sums_and_centroids_are_bit_identical_to_bincount(dtype):
    rng = np.random.default_rng(3)
    lab = ndi.label(_blobs(3, shape=(61, 47)))[0]
    lab[lab == 3] = 0  # a missing label
    values = (rng.random(lab.shape) * 3000).astype(dtype)
    mask = rng.random(lab.shape) > 0.3
    n = int(lab.max())
    sel = (lab > 0) & mask
    counts, sums = kernels.label_sums(lab, values, n, mask)
    np.testing.assert_array_equal(counts, np.bincount(lab[sel], minlength=n + 1))
    np.testing.assert_array_equal(
        sums, np.bincount(lab[sel], weights=values[sel].astype(np.float64), minlength=n + 1))
    counts, sy, sx = kernels.label_centroids(lab, n)
    yy, xx = np.nonzero(lab)
    np.testing.assert_array_equal(sy, np.bincount(lab[yy, xx], weights=yy.astype(float),
                                                  minlength=n + 1))
    np.testing.assert_array_equal(sx, np.bincount(lab[yy, xx], weights=xx.astype(float),
                                                  minlength=n + 1))


def _numpy_contacts(labels, gap_px):
    n = int(labels.max())
    base = n + 1
    ny, nx = labels.shape
    flat = labels.ravel()
    codes = []
    for step, size in ((1, nx), (nx, ny)):
        for k in range(1, gap_px + 2):
            if k >= size:
                break
            off = k * step
            a, b = flat[:-off], flat[off:]
            idx = np.flatnonzero(a != b)
            keep = (a[idx] > 0) & (b[idx] > 0)
            if step == 1:
                keep &= (idx % nx) < nx - k
            for j in range(1, k):
                keep &= flat[idx + j * step] == 0
            av, bv = a[idx][keep].astype(np.int64), b[idx][keep].astype(np.int64)
            codes.append(np.minimum(av, bv) * base + np.maximum(av, bv))
    uniq, counts = np.unique(np.concatenate(codes), return_counts=True)
    return np.column_stack([uniq // base, uniq % base, counts]).tolist()


@pytest.mark.parametrize("gap", [0, 1, 3])
def test_compiled_contacts_match_the_array_formulation(gap):
    from pgpviewer.core.neighbours import label_contacts

    rng = np.random.default_rng(gap)
    lab = rng.integers(0, 6, (30, 41)) * (rng.random((30, 41)) > 0.4)
    assert label_contacts(lab, gap).values.tolist() == _numpy_contacts(lab, gap)


def _skimage_largest_piece(labels):
    from skimage import measure

    pieces = measure.label(labels, connectivity=1, background=0)
    sizes = np.bincount(pieces.ravel())
    owner = np.zeros(sizes.size, np.int64)
    owner[pieces.ravel()] = labels.ravel()
    best = np.zeros(int(labels.max()) + 1, np.int64)
    order = np.argsort(sizes[1:], kind="stable") + 1
    best[owner[order]] = order
    keep = np.zeros(sizes.size, bool)
    keep[best[best > 0]] = True
    return np.where(keep[pieces], labels, 0)


@pytest.mark.parametrize("seed", range(6))
def test_keep_largest_piece_matches_the_skimage_formulation(seed):
    rng = np.random.default_rng(seed)
    lab = ndi.median_filter(rng.integers(0, 7, (45, 61)), 3)  # many pieces, equal-size ties
    np.testing.assert_array_equal(kernels.keep_largest_piece(lab), _skimage_largest_piece(lab))


@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (37, 52)])
def test_compiled_sobel_is_bit_identical_to_skimage(shape):
    from pgpviewer.core._cfilters import sobel_magnitude
    from skimage import filters

    a = (np.random.default_rng(5).random(shape) * 900).astype(np.float32) * np.float32(0.37)
    np.testing.assert_array_equal(sobel_magnitude(a), filters.sobel(a))


@pytest.mark.parametrize("seed", range(8))
def test_seeded_watershed_matches_skimage_without_tied_seeds(seed):
    from skimage import segmentation

    rng = np.random.default_rng(seed)
    img = ndi.gaussian_filter(rng.random((47, 63)), 2)  # continuous: no two seeds tie
    mask = img > np.quantile(img, 0.25) if seed % 2 else np.ones(img.shape, bool)
    markers = np.zeros(img.shape, np.int32)
    pts = rng.integers(0, 47, (9, 2))
    markers[pts[:, 0], pts[:, 1]] = np.arange(1, 10)
    markers[5:9, 20:24] = 4  # a seed region
    for c in (0.0, 0.001, 0.01, 1.0):
        np.testing.assert_array_equal(
            kernels.seeded_watershed(img, markers, mask, c),
            segmentation.watershed(img, markers, mask=mask, compactness=c),
        )
