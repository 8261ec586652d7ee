# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, nonecheck=False
"""Compiled image filters: square min/max, Sobel, spot (Hessian) response, grid
interpolation, exact squared distance transform and a float32 median.

Part of pgpviewer's compiled kernels (built by ``hatch_build.py``). Each function is an exact
replacement of a numpy/scipy/scikit-image formulation, checked in ``tests/core/test_kernels.py``;
callers use the wrappers in :mod:`pgpviewer.core.kernels` and :mod:`pgpviewer.core.neighbours`,
which check and convert their inputs.
"""

import numpy as np

from libc.math cimport sqrtf
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t
from libcpp.algorithm cimport nth_element

from pgpviewer.core._ctypes cimport lab_t, pix_t


cdef void _extreme_pass(pix_t* src, pix_t* dst, Py_ssize_t ny, Py_ssize_t nx, Py_ssize_t r,
                        bint take_max) noexcept nogil:
    """Rows then columns of a clipped (2r+1)² window; ``dst`` rows are overwritten."""
    cdef Py_ssize_t y, x, k, lo, hi
    cdef pix_t* row
    cdef pix_t* s
    cdef pix_t* d
    # columns first, from src into dst: each output row is the extreme of 2r+1 input rows
    for y in range(ny):
        lo = y - r if y > r else 0
        hi = y + r if y + r < ny else ny - 1
        d = dst + y * nx
        s = src + lo * nx
        for x in range(nx):
            d[x] = s[x]
        for k in range(lo + 1, hi + 1):
            s = src + k * nx
            if take_max:
                for x in range(nx):
                    d[x] = d[x] if d[x] >= s[x] else s[x]
            else:
                for x in range(nx):
                    d[x] = d[x] if d[x] <= s[x] else s[x]


cdef void _row_pass(pix_t* src, pix_t* dst, Py_ssize_t ny, Py_ssize_t nx, Py_ssize_t r,
                    bint take_max) noexcept nogil:
    cdef Py_ssize_t y, x, k
    cdef pix_t* s
    cdef pix_t* d
    for y in range(ny):
        s = src + y * nx
        d = dst + y * nx
        for x in range(nx):
            d[x] = s[x]
        for k in range(1, r + 1):
            if k >= nx:
                break
            if take_max:
                for x in range(nx - k):
                    d[x] = d[x] if d[x] >= s[x + k] else s[x + k]
                for x in range(k, nx):
                    d[x] = d[x] if d[x] >= s[x - k] else s[x - k]
            else:
                for x in range(nx - k):
                    d[x] = d[x] if d[x] <= s[x + k] else s[x + k]
                for x in range(k, nx):
                    d[x] = d[x] if d[x] <= s[x - k] else s[x - k]


def extreme_filter(pix_t[:, ::1] a, Py_ssize_t radius, bint take_max):
    """Max (``take_max``) or min of ``a`` over each pixel's (2r+1)² square, clipped at edges."""
    cdef Py_ssize_t ny = a.shape[0], nx = a.shape[1]
    tmp_arr = np.empty((ny, nx), dtype=np.asarray(a).dtype)
    out_arr = np.empty((ny, nx), dtype=np.asarray(a).dtype)
    cdef pix_t[:, ::1] tmp = tmp_arr
    cdef pix_t[:, ::1] out = out_arr
    if ny == 0 or nx == 0:
        return out_arr
    with nogil:
        _extreme_pass(&a[0, 0], &tmp[0, 0], ny, nx, radius, take_max)
        _row_pass(&tmp[0, 0], &out[0, 0], ny, nx, radius, take_max)
    return out_arr


def spot_response(float[:, ::1] g, float scale):
    """``−λ₂ · scale`` of the 3-point Hessian of ``g`` (λ₂ the larger eigenvalue), float32;
    the outer rows/columns use zero for the second differences they lack (as
    :func:`pgpviewer.core.puncta._filter`)."""
    cdef Py_ssize_t ny = g.shape[0], nx = g.shape[1], y, x
    out_arr = np.empty((ny, nx), np.float32)
    cdef float[:, ::1] out = out_arr
    cdef float hyy, hxx, hxy, half_tr, dd, disc, lam2
    # float constants: Cython writes literals as double, which would move the arithmetic to
    # double and change the float32 roundings numpy makes
    cdef float two = 2, quarter = 0.25, half = 0.5
    with nogil:
        for y in range(ny):
            for x in range(nx):
                if 0 < y < ny - 1:
                    hyy = g[y + 1, x] - two * g[y, x] + g[y - 1, x]
                else:
                    hyy = 0
                if 0 < x < nx - 1:
                    hxx = g[y, x + 1] - two * g[y, x] + g[y, x - 1]
                else:
                    hxx = 0
                if 0 < y < ny - 1 and 0 < x < nx - 1:
                    hxy = quarter * (g[y + 1, x + 1] - g[y + 1, x - 1] - g[y - 1, x + 1]
                                  + g[y - 1, x - 1])
                else:
                    hxy = 0
                half_tr = half * (hyy + hxx)
                dd = half * (hyy - hxx)
                disc = sqrtf(dd * dd + hxy * hxy)
                lam2 = half_tr + disc
                out[y, x] = -lam2 * scale
    return out_arr


cdef inline Py_ssize_t _reflect(Py_ssize_t i, Py_ssize_t n) noexcept nogil:
    # scipy.ndimage "reflect" (d c b a | a b c d | d c b a) for offsets of at most one
    if i < 0:
        return 0
    if i >= n:
        return n - 1
    return i


def sobel_magnitude(float[:, ::1] img):
    """``skimage.filters.sobel`` of a float32 image, bit for bit: per axis the 3 × 3 kernel
    [1, 0, −1] ⊗ [1/4, 1/2, 1/4] convolved as ``scipy.ndimage.convolve`` does it ("reflect"
    edges, taps in raster order of the flipped kernel, summed in float64, stored as float32),
    squared and summed in float32, then ``sqrt(sum) / sqrt(2)`` in float32."""
    cdef Py_ssize_t ny = img.shape[0], nx = img.shape[1], y, x, i, j, yy, xx
    out_arr = np.empty((ny, nx), np.float32)
    cdef float[:, ::1] out = out_arr
    cdef double s[3]
    s[0] = 0.25
    s[1] = 0.5
    s[2] = 0.25
    cdef double acc
    cdef float gy, gx, tot
    cdef float root2 = <float>np.sqrt(np.float32(2))
    with nogil:
        for y in range(ny):
            for x in range(nx):
                # edge along axis 0: flipped kernel rows are -s (row above) and +s (row below)
                acc = 0.0
                for i in range(3):
                    if i == 1:
                        continue
                    yy = _reflect(y + i - 1, ny)
                    for j in range(3):
                        xx = _reflect(x + j - 1, nx)
                        acc = acc + <double>img[yy, xx] * (s[j] if i == 2 else -s[j])
                gy = <float>acc
                # edge along axis 1: flipped kernel columns are -s (left) and +s (right)
                acc = 0.0
                for i in range(3):
                    yy = _reflect(y + i - 1, ny)
                    for j in range(3):
                        if j == 1:
                            continue
                        xx = _reflect(x + j - 1, nx)
                        acc = acc + <double>img[yy, xx] * (s[i] if j == 2 else -s[i])
                gx = <float>acc
                tot = <float>0.0
                tot = tot + gy * gy
                tot = tot + gx * gx
                out[y, x] = sqrtf(tot) / root2
    return out_arr


cdef void _axis_weights(double[::1] centres, Py_ssize_t n, Py_ssize_t* idx, double* w) noexcept nogil:
    """For positions 0..n-1: the left centre (clipped to the first/last pair) and the weight
    of the right one, as ``np.searchsorted(centres, at) - 1`` clipped and
    ``(at - c0) / (c1 - c0)``."""
    cdef Py_ssize_t m = centres.shape[0], i = 0, p
    for p in range(n):
        while i < m and centres[i] < p:
            i += 1
        idx[p] = min(max(i - 1, 0), m - 2)
        w[p] = (p - centres[idx[p]]) / (centres[idx[p] + 1] - centres[idx[p]])


def interp_grid(double[:, ::1] grid, double[::1] cy, double[::1] cx, Py_ssize_t ny,
                Py_ssize_t nx):
    """Separable linear interpolation (linear extrapolation beyond the outer centres) of a
    coarse ``grid`` given at row centres ``cy`` and column centres ``cx`` to a (ny, nx) float32
    image: first along rows, then columns, in float64 (as two ``_interp_linear`` calls of
    :mod:`pgpviewer.core.seg_channels`). Needs at least two centres on each axis."""
    cdef Py_ssize_t gy = grid.shape[0], gx = grid.shape[1], y, x, j
    iy_arr = np.empty(ny, np.intp)
    ix_arr = np.empty(nx, np.intp)
    wy_arr = np.empty(ny, np.float64)
    wx_arr = np.empty(nx, np.float64)
    row_arr = np.empty(gx, np.float64)
    out_arr = np.empty((ny, nx), np.float32)
    cdef Py_ssize_t[::1] iy = iy_arr
    cdef Py_ssize_t[::1] ix = ix_arr
    cdef double[::1] wy = wy_arr
    cdef double[::1] wx = wx_arr
    cdef double[::1] row = row_arr
    cdef float[:, ::1] out = out_arr
    cdef double a
    if gy < 2 or gx < 2 or ny == 0 or nx == 0:
        raise ValueError("interp_grid needs a grid of at least 2 x 2 and a non-empty output")
    with nogil:
        _axis_weights(cy, ny, &iy[0], &wy[0])
        _axis_weights(cx, nx, &ix[0], &wx[0])
        for y in range(ny):
            a = wy[y]
            for j in range(gx):
                row[j] = grid[iy[y], j] * (1 - a) + grid[iy[y] + 1, j] * a
            for x in range(nx):
                out[y, x] = <float>(row[ix[x]] * (1 - wx[x]) + row[ix[x] + 1] * wx[x])
    return out_arr


def edt_squared(uint8_t[:, ::1] mask):
    """Squared Euclidean distance (int64) of each set pixel to the nearest unset pixel
    (Felzenszwalb & Huttenlocher's lower envelope of parabolas: columns, then rows); -1 where
    the image has no unset pixel in reach (only when it has none at all)."""
    cdef Py_ssize_t ny = mask.shape[0], nx = mask.shape[1], y, x, k, q
    cdef int64_t INF = 1 << 62
    col_arr = np.empty((ny, nx), np.int64)
    out_arr = np.empty((ny, nx), np.int64)
    cdef int64_t[:, ::1] col = col_arr
    cdef int64_t[:, ::1] out = out_arr
    cdef int64_t last, d
    v_arr = np.empty(max(nx, 1), np.int64)
    z_arr = np.empty(max(nx, 1) + 1, np.float64)
    cdef int64_t[::1] v = v_arr
    cdef double[::1] z = z_arr
    cdef double s
    with nogil:
        # columns: distance to the nearest unset pixel above or below (two sweeps)
        for x in range(nx):
            last = -1
            for y in range(ny):
                if mask[y, x] == 0:
                    last = y
                    col[y, x] = 0
                else:
                    col[y, x] = INF if last < 0 else (y - last) * (y - last)
            last = -1
            for y in range(ny - 1, -1, -1):
                if mask[y, x] == 0:
                    last = y
                elif last >= 0:
                    d = (last - y) * (last - y)
                    if d < col[y, x]:
                        col[y, x] = d
        # rows: lower envelope of the parabolas (x - q)² + col[y, q] over finite sites q
        for y in range(ny):
            k = -1
            for q in range(nx):
                if col[y, q] >= INF:
                    continue
                while k >= 0:
                    s = ((col[y, q] + q * q) - (col[y, v[k]] + v[k] * v[k])) / (2.0 * (q - v[k]))
                    if s <= z[k]:
                        k -= 1
                    else:
                        break
                k += 1
                v[k] = q
                z[k] = -1e300 if k == 0 else ((col[y, q] + q * q)
                                              - (col[y, v[k - 1]] + v[k - 1] * v[k - 1])) / (
                                                  2.0 * (q - v[k - 1]))
                z[k + 1] = 1e300
            if k < 0:
                for x in range(nx):
                    out[y, x] = -1
                continue
            q = 0
            for x in range(nx):
                while z[q + 1] < x:
                    q += 1
                out[y, x] = (x - v[q]) * (x - v[q]) + col[y, v[q]]
    return out_arr


def median_f32(float[::1] values):
    """``np.median`` of a float32 vector without NaN (selection on a copy, O(n)): the middle
    value, or the float32 mean of the two middle values for an even count."""
    cdef Py_ssize_t n = values.shape[0], h = n // 2, i
    if n == 0:
        return float("nan")
    buf_arr = np.array(values, copy=True)
    cdef float[::1] buf = buf_arr
    cdef float a, b, two = 2
    with nogil:
        nth_element(&buf[0], &buf[h], &buf[0] + n)
        b = buf[h]
        if n % 2:
            a = b
        else:  # the largest of the lower half
            a = buf[0]
            for i in range(1, h):
                if buf[i] > a:
                    a = buf[i]
    if n % 2:
        return b
    return (a + b) / two
