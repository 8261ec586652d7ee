"""Tracks for TrackMate (Fiji): a TrackMate XML file and a TrackMate-style spots table.

``trackmate.xml`` follows the layout TrackMate writes and its ``TmXmlReader`` reads (TrackMate
7): ``Model`` with ``FeatureDeclarations``, ``AllSpots`` (one ``Spot`` per cell per frame),
``AllTracks`` (edges between consecutive spots of a track) and ``FilteredTracks``, then
``Settings`` with the image path and calibration. Open it in Fiji with *Plugins > Tracking >
Load a TrackMate file*; TrackMate finds the image through ``ImageData``.

Each pgpviewer track is one TrackMate track (TrackMate tracks are connected graph components,
so a division is not drawn as a branch; ``PARENT_TRACK_ID`` keeps the lineage). Cells without
a track are spots outside any track. Positions are in µm when the pixel size is known (else
pixels), times in s when the frame interval is known (else frames). Spot features add
pgpviewer's measurements: ``AREA``, ``PGP_SCORE``, ``PGP_POSITIVE`` (0/1), ``POPULATION``
(0 unknown, 1 donor, 2 recipient), ``LABEL_VALUE`` (value in labels.tif).

``trackmate_spots.csv`` has the columns of TrackMate's spot table (``LABEL``, ``ID``,
``TRACK_ID``, ``QUALITY``, ``POSITION_X``, ``POSITION_Y``, ``POSITION_Z``, ``POSITION_T``,
``FRAME``, ``RADIUS``, ``VISIBILITY``, then the pgpviewer features) with one header row.
"""

from __future__ import annotations

import math
import os
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

XML_NAME = "trackmate.xml"
CSV_NAME = "trackmate_spots.csv"
TRACKMATE_VERSION = "7.13.2"

# (feature, name, shortname, dimension, isint)
SPOT_FEATURES = [
    ("QUALITY", "Quality", "Quality", "QUALITY", False),
    ("POSITION_X", "X", "X", "POSITION", False),
    ("POSITION_Y", "Y", "Y", "POSITION", False),
    ("POSITION_Z", "Z", "Z", "POSITION", False),
    ("POSITION_T", "T", "T", "TIME", False),
    ("FRAME", "Frame", "Frame", "NONE", True),
    ("RADIUS", "Radius", "R", "LENGTH", False),
    ("VISIBILITY", "Visibility", "Visibility", "NONE", True),
    ("AREA", "Area", "Area", "AREA", False),
    ("PGP_SCORE", "P-gp score", "P-gp", "NONE", False),
    ("PGP_POSITIVE", "P-gp positive", "P-gp+", "NONE", True),
    ("POPULATION", "Population (1 donor, 2 recipient)", "Pop", "NONE", True),
    ("LABEL_VALUE", "Label in labels.tif", "Label", "NONE", True),
]
EDGE_FEATURES = [
    ("SPOT_SOURCE_ID", "Source spot ID", "Source ID", "NONE", True),
    ("SPOT_TARGET_ID", "Target spot ID", "Target ID", "NONE", True),
    ("LINK_COST", "Edge cost", "Cost", "COST", False),
    ("EDGE_TIME", "Edge time", "Edge T", "TIME", False),
]
TRACK_FEATURES = [
    ("TRACK_INDEX", "Track index", "Index", "NONE", True),
    ("TRACK_ID", "Track ID", "ID", "NONE", True),
    ("NUMBER_SPOTS", "Number of spots in track", "N spots", "NONE", True),
    ("NUMBER_GAPS", "Number of gaps", "N gaps", "NONE", True),
    ("TRACK_START", "Track start", "Track start", "TIME", False),
    ("TRACK_STOP", "Track stop", "Track stop", "TIME", False),
    ("TRACK_DURATION", "Track duration", "Duration", "TIME", False),
    ("PARENT_TRACK_ID", "Parent track ID (division)", "Parent", "NONE", True),
]
_POPULATION_CODE = {"donor": 1, "recipient": 2}


def _num(value: Any) -> str:
    """A number as TrackMate writes it (repr of a double; ints without a decimal point)."""
    if isinstance(value, int | np.integer):
        return str(int(value))
    v = float(value)
    return repr(v) if math.isfinite(v) else "NaN"


def spots_table(result: Any) -> pd.DataFrame:
    """One TrackMate spot per cell per frame, with ``TRACK_ID`` (empty outside tracks)."""
    cells = result.cells
    stack = result.stack
    px = stack.pixel_size_um
    dt = stack.frame_interval_s
    n = len(cells)
    frame = cells["frame"].to_numpy(np.int64) if n else np.zeros(0, np.int64)
    y = cells["centroid_y"].to_numpy(float) if n else np.zeros(0)
    x = cells["centroid_x"].to_numpy(float) if n else np.zeros(0)
    area_px = cells["area_px"].to_numpy(float) if n and "area_px" in cells else np.zeros(n)
    sy, sx = (px[0], px[1]) if px else (1.0, 1.0)
    area = area_px * sy * sx
    track = (
        pd.to_numeric(cells["track_id"], errors="coerce").astype("Int64")
        if n and "track_id" in cells
        else pd.Series(pd.array([pd.NA] * n, dtype="Int64"))
    )
    pop = cells["population"].astype(str) if n and "population" in cells else pd.Series([""] * n)
    positive = cells["pgp_positive"] if n and "pgp_positive" in cells else pd.Series([False] * n)
    score = (
        pd.to_numeric(cells["pgp_score"], errors="coerce").to_numpy(float)
        if n and "pgp_score" in cells
        else np.full(n, np.nan)
    )
    label = cells["label"].to_numpy(np.int64) if n else np.zeros(0, np.int64)
    ids = np.arange(n, dtype=np.int64)
    return pd.DataFrame(
        {
            "LABEL": [f"ID{i}" for i in ids],
            "ID": ids,
            "TRACK_ID": track.to_numpy(),
            "QUALITY": np.ones(n),
            "POSITION_X": x * sx,
            "POSITION_Y": y * sy,
            "POSITION_Z": np.zeros(n),
            "POSITION_T": frame * (dt if dt else 1.0),
            "FRAME": frame,
            "RADIUS": np.sqrt(area / math.pi),
            "VISIBILITY": np.ones(n, np.int64),
            "AREA": area,
            "PGP_SCORE": score,
            "PGP_POSITIVE": positive.astype(str)
            .str.lower()
            .isin(("true", "1"))
            .astype(int)
            .to_numpy(),
            "POPULATION": pop.map(_POPULATION_CODE).fillna(0).astype(int).to_numpy(),
            "LABEL_VALUE": label,
        }
    )


def _declare(parent: ET.Element, tag: str, features: list) -> None:
    block = ET.SubElement(parent, tag)
    for feature, name, short, dim, isint in features:
        ET.SubElement(
            block,
            "Feature",
            feature=feature,
            name=name,
            shortname=short,
            dimension=dim,
            isint="true" if isint else "false",
        )


def trackmate_xml(result: Any, spots: pd.DataFrame | None = None) -> ET.ElementTree:
    """The TrackMate XML document of ``result`` (see the module docstring)."""
    spots = spots_table(result) if spots is None else spots
    stack = result.stack
    px = stack.pixel_size_um
    dt = stack.frame_interval_s
    root = ET.Element("TrackMate", version=TRACKMATE_VERSION)
    log = ET.SubElement(root, "Log")
    log.text = "Exported by pgpviewer (cell tracks of a P-gp transfer analysis).\n"
    model = ET.SubElement(
        root,
        "Model",
        spatialunits="µm" if px else "pixel",
        timeunits="s" if dt else "frame",
    )
    decl = ET.SubElement(model, "FeatureDeclarations")
    _declare(decl, "SpotFeatures", SPOT_FEATURES)
    _declare(decl, "EdgeFeatures", EDGE_FEATURES)
    _declare(decl, "TrackFeatures", TRACK_FEATURES)

    spot_keys = [f[0] for f in SPOT_FEATURES]
    all_spots = ET.SubElement(model, "AllSpots", nspots=str(len(spots)))
    n_frames = int(result.labels.shape[0])
    first = int(result.frames[0]) if getattr(result, "frames", None) else 0
    frames = sorted(set(range(first, first + n_frames)) | set(spots["FRAME"].tolist()))
    by_frame = {f: g for f, g in spots.groupby("FRAME", sort=True)}
    for f in frames:
        holder = ET.SubElement(all_spots, "SpotsInFrame", frame=str(int(f)))
        group = by_frame.get(f)
        if group is None:
            continue
        for row in group.itertuples(index=False):
            r = row._asdict()
            attrs = {"ID": str(int(r["ID"])), "name": str(r["LABEL"])}
            attrs.update({k: _num(r[k]) for k in spot_keys})
            ET.SubElement(holder, "Spot", attrs)

    parents: dict[int, int] = {}
    tracks = getattr(result, "tracks", None)
    if tracks is not None and len(tracks) and "parent_track_id" in tracks:
        par = pd.to_numeric(tracks["parent_track_id"], errors="coerce")
        for tid, p in zip(tracks["track_id"], par, strict=True):
            if pd.notna(p):
                parents[int(tid)] = int(p)

    all_tracks = ET.SubElement(model, "AllTracks")
    filtered = ET.SubElement(model, "FilteredTracks")
    in_track = spots[spots["TRACK_ID"].notna()]
    index = 0
    for tid, group in in_track.groupby("TRACK_ID", sort=True):
        group = group.sort_values("FRAME")
        if len(group) < 2:
            continue  # TrackMate tracks are made of edges: a lone spot stays outside
        t = group["POSITION_T"].to_numpy(float)
        fr = group["FRAME"].to_numpy(np.int64)
        track = ET.SubElement(
            all_tracks,
            "Track",
            name=f"Track_{int(tid)}",
            TRACK_INDEX=str(index),
            TRACK_ID=str(int(tid)),
            NUMBER_SPOTS=str(len(group)),
            NUMBER_GAPS=str(int(np.sum(np.diff(fr) > 1))),
            TRACK_START=_num(t[0]),
            TRACK_STOP=_num(t[-1]),
            TRACK_DURATION=_num(t[-1] - t[0]),
            PARENT_TRACK_ID=str(parents.get(int(tid), -1)),
        )
        ids = group["ID"].to_numpy(np.int64)
        for k in range(len(ids) - 1):
            ET.SubElement(
                track,
                "Edge",
                SPOT_SOURCE_ID=str(int(ids[k])),
                SPOT_TARGET_ID=str(int(ids[k + 1])),
                LINK_COST="0.0",
                EDGE_TIME=_num((t[k] + t[k + 1]) / 2),
            )
        ET.SubElement(filtered, "TrackID", TRACK_ID=str(int(tid)))
        index += 1

    settings = ET.SubElement(root, "Settings")
    path = stack.path
    y, x = stack.shape_yx
    ET.SubElement(
        settings,
        "ImageData",
        filename=path.name if path is not None else "",
        folder=(str(path.parent) + os.sep) if path is not None else "",
        width=str(x),
        height=str(y),
        nslices=str(stack.n_z),
        nframes=str(stack.n_frames),
        pixelwidth=_num(px[1] if px else 1.0),
        pixelheight=_num(px[0] if px else 1.0),
        voxeldepth=_num(stack.z_step_um or 1.0),
        timeinterval=_num(dt or 1.0),
    )
    ET.SubElement(
        settings,
        "BasicSettings",
        xstart="0",
        xend=str(x - 1),
        ystart="0",
        yend=str(y - 1),
        zstart="0",
        zend=str(stack.n_z - 1),
        tstart="0",
        tend=str(stack.n_frames - 1),
    )
    ET.SubElement(settings, "DetectorSettings", DETECTOR_NAME="MANUAL_DETECTOR", RADIUS="5.0")
    ET.SubElement(settings, "InitialSpotFilter", feature="QUALITY", value="0.0", isabove="true")
    ET.SubElement(settings, "SpotFilterCollection")
    ET.SubElement(settings, "TrackerSettings", TRACKER_NAME="MANUAL_TRACKER")
    ET.SubElement(settings, "TrackFilterCollection")
    ET.SubElement(settings, "AnalyzerCollection")
    ET.SubElement(root, "GUIState", state="ConfigureViews")
    ET.indent(root, space="  ")
    return ET.ElementTree(root)


def _write_atomic(target: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)


def export_trackmate(result: Any, out_dir: str | Path) -> list[Path]:
    """Write ``trackmate.xml`` and ``trackmate_spots.csv`` of ``result`` into ``out_dir``.

    Parameters
    ----------
    result : PipelineResult
        What :func:`~pgpviewer.core.pipeline.run_pipeline` returned.
    out_dir : str or Path
        Folder (created if needed), usually the analysis output folder.

    Returns
    -------
    list of Path
        The XML file and the CSV file.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    spots = spots_table(result)
    tree = trackmate_xml(result, spots)
    xml_path, csv_path = out / XML_NAME, out / CSV_NAME
    _write_atomic(xml_path, lambda p: tree.write(p, encoding="UTF-8", xml_declaration=True))
    _write_atomic(
        csv_path,
        lambda p: spots.to_csv(p, index=False, lineterminator="\n", na_rep=""),
    )
    return [xml_path, csv_path]
