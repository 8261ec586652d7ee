"""The task ``pgpviewer batch`` runs on a dask worker for each input, and what it reports.

:func:`run_task` analyses one input with the batch's :class:`BatchOptions`; :func:`is_reusable`
tells whether an earlier output of the same input can be kept. Used by :mod:`pgpviewer.batch`.
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pgpviewer
from pgpviewer.batch_inputs import BatchInput
from pgpviewer.core.errors import Cancelled, InputError
from pgpviewer.core.export import is_complete_output
from pgpviewer.core.params import AnalysisParams

STATUS_DONE, STATUS_SKIPPED, STATUS_BAD, STATUS_FAILED = "done", "skipped", "bad_input", "failed"

AnalyzeFn = Callable[..., Any]


@dataclass(frozen=True)
class BatchOptions:
    """What every input is analysed with (the same as ``pgpviewer analyze`` options)."""

    channels: dict[str, str] | None = None
    params: AnalysisParams | None = None
    control: Path | None = None
    frames: str | None = None
    axes: str | None = None
    write_reports: bool = True

    def effective_params(self) -> dict[str, Any]:
        """The parameters ``analyze_file`` records in params.json for these options."""
        p = self.params or AnalysisParams()
        if self.control is not None and p.gate.source != "control":
            p = p.replace(gate={**p.gate.model_dump(), "source": "control"})
        return p.to_dict()


@dataclass
class TaskOutcome:
    """What one task reports back to the client (small and picklable)."""

    output: str
    status: str
    problem: str = ""
    seconds: float = 0.0
    n_events: int | None = None
    notes: list[str] = field(default_factory=list)
    details: str = ""  # traceback of unexpected failures


def read_provenance(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((Path(folder) / "params.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_reusable(folder: Path, item: BatchInput, options: BatchOptions) -> bool:
    """A complete earlier output of the same input, position, parameters and pgpviewer version.

    Such outputs are kept when a batch is run again. Channel roles, ``--frames`` and ``--axes``
    are not compared: to re-analyse with others, use a new output folder.
    """
    if not is_complete_output(folder):
        return False
    prov = read_provenance(folder) or {}
    inp = prov.get("input") or {}
    recorded = str(inp.get("path") or "")
    if Path(recorded).name != item.path.name:
        return False
    if int(inp.get("position") or 0) != (item.position or 0):
        return False
    if prov.get("version") != pgpviewer.__version__:
        return False  # one batch, one software version
    recorded_params = prov.get("params")
    if not isinstance(recorded_params, dict):
        return False
    try:
        used = AnalysisParams.from_dict(recorded_params)
    except InputError:
        return False
    # settings left automatic (the cell diameter) match the value the run measured
    return AnalysisParams.from_dict(options.effective_params()).produced(used)


def run_task(
    item: BatchInput, out_root: str, options: BatchOptions, analyze: AnalyzeFn | None = None
) -> TaskOutcome:
    """Analyse one input into ``out_root/item.output`` (runs on a dask worker).

    Input problems and unexpected errors are returned, not raised, so that they are reported
    once and not retried; only a dead worker makes the scheduler run the task again.
    """
    if analyze is None:
        from pgpviewer.analyze import analyze_file as analyze
    out = Path(out_root) / item.output
    t0 = time.perf_counter()
    notes: list[str] = []
    try:
        result = analyze(
            item.path,
            out,
            channels=options.channels,
            params=options.params,
            control=options.control,
            frames=options.frames,
            position=item.position or 0,
            axes=options.axes,
            workers=1,
            log=notes.append,
        )
    except InputError as e:
        return TaskOutcome(
            item.output, STATUS_BAD, e.problem, time.perf_counter() - t0, None, notes
        )
    except Cancelled:
        raise
    except Exception as e:
        return TaskOutcome(
            item.output,
            STATUS_FAILED,
            f"{e.__class__.__name__}: {e}",
            time.perf_counter() - t0,
            None,
            notes,
            traceback.format_exc(),
        )
    events = getattr(result, "events", None)
    n_events = len(events) if events is not None else None
    if options.write_reports:
        notes += _write_file_report(out)
    return TaskOutcome(item.output, STATUS_DONE, "", time.perf_counter() - t0, n_events, notes)


def _write_file_report(folder: Path) -> list[str]:
    try:
        from pgpviewer.report import write_report

        write_report(folder)
    except Exception as e:  # a report problem must not fail the analysis
        return [f"report not written ({e.__class__.__name__}: {e})"]
    return []
