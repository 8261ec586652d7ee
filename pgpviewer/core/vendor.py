"""Microscope vendor formats: Nikon ND2, Zeiss CZI, Leica LIF (the ``formats`` extra).

Each reader gives a lazy :class:`~pgpviewer.core.stack.Stack` in canonical axes with channel
names, pixel size (µm) and frame interval (s) from the file's own metadata, like
:func:`pgpviewer.core.io.read_stack` does for TIFF. The libraries are imported only when such a
file is opened:

========  ==============  ==========================================================
suffix    library         notes
========  ==============  ==========================================================
``.nd2``  ``nd2``         Nikon NIS-Elements; positions (``P``) are the positions
``.czi``  ``pylibCZIrw``  Zeiss's own libCZI binding; scenes are the positions
``.lif``  ``liffile``     Leica LAS X; each image of the file is one position
========  ==============  ==========================================================

Without the library a clear :class:`~pgpviewer.core.errors.InputError` says how to install it:
``pip install 'pgpviewer[formats]'``.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pgpviewer.core.errors import InputError
from pgpviewer.core.stack import Stack, default_channel_names

#: suffix → (import name, format name)
VENDOR_LIBRARIES: dict[str, tuple[str, str]] = {
    ".nd2": ("nd2", "Nikon ND2"),
    ".czi": ("pylibCZIrw", "Zeiss CZI"),
    ".lif": ("liffile", "Leica LIF"),
}
EXTRA_HINT = "pip install 'pgpviewer[formats]'"
# A physical pixel size outside this range (µm) is not a microscope calibration.
_PLAUSIBLE_PIXEL_UM = (1e-4, 1e3)


def vendor_available(suffix: str) -> bool:
    """True when the library that reads ``suffix`` files is installed (nothing is imported)."""
    entry = VENDOR_LIBRARIES.get(suffix.lower())
    if entry is None:
        return False
    try:
        return importlib.util.find_spec(entry[0]) is not None
    except (ImportError, ValueError):
        return False


def _library(path: Path, suffix: str) -> Any:
    module, what = VENDOR_LIBRARIES[suffix]
    try:
        return importlib.import_module(module)
    except ImportError:
        raise InputError(
            path,
            f"reading {suffix} files ({what}) needs the formats extra: {EXTRA_HINT}",
        ) from None


def read_vendor(path: str | Path, position: int = 0) -> Stack:
    """Open an ND2, CZI or LIF file as a lazy :class:`Stack`.

    Parameters
    ----------
    path : str or Path
        The file.
    position : int
        Position (ND2 XY position, CZI scene, LIF image) to open.

    Returns
    -------
    Stack
        Axes (T, C, Z, Y, X); pixel size, z step and frame interval from the metadata when the
        file has them.

    Raises
    ------
    InputError
        Missing library (the message names the extra to install), missing or damaged file,
        position out of range, or axes pgpviewer cannot map.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in VENDOR_LIBRARIES:
        raise InputError(p, f"not a vendor format pgpviewer reads ({suffix or p.name!r})")
    lib = _library(p, suffix)
    if not p.exists():
        raise InputError(p, "file not found")
    if p.is_file() and p.stat().st_size == 0:
        raise InputError(p, "file is empty")
    reader = {".nd2": _read_nd2, ".czi": _read_czi, ".lif": _read_lif}[suffix]
    what = VENDOR_LIBRARIES[suffix][1]
    try:
        return reader(lib, p, position)
    except InputError:
        raise
    except MemoryError:
        raise InputError(p, f"cannot read this {what} file (its header is damaged)") from None
    except Exception as e:  # vendor libraries raise many types for damaged files
        raise InputError(p, f"cannot read this {what} file ({e.__class__.__name__}: {e})") from None


# -- shared helpers -----------------------------------------------------------------------
def _check_position(p: Path, position: int, n: int) -> None:
    if not 0 <= position < n:
        raise InputError(p, f"position {position} does not exist (file has {n})")


def _plausible_um(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    lo, hi = _PLAUSIBLE_PIXEL_UM
    return v if math.isfinite(v) and lo <= v <= hi else None


def _positive(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) and v > 0 else None


def median_interval_s(times_s: Sequence[float]) -> float | None:
    """Median step of increasing time stamps (s); None with fewer than two distinct stamps."""
    t = np.asarray([x for x in times_s if x is not None and np.isfinite(x)], float)
    if t.size < 2:
        return None
    steps = np.diff(np.unique(t))
    return _positive(np.median(steps)) if steps.size else None


def _names(names: Sequence[Any] | None, n: int) -> tuple[str, ...]:
    clean = [str(x).strip() for x in (names or [])]
    if len(clean) != n or not all(clean):
        return default_channel_names(n)
    return tuple(clean)


def _to_stack(data: Any, axes: str, p: Path, **metadata: Any) -> Stack:
    """Stack from ``data`` with vendor axes letters (T, C, Z, Y, X, S); other letters refused."""
    axes = axes.upper()
    if "S" in axes:
        if "C" in axes:
            if data.shape[axes.index("S")] != 1:
                raise InputError(p, "image has both channels and colour samples")
            data = data[tuple(0 if a == "S" else slice(None) for a in axes)]
            axes = axes.replace("S", "")
        else:
            axes = axes.replace("S", "C")
    extra = [a for a in axes if a not in "TCZYX"]
    for a in extra:  # unknown axes of length 1 are dropped
        i = axes.index(a)
        if data.shape[i] != 1:
            raise InputError(p, f"cannot tell what the axis {a!r} of length {data.shape[i]} means")
        data = data[(slice(None),) * i + (0,)]
        axes = axes[:i] + axes[i + 1 :]
    n_ch = data.shape[axes.index("C")] if "C" in axes else 1
    names = metadata.pop("channel_names", None)
    try:
        return Stack.from_array(data, axes, channel_names=_names(names, n_ch), path=p, **metadata)
    except ValueError as e:
        raise InputError(p, f"unsupported axes {axes!r}: {e}") from None


# -- Nikon ND2 ----------------------------------------------------------------------------
def _read_nd2(nd2: Any, p: Path, position: int) -> Stack:
    f = nd2.ND2File(p)
    try:
        sizes = dict(f.sizes)
        data = f.to_dask()
        axes = "".join(sizes)
        n_pos = sizes.get("P", 1)
        _check_position(p, position, n_pos)
        if "P" in axes:
            i = axes.index("P")
            data = data[(slice(None),) * i + (position,)]
            axes = axes.replace("P", "")
        names = None
        try:
            names = [ch.channel.name for ch in (f.metadata.channels or [])]
        except AttributeError:
            pass
        pixel, z_step = None, None
        try:
            vx = f.voxel_size()
            px, py = _plausible_um(vx.x), _plausible_um(vx.y)
            if px is not None:
                pixel = (py if py is not None else px, px)
            z_step = _positive(vx.z) if sizes.get("Z", 1) > 1 else None
        except Exception:  # calibration is optional; the pixels are what matters
            pixel = None
        interval = nd2_frame_interval_s(f.experiment) if sizes.get("T", 1) > 1 else None
        if interval is None and sizes.get("T", 1) > 1:
            interval = _nd2_interval_from_frames(f, sizes)
        return _to_stack(
            data,
            axes,
            p,
            channel_names=names,
            pixel_size_um=pixel,
            z_step_um=z_step,
            frame_interval_s=interval,
            position=position,
            n_positions=n_pos,
        )
    finally:
        # the dask array re-opens the file when it reads (nd2's ResourceBackedDaskArray)
        f.close()


def nd2_frame_interval_s(experiment: Sequence[Any]) -> float | None:
    """Frame interval (s) from an ND2 experiment (``ND2File.experiment``) or None.

    A ``TimeLoop`` gives its period (the measured average when NIS recorded one); an
    ``NETimeLoop`` (several phases) gives its first phase's period.
    """
    for loop in experiment or ():
        kind = getattr(loop, "type", "")
        params = getattr(loop, "parameters", None)
        if kind == "TimeLoop" and params is not None:
            diff = getattr(params, "periodDiff", None)
            avg = _positive(getattr(diff, "avg", None)) if diff is not None else None
            ms = avg or _positive(getattr(params, "periodMs", None))
            return ms / 1000.0 if ms else None
        if kind == "NETimeLoop" and params is not None:
            for period in getattr(params, "periods", None) or ():
                diff = getattr(period, "periodDiff", None)
                avg = _positive(getattr(diff, "avg", None)) if diff is not None else None
                ms = avg or _positive(getattr(period, "periodMs", None))
                if ms:
                    return ms / 1000.0
    return None


def _nd2_interval_from_frames(f: Any, sizes: Mapping[str, int]) -> float | None:
    """Median step of the frames' acquisition times along T (first position, z, channel)."""
    coords = [a for a in sizes if a not in ("Y", "X", "C", "S")]
    if "T" not in coords:
        return None
    stride = math.prod(sizes[a] for a in coords[coords.index("T") + 1 :])
    times = []
    for t in range(min(sizes["T"], 50)):
        try:
            meta = f.frame_metadata(t * stride)
            times.append(float(meta.channels[0].time.relativeTimeMs) / 1000.0)
        except Exception:  # missing per-frame metadata: no interval
            return None
    return median_interval_s(times)


# -- Zeiss CZI ----------------------------------------------------------------------------
class _CziPlanes:
    """Reads single planes of one CZI scene; one open reader shared under a lock."""

    def __init__(self, pyczi: Any, path: Path, scene: int | None, roi: Any):
        self._pyczi = pyczi
        self._path = path
        self._scene = scene
        self._roi = roi
        self._lock = threading.Lock()
        self._reader: Any = None
        self._context: Any = None

    def read(self, t: int, c: int, z: int) -> np.ndarray:
        with self._lock:
            if self._reader is None:
                self._context = self._pyczi.open_czi(str(self._path))
                self._reader = self._context.__enter__()
            plane = self._reader.read(
                plane={"T": t, "C": c, "Z": z}, roi=self._roi, scene=self._scene
            )
        return np.asarray(plane)[..., 0] if plane.ndim == 3 and plane.shape[2] == 1 else plane

    def __del__(self):  # pragma: no cover - closed when the Stack goes away
        if self._context is not None:
            try:
                self._context.__exit__(None, None, None)
            except Exception:
                pass

    def __getstate__(self):
        # cross process boundaries (dask workers) without the open reader
        state = self.__dict__.copy()
        state.update(_reader=None, _context=None, _lock=None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()


_CZI_DTYPES = {"Gray8": np.uint8, "Gray16": np.uint16, "Gray32Float": np.float32}


def _read_czi(pylibczirw: Any, p: Path, position: int) -> Stack:
    import dask
    import dask.array as da

    pyczi = importlib.import_module("pylibCZIrw.czi")
    with pyczi.open_czi(str(p)) as doc:
        box = doc.total_bounding_box_no_pyramid
        try:
            scenes = doc.scenes_bounding_rectangle_no_pyramid
        except ValueError:
            scenes = {}
        pixel_types = doc.pixel_types
        meta = doc.metadata
    n_pos = max(len(scenes), 1)
    _check_position(p, position, n_pos)
    if scenes:
        scene = sorted(scenes)[position]
        rect = scenes[scene]
        roi = (rect.x, rect.y, rect.w, rect.h)
    else:
        scene = None
        roi = None
    n_t = box["T"][1] - box["T"][0]
    n_c = box["C"][1] - box["C"][0]
    n_z = box["Z"][1] - box["Z"][0]
    # Every plane is at least one sub-block in the file (a 32-byte segment header plus its
    # directory entry and sub-block header): a damaged bounding box claiming more planes than
    # the file can hold is refused before any task is built.
    size = p.stat().st_size
    if min(n_t, n_c, n_z) < 1 or n_t * n_c * n_z > size // 64:
        raise InputError(
            p,
            f"damaged Zeiss CZI file: it claims T={n_t} C={n_c} Z={n_z} image planes, "
            f"more than {size} bytes can hold",
        )
    if roi is None:
        x0, x1 = box["X"]
        y0, y1 = box["Y"]
        roi = (x0, y0, x1 - x0, y1 - y0)
    h, w = roi[3], roi[2]
    kinds = set(pixel_types.values())
    if any(k not in _CZI_DTYPES for k in kinds):
        raise InputError(
            p, f"pixel type {', '.join(sorted(kinds))} is not supported (grey images only)"
        )
    dtype = np.result_type(*(_CZI_DTYPES[k] for k in kinds))
    planes = _CziPlanes(pyczi, p, scene, roi)
    read = dask.delayed(planes.read, pure=True)
    arr = da.stack(
        [
            da.stack(
                [
                    da.stack(
                        [da.from_delayed(read(t, c, z), (h, w), dtype=dtype) for z in range(n_z)]
                    )
                    for c in range(n_c)
                ]
            )
            for t in range(n_t)
        ]
    )
    info = czi_metadata(meta)
    names = info.pop("channel_names")
    if n_z <= 1:
        info["z_step_um"] = None
    if n_t <= 1:
        info["frame_interval_s"] = None
    return _to_stack(
        arr, "TCZYX", p, channel_names=names, position=position, n_positions=n_pos, **info
    )


def _czi_get(tree: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(tree, dict):
            return None
        tree = tree.get(k)
    return tree


def _as_list(x: Any) -> list:
    if x is None:
        return []
    return x if isinstance(x, list) else [x]


def _czi_distance_um(value: Any) -> float | None:
    """A CZI ``Scaling/Items/Distance/Value``: metres per pixel in ZEN files (µm in files
    written by pylibCZIrw, which stores the µm it is given); returned in µm."""
    v = _positive(value)
    if v is None:
        return None
    return _plausible_um(v * 1e6 if v < 1e-3 else v)


def czi_metadata(meta: Mapping[str, Any]) -> dict[str, Any]:
    """Channel names, pixel size, z step and frame interval from CZI metadata (xmltodict form).

    Frame interval: ``Information/Image/Dimensions/T/Positions/Interval/Increment`` (s), or
    the time-series set-up of the experiment block.
    """
    md = _czi_get(meta, "ImageDocument", "Metadata") or {}
    image = _czi_get(md, "Information", "Image") or {}
    channels = _as_list(_czi_get(image, "Dimensions", "Channels", "Channel"))
    names = [
        c.get("@Name") or c.get("Fluor") or c.get("@Id") for c in channels if isinstance(c, dict)
    ]
    dist = {}
    for item in _as_list(_czi_get(md, "Scaling", "Items", "Distance")):
        if isinstance(item, dict) and item.get("@Id"):
            dist[item["@Id"]] = _czi_distance_um(item.get("Value"))
    x, y = dist.get("X"), dist.get("Y")
    pixel = (y if y is not None else x, x) if x is not None else None
    interval = _positive(_czi_get(image, "Dimensions", "T", "Positions", "Interval", "Increment"))
    if interval is None:
        interval = _czi_experiment_interval(md)
    return {
        "channel_names": names or None,
        "pixel_size_um": pixel,
        "z_step_um": dist.get("Z"),
        "frame_interval_s": interval,
    }


_TIME_UNITS = {"ms": 1e-3, "s": 1.0, "min": 60.0, "h": 3600.0}


def _czi_experiment_interval(md: Mapping[str, Any]) -> float | None:
    """``Experiment/.../TimeSeriesSetup/.../Interval/TimeSpan`` (value + unit), if present."""
    found: list[float] = []

    def walk(node: Any) -> None:
        if found:
            return
        if isinstance(node, dict):
            interval = node.get("Interval")
            if isinstance(interval, dict) and isinstance(interval.get("TimeSpan"), dict):
                span = interval["TimeSpan"]
                value = _positive(span.get("Value"))
                unit = str(span.get("DefaultUnitFormat") or "s").strip().lower()
                if value is not None:
                    found.append(value * _TIME_UNITS.get(unit, 1.0))
                    return
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(_czi_get(md, "Experiment"))
    return found[0] if found else None


# -- Leica LIF ----------------------------------------------------------------------------
def _read_lif(liffile: Any, p: Path, position: int) -> Stack:
    lif = liffile.LifFile(p)
    try:
        images = [im for im in lif.images if _lif_is_image(im)]
        _check_position(p, position, len(images))
        im = images[position]
        sizes = dict(im.sizes)
        axes = "".join(sizes)
        if "M" in axes and sizes["M"] > 1:
            raise InputError(p, "tile scans (mosaics) are not supported: export the merged image")
        # LIF pixels are stored raw: liffile memory-maps them (nothing is read here)
        data = im.asarray(out="memmap")
        info = lif_metadata(im)
    finally:
        lif.close()
    return _to_stack(data, axes, p, position=position, n_positions=len(images), **info)


def _lif_is_image(im: Any) -> bool:
    try:
        sizes = im.sizes
    except Exception:  # FLIM or other non-image elements
        return False
    return "X" in sizes and "Y" in sizes


def lif_metadata(im: Any) -> dict[str, Any]:
    """Channel names, pixel size, z step and frame interval of a liffile image.

    Leica stores the physical extent of each dimension (metres for X/Y/Z, seconds for T);
    liffile turns it into coordinates, whose step is the pixel size. Channels have no name
    in the LIF header, only a look-up-table name ("Green", "Red"…), which is used.
    """
    coords = getattr(im, "coords", {}) or {}
    sizes = dict(getattr(im, "sizes", {}) or {})

    def step(axis: str) -> float | None:
        c = coords.get(axis)
        if c is None or len(c) < 2:
            return None
        return abs(float(c[-1]) - float(c[0])) / (len(c) - 1)

    def step_um(axis: str) -> float | None:
        s = step(axis)
        if s is None:
            return None
        return _plausible_um(s * 1e6) or _plausible_um(s)

    x, y = step_um("X"), step_um("Y")
    pixel = (y if y is not None else x, x) if x is not None else None
    interval = _positive(step("T")) if sizes.get("T", 1) > 1 else None
    if interval is None and sizes.get("T", 1) > 1:
        stamps = getattr(im, "timestamps", None)
        if stamps is not None and len(stamps) >= sizes["T"]:
            secs = (np.asarray(stamps) - np.asarray(stamps)[0]) / np.timedelta64(1, "s")
            per_frame = len(secs) // sizes["T"]
            interval = median_interval_s(secs[::per_frame])
    channels = getattr(im, "_channels", None) or ()
    names = [
        getattr(c, "name_of_measured_quantity", "") or getattr(c, "lut_name", "") for c in channels
    ]
    return {
        "channel_names": names or None,
        "pixel_size_um": pixel,
        "z_step_um": step_um("Z") if sizes.get("Z", 1) > 1 else None,
        "frame_interval_s": interval,
    }


__all__ = [
    "EXTRA_HINT",
    "VENDOR_LIBRARIES",
    "czi_metadata",
    "lif_metadata",
    "median_interval_s",
    "nd2_frame_interval_s",
    "read_vendor",
    "vendor_available",
]
