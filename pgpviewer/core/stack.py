"""The in-memory description of an image file: a lazy array in canonical axes plus metadata."""

from __future__ import annotations

import math
import mmap
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from pgpviewer.core.errors import InputError

CANONICAL_AXES = "TCZYX"


@dataclass(frozen=True, eq=False)
class Stack:
    """A fluorescence stack in canonical axes (T, C, Z, Y, X), read lazily.

    Parameters
    ----------
    data : array-like of shape (T, C, Z, Y, X)
        Usually a dask array over a memory map or tifffile's zarr store, so that opening a file
        never reads its pixels; ``np.asarray(data[t])`` reads one frame.
    channel_names : tuple of str
        One name per channel (from the file; ``"Channel 0"``… when the file has none).
    pixel_size_um : tuple of (float, float) or None
        Pixel size (y, x) in micrometres, None when the file does not say.
    z_step_um : float or None
        Distance between z planes in micrometres.
    frame_interval_s : float or None
        Time between frames in seconds.
    path : Path or None
        The file (or folder) it was read from.
    position : int
        Series/position index inside a multi-position file.
    n_positions : int
        Number of positions (series) in the file.
    source_axes : str
        Axes of the data as stored in the file (tifffile letters).
    axes_note : str
        How ambiguous axes were interpreted (empty when the file says).
    frame_offset : int
        File frame index of ``data[0]`` (non-zero after :meth:`with_frames`).
    open_axes : str or None
        The ``axes=`` the file was opened with, so that another process (a frame worker)
        reopens it the same way; None when the file's own axes were used.
    """

    data: Any
    channel_names: tuple[str, ...]
    pixel_size_um: tuple[float, float] | None = None
    z_step_um: float | None = None
    frame_interval_s: float | None = None
    path: Path | None = None
    position: int = 0
    n_positions: int = 1
    source_axes: str = ""
    axes_note: str = ""
    frame_offset: int = 0
    open_axes: str | None = None

    def __post_init__(self):
        if len(self.data.shape) != 5:
            raise ValueError(f"Stack data must be 5-D (T, C, Z, Y, X), got {self.data.shape}")
        if len(self.channel_names) != self.data.shape[1]:
            raise ValueError("one channel name per channel is required")

    # -- shape ---------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int, int, int, int]:
        return tuple(int(s) for s in self.data.shape)

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.data.dtype)

    @property
    def n_frames(self) -> int:
        return self.shape[0]

    @property
    def n_channels(self) -> int:
        return self.shape[1]

    @property
    def n_z(self) -> int:
        return self.shape[2]

    @property
    def shape_yx(self) -> tuple[int, int]:
        return self.shape[3], self.shape[4]

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize

    @property
    def frame_nbytes(self) -> int:
        """Bytes of one frame-set (all channels and planes of one time point)."""
        return self.nbytes // max(self.n_frames, 1)

    @property
    def name(self) -> str:
        return self.path.name if self.path is not None else "array"

    # -- reading -------------------------------------------------------------------------
    def frame(self, t: int) -> np.ndarray:
        """Read frame ``t`` as a numpy array of shape (C, Z, Y, X).

        Raises
        ------
        InputError
            The pixels cannot be read or decoded (a damaged file, not enough memory), or a
            floating-point frame holds NaN or infinite values: they are refused, not guessed
            (the message names the file frame; replace them, e.g. with 0, before analysis).
        """
        if not -self.n_frames <= t < self.n_frames:
            raise IndexError(f"frame {t} out of range for {self.n_frames} frames")
        index = (t % self.n_frames) + self.frame_offset
        try:
            block = self.data[t]
            if hasattr(block, "compute"):
                out = np.asarray(block.compute(scheduler="synchronous"))
            else:
                out = np.array(block)  # a copy: reads the pages now, detached from a memory map
                release_mapped_pages(self.data)
        except InputError:
            raise
        except MemoryError:
            raise InputError(
                self.path, f"cannot read frame {index}: not enough memory "
                f"({self.frame_nbytes / 2**20:.1f} MiB needed)"
            ) from None
        except Exception as e:  # decoders raise many types for damaged data
            raise InputError(
                self.path, f"cannot read frame {index}: {e.__class__.__name__}: {e}"
            ) from None
        if out.dtype.kind in "fc":
            bad = out.size - int(np.count_nonzero(np.isfinite(out)))
            if bad:
                raise InputError(
                    self.path,
                    f"frame {index} has {bad} NaN or infinite pixel value(s); pgpviewer needs "
                    "finite intensities (replace them, e.g. with 0, before the analysis)",
                )
        return out

    def projected_frame(self, t: int, projection: str = "max") -> np.ndarray:
        """Read frame ``t`` and project z: shape (C, Y, X).

        Parameters
        ----------
        t : int
            Frame index.
        projection : {"max", "mean", "sum", "middle"}
            How z planes become one image ("middle" takes the central plane).
        """
        f = self.frame(t)
        if f.shape[1] == 1:
            return f[:, 0]
        if projection == "max":
            return f.max(axis=1)
        if projection == "mean":
            return f.mean(axis=1, dtype=np.float32)
        if projection == "sum":
            return f.sum(axis=1, dtype=np.float32)
        if projection == "middle":
            return f[:, f.shape[1] // 2]
        raise ValueError(f"unknown z projection {projection!r}")

    def with_frames(self, start: int, stop: int) -> Stack:
        """Return a Stack restricted to frames ``start:stop`` (still lazy)."""
        start, stop, _ = slice(start, stop).indices(self.n_frames)
        if stop <= start:
            raise ValueError(f"empty frame range {start}:{stop} (file has {self.n_frames} frames)")
        return replace(self, data=self.data[start:stop], frame_offset=self.frame_offset + start)

    def describe(self) -> dict:
        """A JSON-able summary used by ``pgpviewer info`` and params.json."""
        return {
            "path": str(self.path) if self.path else None,
            "position": self.position,
            "n_positions": self.n_positions,
            "axes": CANONICAL_AXES,
            "source_axes": self.source_axes,
            "shape": list(self.shape),
            "dtype": str(self.dtype),
            "channel_names": list(self.channel_names),
            "pixel_size_um": list(self.pixel_size_um) if self.pixel_size_um else None,
            "z_step_um": self.z_step_um,
            "frame_interval_s": self.frame_interval_s,
            "axes_note": self.axes_note,
        }

    @classmethod
    def from_array(
        cls,
        array: Any,
        axes: str = "TCYX",
        *,
        channel_names: tuple[str, ...] | list[str] | None = None,
        **metadata: Any,
    ) -> Stack:
        """Wrap an in-memory (or dask) array with the given axes as a Stack.

        Parameters
        ----------
        array : array-like
            The pixels.
        axes : str
            One letter per dimension of ``array`` among T, C, Z, Y, X (Y and X required).
        channel_names : sequence of str, optional
            Defaults to ``Channel 0``, ``Channel 1``…
        **metadata
            Other :class:`Stack` fields (pixel_size_um, frame_interval_s, path, …).

        Examples
        --------
        >>> import numpy as np
        >>> s = Stack.from_array(np.zeros((4, 2, 32, 32), np.uint16), "TCYX")
        >>> s.shape
        (4, 2, 1, 32, 32)
        """
        data = to_canonical(array, axes)
        names = tuple(channel_names) if channel_names else default_channel_names(data.shape[1])
        return cls(data=data, channel_names=names, source_axes=axes, **metadata)


def release_mapped_pages(array: Any) -> None:
    """Drop a memory-mapped array's pages from this process's resident memory.

    The data stay in the operating system's page cache (re-reading is cheap), but they no
    longer count towards the process, so streaming through a file larger than RAM keeps the
    resident memory flat. A no-op for arrays that are not memory maps.
    """
    base = array
    while base is not None and not isinstance(base, mmap.mmap):
        base = getattr(base, "base", None)
    if base is not None and hasattr(mmap, "MADV_DONTNEED"):
        try:
            base.madvise(mmap.MADV_DONTNEED)
        except (OSError, ValueError):
            pass


def default_channel_names(n: int) -> tuple[str, ...]:
    return tuple(f"Channel {i}" for i in range(n))


def to_canonical(array: Any, axes: str) -> Any:
    """Transpose/expand ``array`` with ``axes`` (letters of TCZYX) into (T, C, Z, Y, X).

    Works on numpy and dask arrays without reading pixels.
    """
    axes = axes.upper()
    if len(axes) != array.ndim:
        raise ValueError(f"axes {axes!r} do not match an array with {array.ndim} dimensions")
    if (
        set(axes) - set(CANONICAL_AXES)
        or len(set(axes)) != len(axes)
        or not {"Y", "X"} <= set(axes)
    ):
        raise ValueError(f"axes {axes!r} must be distinct letters of TCZYX including Y and X")
    order = [axes.index(a) for a in CANONICAL_AXES if a in axes]
    out = array.transpose(order)
    present = [a for a in CANONICAL_AXES if a in axes]
    for i, a in enumerate(CANONICAL_AXES):
        if a not in present:
            out = out[(slice(None),) * i + (None,)]
            present.insert(i, a)
    return out
