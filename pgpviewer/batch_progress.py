"""What ``pgpviewer batch`` prints while it runs: one line per finished input, then a summary.

Used by :mod:`pgpviewer.batch`.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING, TextIO

from pgpviewer.batch_inputs import BatchInput
from pgpviewer.batch_task import (
    STATUS_BAD,
    STATUS_DONE,
    STATUS_FAILED,
    STATUS_SKIPPED,
    TaskOutcome,
)
from pgpviewer.textprogress import _fmt_seconds

if TYPE_CHECKING:
    from pgpviewer.batch import BatchResult


class BatchProgress:
    """One line per finished input on a stream (stderr): counts, the input, ETA.

    ``[ 3/10] done     condA/well1.tif  (4 events, 2.1 s)  · 3 done, 1 failed · ETA 0:42``
    """

    def __init__(self, total: int, skipped: int = 0, stream: TextIO | None = None):
        self.stream = stream if stream is not None else sys.stderr
        self.total = total
        self.skipped = skipped
        self.counts = {STATUS_DONE: 0, STATUS_BAD: 0, STATUS_FAILED: 0}
        self.t0 = time.perf_counter()

    def note(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    @property
    def finished(self) -> int:
        return self.skipped + sum(self.counts.values())

    def update(self, item: BatchInput, outcome: TaskOutcome) -> None:
        self.counts[outcome.status] = self.counts.get(outcome.status, 0) + 1
        ran = sum(self.counts.values())
        remaining = self.total - self.finished
        elapsed = time.perf_counter() - self.t0
        eta = f" · ETA {_fmt_seconds(elapsed / ran * remaining)}" if ran and remaining else ""
        width = len(str(self.total))
        head = f"[{self.finished:>{width}}/{self.total}]"
        if outcome.status == STATUS_DONE:
            n = outcome.n_events
            ev = "" if n is None else f"{n} event{'s' if n != 1 else ''}, "
            what = f"done     {item.label}  ({ev}{outcome.seconds:.1f} s)"
            what += "".join(f"; {n}" for n in outcome.notes if n.startswith("report not"))
        elif outcome.status == STATUS_BAD:
            what = f"bad      {item.label}: {outcome.problem}"
        else:
            what = f"FAILED   {item.label}: {outcome.problem}"
        tail = f" · {self.counts[STATUS_DONE]} done"
        if self.counts[STATUS_BAD]:
            tail += f", {self.counts[STATUS_BAD]} bad"
        if self.counts[STATUS_FAILED]:
            tail += f", {self.counts[STATUS_FAILED]} failed"
        self.note(f"{head} {what}{tail}{eta}")


def print_summary(result: BatchResult, stream: TextIO) -> None:
    """The closing lines of a batch: counts, the output folder, and every problem."""
    parts = [f"{result.count(STATUS_DONE)} analysed"]
    if result.count(STATUS_SKIPPED):
        parts.append(f"{result.count(STATUS_SKIPPED)} kept from an earlier run")
    if result.bad_inputs:
        n_bad = len(result.bad_inputs)
        parts.append(f"{n_bad} bad input{'s' if n_bad > 1 else ''}")
    if result.failed:
        parts.append(f"{len(result.failed)} failed")
    print(f"batch: {', '.join(parts)} → {result.plan.out_dir}", file=stream)
    problems = [(i.label, o.problem) for i, o in result.bad_inputs + result.failed]
    problems += [
        (f"sample sheet line {r.line} ({r.file})", "matches no input")
        for r in result.plan.unused_rows
    ]
    if problems:
        print("problems:", file=stream)
        for label, problem in problems:
            print(f"  {label}: {problem}", file=stream)
    if result.failed and os.environ.get("PGPVIEWER_DEBUG"):
        for _, o in result.failed:
            print(o.details, file=stream)
