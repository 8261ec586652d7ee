"""Run / Cancel, the progress bar with what is being done and the time left."""

from __future__ import annotations

import time

from qtpy.QtCore import Signal
from qtpy.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


def format_duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class EtaEstimator:
    """Time left from elapsed time and fraction done (needs a few % and ~1 s first)."""

    def __init__(self):
        self.t0 = time.perf_counter()

    def reset(self) -> None:
        self.t0 = time.perf_counter()

    def remaining(self, fraction: float, now: float | None = None) -> float | None:
        elapsed = (now if now is not None else time.perf_counter()) - self.t0
        if fraction < 0.02 or elapsed < 1.0:
            return None
        return elapsed * (1.0 - fraction) / fraction


class RunPanel(QWidget):
    """Starts and cancels the analysis and shows its progress.

    Signals
    -------
    run_requested, cancel_requested
    """

    run_requested = Signal()
    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.eta = EtaEstimator()
        self.run_button = QPushButton("▶  Run analysis")
        self.run_button.setToolTip(
            "Analyse the open file with these channel roles and parameters (Ctrl+R)"
        )
        self.run_button.setMinimumHeight(30)
        self.run_button.clicked.connect(self.run_requested)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the running analysis (Esc)")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self._cancel_clicked)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button, 1)
        buttons.addWidget(self.cancel_button)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("")
        self.message = QLabel("Open a file, check the channel roles, then run.")
        self.message.setWordWrap(True)
        self.eta_label = QLabel("")
        self.state_label = QLabel("")
        self.state_label.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 6)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        row = QHBoxLayout()
        row.addWidget(self.message, 1)
        row.addWidget(self.eta_label)
        layout.addLayout(row)
        layout.addWidget(self.state_label)

    # -- states --------------------------------------------------------------------------
    def set_can_run(self, ok: bool, reason: str = "") -> None:
        self.run_button.setEnabled(ok)
        if not ok and reason:
            self.run_button.setToolTip(reason)

    def started(self) -> None:
        self.eta.reset()
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText("Cancel")
        self.progress.setValue(0)
        self.progress.setFormat("%p %")
        self.message.setText("starting…")
        self.eta_label.setText("")
        self.set_result_state("Running…", "#6fb7ff")

    def update_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(round(1000 * min(max(fraction, 0.0), 1.0)))
        if message:
            self.message.setText(message)
        left = self.eta.remaining(fraction)
        self.eta_label.setText(f"{format_duration(left)} left" if left is not None else "")

    def stopped(self, text: str, ok: bool = True) -> None:
        elapsed = time.perf_counter() - self.eta.t0
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.cancel_button.setText("Cancel")
        if ok:
            self.progress.setValue(1000)
        self.progress.setFormat("%p %" if ok else "")
        if not ok:
            self.progress.setValue(0)
        self.message.setText(text)
        self.eta_label.setText(f"{format_duration(elapsed)}" if ok else "")

    def set_result_state(self, text: str, color: str = "") -> None:
        self.state_label.setText(text)
        self.state_label.setStyleSheet(f"color: {color};" if color else "")

    def _cancel_clicked(self) -> None:
        self.cancel_button.setEnabled(False)
        self.cancel_button.setText("Cancelling…")
        self.cancel_requested.emit()
