"""Reading fluorescence stacks: OME-TIFF, ImageJ hyperstacks, plain TIFF, frame folders, PNG.

Everything is read lazily with tifffile: uncompressed contiguous data as a memory map,
everything else through tifffile's zarr store (one chunk per page), both wrapped in dask so that
napari and the pipeline read single frames on demand. Opening never reads pixel data.
"""

from __future__ import annotations

import glob as _glob
import math
import struct
from pathlib import Path
from typing import Any

import numpy as np
import tifffile

from pgpviewer.core.errors import InputError
from pgpviewer.core.stack import CANONICAL_AXES, Stack, default_channel_names, to_canonical

TIFF_SUFFIXES = (".tif", ".tiff", ".btf", ".tf8", ".tf2")
OTHER_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
IMAGE_SUFFIXES = TIFF_SUFFIXES + OTHER_IMAGE_SUFFIXES

_LENGTH_TO_UM = {
    "µm": 1.0,
    "um": 1.0,
    "micron": 1.0,
    "microns": 1.0,
    "\\u00b5m": 1.0,
    "nm": 1e-3,
    "mm": 1e3,
    "cm": 1e4,
    "m": 1e6,
    "å": 1e-4,
    "pm": 1e-6,
}
_TIME_TO_S = {
    "s": 1.0,
    "sec": 1.0,
    "ms": 1e-3,
    "µs": 1e-6,
    "us": 1e-6,
    "min": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
}
# A physical pixel size outside this range (µm) is not a microscope calibration (e.g. 72 dpi).
_PLAUSIBLE_PIXEL_UM = (1e-4, 1e3)


def read_stack(path: str | Path, *, position: int = 0, axes: str | None = None) -> Stack:
    """Open an image file, a folder of per-frame files, or a glob, as a lazy :class:`Stack`.

    Parameters
    ----------
    path : str or Path
        A TIFF/OME-TIFF/ImageJ file, a PNG/JPEG, a folder of per-frame TIFFs, or a glob
        pattern such as ``"movie/frame_*.tif"``.
    position : int, optional
        Series (position) index inside a multi-position OME-TIFF.
    axes : str, optional
        Axes of the stored data (e.g. ``"ZYX"``, ``"TCYX"``) to override what the file says or
        what is guessed for plain multi-page TIFFs (read as time by default).

    Returns
    -------
    Stack
        Data in canonical axes (T, C, Z, Y, X) with channel names and physical metadata.

    Raises
    ------
    InputError
        Missing, empty, truncated or unreadable files, bad position or axes (one-line message).

    Examples
    --------
    >>> import numpy as np, tifffile, tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "a.tif")
    >>> tifffile.imwrite(p, np.zeros((3, 2, 16, 16), np.uint16), imagej=True,
    ...                  metadata={"axes": "TCYX"})
    >>> read_stack(p).shape
    (3, 2, 1, 16, 16)
    """
    text = str(path)
    if any(ch in text for ch in "*?[") and not Path(text).exists():
        files = sorted(Path(p) for p in _glob.glob(text))
        if not files:
            raise InputError(path, "no files match this pattern")
        return _read_sequence(files, Path(text), axes)
    p = Path(path)
    if not p.exists():
        raise InputError(p, "file not found")
    if p.is_dir():
        files = list_frame_files(p)
        if not files:
            raise InputError(p, "folder contains no TIFF frames")
        return _read_sequence(files, p, axes)
    if p.stat().st_size == 0:
        raise InputError(p, "file is empty")
    if p.suffix.lower() in OTHER_IMAGE_SUFFIXES:
        return _read_other(p, axes)
    return _read_tiff(p, position, axes)


def list_frame_files(folder: Path) -> list[Path]:
    """The TIFF files directly inside ``folder``, in natural order (frame 2 before frame 10)."""
    files = [f for f in folder.iterdir() if f.is_file() and f.suffix.lower() in TIFF_SUFFIXES]
    return [Path(f) for f in tifffile.natural_sorted([str(f) for f in files])]


# -- TIFF ---------------------------------------------------------------------------------
def _open_tiff(p: Path) -> tifffile.TiffFile:
    try:
        return tifffile.TiffFile(p)
    except tifffile.TiffFileError as e:
        raise InputError(p, f"not a readable TIFF file ({e})") from None
    except (OSError, ValueError, struct.error) as e:
        raise InputError(p, f"cannot read file ({e.__class__.__name__}: {e})") from None


def _read_tiff(p: Path, position: int, axes: str | None) -> Stack:
    tif = _open_tiff(p)
    try:
        series_list = tif.series
        if not series_list:
            raise InputError(p, "TIFF contains no image data")
        if not 0 <= position < len(series_list):
            raise InputError(p, f"position {position} does not exist (file has {len(series_list)})")
        series = series_list[position]
        _check_not_truncated(p, series)
        array = _lazy_series(tif, series, p)
        meta = _metadata(tif, series, position)
        names = meta.pop("channel_names")
        stored_axes = series.axes
        data, note = _canonical(array, stored_axes, axes, p)
        n_ch = data.shape[1]
        if not names or len(names) != n_ch:
            names = _rgb_names(stored_axes, n_ch) or default_channel_names(n_ch)
        return Stack(
            data=data,
            channel_names=tuple(str(n) for n in names),
            path=p,
            position=position,
            n_positions=len(series_list),
            source_axes=stored_axes,
            axes_note=note,
            **meta,
        )
    except InputError:
        tif.close()
        raise
    except (ValueError, OSError, IndexError, KeyError) as e:
        tif.close()
        raise InputError(p, f"cannot read image data ({e})") from None


def _check_not_truncated(p: Path, series: Any) -> None:
    size = p.stat().st_size
    pages = series.pages
    if not len(pages) or pages[-1] is None:
        return
    last = pages[-1]
    offsets = getattr(last, "dataoffsets", ()) or ()
    counts = getattr(last, "databytecounts", ()) or ()
    if offsets and counts and max(o + c for o, c in zip(offsets, counts, strict=False)) > size:
        raise InputError(p, "file is truncated (image data ends past the end of the file)")


def _lazy_series(tif: tifffile.TiffFile, series: Any, p: Path) -> Any:
    """A lazy array of the series: a numpy memmap when possible, else dask over tifffile's zarr.

    A memmap (uncompressed, contiguous data) needs no dask at all; slicing it reads only the
    pages touched. Everything else goes through tifffile's zarr store, one chunk per page.
    """
    shape = tuple(series.shape)
    if math.prod(shape) == 0:
        raise InputError(p, f"image has an empty dimension {shape}")
    if series.dataoffset is not None:  # uncompressed and contiguous: memory-map it
        return np.memmap(
            p, dtype=series.dtype, mode="r", offset=series.dataoffset, shape=shape, order="C"
        )
    import dask.array as da
    import zarr

    z = zarr.open(series.aszarr(), mode="r")
    if not hasattr(z, "shape"):  # a multiscale group: level 0 is full resolution
        z = z["0"]
    # an explicit name skips dask's hashing of the whole array
    name = f"pgpviewer-{p}-{p.stat().st_mtime_ns}-{series.index if hasattr(series, 'index') else 0}"
    return da.from_zarr(z, name=name)


def _canonical(array: Any, stored: str, override: str | None, p: Path) -> tuple[Any, str]:
    """Map tifffile axes letters onto TCZYX; returns (data, note about guesses)."""
    if override is not None:
        override = override.upper()
        if len(override) != array.ndim:
            raise InputError(
                p,
                f"axes {override!r} given but the data has {array.ndim} dimensions "
                f"{tuple(array.shape)} stored as {stored!r}",
            )
        try:
            return to_canonical(array, override), f"axes given by the user: {override}"
        except ValueError as e:
            raise InputError(p, str(e)) from None
    letters = list(stored)
    note = ""
    if "S" in letters:
        if "C" in letters:
            if array.shape[letters.index("S")] == 1:
                array = array[tuple(0 if a == "S" else slice(None) for a in letters)]
                letters.remove("S")
            else:
                raise InputError(p, "image has both channels and colour samples; pass axes=")
        else:
            letters[letters.index("S")] = "C"
    generic = [i for i, a in enumerate(letters) if a not in CANONICAL_AXES]
    # drop unknown axes of length 1
    for i in reversed(generic):
        if array.shape[i] == 1:
            array = array[(slice(None),) * i + (0,)]
            del letters[i]
    generic = [i for i, a in enumerate(letters) if a not in CANONICAL_AXES]
    if generic:
        free = [a for a in "TZC" if a not in letters]
        if len(generic) > len(free) or (len(generic) > 1 and "T" in letters):
            raise InputError(
                p, f"cannot tell what the axes {stored!r} {tuple(array.shape)} mean; pass axes="
            )
        guessed = []
        for i, a in zip(generic, free, strict=False):
            guessed.append(f"{array.shape[i]} {letters[i]!r}-planes read as {a}")
            letters[i] = a
        note = "; ".join(guessed) + " (guessed: pass axes= to override, e.g. ZYX for a z-stack)"
    try:
        return to_canonical(array, "".join(letters)), note
    except ValueError as e:
        raise InputError(p, f"unsupported axes {stored!r}: {e}") from None


def _rgb_names(stored: str, n: int) -> tuple[str, ...] | None:
    if "S" in stored and n in (3, 4):
        return ("Red", "Green", "Blue", "Alpha")[:n]
    return None


# -- metadata -----------------------------------------------------------------------------
def _metadata(tif: tifffile.TiffFile, series: Any, position: int) -> dict:
    meta: dict[str, Any] = {
        "channel_names": None,
        "pixel_size_um": None,
        "z_step_um": None,
        "frame_interval_s": None,
    }
    if tif.is_ome and tif.ome_metadata:
        try:
            meta.update(_ome_metadata(tif.ome_metadata, position))
        except (KeyError, TypeError, ValueError, IndexError):
            pass  # inconsistent OME: fall back to the TIFF tags below
    if tif.is_imagej and tif.imagej_metadata:
        ij = tif.imagej_metadata
        unit_scale = _length_scale(ij.get("unit"))
        if meta["pixel_size_um"] is None and unit_scale is not None:
            meta["pixel_size_um"] = _resolution_um(tif.pages[0], unit_scale)
        if meta["z_step_um"] is None and unit_scale is not None and ij.get("spacing"):
            meta["z_step_um"] = float(ij["spacing"]) * unit_scale
        if meta["frame_interval_s"] is None and ij.get("finterval"):
            meta["frame_interval_s"] = float(ij["finterval"]) * (
                _TIME_TO_S.get(str(ij.get("tunit", "s")).lower(), 1.0)
            )
        labels = ij.get("Labels")
        if meta["channel_names"] is None and isinstance(labels, list | tuple):
            meta["channel_names"] = list(labels)
    elif meta["pixel_size_um"] is None:
        page = tif.pages[0]
        unit = page.tags.get("ResolutionUnit")
        if unit is not None and int(unit.value) == 3:  # centimetre: microscope software
            meta["pixel_size_um"] = _resolution_um(page, 1e4)
    if meta["frame_interval_s"] is not None and not meta["frame_interval_s"] > 0:
        meta["frame_interval_s"] = None
    return meta


def _length_scale(unit: Any) -> float | None:
    if unit is None:
        return None
    key = str(unit).strip().lower().replace("\u03bc", "µ")
    return _LENGTH_TO_UM.get(key)


def _resolution_um(page: Any, unit_um: float) -> tuple[float, float] | None:
    def one(tag: str) -> float | None:
        t = page.tags.get(tag)
        if t is None:
            return None
        num, den = t.value
        if not num or not den:
            return None
        size = den / num * unit_um
        lo, hi = _PLAUSIBLE_PIXEL_UM
        return size if lo <= size <= hi and size != unit_um else None

    x, y = one("XResolution"), one("YResolution")
    if x is None:
        return None
    return (y if y is not None else x, x)


def _ome_metadata(xml: str, position: int) -> dict:
    ome = tifffile.xml2dict(xml)["OME"]
    images = ome["Image"]
    image = images[position] if isinstance(images, list) else images
    px = image["Pixels"]
    out: dict[str, Any] = {}
    chans = px.get("Channel")
    if chans is not None:
        chans = chans if isinstance(chans, list) else [chans]
        names = [c.get("Name") or c.get("Fluor") for c in chans]
        if all(names):
            out["channel_names"] = names
    sx, sy = px.get("PhysicalSizeX"), px.get("PhysicalSizeY")
    if sx:
        scale = _length_scale(px.get("PhysicalSizeXUnit", "µm")) or 1.0
        x = float(sx) * scale
        y = float(sy) * (_length_scale(px.get("PhysicalSizeYUnit", "µm")) or 1.0) if sy else x
        out["pixel_size_um"] = (y, x)
    if px.get("PhysicalSizeZ"):
        out["z_step_um"] = float(px["PhysicalSizeZ"]) * (
            _length_scale(px.get("PhysicalSizeZUnit", "µm")) or 1.0
        )
    if px.get("TimeIncrement"):
        out["frame_interval_s"] = float(px["TimeIncrement"]) * _TIME_TO_S.get(
            str(px.get("TimeIncrementUnit", "s")).lower(), 1.0
        )
    else:
        planes = px.get("Plane")
        if isinstance(planes, list):
            ts = sorted({float(pl["DeltaT"]) for pl in planes if "DeltaT" in pl})
            if len(ts) > 1:
                unit = str(planes[0].get("DeltaTUnit", "s")).lower()
                out["frame_interval_s"] = float(np.median(np.diff(ts))) * _TIME_TO_S.get(unit, 1)
    return out


# -- sequences and other formats ----------------------------------------------------------
def _read_sequence(files: list[Path], source: Path, axes: str | None) -> Stack:
    import dask.array as da
    import zarr

    first_meta: dict[str, Any] = {}
    page_axes, page_shape, dtype = "", (), None
    for i, f in enumerate(files):
        if f.stat().st_size == 0:
            raise InputError(f, "file is empty")
        with _open_tiff(f) as tif:
            if not tif.series:
                raise InputError(f, "TIFF contains no image data")
            series = tif.series[0]
            if i == 0:
                page_axes, page_shape, dtype = series.axes, tuple(series.shape), series.dtype
                first_meta = _metadata(tif, series, 0)
            elif tuple(series.shape) != page_shape or series.dtype != dtype:
                raise InputError(
                    source,
                    f"frames differ: {files[0].name} is {page_shape} {dtype}, "
                    f"{f.name} is {tuple(series.shape)} {series.dtype}",
                )
    try:
        seq = tifffile.TiffSequence([str(f) for f in files], pattern=None)
        store = seq.aszarr()
        name = f"pgpviewer-seq-{source}-{len(files)}-{files[-1].stat().st_mtime_ns}"
        arr = da.from_zarr(zarr.open(store, mode="r"), name=name)
    except (ValueError, tifffile.TiffFileError, OSError) as e:
        raise InputError(source, f"frames do not form one stack ({e})") from None
    arr = arr.reshape((len(files), *page_shape))
    stored = "T" + page_axes if "T" not in page_axes else "Q" + page_axes
    data, note = _canonical(arr, stored, axes, source)
    names = first_meta.pop("channel_names")
    n_ch = data.shape[1]
    if not names or len(names) != n_ch:
        names = _rgb_names(stored, n_ch) or default_channel_names(n_ch)
    return Stack(
        data=data,
        channel_names=tuple(names),
        path=source,
        source_axes=stored,
        axes_note=note or f"{len(files)} files read as frames",
        **first_meta,
    )


def _read_other(p: Path, axes: str | None) -> Stack:
    import imageio.v3 as iio

    try:
        img = np.asarray(iio.imread(p))
    except Exception as e:  # imageio raises many types for bad files
        raise InputError(p, f"not a readable image ({e.__class__.__name__}: {e})") from None
    stored = {2: "YX", 3: "YXS"}.get(img.ndim)
    if stored is None:
        raise InputError(p, f"unsupported image shape {img.shape}")
    data, note = _canonical(img, stored, axes, p)
    names = _rgb_names(stored, data.shape[1]) or default_channel_names(data.shape[1])
    return Stack(data=data, channel_names=names, path=p, source_axes=stored, axes_note=note)
