"""Self-contained HTML reports of an analyze folder or a batch folder.

``write_report(folder)`` writes ``folder/report.html``: one file with inline CSS and inline SVG
charts, no scripts and nothing loaded from the network, so it can be mailed, archived with the
data, or opened on an offline microscope PC.

* **analyze folder** (``cells.csv`` … ``params.json``): summary cards; fraction of recipients
  positive and cumulative events (by mode) over time; Kaplan–Meier "not yet acquired" and
  "acquired" curves with their 95 % CI band and the numbers at risk; events by mode and the
  events table; tracks by population and status; an event gallery (P-gp crops before, at and
  after each event, from the input file and ``labels.tif``, when the input is still where it
  was analysed); every parameter, channel role, the gate and the software version.
* **batch folder** (``batch_files.csv``, ``batch_summary.csv``, ``conditions.csv``): fraction
  positive and cumulative events per condition with 95 % CIs across replicates, events by mode
  per condition, a table of conditions at the last frame, a table of every input with its status
  and a link to its own report, the problems, and the batch settings.

Examples
--------
>>> from pgpviewer.report import write_report  # doctest: +SKIP
>>> write_report("results/movie1")  # doctest: +SKIP
PosixPath('results/movie1/report.html')
"""

from __future__ import annotations

import json
from pathlib import Path

from pgpviewer.core.errors import InputError
from pgpviewer.core.export import is_complete_output

REPORT_NAME = "report.html"

__all__ = ["REPORT_NAME", "folder_kind", "write_report"]


def folder_kind(folder: str | Path) -> str:
    """``"analysis"`` for an analyze output, ``"batch"`` for a batch folder.

    Raises
    ------
    InputError
        Anything else (naming what is missing).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(folder, "folder not found" if not folder.exists() else "is not a folder")
    if is_complete_output(folder):
        return "analysis"
    if (folder / "batch_files.csv").is_file() or (folder / "batch_summary.csv").is_file():
        return "batch"
    raise InputError(
        folder,
        "is neither a finished 'pgpviewer analyze' output (cells.csv … params.json) nor a "
        "'pgpviewer batch' folder (batch_summary.csv)",
    )


def write_report(folder: str | Path, *, gallery: bool = True, per_file: bool = True) -> Path:
    """Write ``folder/report.html`` for an analyze or a batch folder (atomically).

    Parameters
    ----------
    folder : str or Path
        An analyze output folder or a batch folder.
    gallery : bool
        Draw the event crop gallery (reads the input file named in params.json).
    per_file : bool
        For a batch folder, also write the reports of inputs that have none yet (so the links
        work).

    Returns
    -------
    Path
        The report file.

    Raises
    ------
    InputError
        The folder is neither kind of output, or the report cannot be written.
    """
    from pgpviewer.batch_tables import write_text_atomic

    folder = Path(folder)
    kind = folder_kind(folder)
    if kind == "analysis":
        from pgpviewer.report.file_report import file_report_html

        prov = json.loads((folder / "params.json").read_text(encoding="utf-8"))
        html = file_report_html(folder, prov, gallery=gallery)
    else:
        from pgpviewer.report.batch_report import batch_report_html

        if per_file:
            _write_missing_file_reports(folder, gallery)
        html = batch_report_html(folder)
    out = folder / REPORT_NAME
    try:
        write_text_atomic(out, html)
    except OSError as e:
        raise InputError(out, f"cannot write the report ({e.strerror or e})") from None
    return out


def _write_missing_file_reports(folder: Path, gallery: bool) -> None:
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if not (sub / REPORT_NAME).exists() and is_complete_output(sub):
            try:
                write_report(sub, gallery=gallery)
            except (InputError, OSError, ValueError):
                continue
