"""The output-contract checks of ``pgpviewer --self-test``.

:func:`check_outputs` checks an ``analyze`` output folder against the contract
(``../shared/spec/OUTPUTS.md``): every file present, required columns in contract order, values
from the contract's vocabularies, at least one cell, ``labels.tif`` of shape (T, Y, X) agreeing
with ``cells.csv``, and ``params.json``. Each check is one :class:`Check`. Used by
:mod:`pgpviewer.selftest`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pgpviewer

POPULATIONS = {"donor", "recipient", "unknown"}
BOOLEANS = {"true", "false"}
TRACK_STATUSES = {"event", "no_event", "positive_at_start", "not_recipient"}
EVENT_MODES = {"contact", "remote"}


@dataclass(frozen=True)
class Check:
    """The outcome of one check: a name, pass/fail and one line of detail."""

    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"  {'ok  ' if self.ok else 'FAIL'}  {self.name}: {self.detail}"


def _read_csv(path: Path):
    import pandas as pd

    # Everything as text: the checks compare against the contract's literal vocabularies.
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _columns_check(name: str, columns: Sequence[str], required: Sequence[str]) -> str | None:
    """None when ``required`` come first in order; else what is wrong."""
    missing = [c for c in required if c not in columns]
    if missing:
        return f"missing required columns: {', '.join(missing)}"
    if list(columns[: len(required)]) != list(required):
        return "required columns are present but not first in contract order"
    return None


def _vocabulary(table, column: str, allowed: set[str], *, empty_ok: bool = False) -> str | None:
    values = set(table[column].unique()) if column in table.columns else set()
    if empty_ok:
        values.discard("")
    bad = sorted(values - allowed)
    if bad:
        return f"{column} has values outside {sorted(allowed)}: {', '.join(map(repr, bad[:5]))}"
    return None


def _as_int(values) -> list[int]:
    return [int(float(v)) for v in values if v != ""]


def check_outputs(
    out: Path,
    *,
    n_frames: int,
    shape_yx: tuple[int, int],
    channel_names: Sequence[str],
) -> list[Check]:
    """Check an ``analyze`` output folder against the contract and the analysed stack.

    Parameters
    ----------
    out : Path
        The output folder.
    n_frames : int
        Frames analysed (T of ``labels.tif``, rows of ``summary.csv``).
    shape_yx : tuple of int
        (Y, X) of the analysed stack.
    channel_names : sequence of str
        Channel names of the stack (they name the per-channel columns of ``cells.csv``).

    Returns
    -------
    list of Check
        One per contract file, then one for the folder as a whole.
    """
    from pgpviewer.core import export

    out = Path(out)
    stems = export.channel_columns(channel_names)
    cells_required = (
        export.CELLS_COLUMNS
        + [f"{kind}_{s}" for s in stems for kind in ("mean", "total")]
        + export.CELLS_TAIL_COLUMNS
    )
    checks: list[Check] = []

    def table_check(
        name: str, required: Sequence[str], content: Callable[[object], str | None]
    ) -> object:
        path = out / name
        if not path.is_file():
            checks.append(Check(name, False, "missing"))
            return None
        try:
            table = _read_csv(path)
        except Exception as e:  # unreadable CSV: report, go on with the other files
            checks.append(Check(name, False, f"unreadable: {e.__class__.__name__}: {e}"))
            return None
        problem = _columns_check(name, list(table.columns), required)
        if problem is None:
            try:
                problem = content(table)
            except (ValueError, KeyError) as e:
                problem = f"unexpected values: {e.__class__.__name__}: {e}"
        if problem:
            checks.append(Check(name, False, problem))
        else:
            checks.append(
                Check(
                    name,
                    True,
                    f"{len(table)} rows, {len(table.columns)} columns, "
                    "required columns in contract order",
                )
            )
        return table

    def cells_content(t) -> str | None:
        if len(t) == 0:
            return "no cell rows: nothing was segmented"
        frames = _as_int(t["frame"])
        if min(frames) < 0 or max(frames) >= n_frames:
            return f"frame values outside 0..{n_frames - 1}"
        if min(_as_int(t["label"])) < 1:
            return "label values below 1"
        for col, allowed in (
            ("population", POPULATIONS),
            ("pgp_positive", BOOLEANS),
            ("touching_donor", BOOLEANS),
        ):
            if problem := _vocabulary(t, col, allowed):
                return problem
        return None

    def tracks_content(t) -> str | None:
        if len(t) == 0:
            return "no tracks"
        return _vocabulary(t, "population", POPULATIONS) or _vocabulary(t, "status", TRACK_STATUSES)

    def events_content(t) -> str | None:
        return _vocabulary(t, "mode", EVENT_MODES) if len(t) else None

    def summary_content(t) -> str | None:
        if len(t) != n_frames:
            return f"{len(t)} rows for {n_frames} analysed frames"
        return None

    cells = table_check("cells.csv", cells_required, cells_content)
    tracks = table_check("tracks.csv", export.TRACKS_COLUMNS, tracks_content)
    table_check("events.csv", export.EVENTS_COLUMNS, events_content)
    table_check("summary.csv", export.SUMMARY_COLUMNS, summary_content)
    table_check("curves.csv", export.CURVES_COLUMNS, lambda t: None)
    if cells is not None and tracks is not None and len(cells) and len(tracks):
        unknown = set(_as_int(cells["track_id"])) - set(_as_int(tracks["track_id"]))
        checks.append(
            Check(
                "tracks vs cells",
                not unknown,
                f"{len(unknown)} track_id(s) of cells.csv missing from tracks.csv"
                if unknown
                else "every track_id of cells.csv is in tracks.csv",
            )
        )
    checks.append(_labels_check(out / "labels.tif", n_frames, shape_yx, cells))
    checks.append(_params_check(out / "params.json"))
    complete = export.is_complete_output(out)
    checks.append(
        Check(
            "output folder",
            complete,
            "complete (is_complete_output)" if complete else "incomplete (is_complete_output)",
        )
    )
    return checks


def _labels_check(path: Path, n_frames: int, shape_yx: tuple[int, int], cells) -> Check:
    import numpy as np
    import tifffile

    if not path.is_file():
        return Check("labels.tif", False, "missing")
    try:
        labels = tifffile.imread(path)
    except Exception as e:
        return Check("labels.tif", False, f"unreadable: {e.__class__.__name__}: {e}")
    expected = (n_frames, *shape_yx)
    if labels.ndim == 2 and n_frames == 1:
        labels = labels[np.newaxis]
    if tuple(labels.shape) != expected:
        return Check("labels.tif", False, f"shape {labels.shape}, expected (T, Y, X) = {expected}")
    if not np.issubdtype(labels.dtype, np.integer):
        return Check("labels.tif", False, f"dtype {labels.dtype} is not an integer type")
    if labels.max(initial=0) == 0:
        return Check("labels.tif", False, "no labelled pixel")
    if cells is not None and len(cells):
        present = [set(np.unique(labels[t]).tolist()) for t in range(n_frames)]
        rows = zip(_as_int(cells["frame"]), _as_int(cells["label"]), strict=True)
        missing = [(t, lab) for t, lab in rows if lab not in present[t]]
        if missing:
            t, lab = missing[0]
            return Check(
                "labels.tif",
                False,
                f"{len(missing)} cells.csv row(s) have no pixels in labels.tif "
                f"(first: frame {t}, label {lab})",
            )
    return Check(
        "labels.tif",
        True,
        f"shape {tuple(labels.shape)} (T, Y, X), {labels.dtype}, "
        f"up to {int(labels.max())} labels, consistent with cells.csv",
    )


def _params_check(path: Path) -> Check:
    if not path.is_file():
        return Check("params.json", False, "missing")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        return Check("params.json", False, f"unreadable: {e}")
    problems = []
    if data.get("software") != "pgpviewer":
        problems.append(f"software is {data.get('software')!r}")
    if data.get("version") != pgpviewer.__version__:
        problems.append(f"version {data.get('version')!r} != {pgpviewer.__version__!r}")
    if not (data.get("input") or {}).get("sha256"):
        problems.append("no input SHA-256")
    if not data.get("params"):
        problems.append("no parameters")
    if problems:
        return Check("params.json", False, "; ".join(problems))
    return Check("params.json", True, f"pgpviewer {data['version']}, parameters and input SHA-256")
