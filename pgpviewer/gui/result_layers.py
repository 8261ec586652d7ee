"""Adapters from a :class:`~pgpviewer.core.pipeline.PipelineResult` to napari layer data.

Pure numpy/pandas/dask (no Qt): built in the analysis worker, so the GUI thread only adds the
finished layers. Each adapter returns a :class:`LayerSpec` (napari's layer-data tuple as a
dataclass). Frames in the result tables are file frame indices, as on the viewer's time axis.

Cell colours encode population and P-gp status. Because a recipient's status changes over
time, the value shown for a cell in a frame is ``(track_id + 2) * 4 + class_code``: one value
per (track, status) pair, so neighbours stay distinct and a
:class:`~napari.utils.colormaps.DirectLabelColormap` colours them by class. The remapping is
lazy (one lookup per displayed frame).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

# class codes of a cell in one frame
UNKNOWN, DONOR, RECIPIENT_NEGATIVE, RECIPIENT_POSITIVE = 0, 1, 2, 3

CLASS_COLORS: dict[int, str] = {
    DONOR: "#ff3cff",  # magenta
    RECIPIENT_NEGATIVE: "#6f8fcf",  # gray-blue
    RECIPIENT_POSITIVE: "#3cff3c",  # green
    UNKNOWN: "#a0a0a0",  # gray
}
CLASS_NAMES: dict[int, str] = {
    DONOR: "donor",
    RECIPIENT_NEGATIVE: "recipient, P-gp negative",
    RECIPIENT_POSITIVE: "recipient, P-gp positive",
    UNKNOWN: "unknown population",
}
PUNCTA_COLOR = "#ffd21f"
EVENT_COLOR = "#ffffff"
EVENT_SYMBOLS = {"contact": "star", "remote": "diamond"}

CELLS_LAYER = "cells"
TRACKS_LAYER = "tracks"
PUNCTA_LAYER = "P-gp puncta"
EVENTS_LAYER = "transfer events"
RESULT_LAYER_NAMES = (CELLS_LAYER, TRACKS_LAYER, PUNCTA_LAYER, EVENTS_LAYER)


@dataclass
class LayerSpec:
    """Data and keyword arguments for one napari layer."""

    kind: str  # "labels" | "tracks" | "points"
    name: str
    data: Any
    kwargs: dict[str, Any] = field(default_factory=dict)


def _bool(series: pd.Series) -> np.ndarray:
    if series.dtype == object:
        return series.astype(str).str.lower().isin(("true", "1")).to_numpy()
    return series.fillna(False).astype(bool).to_numpy()


def cell_classes(cells: pd.DataFrame) -> np.ndarray:
    """Class code per row of ``cells`` from ``population`` and ``pgp_positive``."""
    pop = cells["population"].astype(str).to_numpy() if "population" in cells else None
    if pop is None:
        return np.zeros(len(cells), np.int32)
    positive = (
        _bool(cells["pgp_positive"]) if "pgp_positive" in cells else np.zeros(len(cells), bool)
    )
    codes = np.full(len(cells), UNKNOWN, np.int32)
    codes[pop == "donor"] = DONOR
    rec = pop == "recipient"
    codes[rec & ~positive] = RECIPIENT_NEGATIVE
    codes[rec & positive] = RECIPIENT_POSITIVE
    return codes


def _track_ids(cells: pd.DataFrame) -> np.ndarray:
    if "track_id" not in cells:
        return np.full(len(cells), -1, np.int64)
    return pd.to_numeric(cells["track_id"], errors="coerce").fillna(-1).astype(np.int64).to_numpy()


def display_values(cells: pd.DataFrame) -> np.ndarray:
    """The label value shown for each row of ``cells`` (see the module docstring)."""
    return ((_track_ids(cells) + 2) * 4 + cell_classes(cells)).astype(np.int64)


def cells_layer(result: Any, scale, translate_t: float = 0.0) -> LayerSpec:
    """Labels layer of the cells, coloured by population and P-gp status, lazily remapped."""
    import dask.array as da

    labels = result.labels
    cells = result.cells
    n_frames = int(labels.shape[0])
    offset = int(result.frames[0]) if getattr(result, "frames", None) else 0
    values = display_values(cells)
    codes = cell_classes(cells)
    luts: list[np.ndarray] = [np.zeros(1, np.int64) for _ in range(n_frames)]
    if len(cells):
        frames = cells["frame"].to_numpy(np.int64) - offset
        labs = cells["label"].to_numpy(np.int64)
        order = np.argsort(frames, kind="stable")
        frames, labs, vals = frames[order], labs[order], values[order]
        bounds = np.searchsorted(frames, np.arange(n_frames + 1))
        for i in range(n_frames):
            a, b = bounds[i], bounds[i + 1]
            if b > a:
                lut = np.zeros(int(labs[a:b].max()) + 1, np.int64)
                lut[labs[a:b]] = vals[a:b]
                luts[i] = lut

    def remap(block: np.ndarray, block_info=None) -> np.ndarray:
        t = block_info[0]["chunk-location"][0] if block_info else 0
        lut = luts[t]
        b = np.asarray(block)
        inside = b < lut.size
        return np.where(inside, lut[np.where(inside, b, 0)], 0).astype(np.int64)

    lazy = da.from_array(labels, chunks=(1, *labels.shape[1:]))
    shown = lazy.map_blocks(remap, dtype=np.int64)

    color_dict: dict[Any, str] = {None: "transparent", 0: "transparent"}
    uniq, first = np.unique(values, return_index=True)
    for v, i in zip(uniq.tolist(), first.tolist(), strict=True):
        color_dict[int(v)] = CLASS_COLORS[int(codes[i])]
    track = _track_ids(cells)
    features = pd.DataFrame(
        {
            "index": uniq.astype(np.int64),
            "track": [int(t) if t >= 0 else -1 for t in track[first]],
            "population": [CLASS_NAMES[int(c)] for c in codes[first]],
        }
    )
    from napari.utils.colormaps import DirectLabelColormap

    return LayerSpec(
        "labels",
        CELLS_LAYER,
        shown,
        {
            "colormap": DirectLabelColormap(color_dict=color_dict),
            "features": features,
            "opacity": 0.8,
            "scale": scale,
            "translate": (translate_t, 0.0, 0.0),
            "metadata": {"pgpviewer": "cells"},
        },
    )


def tracks_layer(result: Any, scale) -> LayerSpec | None:
    """napari Tracks from the cells' track_id, frame and centroid; parents as the graph."""
    cells = result.cells
    if not len(cells) or "track_id" not in cells:
        return None
    tid = pd.to_numeric(cells["track_id"], errors="coerce")
    ok = tid.notna()
    if not ok.any():
        return None
    df = pd.DataFrame(
        {
            "track_id": tid[ok].astype(np.int64),
            "t": cells.loc[ok, "frame"].astype(np.int64),
            "y": cells.loc[ok, "centroid_y"].astype(float),
            "x": cells.loc[ok, "centroid_x"].astype(float),
        }
    )
    df = df.drop_duplicates(["track_id", "t"]).sort_values(["track_id", "t"])
    graph: dict[int, list[int]] = {}
    tracks = result.tracks
    if tracks is not None and len(tracks) and "parent_track_id" in tracks:
        present = set(df["track_id"].tolist())
        par = pd.to_numeric(tracks["parent_track_id"], errors="coerce")
        for child, parent in zip(tracks["track_id"], par, strict=True):
            if pd.notna(parent) and int(child) in present and int(parent) in present:
                graph[int(child)] = [int(parent)]
    return LayerSpec(
        "tracks",
        TRACKS_LAYER,
        df.to_numpy(),
        {
            "graph": graph,
            "tail_length": 8,
            "tail_width": 2,
            "opacity": 0.8,
            "scale": scale,
            "metadata": {"pgpviewer": "tracks"},
        },
    )


def puncta_layer(result: Any, scale) -> LayerSpec:
    """P-gp puncta as small rings, each shown in its own frame."""
    p = result.puncta
    if p is None or not len(p):
        data = np.zeros((0, 3))
    else:
        data = p[["frame", "y", "x"]].to_numpy(float)
    return LayerSpec(
        "points",
        PUNCTA_LAYER,
        data,
        {
            "symbol": "ring",
            "size": 4,
            "face_color": PUNCTA_COLOR,
            "border_width": 0,
            "opacity": 0.9,
            "scale": scale,
            "out_of_slice_display": False,
            "metadata": {"pgpviewer": "puncta"},
        },
    )


def event_text(events: pd.DataFrame) -> list[str]:
    """Marker labels: ``"D12 → R7"`` (source donor track → recipient track)."""
    out = []
    for donor, rec in zip(events["donor_track_id"], events["recipient_track_id"], strict=True):
        d = f"D{int(donor)}" if pd.notna(donor) and str(donor) != "" else "?"
        out.append(f"{d} → R{int(rec)}")
    return out


def events_layer(result: Any, scale, *, follow_frames: int | None = None) -> LayerSpec:
    """Transfer events as markers on the recipient, from the event frame on.

    Each marker follows its recipient for ``follow_frames`` frames after the event (default:
    the event's minimum persistence), labelled "D12 → R7"; the symbol gives the mode
    (star: contact, diamond: remote).
    """
    ev = result.events
    empty = LayerSpec(
        "points",
        EVENTS_LAYER,
        np.zeros((0, 3)),
        {"scale": scale, "metadata": {"pgpviewer": "events"}, "out_of_slice_display": False},
    )
    if ev is None or not len(ev):
        return empty
    if follow_frames is None:
        try:
            follow_frames = int(result.params.events.min_persistence_frames)
        except AttributeError:
            follow_frames = 3
    cells = result.cells
    texts = event_text(ev)
    rows: list[tuple[float, float, float]] = []
    labels: list[str] = []
    modes: list[str] = []
    tid = pd.to_numeric(cells["track_id"], errors="coerce") if len(cells) else pd.Series([])
    for k, e in enumerate(ev.itertuples(index=False)):
        f0 = int(e.frame)
        sel = cells[
            (tid == e.recipient_track_id)
            & (cells["frame"] >= f0)
            & (cells["frame"] < f0 + max(follow_frames, 1))
        ]
        pts = [
            (float(r.frame), float(r.centroid_y), float(r.centroid_x))
            for r in sel.itertuples(index=False)
        ]
        if not pts:
            pts = [(float(f0), float(e.centroid_y), float(e.centroid_x))]
        rows.extend(pts)
        labels.extend([texts[k]] * len(pts))
        modes.extend([str(e.mode)] * len(pts))
    symbols = [EVENT_SYMBOLS.get(m, "star") for m in modes]
    return LayerSpec(
        "points",
        EVENTS_LAYER,
        np.asarray(rows, float),
        {
            "features": pd.DataFrame({"event": labels, "mode": modes}),
            "symbol": symbols,
            "size": 14,
            "face_color": "transparent",
            "border_color": EVENT_COLOR,
            "border_width": 0.15,
            "text": {
                "string": "{event}",
                "color": EVENT_COLOR,
                "size": 9,
                "anchor": "upper_left",
                "translation": (0, -6, 6),
            },
            "scale": scale,
            "out_of_slice_display": False,
            "metadata": {"pgpviewer": "events"},
        },
    )


def build_result_layers(result: Any, scale=(1.0, 1.0, 1.0)) -> list[LayerSpec]:
    """All result layers, bottom to top: cells, tracks, puncta, events."""
    offset = int(result.frames[0]) if getattr(result, "frames", None) else 0
    specs = [cells_layer(result, scale, translate_t=offset * scale[0])]
    tr = tracks_layer(result, scale)
    if tr is not None:
        specs.append(tr)
    specs.append(puncta_layer(result, scale))
    specs.append(events_layer(result, scale))
    return specs


def add_result_layers(
    viewer: Any,
    specs: list[LayerSpec] | tuple[LayerSpec, ...],
    *,
    units: Any = None,
    visible: dict[str, bool] | None = None,
) -> list[Any]:
    """Replace the result layers of a napari viewer (or ``ViewerModel``) by ``specs``.

    Used by the desktop app's viewer and by the napari plugin widget. ``units`` (per axis)
    is given to layers that have none; ``visible`` keeps the user's show/hide choice.
    Runs on the GUI thread; the specs were built in a worker.
    """
    for name in RESULT_LAYER_NAMES:
        if name in viewer.layers:
            viewer.layers.remove(viewer.layers[name])
    adders = {
        "labels": viewer.add_labels,
        "tracks": viewer.add_tracks,
        "points": viewer.add_points,
    }
    added = []
    for spec in specs:
        kwargs = dict(spec.kwargs)
        if units is not None:
            kwargs.setdefault("units", units)
        if visible is not None and spec.name in visible:
            kwargs["visible"] = visible[spec.name]
        if spec.kind == "labels":
            # napari's opportunistic dask cache is a process-wide dask callback that is not
            # thread-safe; our workers compute dask arrays at the same time (seen as a KeyError)
            kwargs.setdefault("cache", False)
        layer = adders[spec.kind](spec.data, name=spec.name, **kwargs)
        if spec.kind == "labels":
            layer.contour = 2
        added.append(layer)
    return added


@dataclass
class UptakeData:
    """What the uptake dock plots and lists (small tables)."""

    summary: pd.DataFrame
    headline: str


def uptake_headline(result: Any) -> str:
    """One-line summary: recipients positive at the end, events by mode, the gate."""
    s = result.summary
    parts = []
    if s is not None and len(s):
        last = s.iloc[-1]
        n_rec = int(last.get("n_recipients", 0) or 0)
        n_pos = int(last.get("n_recipients_positive", 0) or 0)
        frac = n_pos / n_rec if n_rec else float("nan")
        pct = f"{100 * frac:.0f} %" if n_rec else "—"
        parts.append(f"last frame: {n_pos}/{n_rec} recipients P-gp+ ({pct})")
    ev = result.events
    if ev is not None:
        n = len(ev)
        if n and "mode" in ev:
            counts = ev["mode"].value_counts()
            by = ", ".join(f"{int(v)} {k}" for k, v in counts.items())
            parts.append(f"{n} transfer event{'s' if n != 1 else ''} ({by})")
        else:
            parts.append(f"{n} transfer events")
    gate = getattr(result, "gate", None)
    if gate is not None and getattr(gate, "value", None) is not None:
        parts.append(f"gate {float(gate.value):.4g}")
    return " · ".join(parts)
