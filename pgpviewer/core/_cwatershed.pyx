# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, nonecheck=False
"""Compiled seeded (compact) watershed with a binary heap of flood fronts.

Part of pgpviewer's compiled kernels (built by ``hatch_build.py``). Each function is an exact
replacement of a numpy/scipy/scikit-image formulation, checked in ``tests/core/test_kernels.py``;
callers use the wrappers in :mod:`pgpviewer.core.kernels` and :mod:`pgpviewer.core.neighbours`,
which check and convert their inputs.
"""

import numpy as np

from libc.math cimport sqrt
from libc.stdint cimport int32_t, int64_t, uint8_t
from libc.stdlib cimport free, malloc, realloc


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
