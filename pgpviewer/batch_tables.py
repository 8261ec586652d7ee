"""The tables a batch writes beside the per-file folders.

``batch_summary.csv`` — one row per input and frame
    ``file`` (path relative to the folder that holds all inputs), ``condition``, ``replicate``,
    the extra sample-sheet columns, ``position`` (empty for single-position files), ``output``
    (the input's folder inside the batch folder), then every column of that input's
    ``summary.csv`` exactly as written there (``frame``, ``time_s``, ``n_cells``, …).

``conditions.csv`` — one row per condition and frame
    ``condition``
    ``frame``
        File frame index.
    ``time_s``
        Time of the frame when every input of the condition agrees on it, else empty.
    ``n_replicates``
        Replicates with a defined fraction positive at this frame (a replicate without
        recipients in a frame does not count there).
    ``n_inputs``
        Inputs (files or positions) behind those replicates. Inputs sharing a condition and a
        replicate are averaged first (technical repeats), so statistics are across replicates.
    ``fraction_recipients_positive_mean``, ``fraction_recipients_positive_sd``
        Mean and sample standard deviation (ddof = 1) across replicates.
    ``fraction_recipients_positive_ci_low``, ``fraction_recipients_positive_ci_high``
        Two-sided 95 % confidence interval of the mean, ``mean ± t(0.975, n−1) · sd / √n``
        (Student's t, :func:`scipy.stats.t.ppf`). Empty when ``n_replicates < 2``. Not clipped
        to [0, 1].
    ``cumulative_events_mean``, ``cumulative_events_ci_low``, ``cumulative_events_ci_high``
        The same for the cumulative number of transfer events per input.
    ``cumulative_contact_events_mean``, ``cumulative_remote_events_mean``
        Mean cumulative events of each mode (from each input's ``events.csv``).
    ``n_recipients_mean``
        Mean number of recipients per input.
    ``events_contact``, ``events_remote``, ``events_total``
        Event counts by mode over the whole condition (all inputs, all frames); the same on
        every row of a condition.

``batch_files.csv`` — one row per input: ``file``, ``condition``, ``replicate``, extra columns,
``position``, ``output``, ``status`` (``done``, ``skipped`` = complete output reused,
``bad_input``, ``failed``), ``message``.

Every table is written atomically (a temporary file, then a rename).
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pgpviewer.batch_inputs import BatchInput
from pgpviewer.core.export import SUMMARY_COLUMNS, _format_csv

CONFIDENCE = 0.95
ID_COLUMNS = ("file", "condition", "replicate")
TAIL_ID_COLUMNS = ("position", "output")
CONDITIONS_COLUMNS = [
    "condition",
    "frame",
    "time_s",
    "n_replicates",
    "n_inputs",
    "fraction_recipients_positive_mean",
    "fraction_recipients_positive_sd",
    "fraction_recipients_positive_ci_low",
    "fraction_recipients_positive_ci_high",
    "cumulative_events_mean",
    "cumulative_events_ci_low",
    "cumulative_events_ci_high",
    "cumulative_contact_events_mean",
    "cumulative_remote_events_mean",
    "n_recipients_mean",
    "events_contact",
    "events_remote",
    "events_total",
]
EVENT_MODES = ("contact", "remote")


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def mean_ci(
    values: Sequence[float], confidence: float = CONFIDENCE
) -> tuple[int, float, float, float, float]:
    """Mean, sample SD and Student-t confidence interval of the mean, ignoring NaN.

    Returns
    -------
    n, mean, sd, low, high
        ``sd``, ``low`` and ``high`` are NaN when fewer than two values are defined; ``mean`` is
        NaN when none is.

    Examples
    --------
    >>> n, m, sd, lo, hi = mean_ci([0.1, 0.2, 0.3])
    >>> n, round(m, 6), round(sd, 6), round(lo, 4), round(hi, 4)
    (3, 0.2, 0.1, -0.0484, 0.4484)
    """
    from scipy import stats

    a = np.asarray([v for v in values if v is not None], dtype=float)
    a = a[np.isfinite(a)]
    n = int(a.size)
    if n == 0:
        return 0, math.nan, math.nan, math.nan, math.nan
    mean = float(a.mean())
    if n < 2:
        return n, mean, math.nan, math.nan, math.nan
    sd = float(a.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
    return n, mean, sd, mean - half, mean + half


# -- reading per-input outputs ----------------------------------------------------------------
def read_csv_text(path: Path) -> pd.DataFrame:
    """A CSV with every cell as the exact text written (empty cells as '')."""
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)


@dataclass
class InputTables:
    """The summary and events of one finished input, as read back from its folder."""

    item: BatchInput
    summary: pd.DataFrame  # text cells
    events: pd.DataFrame  # text cells


def load_tables(out_root: Path, items: Sequence[BatchInput]) -> list[InputTables]:
    """Read ``summary.csv`` and ``events.csv`` of every input whose output exists."""
    loaded = []
    for item in items:
        folder = Path(out_root) / item.output
        try:
            summary = read_csv_text(folder / "summary.csv")
            events = read_csv_text(folder / "events.csv")
        except (OSError, ValueError, pd.errors.EmptyDataError):
            continue
        loaded.append(InputTables(item, summary, events))
    return loaded


def _id_values(item: BatchInput, extra_columns: Sequence[str]) -> dict[str, str]:
    values = {"file": item.name, "condition": item.condition, "replicate": item.replicate}
    values.update({c: item.extra.get(c, "") for c in extra_columns})
    values["position"] = "" if item.position is None else str(item.position)
    values["output"] = item.output
    return values


def batch_summary_table(
    tables: Sequence[InputTables], extra_columns: Sequence[str] = ()
) -> pd.DataFrame:
    """``batch_summary.csv``: identification columns then each input's summary rows verbatim."""
    ids = [*ID_COLUMNS, *extra_columns, *TAIL_ID_COLUMNS]
    parts = []
    seen: list[str] = []
    for t in tables:
        s = t.summary
        seen += [c for c in s.columns if c not in seen and c not in ids]
        vals = _id_values(t.item, extra_columns)
        id_part = pd.DataFrame({c: [vals[c]] * len(s) for c in ids}, index=s.index)
        parts.append(
            pd.concat([id_part, s.drop(columns=[c for c in ids if c in s.columns])], axis=1)
        )
    columns = [*ids, *SUMMARY_COLUMNS, *(c for c in seen if c not in SUMMARY_COLUMNS)]
    if not parts:
        return pd.DataFrame(columns=columns)
    table = pd.concat(parts, ignore_index=True)
    return table.reindex(columns=columns).fillna("")


def batch_files_table(
    rows: Sequence[tuple[BatchInput, str, str]], extra_columns: Sequence[str] = ()
) -> pd.DataFrame:
    """``batch_files.csv`` from ``(input, status, message)`` triples."""
    cols = [*ID_COLUMNS, *extra_columns, *TAIL_ID_COLUMNS, "status", "message"]
    records = [
        {**_id_values(item, extra_columns), "status": status, "message": message}
        for item, status, message in rows
    ]
    return pd.DataFrame(records, columns=cols)


# -- conditions -------------------------------------------------------------------------------
def _numeric(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s.replace("", np.nan), errors="coerce").astype(float)


def per_input_frames(tables: Sequence[InputTables]) -> pd.DataFrame:
    """Numbers per input and frame that the condition statistics use."""
    parts = []
    for t in tables:
        s = t.summary
        if "frame" not in s.columns or s.empty:
            continue
        frame = _numeric(s["frame"]).astype("Int64")
        df = pd.DataFrame(
            {
                "condition": t.item.condition,
                "replicate": t.item.replicate,
                "output": t.item.output,
                "frame": frame,
                "time_s": _numeric(s["time_s"]) if "time_s" in s else np.nan,
                "fraction": _numeric(s["fraction_recipients_positive"])
                if "fraction_recipients_positive" in s
                else np.nan,
                "cumulative": _numeric(s["cumulative_events"])
                if "cumulative_events" in s
                else np.nan,
                "n_recipients": _numeric(s["n_recipients"]) if "n_recipients" in s else np.nan,
            }
        )
        ev = t.events
        ev_frames = _numeric(ev["frame"]) if "frame" in ev.columns else pd.Series(dtype=float)
        ev_modes = ev["mode"] if "mode" in ev.columns else pd.Series("", index=ev.index)
        for mode in EVENT_MODES:
            f = np.sort(ev_frames[ev_modes == mode].dropna().to_numpy())
            df[f"cum_{mode}"] = np.searchsorted(
                f, df["frame"].astype(float).to_numpy(), side="right"
            ).astype(float)
        parts.append(df.dropna(subset=["frame"]))
    if not parts:
        return pd.DataFrame(
            columns=[
                "condition",
                "replicate",
                "output",
                "frame",
                "time_s",
                "fraction",
                "cumulative",
                "n_recipients",
                "cum_contact",
                "cum_remote",
            ]
        )
    return pd.concat(parts, ignore_index=True)


def conditions_table(tables: Sequence[InputTables]) -> pd.DataFrame:
    """``conditions.csv`` (columns in the module docstring), conditions in input order."""
    data = per_input_frames(tables)
    order = list(dict.fromkeys(t.item.condition for t in tables))
    totals: dict[str, dict[str, int]] = {}
    for t in tables:
        tot = totals.setdefault(t.item.condition, {m: 0 for m in (*EVENT_MODES, "total")})
        modes = t.events["mode"] if "mode" in t.events.columns else pd.Series(dtype=str)
        for m in EVENT_MODES:
            tot[m] += int((modes == m).sum())
        tot["total"] += len(t.events)
    rows = []
    if data.empty:
        return pd.DataFrame(columns=CONDITIONS_COLUMNS)
    value_cols = ["fraction", "cumulative", "n_recipients", "cum_contact", "cum_remote"]
    # technical repeats (same condition and replicate) are averaged first
    reps = (
        data.groupby(["condition", "replicate", "frame"], sort=False)
        .agg(**{c: (c, "mean") for c in value_cols}, n_inputs=("output", "nunique"))
        .reset_index()
    )
    times = data.groupby(["condition", "frame"])["time_s"].agg(_common_value)
    for cond in order:
        sub = reps[reps["condition"] == cond]
        for frame in sorted(sub["frame"].dropna().unique()):
            at = sub[sub["frame"] == frame]
            defined = at[at["fraction"].notna()]
            n, m, sd, lo, hi = mean_ci(defined["fraction"].tolist())
            _, cm, _, clo, chi = mean_ci(at["cumulative"].tolist())
            rows.append(
                {
                    "condition": cond,
                    "frame": int(frame),
                    "time_s": times.get((cond, frame), math.nan),
                    "n_replicates": n,
                    "n_inputs": int(defined["n_inputs"].sum()),
                    "fraction_recipients_positive_mean": m,
                    "fraction_recipients_positive_sd": sd,
                    "fraction_recipients_positive_ci_low": lo,
                    "fraction_recipients_positive_ci_high": hi,
                    "cumulative_events_mean": cm,
                    "cumulative_events_ci_low": clo,
                    "cumulative_events_ci_high": chi,
                    "cumulative_contact_events_mean": _nanmean(at["cum_contact"]),
                    "cumulative_remote_events_mean": _nanmean(at["cum_remote"]),
                    "n_recipients_mean": _nanmean(at["n_recipients"]),
                    "events_contact": totals[cond]["contact"],
                    "events_remote": totals[cond]["remote"],
                    "events_total": totals[cond]["total"],
                }
            )
    return pd.DataFrame(rows, columns=CONDITIONS_COLUMNS)


def _nanmean(s: pd.Series) -> float:
    a = s.to_numpy(dtype=float)
    a = a[np.isfinite(a)]
    return float(a.mean()) if a.size else math.nan


def _common_value(s: pd.Series) -> float:
    a = s.dropna().to_numpy(dtype=float)
    if a.size == 0 or not np.allclose(a, a[0], rtol=1e-9, atol=1e-9):
        return math.nan
    return float(a[0])


def format_csv(table: pd.DataFrame) -> str:
    """The contract's CSV formatting (``true``/``false``, formula-safe text, empty for NaN)."""
    return _format_csv(table)
