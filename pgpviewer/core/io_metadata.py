"""Physical metadata of TIFF files: channel names, pixel size, z-step and frame interval.

Read from OME-XML, ImageJ metadata or the TIFF resolution tags (in that order of preference), with
the length and time units converted to µm and seconds. Used by :mod:`pgpviewer.core.io`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tifffile

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
_META_KEYS = ("channel_names", "pixel_size_um", "z_step_um", "frame_interval_s")
# A physical pixel size outside this range (µm) is not a microscope calibration (e.g. 72 dpi).
_PLAUSIBLE_PIXEL_UM = (1e-4, 1e3)


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
