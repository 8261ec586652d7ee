"""The report of one analysed file (a ``pgpviewer analyze`` output folder)."""

from __future__ import annotations

import math
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pgpviewer.core.export import SUMMARY_COLUMNS
from pgpviewer.report.html import (
    Section,
    cards,
    figure,
    flatten,
    fmt,
    kv_table,
    numeric,
    page,
    read_table,
    table,
    time_axis,
)
from pgpviewer.report.svg import MODE_COLORS, Series, bar_chart, line_chart

MAX_EVENT_ROWS = 1000
MODES = ("contact", "remote")


def file_report_html(folder: Path, prov: dict[str, Any], *, gallery: bool = True) -> str:
    """The whole HTML page for one output folder."""
    summary = read_table(folder / "summary.csv")
    curves = read_table(folder / "curves.csv")
    events = read_table(folder / "events.csv")
    tracks = read_table(folder / "tracks.csv")
    inp = prov.get("input") or {}
    stack = inp.get("stack") or {}
    name = Path(str(inp.get("path") or folder.name)).name
    pos = inp.get("position")
    if stack.get("n_positions", 1) and int(stack.get("n_positions") or 1) > 1:
        name += f" (position {pos})"
    gate = prov.get("gate") or {}

    n_modes = {m: int((events.get("mode") == m).sum()) if "mode" in events else 0 for m in MODES}
    frac = numeric(summary, "fraction_recipients_positive")
    last_frac = frac.dropna().iloc[-1] if frac.notna().any() else math.nan
    pops = tracks["population"].value_counts() if "population" in tracks else pd.Series(dtype=int)
    top = cards(
        [
            ("frames analysed", len(summary)),
            ("cell tracks", len(tracks)),
            ("donor tracks", int(pops.get("donor", 0))),
            ("recipient tracks", int(pops.get("recipient", 0))),
            ("transfer events", len(events)),
            ("contact / remote", f"{n_modes['contact']} / {n_modes['remote']}"),
            ("recipients positive, last frame", _pct(last_frac)),
            ("P-gp gate", gate.get("value")),
        ]
    )
    x, xlabel, _ = time_axis(summary.get("time_s"), numeric(summary, "frame"))
    sections = [
        Section("uptake", "Uptake over time", _uptake(summary, events, x, xlabel)),
        Section("curves", "Acquisition and Kaplan–Meier curves", _curves(curves)),
        Section("events", "Transfer events", _events(events)),
        Section("tracks", "Tracks", _tracks(tracks)),
    ]
    if gallery:
        from pgpviewer.report.gallery import gallery_html

        sections.append(Section("gallery", "Event gallery", gallery_html(folder, prov, events)))
    sections.append(Section("provenance", "Parameters and provenance", _provenance(prov)))
    subtitle = f"{inp.get('path') or folder}"
    return page(f"pgpviewer report — {name}", subtitle, top, sections)


def _pct(v: float) -> str:
    return "" if v is None or not math.isfinite(v) else f"{100 * v:.1f} %"


def _uptake(summary: pd.DataFrame, events: pd.DataFrame, x: list[float], xlabel: str) -> str:
    if summary.empty:
        return '<p class="empty">summary.csv is empty.</p>'
    frac = numeric(summary, "fraction_recipients_positive")
    charts = [
        figure(
            line_chart(
                [Series(x, frac.tolist(), "fraction positive", markers=len(x) <= 40)],
                xlabel=xlabel,
                ylabel="fraction of recipients P-gp positive",
                title="Fraction of recipients positive",
                ylim=(0.0, None),
            ),
            "Recipients above the P-gp gate in each frame (from summary.csv).",
        )
    ]
    frames = numeric(summary, "frame").to_numpy(dtype=float)
    series = [
        Series(
            x,
            numeric(summary, "cumulative_events").tolist(),
            "all events",
            color="#000000",
            step=True,
        )
    ]
    ev_frames = numeric(events, "frame")
    for m in MODES:
        sel = (
            np.sort(ev_frames[events["mode"] == m].dropna().to_numpy())
            if "mode" in events
            else np.array([])
        )
        cum = np.searchsorted(sel, frames, side="right").astype(float)
        series.append(Series(x, cum.tolist(), m, color=MODE_COLORS[m], step=True, dashed=True))
    charts.append(
        figure(
            line_chart(
                series,
                xlabel=xlabel,
                ylabel="cumulative transfer events",
                title="Cumulative transfer events",
                ylim=(0.0, None),
            ),
            "Events counted at their event frame (first frame of a persistent positive run).",
        )
    )
    cols = [c for c in SUMMARY_COLUMNS if c in summary.columns]
    return f'<div class="charts">{"".join(charts)}</div><h3>Per frame</h3>' + table(
        summary[cols], max_rows=500
    )


def _curves(curves: pd.DataFrame) -> str:
    if curves.empty or "km_not_acquired" not in curves:
        return '<p class="empty">No curves (curves.csv is empty).</p>'
    x, xlabel, _ = time_axis(curves.get("time_s"), numeric(curves, "frame"))
    km = numeric(curves, "km_not_acquired")
    lo, hi = numeric(curves, "km_ci_low"), numeric(curves, "km_ci_high")
    chart_km = line_chart(
        [
            Series(
                x,
                km.tolist(),
                "not yet acquired (Kaplan–Meier)",
                color="#0072B2",
                lo=lo.tolist(),
                hi=hi.tolist(),
                step=True,
            )
        ],
        xlabel=xlabel,
        ylabel="fraction of recipient tracks not yet acquired",
        ylim=(0.0, 1.0),
        title="Kaplan–Meier: not yet acquired",
    )
    parts = [
        figure(
            chart_km,
            "Kaplan–Meier estimate over recipient tracks negative at start; "
            "tracks that end without acquiring are censored. Shaded: 95 % CI.",
        )
    ]
    if "at_risk" in curves and "acquired" in curves:
        chart_n = line_chart(
            [
                Series(
                    x, numeric(curves, "at_risk").tolist(), "at risk", color="#009E73", step=True
                ),
                Series(
                    x, numeric(curves, "acquired").tolist(), "acquired", color="#D55E00", step=True
                ),
            ],
            xlabel=xlabel,
            ylabel="recipient tracks",
            ylim=(0.0, None),
            title="Acquisition curve",
        )
        parts.append(
            figure(
                chart_n,
                "Acquisition curve: recipient tracks that acquired P-gp, "
                "and tracks still at risk (curves.csv).",
            )
        )
    return f'<div class="charts">{"".join(parts)}</div>'


def _events(events: pd.DataFrame) -> str:
    if events.empty:
        return '<p class="empty">No transfer events were detected.</p>'
    counts = {m: [int((events["mode"] == m).sum())] if "mode" in events else [0] for m in MODES}
    chart = bar_chart(
        ["events"],
        counts,
        ylabel="events",
        colors=MODE_COLORS,
        title="Events by mode",
        width=360,
        height=260,
    )
    caption = (
        "contact: touching a donor at or shortly before the event; remote: no donor "
        "contact (vesicle-mediated)."
    )
    return f'<div class="charts">{figure(chart, caption)}</div><h3>All events</h3>' + table(
        events, max_rows=MAX_EVENT_ROWS
    )


def _tracks(tracks: pd.DataFrame) -> str:
    if tracks.empty:
        return '<p class="empty">No tracks.</p>'
    parts = []
    if {"population", "status"} <= set(tracks.columns):
        ct = pd.crosstab(tracks["population"], tracks["status"])
        ct.insert(0, "population", ct.index)
        ct["total"] = ct.drop(columns="population").sum(axis=1)
        parts.append("<h3>Tracks by population and status</h3>" + table(ct.reset_index(drop=True)))
    n_frames = numeric(tracks, "n_frames")
    items: list[tuple[str, Any]] = [
        ("tracks", len(tracks)),
        (
            "median track length (frames)",
            float(n_frames.median()) if n_frames.notna().any() else None,
        ),
        (
            "tracks with a parent (after division)",
            int(numeric(tracks, "parent_track_id").notna().sum()),
        ),
    ]
    acq = numeric(tracks, "acquired_frame") - numeric(tracks, "first_frame")
    if acq.notna().any():
        items.append(("median frames from track start to acquisition", float(acq.median())))
    gained = numeric(tracks, "puncta_gained")
    if gained.notna().any():
        items.append(
            (
                "mean puncta gained per recipient track",
                float(gained[tracks.get("population") == "recipient"].mean())
                if "population" in tracks
                else float(gained.mean()),
            )
        )
    parts.insert(0, kv_table(items))
    return "".join(parts)


def _provenance(prov: dict[str, Any]) -> str:
    inp = prov.get("input") or {}
    head = [
        ("software", f"{prov.get('software', '')} {prov.get('version', '')}"),
        ("input", inp.get("path")),
        ("input SHA-256", inp.get("sha256")),
        ("position", inp.get("position")),
        (
            "frames analysed",
            "–".join(str(f) for f in inp.get("frames") or []) + " (end exclusive)"
            if inp.get("frames")
            else "",
        ),
    ]
    units = prov.get("units") or {}
    px = units.get("pixel_size_um")
    head += [
        ("pixel size (µm)", " × ".join(fmt(v) for v in px) if px else "unknown"),
        ("frame interval (s)", units.get("frame_interval_s") or "unknown"),
    ]
    roles = prov.get("channel_roles") or {}
    role_rows = [(r, f"{v.get('name')} (channel {v.get('index')})") for r, v in roles.items()]
    gate = prov.get("gate") or {}
    gate_rows = [(k, v) for k, v in gate.items()]
    stack = inp.get("stack") or {}
    return (
        kv_table(head)
        + "<h3>Channel roles</h3>"
        + (kv_table(role_rows) if role_rows else "<p>None.</p>")
        + "<h3>P-gp gate</h3>"
        + kv_table(gate_rows)
        + "<h3>Input stack</h3>"
        + kv_table(flatten(stack))
        + "<h3>Analysis parameters</h3>"
        + '<p class="note">Re-run with exactly these: <code>pgpviewer analyze FILE --params '
        f"{escape('params.json')}</code>.</p>" + kv_table(flatten(prov.get("params") or {}))
    )
