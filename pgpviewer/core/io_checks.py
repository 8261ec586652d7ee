"""Checks made while a file is opened, before any pixel is read.

Magic bytes, truncated or damaged page lists, OME metadata that does not match the pages,
undecodable compression and planes too large for memory are refused here with a one-line
:class:`~pgpviewer.core.errors.InputError`. Used by :mod:`pgpviewer.core.io`.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import tifffile

from pgpviewer.core.errors import InputError
from pgpviewer.core.validate import check_frame_fits_in_memory, human_bytes

_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_OTHER_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"BM")


def _magic(p: Path) -> bytes:
    try:
        with open(p, "rb") as fh:
            return fh.read(8)
    except OSError as e:
        raise InputError(p, f"cannot read file ({e.strerror or e})") from None


def _plain(message: str) -> str:
    """A tifffile log message without its leading ``<tifffile.TiffPage 0 @8>`` object names."""
    return _TIFFFILE_NAMES.sub("", message)


_TIFFFILE_NAMES = re.compile(r"^(<[^>]*>\s*)+")


def _check_damage(p: Path, size: int, messages: list[str]) -> None:
    """Refuse files whose page list or tags point past their end: pages would be lost."""
    for text in messages:
        if not re.search(r"invalid (page |value |tag value )?offset|invalid offset to page", text):
            continue
        offsets = [int(n) for n in re.findall(r"offset (\d+)", text)]
        if "offset to page" in text or any(n >= size for n in offsets):
            raise InputError(
                p,
                "file is truncated (its pages or metadata point past the end of the file, "
                f"{size} bytes)",
            )
        raise InputError(p, f"file is damaged ({_plain(text)})")


def _looks_like_ome(description: str | None) -> bool:
    head = (description or "")[:4096]
    return head.lstrip().startswith("<?xml") and "<OME" in head


def _check_metadata_matches(p: Path, tif: tifffile.TiffFile, series: Any, messages: list[str]):
    """Refuse OME metadata that would make tifffile invent pixels or mix up the axes."""
    kind = getattr(series, "kind", "")
    pages = series.pages
    if kind == "ome":
        missing = sum(1 for pg in pages if pg is None)
        if missing:
            raise InputError(
                p,
                f"the OME metadata describes {len(pages)} image planes "
                f"({series.axes} {tuple(series.shape)}) but {missing} of them are not in the "
                "file; the file is incomplete or its metadata is wrong",
            )
        return
    first = tif.pages.first if hasattr(tif.pages, "first") else tif.pages[0]
    if _looks_like_ome(getattr(first, "description", None)) and len(pages) > 1:
        said = [m for m in messages if "OME" in m]
        why = f" ({_plain(said[-1])})" if said else ""
        raise InputError(
            p,
            "the OME-XML metadata cannot be read or does not match the image pages"
            f"{why}; channels, z-planes and time points cannot be told apart",
        )


def _check_pages(p: Path, series: Any, size: int) -> None:
    """Decodable, complete and sanely sized pages (the first and last of the series).

    Inspects page headers only (no pixel is read): an unknown compression is refused now, not
    half-way through an analysis, and a header claiming more pixels than the file or the
    memory can hold is refused before anything is allocated.
    """
    if series.dtype is None:
        raise InputError(p, "pixel type is not supported (unusual bits per sample or format)")
    pages = series.pages
    n = len(pages)
    for i in sorted({0, n - 1} if n else set()):
        page = pages[i]
        if page is None:
            continue
        key = getattr(page, "keyframe", None) or page
        comp = int(key.compression)
        if comp != 1 and comp not in tifffile.TIFF.DECOMPRESSORS:
            try:
                name = tifffile.COMPRESSION(comp).name
            except ValueError:
                name = "an unknown method"
            raise InputError(
                p,
                f"image data is compressed with {name} (TIFF compression {comp}), which "
                "pgpviewer cannot decode; save it uncompressed or with LZW/zlib compression",
            )
        pred = int(key.predictor)
        if (
            pred != 1
            and pred not in tifffile.TIFF.UNPREDICTORS
            and comp not in tifffile.TIFF.IMAGE_COMPRESSIONS
        ):
            raise InputError(p, f"image data uses an unsupported TIFF predictor ({pred})")
        check_frame_fits_in_memory(p, key.shape, key.dtype or np.uint8, what="one image plane")
        offsets = tuple(getattr(page, "dataoffsets", ()) or ())
        counts = tuple(getattr(page, "databytecounts", ()) or ())
        if offsets and counts and max(o + c for o, c in zip(offsets, counts, strict=False)) > size:
            raise InputError(p, "file is truncated (image data ends past the end of the file)")
        segments = math.prod(getattr(key, "chunked", ()) or (1,))
        if len(offsets) < segments:  # tifffile would fill the missing strips/tiles with zeros
            what = "tiles" if getattr(key, "is_tiled", False) else "strips"
            raise InputError(
                p,
                f"file is damaged: page {i} holds {len(offsets)} of its {segments} {what} "
                f"({'×'.join(map(str, key.shape))} pixels)",
            )
        if comp == 1 and key.dtype is not None and key.bitspersample == 8 * key.dtype.itemsize:
            need = math.prod(key.shape) * key.dtype.itemsize
            if counts and sum(counts) < need:
                raise InputError(
                    p,
                    f"file is damaged: page {i} claims {'×'.join(map(str, key.shape))} pixels "
                    f"({human_bytes(need)}) but holds {human_bytes(sum(counts))} of data",
                )
