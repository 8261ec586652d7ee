"""Whole experiments: analyse many files on dask.distributed and compare conditions.

``pgpviewer batch FOLDER_OR_GLOB... --out DIR`` runs :func:`~pgpviewer.analyze.analyze_file` once
per input (a file, a frame folder, or one position of a multi-position file), each as one
dask.distributed task, and writes

* ``DIR/<output>/`` — the per-file output contract (cells.csv … params.json) and ``report.html``;
* ``DIR/batch_summary.csv``, ``DIR/conditions.csv``, ``DIR/batch_files.csv`` (see
  :mod:`pgpviewer.batch_tables`), ``DIR/batch.json`` (the batch's settings and inputs) and
  ``DIR/report.html`` (conditions compared, with links to every file's report).

Where it runs: by default a :class:`distributed.LocalCluster` of ``workers`` processes with one
thread each (every task analyses its file with ``workers=1``, so cores are not oversubscribed);
or an existing cluster (``scheduler="tcp://host:8786"``), whose workers must run the same
pgpviewer version and see the input and output paths under the same names (shared file system).
Both give byte-identical outputs.

Resilience: a failed input (unreadable file, bad channel mapping…) is reported and the others go
on. A worker that dies (killed, out of memory) has its task re-run on another worker by the
scheduler (up to ``distributed.scheduler.allowed-failures`` times, 3 by default); tasks are also
submitted with ``retries`` for errors raised outside the analysis. Outputs are written atomically,
so stopping a batch never leaves a half-written folder, and running the same command again
skips every input whose output folder is complete and was made with the same parameters
(:func:`is_reusable`).

Conditions and replicates come from a sample sheet or from the folder structure
(:mod:`pgpviewer.batch_conditions`).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import pgpviewer
from pgpviewer.batch_cluster import check_scheduler_address, check_workers, connect
from pgpviewer.batch_cluster import worker_version as worker_version
from pgpviewer.batch_conditions import (
    SampleSheet,
    SheetRow,
    apply_sample_sheet,
    folder_conditions,
    number_replicates,
    read_sample_sheet,
    row_paths,
)
from pgpviewer.batch_inputs import (
    BatchInput,
    assign_outputs,
    common_root,
    expand_positions,
    find_inputs,
    relative_name,
)
from pgpviewer.batch_progress import BatchProgress, print_summary
from pgpviewer.batch_tables import (
    batch_files_table,
    batch_summary_table,
    conditions_table,
    format_csv,
    load_tables,
    write_text_atomic,
)
from pgpviewer.batch_task import (
    STATUS_BAD,
    STATUS_DONE,
    STATUS_FAILED,
    STATUS_SKIPPED,
    AnalyzeFn,
    BatchOptions,
    TaskOutcome,
    _write_file_report,
    is_reusable,
    run_task,
)
from pgpviewer.batch_task import read_provenance as read_provenance
from pgpviewer.core.errors import InputError
from pgpviewer.core.export import PROCESS_START, is_complete_output, remove_stale_temporaries
from pgpviewer.core.params import AnalysisParams

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2
TASK_RETRIES = 2


# -- settings and plan ------------------------------------------------------------------------
@dataclass
class BatchPlan:
    """The inputs of a batch with their conditions, replicates and output names."""

    out_dir: Path
    items: list[BatchInput]
    extra_columns: tuple[str, ...] = ()
    sheet: SampleSheet | None = None
    not_in_sheet: list[BatchInput] = field(default_factory=list)
    unused_rows: list[SheetRow] = field(default_factory=list)


def plan_batch(
    inputs: Sequence[str | Path],
    out_dir: str | Path,
    *,
    sample_sheet: str | Path | None = None,
    control: str | Path | None = None,
) -> BatchPlan:
    """Find the inputs and give each a condition, replicate and output folder name.

    Parameters
    ----------
    inputs : sequence of str or Path
        Files, folders and glob patterns (see :mod:`pgpviewer.batch_inputs`). May be empty when
        a sample sheet is given: its rows are then resolved relative to the sheet's folder.
    out_dir : str or Path
        The batch folder (never searched for inputs).
    sample_sheet : str or Path, optional
        CSV with ``file``, ``condition`` [, ``replicate``, ...] (see
        :mod:`pgpviewer.batch_conditions`).
    control : str or Path, optional
        The control file (used for the gate, not analysed as a sample).

    Raises
    ------
    InputError
        Nothing to analyse, an argument that matches nothing, an invalid or ambiguous sheet.
    """
    out = Path(out_dir).resolve()
    if out.exists() and not out.is_dir():
        raise InputError(out, "output path exists and is not a folder")
    if out.is_dir() and is_complete_output(out):
        raise InputError(out, "is the output of 'pgpviewer analyze'; choose a folder for the batch")
    skip = [out] + ([Path(control).resolve()] if control else [])
    sheet = read_sample_sheet(sample_sheet) if sample_sheet else None
    if inputs:
        paths = find_inputs(inputs, skip=skip)
    elif sheet is not None:
        paths = _paths_from_sheet(sheet, skip)
    else:
        raise InputError(None, "give folders, files or glob patterns to analyse, or --sample-sheet")
    if not paths:
        raise InputError(
            Path(str(inputs[0])) if inputs else sheet.path, "no image files or frame folders found"
        )
    root = common_root(paths)
    items = [
        BatchInput(path=p, position=pos, name=relative_name(p, root))
        for p, pos in expand_positions(paths)
    ]
    plan = BatchPlan(out_dir=out, items=items, sheet=sheet)
    if sheet is not None:
        match = apply_sample_sheet(sheet, items)
        items = match.items
        if not inputs:  # files named by the sheet alone: in the sheet's row order
            order = sorted(range(len(items)), key=lambda k: match.lines[k])
            items = [items[k] for k in order]
        plan.not_in_sheet = match.not_in_sheet if inputs else []
        plan.unused_rows = match.unused_rows
        plan.extra_columns = sheet.extra_columns
        if not items:
            raise InputError(sheet.path, "no input matches any row of the sample sheet")
    else:
        items = folder_conditions(items)
    plan.items = assign_outputs(number_replicates(items))
    return plan


def _paths_from_sheet(sheet: SampleSheet, skip: Sequence[Path]) -> list[Path]:
    direct: list[Path] = []
    unresolved = False
    for row in sheet.rows:
        found = row_paths(sheet, row)
        unresolved |= not found
        direct += found
    paths = find_inputs(direct, skip=skip) if direct else []
    if unresolved:  # bare names or stems: look below the sheet's folder
        seen = set(paths)
        paths += [p for p in find_inputs([sheet.folder], skip=skip) if p not in seen]
    return paths


# -- the batch --------------------------------------------------------------------------------
@dataclass
class BatchResult:
    """What :func:`run_batch` did."""

    plan: BatchPlan
    outcomes: dict[str, TaskOutcome]

    def status_of(self, item: BatchInput) -> TaskOutcome:
        return self.outcomes[item.output]

    @property
    def bad_inputs(self) -> list[tuple[BatchInput, TaskOutcome]]:
        return [
            (i, self.outcomes[i.output])
            for i in self.plan.items
            if self.outcomes[i.output].status == STATUS_BAD
        ]

    @property
    def failed(self) -> list[tuple[BatchInput, TaskOutcome]]:
        return [
            (i, self.outcomes[i.output])
            for i in self.plan.items
            if self.outcomes[i.output].status == STATUS_FAILED
        ]

    @property
    def exit_status(self) -> int:
        """0 all inputs analysed; 2 some inputs (or sheet rows) were bad; 1 unexpected failures."""
        if self.failed:
            return EXIT_FAILURE
        if self.bad_inputs or self.plan.unused_rows:
            return EXIT_BAD_INPUT
        return EXIT_OK

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes.values() if o.status == status)


def run_batch(
    inputs: Sequence[str | Path],
    out_dir: str | Path,
    *,
    sample_sheet: str | Path | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    client: Any = None,
    channels: Mapping[str, str] | None = None,
    params: AnalysisParams | None = None,
    control: str | Path | None = None,
    frames: str | None = None,
    axes: str | None = None,
    write_reports: bool = True,
    analyze: AnalyzeFn | None = None,
    stream: TextIO | None = None,
) -> BatchResult:
    """Analyse every input of an experiment on dask.distributed and compare conditions.

    Parameters
    ----------
    inputs : sequence of str or Path
        Files, folders (searched recursively) and glob patterns.
    out_dir : str or Path
        The batch folder (created).
    sample_sheet : str or Path, optional
        Conditions and replicates (else from folder names).
    scheduler : str, optional
        Address of a running dask scheduler (``tcp://host:8786``); default: a local cluster.
    workers : int, optional
        Worker processes of the local cluster (default: every core).
    client : distributed.Client, optional
        Use this client instead (e.g. from the GUI or a notebook).
    channels, params, control, frames, axes
        As for :func:`~pgpviewer.analyze.analyze_file`, the same for every input.
    write_reports : bool
        Write each input's ``report.html`` and the batch ``report.html``.
    analyze : callable, optional
        Replaces :func:`~pgpviewer.analyze.analyze_file` (same signature); for tests.
    stream : file, optional
        Progress lines (default: stderr).

    Returns
    -------
    BatchResult
        Per-input outcomes and the exit status.
    """
    stream = stream if stream is not None else sys.stderr
    if scheduler and client is None:
        scheduler = check_scheduler_address(scheduler)
    control_path = Path(control).resolve() if control else None
    if control_path is not None and not control_path.exists():
        raise InputError(control_path, "control file not found")
    plan = plan_batch(inputs, out_dir, sample_sheet=sample_sheet, control=control_path)
    options = BatchOptions(
        channels=dict(channels) if channels else None,
        params=params,
        control=control_path,
        frames=frames,
        axes=axes,
        write_reports=write_reports,
    )
    out = plan.out_dir
    out.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(out, plan.items)
    for item in plan.not_in_sheet:
        print(f"note: {item.label} is not in the sample sheet; skipped", file=stream)
    for row in plan.unused_rows:
        print(f"bad      sample sheet line {row.line}: {row.file!r} matches no input", file=stream)
    if control_path is not None:
        print(f"note: control {control_path.name} calibrates the gate of every input", file=stream)

    outcomes: dict[str, TaskOutcome] = {}
    todo: list[BatchInput] = []
    for item in plan.items:
        folder = out / item.output
        if is_reusable(folder, item, options):
            outcomes[item.output] = TaskOutcome(item.output, STATUS_SKIPPED, "complete output kept")
            if write_reports and not (folder / "report.html").exists():
                _write_file_report(folder)
        else:
            if is_complete_output(folder):
                print(
                    f"note: {item.label}: earlier output was made with other parameters; "
                    "analysing again",
                    file=stream,
                )
            todo.append(item)
    progress = BatchProgress(len(plan.items), skipped=len(outcomes), stream=stream)
    skipped_note = f", {len(outcomes)} already complete (skipped)" if outcomes else ""
    if todo:
        with connect(scheduler, workers, client) as (c, where):
            n_workers = check_workers(c)
            progress.note(
                f"batch: {len(todo)} input{'s' if len(todo) != 1 else ''} to analyse"
                f"{skipped_note}, on {where} ({n_workers} worker"
                f"{'s' if n_workers != 1 else ''})"
            )
            progress.t0 = time.perf_counter()
            try:
                outcomes.update(_run_tasks(c, todo, out, options, analyze, progress))
            except KeyboardInterrupt:
                kept = sum(is_complete_output(out / i.output) for i in plan.items)
                print(
                    f"\nbatch: interrupted; {kept} complete output{'s' if kept != 1 else ''}"
                    " kept (no half-written folder); run the same command again to resume",
                    file=stream,
                )
                raise
    else:
        progress.note(f"batch: nothing to analyse{skipped_note}")
    result = BatchResult(plan, {i.output: outcomes[i.output] for i in plan.items})
    write_batch_tables(result, options)
    if write_reports:
        try:
            from pgpviewer.report import write_report

            write_report(out)
        except Exception as e:
            print(f"note: batch report not written ({e.__class__.__name__}: {e})", file=stream)
    print_summary(result, stream)
    return result


def _run_tasks(
    client, todo, out: Path, options: BatchOptions, analyze, progress: BatchProgress
) -> dict[str, TaskOutcome]:
    from distributed import as_completed

    token = f"{os.getpid()}-{time.time_ns()}"
    futures = {}
    for item in todo:
        fut = client.submit(
            run_task,
            item,
            str(out),
            options,
            analyze,
            key=f"pgpviewer-analyze-{item.output}-{token}",
            pure=False,
            retries=TASK_RETRIES,
        )
        futures[fut] = item
    outcomes: dict[str, TaskOutcome] = {}
    try:
        for fut in as_completed(list(futures), loop=client.loop):
            item = futures[fut]
            try:
                outcome = fut.result()
            except Exception as e:
                outcome = _outcome_of_exception(item, e)
            outcomes[item.output] = outcome
            progress.update(item, outcome)
            fut.release()
    except BaseException:
        client.cancel(list(futures))
        raise
    return outcomes


def _outcome_of_exception(item: BatchInput, e: BaseException) -> TaskOutcome:
    from distributed import KilledWorker

    if isinstance(e, KilledWorker):
        problem = (
            "the worker analysing it died repeatedly (out of memory? see the dask worker logs)"
        )
    else:
        problem = f"{e.__class__.__name__}: {e}"
    details = "".join(traceback.format_exception(e))
    return TaskOutcome(item.output, STATUS_FAILED, problem, details=details)


def _remove_stale_temporaries(out: Path, items: Sequence[BatchInput]) -> None:
    """Temporary folders and files left by a killed earlier run (never a complete output).

    The same rule as a single export: only leftovers of runs that are no longer going.
    """
    for item in items:
        remove_stale_temporaries(out / item.output)
    for p in out.iterdir():
        if p.is_file() and p.name.startswith(".") and p.name.endswith(".part"):
            with contextlib.suppress(OSError):
                if p.stat().st_mtime < PROCESS_START:
                    p.unlink()


def write_batch_tables(result: BatchResult, options: BatchOptions) -> None:
    """``batch_summary.csv``, ``conditions.csv``, ``batch_files.csv`` and ``batch.json``."""
    plan = result.plan
    out = plan.out_dir
    complete = [
        i for i in plan.items if result.outcomes[i.output].status in (STATUS_DONE, STATUS_SKIPPED)
    ]
    tables = load_tables(out, complete)
    write_text_atomic(
        out / "batch_summary.csv", format_csv(batch_summary_table(tables, plan.extra_columns))
    )
    write_text_atomic(out / "conditions.csv", format_csv(conditions_table(tables)))
    rows = [
        (i, result.outcomes[i.output].status, result.outcomes[i.output].problem) for i in plan.items
    ]
    write_text_atomic(
        out / "batch_files.csv", format_csv(batch_files_table(rows, plan.extra_columns))
    )
    settings = {
        "software": "pgpviewer",
        "version": pgpviewer.__version__,
        "kind": "batch",
        "sample_sheet": str(plan.sheet.path.resolve()) if plan.sheet else None,
        "conditions_from": "sample sheet" if plan.sheet else "folder names",
        "channels": options.channels,
        "control": str(options.control) if options.control else None,
        "frames": options.frames,
        "axes": options.axes,
        "params": options.effective_params(),
        "inputs": [
            {
                "file": i.name,
                "path": str(i.path),
                "position": i.position,
                "output": i.output,
                "condition": i.condition,
                "replicate": i.replicate,
                **({"extra": i.extra} if i.extra else {}),
            }
            for i in plan.items
        ],
    }
    write_text_atomic(out / "batch.json", json.dumps(settings, indent=2, ensure_ascii=False) + "\n")
