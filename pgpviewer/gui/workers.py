"""Running core functions off the GUI thread (superqt workers) with progress and cancel.

A :class:`TaskWorker` runs ``fn(*args, progress=..., cancel=..., **kwargs)`` in Qt's thread
pool. The core's progress callback becomes the queued Qt signal ``progressed`` (emitted from
the worker thread, delivered on the GUI thread); ``cancel()`` sets a flag the core polls and
turns into :class:`~pgpviewer.core.errors.Cancelled`. ``succeeded``/``failed``/``cancelled``
and ``finished`` are delivered on the GUI thread, where results are applied.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from qtpy.QtCore import QObject, Signal
from superqt.utils import create_worker

from pgpviewer.core.errors import Cancelled

logger = logging.getLogger(__name__)


class TaskWorker(QObject):
    """One background job with progress, cancel and GUI-thread result signals.

    Parameters
    ----------
    fn : callable
        The job. Called as ``fn(*args, **kwargs)``, plus ``progress=`` and ``cancel=`` when
        ``report`` is True.
    report : bool
        Pass ``progress`` (callable ``(fraction, message)``) and ``cancel`` (callable → bool).
    min_interval_s : float
        Progress updates closer than this are dropped (the last one always passes).
    """

    progressed = Signal(float, str)
    succeeded = Signal(object)
    failed = Signal(object)
    cancelled = Signal()
    finished = Signal()

    def __init__(
        self,
        fn: Callable[..., Any],
        *args: Any,
        report: bool = False,
        min_interval_s: float = 0.05,
        parent: QObject | None = None,
        **kwargs: Any,
    ):
        super().__init__(parent)
        self._fn = fn
        self._args = args
        self._kwargs = kwargs
        self._report = report
        self._min_interval = min_interval_s
        self._cancel = threading.Event()
        self._last_emit = 0.0
        self._running = False
        self._worker = None
        self.started_at: float | None = None

    # -- control -------------------------------------------------------------------------
    @property
    def is_running(self) -> bool:
        return self._running

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def start(self) -> None:
        if self._worker is not None:
            raise RuntimeError("a TaskWorker runs once")
        self._running = True
        self.started_at = time.perf_counter()
        self._worker = create_worker(self._run, _start_thread=False, _ignore_errors=True)
        self._worker.returned.connect(self._on_returned)
        self._worker.errored.connect(self._on_errored)
        self._worker.finished.connect(self._on_finished)
        self._worker.start()

    def cancel(self) -> None:
        """Ask the job to stop; it ends at its next progress/cancel check."""
        self._cancel.set()

    # -- worker thread -------------------------------------------------------------------
    def _progress(self, fraction: float, message: str = "") -> None:
        now = time.perf_counter()
        if fraction < 1.0 and now - self._last_emit < self._min_interval:
            return
        self._last_emit = now
        self.progressed.emit(float(fraction), str(message))

    def _run(self) -> Any:
        if self._cancel.is_set():
            raise Cancelled("cancelled before start")
        kwargs = dict(self._kwargs)
        if self._report:
            kwargs["progress"] = self._progress
            kwargs["cancel"] = self._cancel.is_set
        return self._fn(*self._args, **kwargs)

    # -- GUI thread ----------------------------------------------------------------------
    def _on_returned(self, value: Any) -> None:
        if self._cancel.is_set():
            self.cancelled.emit()
        else:
            self.succeeded.emit(value)

    def _on_errored(self, exc: BaseException) -> None:
        if isinstance(exc, Cancelled) or self._cancel.is_set():
            self.cancelled.emit()
        else:
            logger.debug("background job failed", exc_info=exc)
            self.failed.emit(exc)

    def _on_finished(self) -> None:
        self._running = False
        self.finished.emit()
