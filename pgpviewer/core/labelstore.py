"""A (T, Y, X) int32 label stack kept in memory when small, in a file on disk when large.

The on-disk store reads and writes whole frames with ``pread``/``pwrite`` instead of a memory
map, so frames written or read do not stay in the process's resident memory: peak memory does
not grow with the number of frames.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

# Label stacks larger than this are kept in a temporary file, not in RAM.
IN_MEMORY_MAX_BYTES = 256 * 2**20


class DiskLabels:
    """Array-like (T, Y, X) int32 label stack backed by a raw file.

    Supports ``store[t]`` (read one frame), ``store[t] = frame``, ``store[a:b]`` (a stack of
    frames), ``len``, ``shape``, ``dtype`` and ``np.asarray(store)`` (reads everything).
    """

    dtype = np.dtype(np.int32)
    ndim = 3

    def __init__(self, n: int, shape_yx: tuple[int, int], folder: str | Path | None = None):
        self.shape = (int(n), int(shape_yx[0]), int(shape_yx[1]))
        self._frame_bytes = self.shape[1] * self.shape[2] * self.dtype.itemsize
        folder = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="pgpviewer-labels-"))
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "labels.raw"
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        os.ftruncate(self._fd, self.shape[0] * self._frame_bytes)
        self._owns_folder = True

    def __len__(self) -> int:
        return self.shape[0]

    def _index(self, t: int) -> int:
        t = int(t)
        if t < 0:
            t += self.shape[0]
        if not 0 <= t < self.shape[0]:
            raise IndexError(f"frame {t} out of range for {self.shape[0]} frames")
        return t

    def read(self, t: int) -> np.ndarray:
        t = self._index(t)
        buf = os.pread(self._fd, self._frame_bytes, t * self._frame_bytes)
        return np.frombuffer(buf, dtype=self.dtype).reshape(self.shape[1:]).copy()

    def write(self, t: int, frame: np.ndarray) -> None:
        t = self._index(t)
        data = np.ascontiguousarray(frame, dtype=self.dtype)
        if data.shape != self.shape[1:]:
            raise ValueError(f"frame shape {data.shape} != {self.shape[1:]}")
        os.pwrite(self._fd, data.tobytes(), t * self._frame_bytes)

    def __getitem__(self, key):
        if isinstance(key, tuple):
            first, rest = key[0], key[1:]
            return self[first][rest] if rest else self[first]
        if isinstance(key, slice):
            idx = range(*key.indices(self.shape[0]))
            if not len(idx):
                return np.zeros((0, *self.shape[1:]), self.dtype)
            return np.stack([self.read(t) for t in idx])
        return self.read(key)

    def __setitem__(self, key, value) -> None:
        self.write(key, value)

    def __array__(self, dtype=None, copy=None):
        out = self[0 : self.shape[0]]
        return out.astype(dtype) if dtype is not None else out

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __del__(self):  # the temporary file goes with the store
        try:
            self.close()
            if self._owns_folder:
                self.path.unlink(missing_ok=True)
                self.path.parent.rmdir()
        except (OSError, AttributeError):
            pass


def label_store(n: int, shape_yx: tuple[int, int], folder: str | Path | None = None):
    """An in-memory array for small stacks, a :class:`DiskLabels` for large ones."""
    if n * shape_yx[0] * shape_yx[1] * 4 <= IN_MEMORY_MAX_BYTES:
        return np.zeros((n, *shape_yx), np.int32)
    return DiskLabels(n, shape_yx, folder)
