"""Live preview: segmentation and puncta of the current frame, debounced, in a worker."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from qtpy.QtCore import QObject, QTimer, Signal

from pgpviewer.core.params import AnalysisParams
from pgpviewer.core.stack import Stack
from pgpviewer.gui.workers import TaskWorker

logger = logging.getLogger(__name__)


def preview_available() -> tuple[bool, str]:
    """Whether the core segmentation and puncta modules exist (found, not imported: cheap)."""
    from importlib.util import find_spec

    for name in ("pgpviewer.core.segmentation", "pgpviewer.core.puncta"):
        if find_spec(name) is None:
            return False, f"preview needs {name}, which is not installed"
    return True, ""


@dataclass
class PreviewResult:
    frame: int
    labels: np.ndarray
    puncta_yx: np.ndarray | None
    n_cells: int


def compute_preview(
    stack: Stack, frame: int, roles: Mapping[str, int], params: AnalysisParams
) -> PreviewResult:
    """Segment one frame and detect its puncta exactly as the pipeline does."""
    from pgpviewer.core.puncta import detect_puncta
    from pgpviewer.core.segmentation import segment_cells

    image = stack.projected_frame(frame - stack.frame_offset, params.z_projection)
    role_images = {role: image[idx] for role, idx in roles.items()}
    labels = np.asarray(segment_cells(role_images, params.segmentation))
    spots = None
    if "pgp" in roles and params.puncta.enabled:
        table = detect_puncta(image[roles["pgp"]], labels, params.puncta)
        spots = table[["y", "x"]].to_numpy(float) if len(table) else np.zeros((0, 2))
    n = int(len(np.unique(labels)) - (1 if (labels == 0).any() else 0))
    return PreviewResult(frame, labels, spots, n)


class PreviewWorker(QObject):
    """Recomputes the preview a moment after the last change; one job at a time.

    Requests arriving while a job runs are coalesced: when it ends, only the newest request
    is computed. Results of outdated requests are dropped.

    Signals
    -------
    ready(PreviewResult)
    failed(Exception)
    """

    ready = Signal(object)
    failed = Signal(object)

    def __init__(self, delay_ms: int = 350, parent: QObject | None = None):
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self._start)
        self._request: tuple | None = None
        self._generation = 0
        self._job: TaskWorker | None = None
        self._job_generation = -1
        self.enabled = False

    @property
    def busy(self) -> bool:
        return self._job is not None or self._timer.isActive()

    def request(
        self, stack: Stack | None, frame: int, roles: Mapping[str, int], params: AnalysisParams
    ) -> None:
        if not self.enabled or stack is None or not roles:
            return
        self._generation += 1
        self._request = (stack, frame, dict(roles), params)
        self._timer.start()

    def cancel(self) -> None:
        self._timer.stop()
        self._request = None
        self._generation += 1
        if self._job is not None:
            self._job.cancel()

    def _start(self) -> None:
        if self._job is not None or self._request is None:
            return  # restarted when the running job ends
        stack, frame, roles, params = self._request
        self._request = None
        self._job_generation = self._generation
        job = TaskWorker(compute_preview, stack, frame, roles, params, parent=self)
        job.succeeded.connect(self._done)
        job.failed.connect(self._error)
        job.finished.connect(self._finished)
        self._job = job
        job.start()

    def _done(self, result: PreviewResult) -> None:
        if self._job_generation == self._generation:
            self.ready.emit(result)

    def _error(self, exc: Exception) -> None:
        if self._job_generation == self._generation:
            logger.info("preview failed: %s", exc)
            self.failed.emit(exc)

    def _finished(self) -> None:
        job, self._job = self._job, None
        if job is not None:
            job.deleteLater()
        if self._request is not None:
            self._timer.start()
