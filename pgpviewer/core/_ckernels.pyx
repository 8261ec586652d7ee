# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, nonecheck=False
"""Compiled inner loops of :mod:`pgpviewer.core.kernels` (built by ``hatch_build.py``).

Each function is an exact replacement of a numpy formulation kept as the reference in
``tests/core/test_ckernels.py``: the same values, computed in one or two passes over the image
without temporaries. Callers use the wrappers in :mod:`pgpviewer.core.kernels` and
:mod:`pgpviewer.core.neighbours`, which check and convert their inputs.
"""

import numpy as np

from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t
from libcpp.algorithm cimport nth_element
from libc.math cimport sqrt, sqrtf
from libc.stdlib cimport free, malloc, realloc

ctypedef fused pix_t:
    uint8_t
    uint16_t
    int32_t
    int64_t
    float
    double

ctypedef fused lab_t:
    int32_t
    int64_t




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


def label_order_statistics(float[::1] values, lab_t[::1] labels, Py_ssize_t n, double[::1] qs):
    """Nearest-rank percentiles ``floor(q/100 · (count − 1))`` of each label's values.

    Returns ``(out, counts)``: ``out`` (len(qs), n + 1) float64 with NaN where a label has no
    pixel (and for label 0), ``counts`` (n + 1,) int64. Labels outside 1..n are ignored.
    ``qs`` must ascend. Each label's values are bucketed, then selected (``nth_element``).
    """
    cdef Py_ssize_t m = values.shape[0], i, j, c, k, lo, prev, nq = qs.shape[0]
    counts_arr = np.zeros(n + 1, np.int64)
    starts_arr = np.zeros(n + 2, np.int64)
    cdef int64_t[::1] counts = counts_arr
    cdef int64_t[::1] starts = starts_arr
    cdef lab_t lab
    with nogil:
        for i in range(m):
            lab = labels[i]
            if lab > 0 and lab <= n:
                counts[lab] += 1
        for j in range(1, n + 1):
            starts[j + 1] = starts[j] + counts[j]
    buf_arr = np.empty(starts_arr[n + 1], np.float32)
    fill_arr = starts_arr.copy()
    out_arr = np.full((nq, n + 1), np.nan)
    cdef float[::1] buf = buf_arr
    cdef int64_t[::1] fill = fill_arr
    cdef double[:, ::1] out = out_arr
    with nogil:
        for i in range(m):
            lab = labels[i]
            if lab > 0 and lab <= n:
                buf[fill[lab]] = values[i]
                fill[lab] += 1
        for j in range(1, n + 1):
            c = counts[j]
            if c == 0:
                continue
            # qs ascend, so each selection only needs the part right of the previous one
            lo = starts[j]
            prev = -1
            for k in range(nq):
                i = <Py_ssize_t>(qs[k] / 100.0 * (c - 1))
                if i != prev:
                    nth_element(&buf[lo], &buf[starts[j] + i], &buf[starts[j]] + c)
                    lo = starts[j] + i + 1
                    prev = i
                out[k, j] = buf[starts[j] + i]
    return out_arr, counts_arr


def label_centroids(lab_t[:, ::1] labels, Py_ssize_t n):
    """Pixel count and summed row/column index of each label 0..n (label 0 not counted).

    Sums are accumulated in raster order in float64, as ``np.bincount(..., weights=...)``
    over the labelled pixels does, so results are bit-identical to it.
    """
    cdef Py_ssize_t ny = labels.shape[0], nx = labels.shape[1], y, x
    counts_arr = np.zeros(n + 1, np.int64)
    sy_arr = np.zeros(n + 1, np.float64)
    sx_arr = np.zeros(n + 1, np.float64)
    cdef int64_t[::1] counts = counts_arr
    cdef double[::1] sy = sy_arr
    cdef double[::1] sx = sx_arr
    cdef lab_t lab
    with nogil:
        for y in range(ny):
            for x in range(nx):
                lab = labels[y, x]
                if lab > 0 and lab <= n:
                    counts[lab] += 1
                    sy[lab] += <double>y
                    sx[lab] += <double>x
    return counts_arr, sy_arr, sx_arr


def label_sums(lab_t[:, ::1] labels, pix_t[:, ::1] values, uint8_t[:, ::1] mask,
               Py_ssize_t n):
    """Count and float64 sum of ``values`` per label 0..n over labelled pixels where ``mask``
    is set (``mask`` may be None: all pixels); raster-order accumulation as ``np.bincount``."""
    cdef Py_ssize_t ny = labels.shape[0], nx = labels.shape[1], y, x
    counts_arr = np.zeros(n + 1, np.int64)
    sums_arr = np.zeros(n + 1, np.float64)
    cdef int64_t[::1] counts = counts_arr
    cdef double[::1] sums = sums_arr
    cdef lab_t lab
    cdef bint use_mask = mask is not None
    with nogil:
        for y in range(ny):
            for x in range(nx):
                lab = labels[y, x]
                if lab > 0 and lab <= n and (not use_mask or mask[y, x]):
                    counts[lab] += 1
                    sums[lab] += <double>values[y, x]
    return counts_arr, sums_arr


def contact_codes(lab_t[:, ::1] labels, Py_ssize_t gap, int64_t base):
    """``min(a, b) * base + max(a, b)`` for every pair of different non-zero labels ``a``, ``b``
    at distance ``k`` ≤ gap + 1 along a row or a column with only background (0) between them
    (one code per pixel pair; unsorted, with repeats)."""
    cdef Py_ssize_t ny = labels.shape[0], nx = labels.shape[1], y, x, k, j
    cdef Py_ssize_t cap = 1024, m = 0
    codes_arr = np.empty(cap, np.int64)
    cdef int64_t[::1] codes = codes_arr
    cdef int64_t a, b
    cdef int axis
    for axis in range(2):
        for y in range(ny):
            for x in range(nx):
                a = labels[y, x]
                if a == 0:
                    continue
                for k in range(1, gap + 2):
                    if axis == 0:
                        if x + k >= nx:
                            break
                        b = labels[y, x + k]
                    else:
                        if y + k >= ny:
                            break
                        b = labels[y + k, x]
                    if b == 0:
                        continue  # keep looking across the background gap
                    if b != a:
                        if m == cap:
                            cap *= 2
                            codes_arr = np.resize(codes_arr, cap)
                            codes = codes_arr
                        codes[m] = (a if a < b else b) * base + (b if a < b else a)
                        m += 1
                    break  # the first labelled pixel ends the search
    return codes_arr[:m]


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


cdef inline Py_ssize_t _find(int64_t* parent, Py_ssize_t i) noexcept nogil:
    cdef Py_ssize_t root = i, nxt
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:  # path compression
        nxt = parent[i]
        parent[i] = root
        i = nxt
    return root


def largest_pieces(lab_t[:, ::1] labels, Py_ssize_t n):
    """Each label's largest 4-connected piece: a copy of ``labels`` with the other pieces set
    to 0. Pieces are numbered in raster order of their first pixel; among pieces of equal size
    the later one is kept (as a stable ascending sort of the sizes, largest last, would)."""
    cdef Py_ssize_t ny = labels.shape[0], nx = labels.shape[1], y, x, i, r, a, b
    cdef Py_ssize_t m = ny * nx
    out_arr = np.array(labels, copy=True)
    if m == 0:
        return out_arr
    cdef lab_t[::1] flat = out_arr.reshape(-1)
    parent_arr = np.arange(m, dtype=np.int64)
    size_arr = np.zeros(m, np.int64)
    best_arr = np.full(n + 1, -1, np.int64)
    cdef int64_t[::1] parent = parent_arr
    cdef int64_t[::1] size = size_arr
    cdef int64_t[::1] best = best_arr
    cdef int64_t* par = &parent[0]
    cdef lab_t lab
    with nogil:
        for y in range(ny):
            for x in range(nx):
                i = y * nx + x
                lab = flat[i]
                if lab == 0:
                    continue
                if x > 0 and flat[i - 1] == lab:
                    par[i] = _find(par, i - 1)
                if y > 0 and flat[i - nx] == lab:
                    b = _find(par, i - nx)
                    a = _find(par, i)
                    if a != b:  # the smaller index stays the root: a piece's root is its
                        if a < b:  # first pixel in raster order
                            par[b] = a
                        else:
                            par[a] = b
        for i in range(m):
            if flat[i] != 0:
                size[_find(par, i)] += 1
        for i in range(m):  # roots in raster order: the later of equal pieces wins
            lab = flat[i]
            if lab > 0 and lab <= n and par[i] == i:
                if best[lab] < 0 or size[i] >= size[best[lab]]:
                    best[lab] = i
        for i in range(m):
            lab = flat[i]
            if lab != 0 and (lab < 0 or lab > n or best[lab] != _find(par, i)):
                flat[i] = 0
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


cdef struct _Item:
    double value
    int64_t age
    int64_t index
    int64_t source


cdef inline bint _before(_Item* a, _Item* b) noexcept nogil:
    # (value, age, pixel index): only the seeds share an age (0); they go in raster order
    if a.value != b.value:
        return a.value < b.value
    if a.age != b.age:
        return a.age < b.age
    return a.index < b.index


cdef class _Heap:
    """A binary min-heap of flood fronts ordered by (value, age)."""
    cdef _Item* items
    cdef Py_ssize_t size, cap

    def __cinit__(self, Py_ssize_t cap):
        self.cap = max(cap, 16)
        self.size = 0
        self.items = <_Item*>malloc(self.cap * sizeof(_Item))
        if self.items == NULL:
            raise MemoryError()

    def __dealloc__(self):
        free(self.items)

    cdef int push(self, double value, int64_t age, int64_t index, int64_t source) except -1 nogil:
        cdef Py_ssize_t i, parent
        cdef _Item* grown
        cdef _Item item
        if self.size == self.cap:
            grown = <_Item*>realloc(self.items, 2 * self.cap * sizeof(_Item))
            if grown == NULL:
                with gil:
                    raise MemoryError()
            self.items = grown
            self.cap *= 2
        item.value = value
        item.age = age
        item.index = index
        item.source = source
        i = self.size
        self.size += 1
        while i > 0:
            parent = (i - 1) // 2
            if not _before(&item, &self.items[parent]):
                break
            self.items[i] = self.items[parent]
            i = parent
        self.items[i] = item
        return 0

    cdef _Item pop(self) noexcept nogil:
        cdef _Item top = self.items[0]
        cdef _Item last
        cdef Py_ssize_t i = 0, child
        self.size -= 1
        if self.size > 0:
            last = self.items[self.size]
            while True:
                child = 2 * i + 1
                if child >= self.size:
                    break
                if child + 1 < self.size and _before(&self.items[child + 1], &self.items[child]):
                    child += 1
                if not _before(&self.items[child], &last):
                    break
                self.items[i] = self.items[child]
                i = child
            self.items[i] = last
        return top


def compact_watershed(double[:, ::1] image, int32_t[:, ::1] markers, uint8_t[:, ::1] mask,
                      double compactness):
    """Seeded watershed (4-connected) of ``image`` from ``markers`` inside ``mask``.

    Flood fronts leave the queue in order of value, then age (their push count: earlier first),
    so plateaus are shared between the basins around them; a front's value is at least that of
    the front it grew from. With ``compactness`` > 0 the value adds ``compactness · (Euclidean
    distance to the seed pixel)`` and a pixel is labelled when its first front leaves the queue
    (compact watershed, Neubert & Protzel 2014); with 0, when it is first reached. Marker
    pixels outside the mask are ignored. The labels equal ``skimage.segmentation.watershed``'s
    (connectivity 1) — tested — without its padding and copies.
    """
    cdef Py_ssize_t ny = image.shape[0], nx = image.shape[1], y, x, k, n
    out_arr = np.where(np.asarray(mask, bool), np.asarray(markers), 0).astype(np.int32)
    cdef int32_t[:, ::1] out = out_arr
    cdef _Heap heap = _Heap(4 * ny + 4 * nx)
    cdef int64_t age = 0, i, j, src
    cdef Py_ssize_t sy, sx, jy, jx
    cdef double dy, dx, value
    cdef _Item item
    cdef bint compact = compactness > 0
    # lowest value queued for each pixel: a later front that is not lower would leave the queue
    # after it (same value: older first) and find the pixel taken, so it is not queued at all
    best_arr = np.full((ny, nx), np.inf)
    cdef double[:, ::1] best = best_arr
    cdef Py_ssize_t[4] oy
    cdef Py_ssize_t[4] ox
    oy[0] = -1
    ox[0] = 0
    oy[1] = 0
    ox[1] = -1
    oy[2] = 0
    ox[2] = 1
    oy[3] = 1
    ox[3] = 0
    with nogil:
        for y in range(ny):
            for x in range(nx):
                if out[y, x] != 0:
                    heap.push(image[y, x], 0, y * nx + x, y * nx + x)
        while heap.size > 0:
            item = heap.pop()
            i = item.index
            src = item.source
            y = i // nx
            x = i % nx
            if compact:
                if out[y, x] != 0 and i != src:
                    continue
                out[y, x] = out[src // nx, src % nx]
            for k in range(4):
                jy = y + oy[k]
                jx = x + ox[k]
                if jy < 0 or jy >= ny or jx < 0 or jx >= nx:
                    continue
                if not mask[jy, jx] or out[jy, jx] != 0:
                    continue
                age += 1
                value = image[jy, jx]
                if compact:
                    dy = <double>(jy - src // nx)
                    dx = <double>(jx - src % nx)
                    value = value + compactness * sqrt(dy * dy + dx * dx)
                else:
                    out[jy, jx] = out[y, x]
                if value < item.value:  # a front never runs downhill of where it came from
                    value = item.value
                if compact:
                    if value >= best[jy, jx]:
                        continue
                    best[jy, jx] = value
                heap.push(value, age, jy * nx + jx, src)
    return out_arr


cdef Py_ssize_t _flood_outside(uint8_t* state, Py_ssize_t ny, Py_ssize_t nx,
                               int32_t* stack) noexcept nogil:
    """Mark (state 1) every background pixel (state 0 on entry; foreground is 3) 4-connected
    to the image border. Returns the number of pixels marked."""
    cdef Py_ssize_t top = 0, marked = 0, y, x, i
    cdef int32_t p
    # seeds: background pixels on the border
    for y in range(ny):
        for x in range(nx):
            if 0 < y < ny - 1 and 0 < x < nx - 1:
                continue
            i = y * nx + x
            if state[i] == 0:
                state[i] = 1
                stack[top] = <int32_t>i
                top += 1
    while top > 0:
        top -= 1
        p = stack[top]
        marked += 1
        y = p // nx
        x = p % nx
        if y > 0 and state[p - nx] == 0:
            state[p - nx] = 1
            stack[top] = <int32_t>(p - nx)
            top += 1
        if y < ny - 1 and state[p + nx] == 0:
            state[p + nx] = 1
            stack[top] = <int32_t>(p + nx)
            top += 1
        if x > 0 and state[p - 1] == 0:
            state[p - 1] = 1
            stack[top] = <int32_t>(p - 1)
            top += 1
        if x < nx - 1 and state[p + 1] == 0:
            state[p + 1] = 1
            stack[top] = <int32_t>(p + 1)
            top += 1
    return marked


cdef Py_ssize_t _collect_hole(uint8_t* state, Py_ssize_t ny, Py_ssize_t nx, int32_t start,
                              int32_t* stack, int32_t* members) noexcept nogil:
    """The 4-connected component of unvisited background (state 0) containing ``start``:
    marked visited (state 2), its pixels written to ``members``; returns their number."""
    cdef Py_ssize_t top = 1, n = 0, y, x
    cdef int32_t p
    state[start] = 2
    stack[0] = start
    while top > 0:
        top -= 1
        p = stack[top]
        members[n] = p
        n += 1
        y = p // nx
        x = p % nx
        if y > 0 and state[p - nx] == 0:
            state[p - nx] = 2
            stack[top] = <int32_t>(p - nx)
            top += 1
        if y < ny - 1 and state[p + nx] == 0:
            state[p + nx] = 2
            stack[top] = <int32_t>(p + nx)
            top += 1
        if x > 0 and state[p - 1] == 0:
            state[p - 1] = 2
            stack[top] = <int32_t>(p - 1)
            top += 1
        if x < nx - 1 and state[p + 1] == 0:
            state[p + 1] = 2
            stack[top] = <int32_t>(p + 1)
            top += 1
    return n


def fill_holes_owned(lab_t[:, ::1] labels):
    """A copy of ``labels`` in which each hole (4-connected background component not touching
    the image border) whose 8-neighbouring labelled pixels all carry one label gets it.
    Background reachable from the border is flooded first, so only hole pixels are visited
    again."""
    cdef Py_ssize_t ny = labels.shape[0], nx = labels.shape[1], m = ny * nx, i, j, n, y, x
    cdef Py_ssize_t dy, dx, yy, xx
    out_arr = np.array(labels, copy=True)
    if m == 0:
        return out_arr
    if m >= 2 ** 31:
        raise ValueError("image too large for the hole filler")
    cdef lab_t[::1] flat = out_arr.reshape(-1)
    state_arr = np.empty(m, np.uint8)
    stack_arr = np.empty(m, np.int32)
    members_arr = np.empty(m, np.int32)
    cdef uint8_t[::1] state = state_arr
    cdef int32_t[::1] stack = stack_arr
    cdef int32_t[::1] members = members_arr
    cdef int64_t owner, lab
    with nogil:
        for i in range(m):
            state[i] = 0 if flat[i] == 0 else 3
        _flood_outside(&state[0], ny, nx, &stack[0])
        for i in range(m):
            if state[i] != 0:
                continue
            n = _collect_hole(&state[0], ny, nx, <int32_t>i, &stack[0], &members[0])
            owner = 0
            for j in range(n):
                y = members[j] // nx
                x = members[j] % nx
                for dy in range(-1, 2):
                    yy = y + dy
                    if yy < 0 or yy >= ny:
                        continue
                    for dx in range(-1, 2):
                        xx = x + dx
                        if xx < 0 or xx >= nx:
                            continue
                        lab = labels[yy, xx]
                        if lab > 0:
                            if owner == 0:
                                owner = lab
                            elif owner != lab:
                                owner = -1
                if owner < 0:
                    break
            if owner > 0:
                for j in range(n):
                    flat[members[j]] = <lab_t>owner
    return out_arr


def fill_small_holes_mask(uint8_t[:, ::1] mask, double max_area):
    """A copy of ``mask`` (0/1) with every hole (4-connected component of unset pixels not
    touching the image border) of at most ``max_area`` pixels set."""
    cdef Py_ssize_t ny = mask.shape[0], nx = mask.shape[1], m = ny * nx, i, j, n
    out_arr = np.array(mask, copy=True)
    if m == 0:
        return out_arr
    if m >= 2 ** 31:
        raise ValueError("image too large for the hole filler")
    cdef uint8_t[::1] flat = out_arr.reshape(-1)
    state_arr = np.empty(m, np.uint8)
    stack_arr = np.empty(m, np.int32)
    members_arr = np.empty(m, np.int32)
    cdef uint8_t[::1] state = state_arr
    cdef int32_t[::1] stack = stack_arr
    cdef int32_t[::1] members = members_arr
    with nogil:
        for i in range(m):
            state[i] = 0 if flat[i] == 0 else 3
        _flood_outside(&state[0], ny, nx, &stack[0])
        for i in range(m):
            if state[i] != 0:
                continue
            n = _collect_hole(&state[0], ny, nx, <int32_t>i, &stack[0], &members[0])
            if n <= max_area:
                for j in range(n):
                    flat[members[j]] = 1
    return out_arr
