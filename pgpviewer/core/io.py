"""Reading fluorescence stacks: OME-TIFF, ImageJ hyperstacks, plain TIFF, frame folders, PNG.

Everything is read lazily with tifffile: uncompressed contiguous data as a memory map,
everything else through tifffile's zarr store (one chunk per page), both wrapped in dask so that
napari and the pipeline read single frames on demand. Opening never reads pixel data.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob as _glob
import logging
import math
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import tifffile

from pgpviewer.core.errors import InputError
from pgpviewer.core.io_checks import (
    _OTHER_MAGIC,
    _TIFF_MAGIC,
    _check_damage,
    _check_metadata_matches,
    _check_pages,
    _magic,
    _plain,
)
from pgpviewer.core.io_metadata import _META_KEYS, _metadata
from pgpviewer.core.stack import CANONICAL_AXES, Stack, default_channel_names, to_canonical
from pgpviewer.core.validate import check_frame_fits_in_memory

TIFF_SUFFIXES = (".tif", ".tiff", ".btf", ".tf8", ".tf2")
OTHER_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
IMAGE_SUFFIXES = TIFF_SUFFIXES + OTHER_IMAGE_SUFFIXES
#: Microscope vendor formats recognised by name but not read (yet): convert them to OME-TIFF.
VENDOR_FORMATS = {
    ".czi": "Zeiss CZI",
    ".zvi": "Zeiss ZVI",
    ".nd2": "Nikon ND2",
    ".lif": "Leica LIF",
    ".lof": "Leica LOF",
    ".oib": "Olympus OIB",
    ".oif": "Olympus OIF",
    ".oir": "Olympus OIR",
    ".vsi": "Olympus VSI",
    ".ims": "Imaris",
    ".dv": "DeltaVision",
    ".r3d": "DeltaVision",
    ".nd": "MetaMorph ND",
    ".sld": "SlideBook",
    ".ics": "ICS",
    ".zarr": "OME-Zarr",
}
SUPPORTED_TEXT = (
    "supported: OME-TIFF, ImageJ and plain TIFF (.tif .tiff .btf), PNG, JPEG, BMP, "
    "a folder of TIFF frames; ND2, CZI and LIF with pip install 'pgpviewer[formats]'"
)
CONVERT_HINT = "export it as OME-TIFF (Fiji: File > Save As > OME-TIFF, or bfconvert)"


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
        Missing, empty, truncated, damaged or unsupported files, metadata that contradicts the
        pixels, sizes that cannot fit in memory, bad position or axes (one-line message). No
        other exception escapes for a bad file; frame reads (:meth:`Stack.frame`) likewise
        raise only :class:`InputError`.

    Examples
    --------
    >>> import numpy as np, tifffile, tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "a.tif")
    >>> tifffile.imwrite(p, np.zeros((3, 2, 16, 16), np.uint16), imagej=True,
    ...                  metadata={"axes": "TCYX"})
    >>> read_stack(p).shape
    (3, 2, 1, 16, 16)
    """
    stack = _read_any(path, position, axes)
    if axes is not None:  # frame workers reopen the file with the same axes
        stack = dataclasses.replace(stack, open_axes=axes)
    return stack


def _read_any(path: str | Path, position: int, axes: str | None) -> Stack:
    text = str(path)
    if any(ch in text for ch in "*?[") and not Path(text).exists():
        files = sorted(Path(p) for p in _glob.glob(text))
        if not files:
            raise InputError(path, "no files match this pattern")
        return _read_sequence(files, Path(text), axes)
    p = Path(path)
    if not p.exists():
        raise InputError(p, "file not found")
    suffix = p.suffix.lower()
    if p.is_dir():
        if suffix in VENDOR_FORMATS:
            raise _unsupported(p, suffix)
        files = list_frame_files(p)
        if not files:
            raise InputError(p, "folder contains no TIFF frames")
        return _read_sequence(files, p, axes)
    if p.stat().st_size == 0:
        raise InputError(p, "file is empty")
    if suffix in VENDOR_FORMATS:
        from pgpviewer.core.vendor import VENDOR_LIBRARIES, read_vendor

        if suffix in VENDOR_LIBRARIES:
            stack = read_vendor(p, position)
            check_frame_fits_in_memory(p, stack.shape[1:], stack.dtype)
            return stack
        raise _unsupported(p, suffix)
    magic = _magic(p)
    if suffix in OTHER_IMAGE_SUFFIXES or magic.startswith(_OTHER_MAGIC):
        return _read_other(p, axes)
    if suffix in TIFF_SUFFIXES or magic.startswith(_TIFF_MAGIC):
        return _read_tiff(p, position, axes)
    raise _unsupported(p, suffix)


def _unsupported(p: Path, suffix: str) -> InputError:
    if suffix in VENDOR_FORMATS:
        what, hint = f"{VENDOR_FORMATS[suffix]} ({suffix})", f"; {CONVERT_HINT}"
    else:
        what, hint = repr(suffix or p.name), ""
    return InputError(p, f"unsupported file type {what} ({SUPPORTED_TEXT}){hint}")


def list_frame_files(folder: Path) -> list[Path]:
    """The TIFF files directly inside ``folder``, in natural order (frame 2 before frame 10)."""
    files = [f for f in folder.iterdir() if f.is_file() and f.suffix.lower() in TIFF_SUFFIXES]
    return [Path(f) for f in tifffile.natural_sorted([str(f) for f in files])]


# -- TIFF ---------------------------------------------------------------------------------
class _Collect(logging.Handler):
    """Keeps the messages tifffile logs in one thread (instead of printing them on stderr)."""

    def __init__(self, thread: int):
        super().__init__(logging.DEBUG)
        self.thread = thread
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread != self.thread:
            return
        try:
            text = record.getMessage()
        except Exception:  # a malformed record must not print logging's own error report
            text = str(record.msg)
        self.messages.append(" ".join(text.split()))


@contextlib.contextmanager
def _tifffile_messages() -> Iterator[list[str]]:
    """Collect what tifffile logs while a file is opened in this thread.

    tifffile reports cut page lists, metadata it cannot use and pages it fills with zeros only
    as log messages; :func:`_read_tiff` turns them into an error or a note.
    """
    import threading

    log = logging.getLogger("tifffile")
    handler = _Collect(threading.get_ident())
    log.addHandler(handler)
    try:
        yield handler.messages
    finally:
        log.removeHandler(handler)


def _open_tiff(p: Path) -> tifffile.TiffFile:
    try:
        return tifffile.TiffFile(p)
    except tifffile.TiffFileError as e:
        raise InputError(p, f"not a readable TIFF file ({e})") from None
    except MemoryError:
        raise InputError(p, "not a readable TIFF file (its header is damaged)") from None
    except (OSError, ValueError, struct.error) as e:
        raise InputError(p, f"cannot read file ({e.__class__.__name__}: {e})") from None
    except Exception as e:  # a damaged header can make the parser fail in many ways
        raise InputError(p, f"not a readable TIFF file ({e.__class__.__name__}: {e})") from None


def _read_tiff(p: Path, position: int, axes: str | None) -> Stack:
    with _tifffile_messages() as messages:
        tif = _open_tiff(p)
        try:
            return _tiff_stack(tif, p, position, axes, messages)
        except InputError:
            tif.close()
            raise
        except MemoryError:
            tif.close()
            raise InputError(p, "cannot read image data (its header is damaged)") from None
        except Exception as e:  # damaged files make tifffile fail in many ways
            tif.close()
            raise InputError(p, f"cannot read image data ({e.__class__.__name__}: {e})") from None


def _tiff_stack(
    tif: tifffile.TiffFile, p: Path, position: int, axes: str | None, messages: list[str]
) -> Stack:
    size = p.stat().st_size
    series_list = tif.series
    _check_damage(p, size, messages)
    if not series_list:
        raise InputError(p, "TIFF contains no image data")
    if not 0 <= position < len(series_list):
        raise InputError(p, f"position {position} does not exist (file has {len(series_list)})")
    series = series_list[position]
    _check_damage(p, size, messages)
    _check_metadata_matches(p, tif, series, messages)
    _check_pages(p, series, size)
    array = _lazy_series(tif, series, p)
    try:
        meta = _metadata(tif, series, position)
    except Exception as e:  # unreadable calibration never blocks the pixels
        meta = dict.fromkeys(_META_KEYS)
        messages.append(f"physical metadata ignored ({e.__class__.__name__}: {e})")
    names = meta.pop("channel_names")
    stored_axes = series.axes
    data, note = _canonical(array, stored_axes, axes, p)
    check_frame_fits_in_memory(p, data.shape[1:], data.dtype)
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
        axes_note=_join_notes(note, messages),
        **meta,
    )


def _join_notes(note: str, messages: list[str], limit: int = 3) -> str:
    """The axes note plus what tifffile said about the file (tifffile's own object names cut)."""
    said = []
    for m in messages:
        text = _plain(m)
        if text and text not in said:
            said.append(text)
    if not said:
        return note
    extra = "file notes: " + "; ".join(said[:limit]) + (" …" if len(said) > limit else "")
    return f"{note}; {extra}" if note else extra


def _lazy_series(tif: tifffile.TiffFile, series: Any, p: Path) -> Any:
    """A lazy array of the series: a numpy memmap when possible, else dask over tifffile's zarr.

    A memmap (uncompressed, contiguous data) needs no dask at all; slicing it reads only the
    pages touched. Everything else goes through tifffile's zarr store, one chunk per page.
    """
    shape = tuple(series.shape)
    if math.prod(shape) == 0:
        raise InputError(p, f"image has an empty dimension {shape}")
    if series.dataoffset is not None:  # uncompressed and contiguous: memory-map it
        end = series.dataoffset + math.prod(shape) * np.dtype(series.dtype).itemsize
        if end > p.stat().st_size:  # a memmap past the end of the file would crash on read
            raise InputError(p, "file is truncated (image data ends past the end of the file)")
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


# -- sequences and other formats ----------------------------------------------------------
def _read_sequence(files: list[Path], source: Path, axes: str | None) -> Stack:
    with _tifffile_messages() as messages:
        try:
            return _sequence_stack(files, source, axes, messages)
        except InputError:
            raise
        except MemoryError:
            raise InputError(source, "cannot read the frames (a header is damaged)") from None
        except Exception as e:  # damaged files make tifffile fail in many ways
            raise InputError(
                source, f"cannot read the frames ({e.__class__.__name__}: {e})"
            ) from None


def _sequence_stack(
    files: list[Path], source: Path, axes: str | None, messages: list[str]
) -> Stack:
    import dask.array as da
    import zarr

    first_meta: dict[str, Any] = {}
    page_axes, page_shape, dtype = "", (), None
    for i, f in enumerate(files):
        size = f.stat().st_size
        if size == 0:
            raise InputError(f, "file is empty")
        with _open_tiff(f) as tif:
            series_list = tif.series
            _check_damage(f, size, messages)
            if not series_list:
                raise InputError(f, "TIFF contains no image data")
            series = series_list[0]
            _check_pages(f, series, size)
            messages.clear()
            if i == 0:
                page_axes, page_shape, dtype = series.axes, tuple(series.shape), series.dtype
                try:
                    first_meta = _metadata(tif, series, 0)
                except Exception:  # unreadable calibration never blocks the pixels
                    first_meta = dict.fromkeys(_META_KEYS)
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
    check_frame_fits_in_memory(source, data.shape[1:], data.dtype)
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
