"""Uptake over time: fraction of recipients P-gp positive, cumulative events, summary table."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from qtpy.QtCore import QModelIndex, Qt, Signal
from qtpy.QtWidgets import (
    QHeaderView,
    QLabel,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from pgpviewer.gui.result_layers import CLASS_COLORS, RECIPIENT_POSITIVE, uptake_headline
from pgpviewer.gui.tables_panel import PandasTableModel

SUMMARY_COLUMNS = {
    "frame": "frame",
    "time_s": "time (s)",
    "n_cells": "cells",
    "n_donors": "donors",
    "n_recipients": "recipients",
    "n_recipients_positive": "recip. P-gp+",
    "fraction_recipients_positive": "fraction P-gp+",
    "new_events": "new events",
    "cumulative_events": "cum. events",
    "puncta_in_recipients": "puncta in recip.",
}
EVENTS_COLOR = "#ffb000"
BACKGROUND = "#262930"  # napari dark theme background


def time_axis(summary: pd.DataFrame) -> tuple[np.ndarray, str, float]:
    """(x values, axis label, seconds per unit) — hours/minutes when time is known."""
    frames = summary["frame"].to_numpy(float)
    t = summary["time_s"] if "time_s" in summary else None
    if t is None or t.isna().all():
        return frames, "frame", 0.0
    ts = pd.to_numeric(t, errors="coerce").to_numpy(float)
    span = np.nanmax(ts) - np.nanmin(ts) if len(ts) else 0.0
    if span >= 3 * 3600:
        return ts / 3600, "time (h)", 3600.0
    if span >= 180:
        return ts / 60, "time (min)", 60.0
    return ts, "time (s)", 1.0


class UptakePanel(QWidget):
    """Two linked plots over time and the per-frame summary table.

    The plots are created on the first result (pyqtgraph is imported then, not at start-up).
    A vertical line marks the viewer's frame; dragging it moves the viewer.

    Signals
    -------
    frame_requested(int)
        The user dragged the frame line or clicked a table row.
    """

    frame_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._plots = None
        self._frames = np.zeros(0)
        self._x = np.zeros(0)
        self._frame_lines: list = []
        self._moving = False

        self.headline = QLabel("")
        self.headline.setWordWrap(True)
        self.placeholder = QLabel("Uptake curves appear here after an analysis.")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setStyleSheet("color: #9aa0a6;")
        self.model = PandasTableModel(list(SUMMARY_COLUMNS), headers=SUMMARY_COLUMNS)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(20)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.clicked.connect(self._row_clicked)

        self.plot_host = QStackedWidget()
        self.plot_host.addWidget(self.placeholder)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.plot_host)
        self.splitter.addWidget(self.table)
        self.splitter.setStretchFactor(0, 5)
        self.splitter.setStretchFactor(1, 3)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addWidget(self.headline)
        layout.addWidget(self.splitter, 1)

    # -- plots ---------------------------------------------------------------------------
    def _ensure_plots(self):
        if self._plots is not None:
            return self._plots
        import pyqtgraph as pg

        pg.setConfigOptions(antialias=True, background=BACKGROUND, foreground="#d0d0d0")
        widget = pg.GraphicsLayoutWidget()
        frac = widget.addPlot(row=0, col=0, title="Recipients P-gp positive (fraction)")
        events = widget.addPlot(row=0, col=1, title="Transfer events (cumulative)")
        events.setXLink(frac)
        frac.setYRange(0, 1, padding=0.05)
        for p in (frac, events):
            p.titleLabel.setMaximumHeight(18)
            p.showGrid(x=True, y=True, alpha=0.2)
            p.setMouseEnabled(x=True, y=False)
            p.getAxis("left").setWidth(36)
        frac_curve = frac.plot(
            pen=pg.mkPen(CLASS_COLORS[RECIPIENT_POSITIVE], width=2),
            symbol="o",
            symbolSize=4,
            symbolBrush=CLASS_COLORS[RECIPIENT_POSITIVE],
            symbolPen=None,
        )
        event_curve = events.plot(pen=pg.mkPen(EVENTS_COLOR, width=2), stepMode="right")
        self._frame_lines = []
        for p in (frac, events):
            line = pg.InfiniteLine(
                angle=90, movable=True, pen=pg.mkPen("#ffffff", width=1, style=Qt.PenStyle.DashLine)
            )
            line.sigPositionChanged.connect(self._line_moved)
            p.addItem(line)
            self._frame_lines.append(line)
        self.plot_host.addWidget(widget)
        self._plots = (widget, frac, events, frac_curve, event_curve)
        return self._plots

    @property
    def plot_items(self):
        """(fraction plot, events plot) or None before the first result (for tests)."""
        return None if self._plots is None else self._plots[1:3]

    def show_result(self, result: Any) -> None:
        if result is None:
            self.clear()
            return
        summary = result.summary if result.summary is not None else pd.DataFrame()
        self.model.set_frame(summary)
        self.table.resizeColumnsToContents()
        self.headline.setText(uptake_headline(result))
        if not len(summary):
            self.plot_host.setCurrentWidget(self.placeholder)
            return
        widget, frac, events, frac_curve, event_curve = self._ensure_plots()
        x, label, _ = time_axis(summary)
        self._frames = summary["frame"].to_numpy(int)
        self._x = x
        y = pd.to_numeric(summary["fraction_recipients_positive"], errors="coerce").to_numpy(float)
        cum = pd.to_numeric(summary["cumulative_events"], errors="coerce").fillna(0).to_numpy(float)
        finite = np.isfinite(y)
        frac_curve.setData(x[finite], y[finite])
        event_curve.setData(x, cum)
        frac.setLabel("bottom", label)
        events.setLabel("bottom", label)
        events.setYRange(0, max(1.0, float(cum.max()) if len(cum) else 1.0), padding=0.05)
        frac.setXRange(float(x.min()), float(x.max()) if len(x) > 1 else float(x.min()) + 1)
        self.plot_host.setCurrentWidget(widget)

    def clear(self) -> None:
        self.model.set_frame(pd.DataFrame(columns=list(SUMMARY_COLUMNS)))
        self.headline.setText("")
        self.plot_host.setCurrentWidget(self.placeholder)
        self._frames = np.zeros(0)

    # -- frame sync ----------------------------------------------------------------------
    def set_frame(self, frame: int) -> None:
        """Move the frame line to ``frame`` (from the viewer)."""
        if self._plots is None or not len(self._frames):
            return
        i = int(np.clip(np.searchsorted(self._frames, frame), 0, len(self._frames) - 1))
        self._moving = True
        for line in self._frame_lines:
            line.setValue(float(self._x[i]))
        self._moving = False

    def _line_moved(self, line) -> None:
        if self._moving or not len(self._frames):
            return
        i = int(np.argmin(np.abs(self._x - line.value())))
        self._moving = True
        for other in self._frame_lines:
            if other is not line:
                other.setValue(line.value())
        self._moving = False
        self.frame_requested.emit(int(self._frames[i]))

    def _row_clicked(self, index: QModelIndex) -> None:
        df = self.model.frame
        if "frame" in df.columns and 0 <= index.row() < len(df):
            self.frame_requested.emit(int(df["frame"].iloc[index.row()]))
