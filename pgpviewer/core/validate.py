"""Sanity checks on inputs before any pixel is read or any analysis runs.

Each check raises :class:`~pgpviewer.core.errors.InputError` with one line naming the file and
the problem, so that a bad input is refused early and clearly instead of crashing (or silently
filling memory) half-way through an analysis.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from pgpviewer.core.errors import InputError

#: Smallest image side (pixels) the analysis accepts: a few cells of the smallest diameter.
MIN_IMAGE_SIDE_PX = 8
#: Pixel types the analysis understands (unsigned/signed integers, floats, 1-bit).
_ANALYSABLE_KINDS = "uifb"


def human_bytes(n: float) -> str:
    """``1536`` → ``'1.5 KiB'`` (binary units, as memory is counted)."""
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover


def available_memory_bytes() -> int | None:
    """Memory this process may still allocate (None when unknown).

    The smaller of the system's available memory (``MemAvailable`` on Linux, free physical
    pages elsewhere) and what is left under an address-space limit (``ulimit -v``).
    """
    avail: int | None = None
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError):
        pass
    if avail is None:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, ValueError, OSError):
            avail = None
    try:
        import resource

        soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            used = 0
            try:
                with open("/proc/self/statm", encoding="ascii") as fh:
                    used = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
            except (OSError, ValueError, IndexError):
                pass
            left = max(int(soft) - used, 0)
            avail = left if avail is None else min(avail, left)
    except (ImportError, ValueError, OSError):  # pragma: no cover - not Unix
        pass
    return avail


def check_frame_fits_in_memory(
    path: str | Path | None, shape: tuple[int, ...], dtype: Any, *, what: str = "one time point"
) -> None:
    """Refuse data whose single frame-set cannot be held in memory (damaged or absurd sizes).

    Parameters
    ----------
    path : path or None
        The file, named in the message.
    shape : tuple of int
        Shape of the frame-set (e.g. (C, Z, Y, X)) or of one stored page.
    dtype : numpy dtype
        Pixel type.
    what : str
        What the shape is, in the message.
    """
    nbytes = math.prod(int(s) for s in shape) * np.dtype(dtype).itemsize
    avail = available_memory_bytes()
    if avail is not None and nbytes > avail:
        dims = "×".join(str(int(s)) for s in shape)
        raise InputError(
            path,
            f"{what} of this image ({dims} {np.dtype(dtype)}) needs {human_bytes(nbytes)} of "
            f"memory but only {human_bytes(avail)} is available; the file's header is damaged "
            "or the image is far too large",
        )


def check_analysable(stack: Any) -> None:
    """Refuse stacks the analysis cannot work on, before it starts.

    Reads the first frame, so that data that cannot be decoded, or NaN/infinite values there,
    are refused now rather than part-way through (later frames are checked as they are read).

    Parameters
    ----------
    stack : Stack
        The stack about to be analysed.

    Raises
    ------
    InputError
        Image smaller than :data:`MIN_IMAGE_SIDE_PX` on a side, complex pixel values, a first
        frame that cannot be read or holds non-finite values.
    """
    y, x = stack.shape_yx
    if min(y, x) < MIN_IMAGE_SIDE_PX:
        raise InputError(
            stack.path,
            f"image is {y}×{x} pixels, too small to find cells in (at least "
            f"{MIN_IMAGE_SIDE_PX}×{MIN_IMAGE_SIDE_PX} is needed)",
        )
    if stack.dtype.kind not in _ANALYSABLE_KINDS:
        raise InputError(
            stack.path,
            f"pixels are of type {stack.dtype}, which cannot be analysed (integer or "
            "floating-point intensities are needed)",
        )
    stack.frame(0)
