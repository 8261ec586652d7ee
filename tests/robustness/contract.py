"""Checks that an output folder honours the contract (../shared/spec/OUTPUTS.md) and that its
tables agree with each other and with labels.tif."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import tifffile

from pgpviewer.core.export import (
    CELLS_COLUMNS,
    CELLS_TAIL_COLUMNS,
    CURVES_COLUMNS,
    EVENTS_COLUMNS,
    OUTPUT_FILES,
    SUMMARY_COLUMNS,
    TRACKS_COLUMNS,
)

_HEADERS = {
    "tracks.csv": TRACKS_COLUMNS,
    "events.csv": EVENTS_COLUMNS,
    "summary.csv": SUMMARY_COLUMNS,
    "curves.csv": CURVES_COLUMNS,
}


def _strict_json(text: str):
    def refuse(name):
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def read_labels(path: Path) -> np.ndarray:
    """labels.tif as (T, Y, X), checking that the file itself says T (also for one frame)."""
    with tifffile.TiffFile(path) as tif:
        series = tif.series[0]
        axes, shape = series.get_axes(False), series.get_shape(False)
        data = series.asarray(squeeze=False)
    assert "T" in axes, axes
    t = shape[axes.index("T")]
    return data.reshape(t, shape[axes.index("Y")], shape[axes.index("X")])


def check_contract(out: Path, *, n_frames: int, shape_yx: tuple[int, int]) -> dict:
    """Every contract file, every required column, tables consistent with labels.tif.

    Returns the tables (DataFrames by file name) and ``labels`` for further checks.
    """
    out = Path(out)
    present = {p.name for p in out.iterdir()}
    assert set(OUTPUT_FILES) <= present, set(OUTPUT_FILES) - present
    leftovers = [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]
    assert leftovers == [], leftovers
    tables: dict = {}
    for name in ("cells.csv", *_HEADERS):
        text = (out / name).read_text(encoding="utf-8")
        header = text.splitlines()[0].split(",")
        if name == "cells.csv":
            assert header[: len(CELLS_COLUMNS)] == CELLS_COLUMNS, header
            assert set(CELLS_TAIL_COLUMNS) <= set(header), header
        else:
            required = _HEADERS[name]
            assert header[: len(required)] == required, (name, header)
        tables[name] = pd.read_csv(out / name)
    params = _strict_json((out / "params.json").read_text(encoding="utf-8"))
    assert params["software"] == "pgpviewer"

    labels = read_labels(out / "labels.tif")
    assert labels.shape == (n_frames, *shape_yx), labels.shape
    cells, summary = tables["cells.csv"], tables["summary.csv"]
    frames = sorted(summary["frame"])
    first = frames[0] if frames else 0
    assert frames == list(range(first, first + n_frames)), frames
    for i, frame in enumerate(frames):
        in_image = set(np.unique(labels[i]).tolist()) - {0}
        in_table = set(cells.loc[cells["frame"] == frame, "label"].astype(int).tolist())
        assert in_image == in_table, (frame, in_image ^ in_table)
    counts = cells.groupby("frame").size().reindex(frames, fill_value=0)
    assert summary.set_index("frame")["n_cells"].tolist() == counts.tolist()
    tables["labels"] = labels
    tables["params.json"] = params
    return tables
