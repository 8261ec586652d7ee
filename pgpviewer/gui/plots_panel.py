"""Review plots (pyqtgraph): uptake over time, Kaplan–Meier, events by mode, one track's trace.

Five plots in one grid: the fraction of recipients P-gp positive, cumulative transfer events,
the Kaplan–Meier "not yet acquired" curve with its 95 % band (``curves`` columns), events by
mode as bars, and the P-gp score of the selected track with the gate and the onset marked.
Each can be saved as PNG or SVG with pyqtgraph's exporters (:meth:`PlotsPanel.export_plot`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from pgpviewer.gui.result_layers import CLASS_COLORS, DONOR, RECIPIENT_POSITIVE
from pgpviewer.gui.uptake_panel import BACKGROUND, EVENTS_COLOR, time_axis

PLOTS = {
    "fraction": "Recipients P-gp+ (fraction)",
    "events": "Events (cumulative)",
    "km": "Not yet acquired (KM, 95 % CI)",
    "modes": "Events by mode",
    "trace": "Selected track P-gp score",
}
MODE_COLORS = {"contact": "#ffb000", "remote": "#4fc3f7"}
GATE_COLOR = "#ff6b6b"
TITLE_SIZE = "9pt"


class PlotsPanel(QWidget):
    """The review plots; :meth:`show_result` and :meth:`show_track` fill them."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        import pyqtgraph as pg

        pg.setConfigOptions(antialias=True, background=BACKGROUND, foreground="#d0d0d0")
        self.graphics = pg.GraphicsLayoutWidget()
        self.plots: dict[str, Any] = {}
        # one row: the bottom dock is wide and short
        for c, name in enumerate(PLOTS):
            p = self.graphics.addPlot(row=0, col=c)
            p.setTitle(PLOTS[name], size=TITLE_SIZE)
            p.titleLabel.setMaximumHeight(18)
            p.showGrid(x=True, y=True, alpha=0.2)
            p.getAxis("left").setWidth(38)
            self.plots[name] = p
        self.plots["events"].setXLink(self.plots["fraction"])
        self.plots["km"].setXLink(self.plots["fraction"])
        self.plots["fraction"].setYRange(0, 1, padding=0.05)
        self.plots["km"].setYRange(0, 1, padding=0.05)
        green = CLASS_COLORS[RECIPIENT_POSITIVE]
        self.frac_curve = self.plots["fraction"].plot(
            pen=pg.mkPen(green, width=2),
            symbol="o",
            symbolSize=4,
            symbolBrush=green,
            symbolPen=None,
        )
        self.event_curve = self.plots["events"].plot(
            pen=pg.mkPen(EVENTS_COLOR, width=2), stepMode="right"
        )
        self.km_low = pg.PlotDataItem(pen=pg.mkPen(None))
        self.km_high = pg.PlotDataItem(pen=pg.mkPen(None))
        self.km_band = pg.FillBetweenItem(
            self.km_low, self.km_high, brush=pg.mkBrush(80, 160, 255, 60)
        )
        self.plots["km"].addItem(self.km_low)
        self.plots["km"].addItem(self.km_high)
        self.plots["km"].addItem(self.km_band)
        self.km_curve = self.plots["km"].plot(pen=pg.mkPen("#4fc3f7", width=2), stepMode=None)
        self.mode_bars: Any = None
        self.mode_axis = self.plots["modes"].getAxis("bottom")
        for c, stretch in enumerate((2, 2, 2, 2, 3)):
            self.graphics.ci.layout.setColumnStretchFactor(c, stretch)
        self.plots["modes"].setMouseEnabled(x=False, y=False)
        self.trace_curve = self.plots["trace"].plot(
            pen=pg.mkPen(CLASS_COLORS[DONOR], width=2),
            symbol="o",
            symbolSize=5,
            symbolBrush=CLASS_COLORS[DONOR],
            symbolPen=None,
        )
        dash = Qt.PenStyle.DashLine
        self.gate_line = pg.InfiniteLine(
            angle=0,
            pen=pg.mkPen(GATE_COLOR, width=1, style=dash),
            label="gate",
            labelOpts={"color": GATE_COLOR, "position": 0.9},
        )
        self.onset_line = pg.InfiniteLine(
            angle=90,
            pen=pg.mkPen(green, width=2),
            label="onset",
            labelOpts={"color": green, "position": 0.9},
        )
        self.plots["trace"].addItem(self.gate_line)
        self.plots["trace"].addItem(self.onset_line)
        self.plots["trace"].setLabel("bottom", "frame")
        self.gate_line.setVisible(False)
        self.onset_line.setVisible(False)
        self.track_id: int | None = None
        self._result: Any = None

        self.which = QComboBox()
        for name, title in PLOTS.items():
            self.which.addItem(title, name)
        self.export_button = QPushButton("Save plot…")
        self.export_button.setToolTip("Save the chosen plot as PNG or SVG")
        self.export_button.clicked.connect(self._export_clicked)
        self.note = QLabel("")
        self.note.setStyleSheet("color: #9aa0a6;")
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.note, 1)
        bar.addWidget(self.which)
        bar.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        layout.addWidget(self.graphics, 1)
        layout.addLayout(bar)

    # -- content -------------------------------------------------------------------------
    def show_result(self, result: Any) -> None:
        self._result = result
        if result is None:
            for c in (
                self.frac_curve,
                self.event_curve,
                self.km_curve,
                self.km_low,
                self.km_high,
                self.trace_curve,
            ):
                c.setData([], [])
            self._set_bars({})
            self.show_track(None)
            return
        summary = result.summary
        x, label, unit = time_axis(summary)
        y = pd.to_numeric(summary["fraction_recipients_positive"], errors="coerce").to_numpy(float)
        ok = np.isfinite(y)
        self.frac_curve.setData(x[ok], y[ok])
        cum = pd.to_numeric(summary["cumulative_events"], errors="coerce").fillna(0).to_numpy(float)
        self.event_curve.setData(x, cum)
        self.plots["events"].setYRange(0, max(1.0, float(cum.max()) if len(cum) else 1.0))
        curves = result.curves
        if curves is not None and len(curves):
            cx = _curve_x(curves, unit)
            km = curves["km_not_acquired"].to_numpy(float)
            lo = curves["km_ci_low"].to_numpy(float)
            hi = curves["km_ci_high"].to_numpy(float)
            okk = np.isfinite(km)
            band = okk & np.isfinite(lo) & np.isfinite(hi)
            self.km_curve.setData(*_steps(cx[okk], km[okk]))  # a product-limit curve: steps
            self.km_low.setData(*_steps(cx[band], lo[band]))
            self.km_high.setData(*_steps(cx[band], hi[band]))
        for name in ("fraction", "events", "km"):
            self.plots[name].setLabel("bottom", label)
        if len(x):
            self.plots["fraction"].setXRange(float(x.min()), float(x.max()) or 1.0)
        ev = result.events
        counts = ev["mode"].value_counts().to_dict() if ev is not None and len(ev) else {}
        self._set_bars({m: int(counts.get(m, 0)) for m in ("contact", "remote")})
        self.note.setText(f"{len(ev) if ev is not None else 0} events · {label}")
        self.show_track(self.track_id)

    def _set_bars(self, counts: dict[str, int]) -> None:
        import pyqtgraph as pg

        p = self.plots["modes"]
        if self.mode_bars is not None:
            p.removeItem(self.mode_bars)
            self.mode_bars = None
        names = list(counts)
        if not names:
            return
        self.mode_bars = pg.BarGraphItem(
            x=np.arange(len(names)),
            height=[counts[n] for n in names],
            width=0.6,
            brushes=[pg.mkBrush(MODE_COLORS.get(n, "#aaaaaa")) for n in names],
        )
        p.addItem(self.mode_bars)
        self.mode_axis.setTicks([[(i, n) for i, n in enumerate(names)]])
        p.setXRange(-0.6, len(names) - 0.4)
        p.setYRange(0, max(1, max(counts.values())))

    def show_track(self, track_id: int | None) -> None:
        """Plot the P-gp score of ``track_id`` with the gate and its acquisition onset."""
        self.track_id = track_id
        p = self.plots["trace"]
        r = self._result
        if r is None or track_id is None:
            self.trace_curve.setData([], [])
            self.gate_line.setVisible(False)
            self.onset_line.setVisible(False)
            p.setTitle(PLOTS["trace"], size=TITLE_SIZE)
            return
        cells = r.cells[pd.to_numeric(r.cells["track_id"], errors="coerce") == track_id]
        cells = cells.sort_values("frame")
        score = pd.to_numeric(cells["pgp_score"], errors="coerce").to_numpy(float)
        frames = cells["frame"].to_numpy(float)
        ok = np.isfinite(score)
        self.trace_curve.setData(frames[ok], score[ok])
        pops = cells["population"].astype(str)
        pop = pops.mode().iloc[0] if len(pops) else "unknown"
        color = CLASS_COLORS[DONOR] if pop == "donor" else CLASS_COLORS[RECIPIENT_POSITIVE]
        self.trace_curve.setPen(color, width=2)
        self.trace_curve.setSymbolBrush(color)
        gate = getattr(getattr(r, "gate", None), "value", None)
        self.gate_line.setVisible(gate is not None)
        if gate is not None:
            self.gate_line.setValue(float(gate))
        row = r.tracks[r.tracks["track_id"] == track_id]
        onset = row["acquired_frame"].iloc[0] if len(row) else pd.NA
        self.onset_line.setVisible(pd.notna(onset))
        if pd.notna(onset):
            self.onset_line.setValue(float(onset))
        status = str(row["status"].iloc[0]) if len(row) else ""
        p.setTitle(f"Track {track_id} P-gp score", size=TITLE_SIZE)
        self.trace_tip = f"track {track_id}: {pop}, {status.replace('_', ' ')}"
        p.setToolTip(self.trace_tip)
        top = np.nanmax(score) if ok.any() else 1.0
        p.setYRange(0, max(top, float(gate or 0)) * 1.1 or 1.0)

    # -- export --------------------------------------------------------------------------
    def export_plot(self, name: str, path: str | Path) -> Path:
        """Save plot ``name`` (a key of :data:`PLOTS`) as PNG or SVG (by the suffix)."""
        import pyqtgraph.exporters as ex

        path = Path(path)
        item = self.plots[name]
        if path.suffix.lower() == ".svg":
            try:
                ex.SVGExporter(item).export(str(path))
            except ValueError:  # pyqtgraph cannot parse some paths Qt 6 writes: render directly
                _render_svg(item, path)
            return path
        exporter = ex.ImageExporter(item)
        exporter.parameters()["width"] = 800
        exporter.export(str(path))
        return path

    def _export_clicked(self) -> None:
        name = self.which.currentData()
        path, _ = QFileDialog.getSaveFileName(
            self, "Save plot", f"{name}.png", "PNG image (*.png);;SVG drawing (*.svg)"
        )
        if path:
            self.export_plot(name, path)


def _steps(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates of a right-continuous step function through (x, y)."""
    if len(x) < 2:
        return x, y
    xs = np.repeat(x, 2)[1:]
    ys = np.repeat(y, 2)[:-1]
    return xs, ys


def _render_svg(item: Any, path: Path) -> None:
    """Draw a plot item's area of its scene into an SVG file with Qt's SVG generator."""
    from qtpy.QtCore import QRectF, QSize
    from qtpy.QtGui import QPainter
    from qtpy.QtSvg import QSvgGenerator

    source = item.sceneBoundingRect()
    gen = QSvgGenerator()
    gen.setFileName(str(path))
    gen.setSize(QSize(int(source.width()), int(source.height())))
    gen.setViewBox(QRectF(0, 0, source.width(), source.height()))
    gen.setTitle(item.titleLabel.text or "pgpviewer plot")
    painter = QPainter(gen)
    try:
        item.scene().render(painter, QRectF(0, 0, source.width(), source.height()), source)
    finally:
        painter.end()


def _curve_x(curves: pd.DataFrame, unit: float) -> np.ndarray:
    if unit and "time_s" in curves and curves["time_s"].notna().all():
        return curves["time_s"].to_numpy(float) / unit
    return curves["frame"].to_numpy(float)
