"""HTML building blocks of the reports: the page, sections, tables, cards (inline CSS only)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import pgpviewer

CSS = """
:root { --fg:#1d2430; --muted:#5b6472; --line:#d9dee5; --bg:#ffffff; --soft:#f4f6f9;
        --accent:#0072B2; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial,
       sans-serif; color: var(--fg); background: var(--bg); margin: 0; }
main { max-width: 1120px; margin: 0 auto; padding: 20px 28px 60px; }
header h1 { font-size: 22px; margin: 8px 0 2px; }
header .sub { color: var(--muted); margin: 0 0 10px; word-break: break-all; }
nav { position: sticky; top: 0; background: var(--bg); border-bottom: 1px solid var(--line);
      padding: 8px 0; margin-bottom: 8px; z-index: 1; }
nav a { color: var(--accent); text-decoration: none; margin-right: 14px; white-space: nowrap; }
section { margin-top: 26px; }
h2 { font-size: 17px; border-bottom: 2px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 14px; margin: 18px 0 6px; }
p.note, p.empty { color: var(--muted); }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr));
         gap: 10px; margin: 14px 0; }
.card { background: var(--soft); border-radius: 6px; padding: 10px 12px; }
.card .v { font-size: 20px; font-weight: 600; }
.card .k { color: var(--muted); font-size: 12px; }
.charts { display: flex; flex-wrap: wrap; gap: 18px; }
figure { margin: 0; }
figcaption { color: var(--muted); font-size: 12px; max-width: 640px; }
svg.chart { max-width: 100%; height: auto; font-size: 11px; }
svg .plotbg { fill: #fbfcfd; stroke: none; }
svg .grid { stroke: #e6e9ee; stroke-width: 1; }
svg .axis { stroke: #8a93a0; stroke-width: 1; }
svg .tick { fill: #4a5360; font-size: 11px; }
svg .label { fill: #1d2430; font-size: 12px; }
svg .legend { fill: #1d2430; font-size: 12px; }
.tablewrap { overflow-x: auto; max-height: 560px; overflow-y: auto;
             border: 1px solid var(--line); border-radius: 4px; }
table.data { border-collapse: collapse; font-size: 12.5px; width: 100%; }
table.data th, table.data td { padding: 4px 8px; border-bottom: 1px solid var(--line);
                               text-align: left; vertical-align: top; }
table.data th { background: var(--soft); position: sticky; top: 0; }
table.data td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.data tr:nth-child(even) td { background: #fafbfc; }
table.kv td:first-child { color: var(--muted); white-space: nowrap; }
.status-done, .status-skipped { color: #0a7a3e; }
.status-bad_input, .status-failed { color: #b3261e; font-weight: 600; }
.gallery { display: flex; flex-wrap: wrap; gap: 14px; }
.gallery .ev { background: var(--soft); border-radius: 6px; padding: 6px 8px; }
.gallery .ev .crops { display: flex; gap: 4px; }
.gallery .ev figure { text-align: center; font-size: 11px; color: var(--muted); }
.gallery img { width: 112px; height: 112px; image-rendering: pixelated; display: block; }
code { background: var(--soft); padding: 0 3px; border-radius: 3px; }
footer { color: var(--muted); font-size: 12px; margin-top: 40px; }
"""


@dataclass
class Section:
    """A titled part of the page, listed in the navigation bar."""

    id: str
    title: str
    body: str


def page(title: str, subtitle: str, cards: str, sections: Sequence[Section]) -> str:
    """The whole self-contained HTML document (inline CSS, inline SVG, no scripts)."""
    nav = "".join(f'<a href="#{escape(s.id)}">{escape(s.title)}</a>' for s in sections)
    body = "".join(
        f'<section id="{escape(s.id)}"><h2>{escape(s.title)}</h2>{s.body}</section>'
        for s in sections
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body><main>"
        f'<header><h1>{escape(title)}</h1><p class="sub">{escape(subtitle)}</p></header>'
        f"<nav>{nav}</nav>{cards}{body}"
        f"<footer>Written by pgpviewer {escape(pgpviewer.__version__)}. Definitions of every "
        "number: SCIENCE.md; file formats: OUTPUTS.md.</footer>"
        "</main></body></html>\n"
    )


def cards(items: Sequence[tuple[str, Any]]) -> str:
    out = "".join(
        f'<div class="card"><div class="v">{escape(fmt(v))}</div>'
        f'<div class="k">{escape(k)}</div></div>'
        for k, v in items
    )
    return f'<div class="cards">{out}</div>'


def fmt(v: Any) -> str:
    """Numbers for people: integers as is, floats to 4 significant digits, missing as ''."""
    if v is None:
        return ""
    if isinstance(v, bool | np.bool_):
        return "true" if v else "false"
    if isinstance(v, int | np.integer):
        return str(int(v))
    if isinstance(v, float | np.floating):
        if not math.isfinite(float(v)):
            return ""
        f = float(v)
        if f.is_integer() and abs(f) < 1e12:
            return str(int(f))
        return f"{f:.4g}"
    if v is pd.NA:
        return ""
    return str(v)


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)


def table(
    df: pd.DataFrame,
    *,
    max_rows: int | None = None,
    cell_html: Mapping[str, Callable[[Any, pd.Series], str]] | None = None,
    row_class: Callable[[pd.Series], str] | None = None,
) -> str:
    """An HTML table of a DataFrame; ``cell_html`` renders chosen columns as raw HTML."""
    if df is None or df.empty:
        return '<p class="empty">None.</p>'
    note = ""
    if max_rows is not None and len(df) > max_rows:
        note = (
            f'<p class="note">Showing the first {max_rows} of {len(df)} rows; the CSV '
            "file has them all.</p>"
        )
        df = df.head(max_rows)
    head = "".join(f"<th>{escape(str(c))}</th>" for c in df.columns)
    rows = []
    for _, r in df.iterrows():
        cells = []
        for c in df.columns:
            v = r[c]
            if cell_html and c in cell_html:
                cells.append(f"<td>{cell_html[c](v, r)}</td>")
            else:
                cls = ' class="num"' if _is_num(v) else ""
                cells.append(f"<td{cls}>{escape(fmt(v))}</td>")
        rc = f' class="{escape(row_class(r))}"' if row_class else ""
        rows.append(f"<tr{rc}>{''.join(cells)}</tr>")
    return (
        f'{note}<div class="tablewrap"><table class="data"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def kv_table(items: Sequence[tuple[str, Any]]) -> str:
    rows = "".join(f"<tr><td>{escape(k)}</td><td>{escape(fmt(v))}</td></tr>" for k, v in items)
    return f'<div class="tablewrap"><table class="data kv"><tbody>{rows}</tbody></table></div>'


def flatten(d: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Nested dicts as dotted keys: ``{"a": {"b": 1}}`` → ``[("a.b", 1)]``."""
    if isinstance(d, Mapping):
        out = []
        for k, v in d.items():
            out += flatten(v, f"{prefix}.{k}" if prefix else str(k))
        return out
    if isinstance(d, list | tuple) and d and all(isinstance(x, Mapping) for x in d):
        out = []
        for i, v in enumerate(d):
            out += flatten(v, f"{prefix}[{i}]")
        return out
    if isinstance(d, list | tuple):
        return [(prefix, ", ".join(fmt(x) for x in d))]
    return [(prefix, d)]


def figure(svg: str, caption: str = "") -> str:
    cap = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
    return f"<figure>{svg}{cap}</figure>"


def time_axis(time_s: pd.Series | None, frames: pd.Series) -> tuple[list[float], str, float]:
    """x values and label: time in s/min/h when known for every frame, else frame numbers.

    Returns ``(x, label, seconds_per_unit)``; ``seconds_per_unit`` is NaN for frames.
    """
    if time_s is not None:
        t = pd.to_numeric(time_s, errors="coerce")
        if len(t) and t.notna().all():
            span = float(t.max()) if len(t) else 0.0
            unit, div = (
                ("h", 3600.0) if span >= 7200 else ("min", 60.0) if span >= 120 else ("s", 1.0)
            )
            return (t / div).tolist(), f"time ({unit})", div
    return pd.to_numeric(frames, errors="coerce").tolist(), "frame", math.nan


def read_table(path: Path) -> pd.DataFrame:
    """A CSV of an output folder, or an empty table when it is missing or unreadable."""
    try:
        return pd.read_csv(path)
    except (OSError, ValueError, pd.errors.EmptyDataError):
        return pd.DataFrame()


def numeric(df: pd.DataFrame, col: str) -> pd.Series:
    """Column ``col`` as numbers (NaN where absent or not numeric)."""
    if col not in df.columns:
        return pd.Series(np.nan, index=df.index, dtype=float)
    return pd.to_numeric(df[col], errors="coerce")
