"""The napari labels writer: OME-TIFF with the layer's physical scale.

napari calls :func:`write_labels` with the layer data and its state (``scale``, ``units``,
``axis_labels``, ``metadata``…). The file is a zlib-compressed OME-TIFF that Fiji, QuPath and
pgpviewer read with PhysicalSizeX/Y (µm) and TimeIncrement (s) when the layer has them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

_LENGTH_UM = {
    "micrometer": 1.0,
    "micron": 1.0,
    "µm": 1.0,
    "um": 1.0,
    "nanometer": 1e-3,
    "nm": 1e-3,
    "millimeter": 1e3,
    "mm": 1e3,
    "meter": 1e6,
    "m": 1e6,
}
_TIME_S = {
    "second": 1.0,
    "s": 1.0,
    "millisecond": 1e-3,
    "ms": 1e-3,
    "minute": 60.0,
    "min": 60.0,
    "hour": 3600.0,
    "h": 3600.0,
}


def _unit_name(unit: Any) -> str:
    return "" if unit is None else str(unit).strip().lower()


def ome_metadata(
    ndim: int,
    scale: Sequence[float] | None,
    units: Sequence[Any] | None,
    axis_labels: Sequence[str] | None = None,
) -> dict[str, Any]:
    """tifffile OME metadata (axes, physical sizes) for a labels layer of ``ndim`` dimensions.

    The last two axes are Y and X; before them Z (when there are 4) and T. Sizes are written
    only for axes whose unit is a length (µm) or a time (s), so pixel-unit layers carry none.
    """
    if not 2 <= ndim <= 4:
        raise ValueError(f"labels of {ndim} dimensions cannot be written (2 to 4: [T,] [Z,] Y, X)")
    axes = {2: "YX", 3: "TYX", 4: "TZYX"}[ndim]
    labels = [str(a).lower() for a in (axis_labels or ())]
    if ndim == 3 and len(labels) == 3 and labels[0] == "z":
        axes = "ZYX"
    meta: dict[str, Any] = {"axes": axes}
    scale = list(scale) if scale is not None else [1.0] * ndim
    units = list(units) if units is not None else [None] * ndim
    for axis, s, u in zip(axes, scale, units, strict=False):
        name = _unit_name(u)
        if axis in "XYZ" and name in _LENGTH_UM:
            meta[f"PhysicalSize{axis}"] = float(s) * _LENGTH_UM[name]
            meta[f"PhysicalSize{axis}Unit"] = "µm"
        elif axis == "T" and name in _TIME_S:
            meta["TimeIncrement"] = float(s) * _TIME_S[name]
            meta["TimeIncrementUnit"] = "s"
    return meta


def write_labels(path: str, data: Any, meta: dict[str, Any]) -> list[str]:
    """Write a labels layer as OME-TIFF (napari single-layer writer); returns the path.

    Parameters
    ----------
    path : str
        Target file (``.ome.tif`` is added to a bare ``.tif``/``.tiff`` name's stem only if
        the user typed no suffix).
    data : array-like of shape ([T,] [Z,] Y, X)
        Label values (written as uint16, or uint32 when larger labels exist); read frame by
        frame, so a lazy array is never loaded whole.
    meta : dict
        The layer state napari passes (``scale``, ``units``, ``axis_labels``).
    """
    import tifffile

    target = Path(path)
    if not target.suffix:
        target = target.with_suffix(".ome.tif")
    ndim = len(data.shape)
    if ndim < 2:
        raise ValueError(f"labels must have at least 2 dimensions, got shape {data.shape}")
    omemeta = ome_metadata(ndim, meta.get("scale"), meta.get("units"), meta.get("axis_labels"))
    lead = data.shape[:-2]
    n_planes = int(np.prod(lead)) if lead else 1
    flat = data.reshape((n_planes, *data.shape[-2:])) if lead else data[None]

    def plane(i: int) -> np.ndarray:
        block = flat[i]
        if hasattr(block, "compute"):
            block = block.compute()
        return np.asarray(block)

    peak = max((int(plane(i).max(initial=0)) for i in range(n_planes)), default=0)
    dtype = np.uint16 if peak < 2**16 else np.uint32
    tifffile.imwrite(
        target,
        (plane(i).astype(dtype) for i in range(n_planes)),
        shape=tuple(data.shape),
        dtype=dtype,
        ome=True,
        metadata=omemeta,
        compression="zlib",
        photometric="minisblack",
    )
    return [str(target)]
