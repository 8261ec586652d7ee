"""Buttons for manual corrections: merge, split, erase, paint, a track's population.

The panel only asks; :class:`~pgpviewer.gui.review.ReviewController` turns the requests into
undoable commands on the session's command stack.
"""

from __future__ import annotations

from qtpy.QtCore import Signal
from qtpy.QtWidgets import (
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from pgpviewer.session.corrections import POPULATIONS

HELP = (
    "Click a cell in the viewer (Shift+click adds a second one) or select rows in the "
    "Cells table. Every correction can be undone (Ctrl+Z); the tracks, events and counts "
    "are re-computed from the corrected labels."
)


class CorrectionsPanel(QWidget):
    """Correction requests.

    Signals
    -------
    merge_requested, split_requested, erase_requested
    paint_toggled(bool)
        Show the editable label layer (napari's brush, eraser and fill tools).
    population_requested(object)
        A population for the selected track, or None to remove the override.
    rerun_requested
    """

    merge_requested = Signal()
    split_requested = Signal()
    erase_requested = Signal()
    paint_toggled = Signal(bool)
    population_requested = Signal(object)
    rerun_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.selection_label = QLabel("No cell selected.")
        self.selection_label.setWordWrap(True)
        self.merge_button = QPushButton("Merge")
        self.merge_button.setToolTip("Merge the two selected cells into one")
        self.split_button = QPushButton("Split")
        self.split_button.setToolTip("Split the selected cell in two along its long axis")
        self.erase_button = QPushButton("Erase")
        self.erase_button.setToolTip("Remove the selected cell(s) from this frame")
        self.paint_button = QPushButton("Paint labels")
        self.paint_button.setCheckable(True)
        self.paint_button.setToolTip(
            "Edit the labels with napari's brush, eraser and fill (layer 'edit: cell labels')"
        )
        self.merge_button.clicked.connect(self.merge_requested)
        self.split_button.clicked.connect(self.split_requested)
        self.erase_button.clicked.connect(self.erase_requested)
        self.paint_button.toggled.connect(self.paint_toggled)
        cells_box = QGroupBox("Cells")
        grid = QGridLayout(cells_box)
        grid.addWidget(self.merge_button, 0, 0)
        grid.addWidget(self.split_button, 0, 1)
        grid.addWidget(self.erase_button, 1, 0)
        grid.addWidget(self.paint_button, 1, 1)

        self.population_combo = QComboBox()
        self.population_combo.addItems(list(POPULATIONS))
        self.set_population_button = QPushButton("Set")
        self.set_population_button.setToolTip(
            "Set the population of the selected track (and its daughters)"
        )
        self.clear_population_button = QPushButton("Reset")
        self.clear_population_button.setToolTip("Use the population the analysis decided")
        self.set_population_button.clicked.connect(
            lambda: self.population_requested.emit(self.population_combo.currentText())
        )
        self.clear_population_button.clicked.connect(lambda: self.population_requested.emit(None))
        track_box = QGroupBox("Track population")
        row = QHBoxLayout(track_box)
        row.addWidget(self.population_combo, 1)
        row.addWidget(self.set_population_button)
        row.addWidget(self.clear_population_button)

        self.state_label = QLabel("")
        self.state_label.setWordWrap(True)
        self.state_label.setStyleSheet("color: #9aa0a6;")
        self.rerun_button = QPushButton("Re-run now")
        self.rerun_button.setToolTip("Re-compute tracks, events and counts from the labels")
        self.rerun_button.clicked.connect(self.rerun_requested)
        state_row = QHBoxLayout()
        state_row.addWidget(self.state_label, 1)
        state_row.addWidget(self.rerun_button)
        help_label = QLabel(HELP)
        help_label.setWordWrap(True)
        help_label.setStyleSheet("color: #9aa0a6; font-size: 11px;")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.selection_label)
        layout.addWidget(cells_box)
        layout.addWidget(track_box)
        layout.addLayout(state_row)
        layout.addWidget(help_label)
        layout.addStretch(1)
        self.set_selection([], None)
        self.set_enabled(False)

    def set_enabled(self, on: bool) -> None:
        for w in (self.paint_button, self.rerun_button):
            w.setEnabled(on)
        if not on:
            for w in (
                self.merge_button,
                self.split_button,
                self.erase_button,
                self.set_population_button,
                self.clear_population_button,
            ):
                w.setEnabled(False)

    def set_selection(self, cells: list[tuple[int, int]], description: str | None) -> None:
        """``cells``: selected (frame, label); ``description``: text about the first one."""
        n = len(cells)
        same_frame = n == 2 and cells[0][0] == cells[1][0]
        self.merge_button.setEnabled(same_frame)
        self.split_button.setEnabled(n == 1)
        self.erase_button.setEnabled(n >= 1)
        self.set_population_button.setEnabled(n >= 1)
        self.clear_population_button.setEnabled(n >= 1)
        if not n:
            self.selection_label.setText("No cell selected.")
        else:
            extra = f" + cell {cells[1][1]}" if n > 1 else ""
            self.selection_label.setText((description or f"Cell {cells[0][1]}") + extra)

    def set_state(self, text: str) -> None:
        self.state_label.setText(text)
