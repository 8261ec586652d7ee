"""Linked tables of cells, tracks and events: sortable, filterable, selection → viewer.

Each table is a :class:`QTableView` over a :class:`PandasTableModel` behind a
:class:`QSortFilterProxyModel` (sorting on the raw values, filtering on the displayed text of
every column). The cells table shows the viewer's frame (or every frame) and can be narrowed to
one track. Selecting a row emits which cell, track or event was chosen; the window moves the
viewer there. :meth:`TablesPanel.select_cell` etc. select a row from outside (a click in the
viewer) without echoing the signal back.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from qtpy.QtCore import (
    QAbstractTableModel,
    QItemSelectionModel,
    QModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from qtpy.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from pgpviewer.core.export import TRACKS_COLUMNS

CELL_COLUMNS = [
    "frame",
    "label",
    "track_id",
    "population",
    "area_px",
    "pgp_score",
    "pgp_positive",
    "pgp_puncta",
    "touching_donor",
    "nearest_donor_track_id",
    "centroid_y",
    "centroid_x",
]
EVENT_COLUMNS = [
    "event_id",
    "review",
    "recipient_track_id",
    "frame",
    "time_s",
    "donor_track_id",
    "mode",
    "pgp_score_before",
    "pgp_score_after",
]
HEADERS = {
    "track_id": "track",
    "parent_track_id": "parent",
    "recipient_track_id": "recipient",
    "donor_track_id": "donor",
    "nearest_donor_track_id": "near donor",
    "area_px": "area (px)",
    "pgp_score": "P-gp score",
    "pgp_positive": "P-gp+",
    "pgp_puncta": "puncta",
    "touching_donor": "touches donor",
    "centroid_y": "y",
    "centroid_x": "x",
    "first_frame": "first",
    "last_frame": "last",
    "n_frames": "frames",
    "acquired_frame": "acquired",
    "puncta_gained": "puncta gained",
    "event_id": "event",
    "time_s": "time (s)",
    "pgp_score_before": "score before",
    "pgp_score_after": "score after",
}
RAW_ROLE = Qt.ItemDataRole.UserRole + 1
REVIEW_COLORS = {"rejected": "#ff6b6b", "accepted": "#5fd35f"}


def _display(v: Any) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, bool | np.bool_):
        return "yes" if v else "no"
    if isinstance(v, float | np.floating):
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"
    return str(v)


class PandasTableModel(QAbstractTableModel):
    """Read-only model over a DataFrame; ``RAW_ROLE`` gives sortable raw values."""

    def __init__(self, columns: list[str], parent=None, headers: dict[str, str] | None = None):
        super().__init__(parent)
        self.columns = columns
        self.headers = HEADERS if headers is None else headers
        self._df = pd.DataFrame(columns=columns)
        self._raw: list[np.ndarray] = []
        self._text: list[list[str]] = []

    def set_frame(self, df: pd.DataFrame | None) -> None:
        self.beginResetModel()
        df = pd.DataFrame(columns=self.columns) if df is None else df
        cols = [c for c in self.columns if c in df.columns]
        self._df = df[cols].reset_index(drop=True)
        self._raw = []
        self._text = []
        for c in cols:
            values = self._df[c].tolist()
            self._text.append([_display(v) for v in values])
            num = pd.to_numeric(self._df[c], errors="coerce")
            if num.notna().any() and self._df[c].dtype != object:
                self._raw.append(num.astype(float).fillna(-np.inf).to_numpy(float))
            else:
                self._raw.append(np.asarray(self._text[-1], dtype=object))
        self.endResetModel()

    @property
    def frame(self) -> pd.DataFrame:
        return self._df

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._df)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._df.columns)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        r, c = index.row(), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text[c][r]
        if role == RAW_ROLE:
            v = self._raw[c][r]
            return float(v) if isinstance(v, float | np.floating) else str(v)
        if role == Qt.ItemDataRole.ForegroundRole and self._df.columns[c] == "review":
            from qtpy.QtGui import QColor

            color = REVIEW_COLORS.get(self._text[c][r])
            return QColor(color) if color else None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if isinstance(self._raw[c], np.ndarray) and self._raw[c].dtype == float:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section: int, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role != Qt.ItemDataRole.DisplayRole or orientation != Qt.Orientation.Horizontal:
            return None
        col = str(self._df.columns[section])
        return self.headers.get(col, col)

    def row_of(self, **values: Any) -> int:
        """First row whose columns equal ``values`` (-1 when none)."""
        if not len(self._df):
            return -1
        hit = np.ones(len(self._df), bool)
        for col, v in values.items():
            if col not in self._df.columns:
                return -1
            hit &= (pd.to_numeric(self._df[col], errors="coerce") == v).to_numpy(bool)
        rows = np.flatnonzero(hit)
        return int(rows[0]) if len(rows) else -1


class FilteredTable(QWidget):
    """A filter box above a sortable table; emits the selected row as a dict."""

    row_selected = Signal(dict)

    def __init__(self, columns: list[str], placeholder: str, parent=None):
        super().__init__(parent)
        self.model = PandasTableModel(columns, self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(RAW_ROLE)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText(placeholder)
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self.proxy.setFilterFixedString)
        self.view = QTableView()
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QTableView.SelectionMode.ExtendedSelection)
        self.view.verticalHeader().setVisible(False)
        self.view.verticalHeader().setDefaultSectionSize(20)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.view.horizontalHeader().setHighlightSections(False)
        self.view.selectionModel().currentRowChanged.connect(self._current_changed)
        self.count_label = QLabel("")
        self.count_label.setStyleSheet("color: #9aa0a6;")
        self.proxy.rowsInserted.connect(self._update_count)
        self.proxy.rowsRemoved.connect(self._update_count)
        self.proxy.modelReset.connect(self._update_count)
        self.proxy.layoutChanged.connect(self._update_count)
        self._quiet = False

        self.top = QHBoxLayout()
        self.top.setContentsMargins(0, 0, 0, 0)
        self.top.addWidget(self.filter_edit, 1)
        self.top.addWidget(self.count_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        layout.addLayout(self.top)
        layout.addWidget(self.view, 1)

    def _update_count(self, *_):
        n, total = self.proxy.rowCount(), self.model.rowCount()
        self.count_label.setText(f"{n} of {total}" if n != total else f"{total} rows")

    def set_frame(self, df: pd.DataFrame | None) -> None:
        self._quiet = True
        try:
            self.model.set_frame(df)
            self.view.resizeColumnsToContents()
        finally:
            self._quiet = False
        self._update_count()

    def row_dict(self, source_row: int) -> dict:
        df = self.model.frame
        return {k: df[k].iloc[source_row] for k in df.columns}

    def selected_rows(self) -> list[dict]:
        rows = {self.proxy.mapToSource(i).row() for i in self.view.selectionModel().selectedRows()}
        return [self.row_dict(r) for r in sorted(rows)]

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self._quiet or not current.isValid():
            return
        self.row_selected.emit(self.row_dict(self.proxy.mapToSource(current).row()))

    def select(self, **values: Any) -> bool:
        """Select (and scroll to) the row matching ``values`` without emitting ``row_selected``."""
        row = self.model.row_of(**values)
        if row < 0:
            return False
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        if not index.isValid():  # filtered out
            return False
        self._quiet = True
        try:
            flags = (
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows
            )
            self.view.selectionModel().setCurrentIndex(index, flags)
            self.view.scrollTo(index)
        finally:
            self._quiet = False
        return True


class TablesPanel(QWidget):
    """Cells, tracks and events tables in tabs.

    Signals
    -------
    cell_selected(int, int)
        (file frame, label) of the chosen cell row.
    track_selected(int)
    event_selected(int)
        ``event_id``.
    """

    cell_selected = Signal(int, int)
    track_selected = Signal(int)
    event_selected = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._cells = pd.DataFrame()
        self._frame = 0
        self._track: int | None = None
        self.cells = FilteredTable(CELL_COLUMNS, "Filter cells (any column, e.g. recipient)")
        self.this_frame = QCheckBox("this frame only")
        self.this_frame.setChecked(True)
        self.this_frame.toggled.connect(lambda _: self._refresh_cells())
        self.track_only = QCheckBox("selected track")
        self.track_only.setToolTip("Show only the cells of the selected track (all frames)")
        self.track_only.toggled.connect(lambda _: self._refresh_cells())
        self.cells.top.insertWidget(1, self.this_frame)
        self.cells.top.insertWidget(2, self.track_only)
        self.tracks = FilteredTable(TRACKS_COLUMNS, "Filter tracks (e.g. event, donor)")
        self.events = FilteredTable(EVENT_COLUMNS, "Filter events (e.g. contact, rejected)")
        self.tabs = QTabWidget()
        self.tabs.addTab(self.cells, "Cells")
        self.tabs.addTab(self.tracks, "Tracks")
        self.tabs.addTab(self.events, "Events")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.tabs)
        self.cells.row_selected.connect(
            lambda r: self.cell_selected.emit(int(r["frame"]), int(r["label"]))
        )
        self.tracks.row_selected.connect(lambda r: self.track_selected.emit(int(r["track_id"])))
        self.events.row_selected.connect(lambda r: self.event_selected.emit(int(r["event_id"])))

    # -- content -------------------------------------------------------------------------
    def show_result(self, result: Any, candidates: pd.DataFrame | None = None) -> None:
        """Fill the tables; ``candidates`` are the events with their review decision."""
        if result is None:
            self._cells = pd.DataFrame()
            for t in (self.cells, self.tracks, self.events):
                t.set_frame(None)
            return
        self._cells = result.cells
        self._refresh_cells()
        self.tracks.set_frame(result.tracks)
        events = candidates if candidates is not None else result.events
        self.events.set_frame(events)

    def _refresh_cells(self) -> None:
        df = self._cells
        if not len(df):
            self.cells.set_frame(None)
            return
        if self.track_only.isChecked() and self._track is not None:
            df = df[pd.to_numeric(df["track_id"], errors="coerce") == self._track]
        elif self.this_frame.isChecked():
            df = df[df["frame"] == self._frame]
        self.cells.set_frame(df)

    def set_frame(self, frame: int) -> None:
        """Follow the viewer's frame (the cells table shows it when "this frame only")."""
        if frame == self._frame:
            return
        self._frame = int(frame)
        if self.this_frame.isChecked() and not self.track_only.isChecked():
            self._refresh_cells()

    def set_track(self, track_id: int | None) -> None:
        self._track = track_id
        if self.track_only.isChecked():
            self._refresh_cells()

    # -- selection from outside ----------------------------------------------------------
    def select_cell(self, frame: int, label: int) -> bool:
        self.set_frame(frame)
        return self.cells.select(frame=frame, label=label)

    def select_track(self, track_id: int) -> bool:
        return self.tracks.select(track_id=track_id)

    def select_event(self, event_id: int) -> bool:
        return self.events.select(event_id=event_id)
