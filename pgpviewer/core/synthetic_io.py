"""Files of the co-culture simulator: the movie as OME-TIFF and its ground truth beside it.

:func:`write_simulation` writes a :class:`~pgpviewer.core.synthetic.Simulation`;
:func:`gt_paths` names the ground-truth files (masks, cells, events, puncta, tracks, JSON).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pgpviewer.core.synthetic import Simulation

__all__ = ["gt_paths", "write_simulation"]



def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".ome.tiff", ".ome.tif", ".tiff", ".tif"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def gt_paths(path: str | Path) -> dict[str, Path]:
    """Ground-truth files written beside an image by :func:`write_simulation`.

    Examples
    --------
    >>> sorted(gt_paths("/data/movie.ome.tif"))
    ['cells', 'events', 'json', 'labels', 'nuclei', 'puncta', 'tracks']
    >>> gt_paths("/data/movie.ome.tif")["labels"].name
    'movie_gt_labels.tif'
    """
    path = Path(path)
    stem = _stem(path)
    d = path.parent
    return {
        "labels": d / f"{stem}_gt_labels.tif",
        "nuclei": d / f"{stem}_gt_nuclei.tif",
        "cells": d / f"{stem}_gt_cells.csv",
        "events": d / f"{stem}_gt_events.csv",
        "puncta": d / f"{stem}_gt_puncta.csv",
        "tracks": d / f"{stem}_gt_tracks.csv",
        "json": d / f"{stem}_gt.json",
    }


def write_simulation(
    sim: Simulation, path: str | Path, *, compression: str | None = "zlib", ground_truth=True
) -> Path:
    """Write the movie as OME-TIFF and its ground truth beside it.

    Parameters
    ----------
    sim : Simulation
        Output of :func:`simulate_coculture`.
    path : str or Path
        Image file, conventionally ``*.ome.tif``; parent folders are created.
    compression : {'zlib', None}, optional
        TIFF compression of the image and label files.
    ground_truth : bool, optional
        Also write ``<stem>_gt_labels.tif`` (cell masks), ``<stem>_gt_nuclei.tif``,
        ``<stem>_gt_cells.csv``, ``<stem>_gt_events.csv``, ``<stem>_gt_puncta.csv``,
        ``<stem>_gt_tracks.csv`` and ``<stem>_gt.json`` (parameters and channel roles);
        see :func:`gt_paths`.

    Returns
    -------
    Path
        The image path.

    Examples
    --------
    >>> import tempfile, tifffile
    >>> from pgpviewer.core.synthetic import simulate_coculture
    >>> sim = simulate_coculture(n_frames=2, shape_yx=(64, 64), n_cells=4)
    >>> out = write_simulation(sim, Path(tempfile.mkdtemp()) / "sim.ome.tif")
    >>> with tifffile.TiffFile(out) as tif:
    ...     tif.series[0].axes, tif.series[0].shape
    ('TCYX', (2, 3, 64, 64))
    >>> gt_paths(out)["events"].exists()
    True
    """
    import tifffile

    if compression not in ("zlib", None):
        raise ValueError(f"compression must be 'zlib' or None, got {compression!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta: dict[str, Any] = {
        "axes": sim.axes,
        "Channel": {"Name": list(sim.channel_names)},
        "PhysicalSizeX": sim.pixel_size_um,
        "PhysicalSizeXUnit": "µm",
        "PhysicalSizeY": sim.pixel_size_um,
        "PhysicalSizeYUnit": "µm",
        "TimeIncrement": sim.frame_interval_s,
        "TimeIncrementUnit": "s",
    }
    # a UUID derived from the parameters (tifffile would draw a random one): the same
    # simulation always gives a byte-identical file
    key = json.dumps([sim.params.to_dict(), list(sim.image.shape)], sort_keys=True)
    meta["UUID"] = str(uuid.uuid5(uuid.NAMESPACE_URL, "pgpviewer-synthetic:" + key))
    if sim.image.ndim == 5:
        meta["PhysicalSizeZ"] = sim.params.z_step_um
        meta["PhysicalSizeZUnit"] = "µm"
    kw = {"compression": compression} if compression else {}
    tifffile.imwrite(
        path,
        sim.image,
        ome=True,
        photometric="minisblack",
        metadata=meta,
        resolution=(1.0 / sim.pixel_size_um, 1.0 / sim.pixel_size_um),
        resolutionunit="MICROMETER",  # also for readers that ignore the OME-XML
        **kw,
    )
    if not ground_truth:
        return path
    gt = gt_paths(path)
    for key, arr in (("labels", sim.labels), ("nuclei", sim.nuclei_labels)):
        tifffile.imwrite(gt[key], arr, photometric="minisblack", metadata={"axes": "TYX"}, **kw)
    sim.cells.to_csv(gt["cells"], index=False)
    sim.events.to_csv(gt["events"], index=False)
    sim.puncta.to_csv(gt["puncta"], index=False)
    sim.tracks.to_csv(gt["tracks"], index=False)
    info = {
        "generator": "pgpviewer.core.synthetic",
        "image": path.name,
        "axes": sim.axes,
        "shape": list(sim.image.shape),
        "channel_names": list(sim.channel_names),
        "channel_roles": sim.channel_roles,
        "pixel_size_um": sim.pixel_size_um,
        "frame_interval_s": sim.frame_interval_s,
        "n_cells_total": int(sim.tracks.shape[0]),
        "n_events": {m: int((sim.events["mode"] == m).sum()) for m in ("contact", "remote")},
        "params": sim.params.to_dict(),
    }
    gt["json"].write_text(json.dumps(info, indent=2, ensure_ascii=False), encoding="utf-8")
    return path
