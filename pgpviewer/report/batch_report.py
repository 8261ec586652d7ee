"""The report of a batch folder: conditions compared, and a table linking every file's report."""

from __future__ import annotations

import json
import math
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd

from pgpviewer.report.html import (
    Section,
    cards,
    figure,
    flatten,
    kv_table,
    numeric,
    page,
    read_table,
    table,
    time_axis,
)
from pgpviewer.report.svg import MODE_COLORS, PALETTE, Series, bar_chart, line_chart


def _read_text(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError, pd.errors.EmptyDataError):
        return pd.DataFrame()


def batch_report_html(folder: Path) -> str:
    """The whole HTML page for a batch folder."""
    files = _read_text(folder / "batch_files.csv")
    summary = _read_text(folder / "batch_summary.csv")
    conditions = read_table(folder / "conditions.csv")
    if "condition" in conditions:
        conditions["condition"] = conditions["condition"].astype(str)
    try:
        settings = json.loads((folder / "batch.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        settings = {}
    status = files["status"].value_counts() if "status" in files else pd.Series(dtype=int)
    conds = list(dict.fromkeys(conditions["condition"])) if "condition" in conditions else []
    top = cards(
        [
            ("inputs", len(files)),
            ("analysed", int(status.get("done", 0))),
            ("kept from an earlier run", int(status.get("skipped", 0))),
            ("bad inputs", int(status.get("bad_input", 0))),
            ("failed", int(status.get("failed", 0))),
            ("conditions", len(conds)),
        ]
    )
    sections = [
        Section("conditions", "Conditions compared", _conditions(conditions, conds)),
        Section("files", "Files", _files(folder, files, summary)),
    ]
    problems = files[files["status"].isin(["bad_input", "failed"])] if "status" in files else None
    if problems is not None and len(problems):
        sections.append(
            Section(
                "problems",
                "Problems",
                table(
                    problems[
                        [
                            c
                            for c in ("file", "position", "status", "message")
                            if c in problems.columns
                        ]
                    ]
                ),
            )
        )
    sections.append(Section("settings", "Batch settings", _settings(settings)))
    # no absolute path: the same batch run elsewhere gives the same bytes
    subtitle = (
        f"{len(files)} inputs in {len(conds)} condition{'s' if len(conds) != 1 else ''}"
        f" · conditions from {settings.get('conditions_from', 'unknown')}"
    )
    return page(f"pgpviewer batch report — {folder.name}", subtitle, top, sections)


def _conditions(cond: pd.DataFrame, names: list[str]) -> str:
    if cond.empty:
        return '<p class="empty">No finished input: nothing to compare.</p>'
    x_all, xlabel, _ = time_axis(cond.get("time_s"), numeric(cond, "frame"))
    cond = cond.assign(_x=x_all)
    frac_series, ev_series = [], []
    for k, name in enumerate(names):
        sub = cond[cond["condition"] == name].sort_values("frame")
        color = PALETTE[k % len(PALETTE)]
        n = int(numeric(sub, "n_replicates").max()) if len(sub) else 0
        label = f"{name} (n={n})"
        frac_series.append(
            Series(
                sub["_x"].tolist(),
                numeric(sub, "fraction_recipients_positive_mean").tolist(),
                label,
                color=color,
                lo=numeric(sub, "fraction_recipients_positive_ci_low").tolist(),
                hi=numeric(sub, "fraction_recipients_positive_ci_high").tolist(),
                markers=len(sub) <= 40,
            )
        )
        ev_series.append(
            Series(
                sub["_x"].tolist(),
                numeric(sub, "cumulative_events_mean").tolist(),
                label,
                color=color,
                lo=numeric(sub, "cumulative_events_ci_low").tolist(),
                hi=numeric(sub, "cumulative_events_ci_high").tolist(),
                step=True,
            )
        )
    charts = [
        figure(
            line_chart(
                frac_series,
                xlabel=xlabel,
                ylabel="fraction of recipients positive",
                title="Fraction of recipients P-gp positive",
                ylim=(0.0, 1.0),
            ),
            "Mean across replicates; shaded: 95 % confidence interval (Student's t; needs "
            "≥ 2 replicates). n = replicates.",
        ),
        figure(
            line_chart(
                ev_series,
                xlabel=xlabel,
                ylabel="cumulative events per input",
                title="Cumulative transfer events",
                ylim=(0.0, None),
                bands_in_range=False,
            ),
            "Mean cumulative events per input, 95 % CI across replicates (bands are cut at "
            "the top of the plot).",
        ),
    ]
    last = cond.sort_values("frame").groupby("condition", sort=False).tail(1)
    last = last.set_index("condition").reindex(names)
    groups = {
        m: numeric(last, f"cumulative_{m}_events_mean").tolist() for m in ("contact", "remote")
    }
    charts.append(
        figure(
            bar_chart(
                names,
                groups,
                ylabel="events per input (mean)",
                colors=MODE_COLORS,
                title="Events by mode",
            ),
            "Mean number of events per input by mode, at the last frame.",
        )
    )
    cols = [
        "frame",
        "time_s",
        "n_replicates",
        "n_inputs",
        "fraction_recipients_positive_mean",
        "fraction_recipients_positive_ci_low",
        "fraction_recipients_positive_ci_high",
        "cumulative_events_mean",
        "events_contact",
        "events_remote",
        "events_total",
    ]
    last_tbl = last.reset_index()[["condition", *[c for c in cols if c in last.columns]]]
    return (
        f'<div class="charts">{"".join(charts)}</div>'
        "<h3>At the last frame of each condition</h3>"
        + table(last_tbl)
        + '<p class="note">Every frame: conditions.csv; every input and frame: '
        "batch_summary.csv.</p>"
    )


def _files(folder: Path, files: pd.DataFrame, summary: pd.DataFrame) -> str:
    if files.empty:
        return '<p class="empty">batch_files.csv is missing or empty.</p>'
    last: dict[str, dict[str, Any]] = {}
    if not summary.empty and "output" in summary:
        for out, g in summary.groupby("output", sort=False):
            g = g.assign(_f=numeric(g, "frame")).sort_values("_f")
            row = g.iloc[-1]
            last[out] = {
                "frames": len(g),
                "fraction positive (last frame)": _to_float(
                    row.get("fraction_recipients_positive")
                ),
                "events": _to_float(row.get("cumulative_events")),
            }
    shown = files.copy()
    for key in ("frames", "fraction positive (last frame)", "events"):
        shown[key] = [last.get(o, {}).get(key) for o in shown["output"]]
    shown["report"] = shown["output"]
    cols = [c for c in shown.columns if c not in ("message",)]

    def link(out: Any, row: pd.Series) -> str:
        out = str(out)
        if (folder / out / "report.html").is_file():
            return f'<a href="{quote(out)}/report.html">report</a>'
        if (folder / out).is_dir():
            return f'<a href="{quote(out)}/">folder</a>'
        return ""

    def status(v: Any, row: pd.Series) -> str:
        return f'<span class="status-{escape(str(v))}">{escape(str(v))}</span>'

    return table(shown[cols], cell_html={"report": link, "status": status})


def _to_float(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _settings(settings: dict[str, Any]) -> str:
    if not settings:
        return '<p class="empty">batch.json is missing.</p>'
    head = [
        (k, settings.get(k))
        for k in (
            "version",
            "conditions_from",
            "sample_sheet",
            "channels",
            "control",
            "frames",
            "axes",
        )
    ]
    head = [(k, json.dumps(v) if isinstance(v, dict) else v) for k, v in head]
    return (
        kv_table(head)
        + "<h3>Analysis parameters (every input)</h3>"
        + kv_table(flatten(settings.get("params") or {}))
    )
