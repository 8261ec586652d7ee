"""Legend of the result layers, with a check box per layer to show or hide it."""

from __future__ import annotations

from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import QCheckBox, QGridLayout, QLabel, QVBoxLayout, QWidget

from pgpviewer.gui.result_layers import (
    CELLS_LAYER,
    CLASS_COLORS,
    DONOR,
    EVENT_COLOR,
    EVENTS_LAYER,
    PUNCTA_LAYER,
    RECIPIENT_NEGATIVE,
    RECIPIENT_POSITIVE,
    TRACKS_LAYER,
    UNKNOWN,
)

_SHORT = {
    DONOR: "donor",
    RECIPIENT_NEGATIVE: "recipient P-gp−",
    RECIPIENT_POSITIVE: "recipient P-gp+",
    UNKNOWN: "unknown",
}


def _swatch(color: str, glyph: str = "■") -> QLabel:
    label = QLabel(f"<span style='color:{color}; font-size:12pt'>{glyph}</span>")
    label.setFixedWidth(18)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    return label


class LegendPanel(QWidget):
    """What the colours and markers of the result layers mean.

    Signals
    -------
    visibility_toggled(str, bool)
        A layer's check box was toggled (layer name, visible).
    """

    visibility_toggled = Signal(str, bool)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.checks: dict[str, QCheckBox] = {}
        grid = QGridLayout()
        grid.setHorizontalSpacing(4)
        grid.setVerticalSpacing(0)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)

        def check(layer: str, title: str, tip: str, row: int, col: int) -> None:
            box = QCheckBox(title)
            box.setToolTip(tip)
            box.setChecked(True)
            box.toggled.connect(lambda on, n=layer: self.visibility_toggled.emit(n, on))
            grid.addWidget(box, row, col, 1, 2)
            self.checks[layer] = box

        def entry(color: str, text: str, row: int, col: int, glyph: str = "■") -> None:
            grid.addWidget(_swatch(color, glyph), row, col)
            grid.addWidget(QLabel(text), row, col + 1)

        # left column: the cells; right column: the markers
        check(CELLS_LAYER, "Cells", "Cell outlines coloured by population and P-gp status", 0, 0)
        for i, code in enumerate((DONOR, RECIPIENT_NEGATIVE, RECIPIENT_POSITIVE, UNKNOWN)):
            entry(CLASS_COLORS[code], _SHORT[code], 1 + i, 0)
        check(
            EVENTS_LAYER,
            "Transfer events",
            "Recipients becoming P-gp positive and their "
            "source donor (D = donor track, R = recipient track)",
            0,
            2,
        )
        entry(EVENT_COLOR, "contact: D12 → R7", 1, 2, "☆")
        entry(EVENT_COLOR, "remote (no contact)", 2, 2, "◇")
        check(PUNCTA_LAYER, "P-gp puncta", "Detected P-gp spots (vesicles), yellow rings", 3, 2)
        check(TRACKS_LAYER, "Tracks", "Recent path of each tracked cell (colour per track)", 4, 2)

        self.gate_label = QLabel("")
        self.gate_label.setWordWrap(True)
        self.gate_label.setStyleSheet("color: #9aa0a6;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addLayout(grid)
        layout.addWidget(self.gate_label)
        layout.addStretch(1)
        self.set_available(False)

    def set_available(self, on: bool) -> None:
        """Enable the check boxes when result layers exist."""
        for check in self.checks.values():
            check.setEnabled(on)
        if not on:
            self.gate_label.setText("Run the analysis to see cells, tracks, puncta and events.")

    def set_visible(self, layer: str, visible: bool) -> None:
        check = self.checks.get(layer)
        if check is not None and check.isChecked() != visible:
            check.blockSignals(True)
            check.setChecked(visible)
            check.blockSignals(False)

    def set_gate_text(self, text: str) -> None:
        self.gate_label.setText(text)
