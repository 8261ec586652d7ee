# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, nonecheck=False
"""Compiled per-label kernels: order statistics, counts and sums, contacts, largest
pieces and hole filling.

Part of pgpviewer's compiled kernels (built by ``hatch_build.py``). Each function is an exact
replacement of a numpy/scipy/scikit-image formulation, checked in ``tests/core/test_kernels.py``;
callers use the wrappers in :mod:`pgpviewer.core.kernels` and :mod:`pgpviewer.core.neighbours`,
which check and convert their inputs.
"""

import numpy as np

from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t
from libcpp.algorithm cimport nth_element

from pgpviewer.core._ctypes cimport lab_t, pix_t


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


cdef Py_ssize_t _flood(uint8_t* state, Py_ssize_t ny, Py_ssize_t nx, int32_t* stack,
                       Py_ssize_t top, uint8_t mark, int32_t* members) noexcept nogil:
    """4-connected flood over unvisited background (state 0) from the ``top`` pixels already on
    ``stack`` (and already marked): reached pixels get ``mark``; every flooded pixel is written
    to ``members`` unless it is NULL. Returns the number of pixels flooded."""
    cdef Py_ssize_t n = 0, y, x, k
    cdef int32_t p, q
    cdef int32_t[4] step
    step[0] = <int32_t>-nx
    step[1] = <int32_t>nx
    step[2] = -1
    step[3] = 1
    while top > 0:
        top -= 1
        p = stack[top]
        if members != NULL:
            members[n] = p
        n += 1
        y = p // nx
        x = p % nx
        for k in range(4):
            if (k == 0 and y == 0) or (k == 1 and y == ny - 1) or (k == 2 and x == 0) or (
                    k == 3 and x == nx - 1):
                continue
            q = p + step[k]
            if state[q] == 0:
                state[q] = mark
                stack[top] = q
                top += 1
    return n


cdef void _flood_outside(uint8_t* state, Py_ssize_t ny, Py_ssize_t nx,
                         int32_t* stack) noexcept nogil:
    """Mark (state 1) every background pixel (state 0 on entry; foreground is 3) 4-connected
    to the image border."""
    cdef Py_ssize_t top = 0, y, x, i
    for y in range(ny):
        for x in range(nx):
            if 0 < y < ny - 1 and 0 < x < nx - 1:
                continue
            i = y * nx + x
            if state[i] == 0:
                state[i] = 1
                stack[top] = <int32_t>i
                top += 1
    _flood(state, ny, nx, stack, top, 1, NULL)


cdef Py_ssize_t _collect_hole(uint8_t* state, Py_ssize_t ny, Py_ssize_t nx, int32_t start,
                              int32_t* stack, int32_t* members) noexcept nogil:
    """The 4-connected component of unvisited background (state 0) containing ``start``:
    marked visited (state 2), its pixels written to ``members``; returns their number."""
    state[start] = 2
    stack[0] = start
    return _flood(state, ny, nx, stack, 1, 2, members)


def _hole_buffers(Py_ssize_t m):
    """Work arrays of the hole fillers: pixel state, flood stack, hole members."""
    if m >= 2 ** 31:
        raise ValueError("image too large for the hole filler")
    return np.empty(m, np.uint8), np.empty(m, np.int32), np.empty(m, np.int32)


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
    cdef lab_t[::1] flat = out_arr.reshape(-1)
    state_arr, stack_arr, members_arr = _hole_buffers(m)
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
    cdef uint8_t[::1] flat = out_arr.reshape(-1)
    state_arr, stack_arr, members_arr = _hole_buffers(m)
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
