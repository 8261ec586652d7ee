"""The experiment folder's files: name, size, dimensions and analysis status."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from qtpy.QtCore import Qt, Signal
from qtpy.QtGui import QBrush, QColor
from qtpy.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from pgpviewer.session.experiment import ExperimentEntry
from pgpviewer.session.session import FileStatus

STATUS_COLORS = {
    FileStatus.NOT_ANALYSED: "#9aa0a6",
    FileStatus.RUNNING: "#6fb7ff",
    FileStatus.ANALYSED: "#5fd35f",
    FileStatus.FAILED: "#ff6b6b",
    FileStatus.OUT_OF_DATE: "#f0a030",
}
NAME, SIZE, DIMS, STATUS = range(4)
_PATH_ROLE = Qt.ItemDataRole.UserRole


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"  # pragma: no cover


class FilePanel(QWidget):
    """Lists an experiment folder; a click (or Enter) opens a file.

    Signals
    -------
    file_activated(Path)
        The user asked to open this file or frame folder.
    folder_chosen(Path)
        The user picked another experiment folder (browse or recent list).
    """

    file_activated = Signal(object)
    folder_chosen = Signal(object)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._items: dict[Path, QTreeWidgetItem] = {}
        self._folder: Path | None = None

        self.folder_combo = QComboBox()
        self.folder_combo.setToolTip("Experiment folder (recent folders in the list)")
        self.folder_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.folder_combo.setMinimumContentsLength(12)
        self.folder_combo.activated.connect(self._recent_picked)
        self.browse_button = QPushButton("Open folder…")
        self.browse_button.setToolTip("Choose the experiment folder with your image files")
        self.browse_button.clicked.connect(self._browse)
        top = QHBoxLayout()
        top.addWidget(self.folder_combo, 1)
        top.addWidget(self.browse_button)

        self.tree = QTreeWidget()
        self.tree.setColumnCount(4)
        self.tree.setHeaderLabels(["File", "Size", "Dimensions", "Status"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setToolTip("Click a file to open it; Ctrl+PgDown / Ctrl+PgUp: next / previous")
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(NAME, QHeaderView.ResizeMode.Stretch)
        for col in (SIZE, DIMS, STATUS):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.itemClicked.connect(self._clicked)
        self.tree.itemActivated.connect(self._clicked)

        self.hint = QLabel("Drop image files or a folder here, or open a folder.")
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #9aa0a6;")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.hint)

    # -- folder --------------------------------------------------------------------------
    def set_recent_folders(self, folders: Sequence[str]) -> None:
        self.folder_combo.blockSignals(True)
        self.folder_combo.clear()
        for f in folders:
            self.folder_combo.addItem(Path(f).name or f, f)
            self.folder_combo.setItemData(
                self.folder_combo.count() - 1, f, Qt.ItemDataRole.ToolTipRole
            )
        if self._folder is not None:
            idx = self.folder_combo.findData(str(self._folder))
            if idx < 0:
                self.folder_combo.insertItem(0, self._folder.name, str(self._folder))
                idx = 0
            self.folder_combo.setCurrentIndex(idx)
        self.folder_combo.blockSignals(False)

    def set_folder(self, folder: Path | None, entries: Sequence[ExperimentEntry]) -> None:
        """Show ``entries`` of ``folder`` (dimensions and status are filled in later)."""
        self._folder = folder
        self.tree.clear()
        self._items.clear()
        for e in entries:
            item = QTreeWidgetItem([e.name, human_size(e.size_bytes), "…", ""])
            item.setData(NAME, _PATH_ROLE, str(e.path))
            tip = str(e.path) if e.kind == "file" else f"{e.path}\n{e.n_files} frame files"
            item.setToolTip(NAME, tip)
            item.setTextAlignment(SIZE, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.tree.addTopLevelItem(item)
            self._items[Path(e.path)] = item
        if folder is not None:
            idx = self.folder_combo.findData(str(folder))
            self.folder_combo.blockSignals(True)
            if idx < 0:
                self.folder_combo.insertItem(0, folder.name or str(folder), str(folder))
                idx = 0
            self.folder_combo.setCurrentIndex(idx)
            self.folder_combo.blockSignals(False)
        n = len(entries)
        self.hint.setText(
            f"{n} image file{'s' if n != 1 else ''} in {folder}"
            if folder is not None
            else "Drop image files or a folder here, or open a folder."
        )
        self.hint.setToolTip(str(folder) if folder else "")

    # -- rows ----------------------------------------------------------------------------
    @property
    def paths(self) -> list[Path]:
        return [
            Path(self.tree.topLevelItem(i).data(NAME, _PATH_ROLE))
            for i in range(self.tree.topLevelItemCount())
        ]

    def item(self, path: Path) -> QTreeWidgetItem | None:
        return self._items.get(Path(path))

    def set_dims(self, path: Path, text: str, error: str = "") -> None:
        item = self.item(path)
        if item is None:
            return
        item.setText(DIMS, text)
        item.setToolTip(DIMS, error or text)
        if error:
            item.setForeground(DIMS, QBrush(QColor(STATUS_COLORS[FileStatus.FAILED])))

    def set_status(self, path: Path, status: FileStatus, tooltip: str = "") -> None:
        item = self.item(path)
        if item is None:
            return
        item.setText(STATUS, status.value)
        item.setForeground(STATUS, QBrush(QColor(STATUS_COLORS[status])))
        item.setToolTip(STATUS, tooltip or status.value)

    def status_text(self, path: Path) -> str:
        item = self.item(path)
        return item.text(STATUS) if item is not None else ""

    def select(self, path: Path | None) -> None:
        """Highlight the open file without emitting ``file_activated``."""
        item = self.item(path) if path is not None else None
        self.tree.blockSignals(True)
        if item is None:
            self.tree.clearSelection()
        else:
            self.tree.setCurrentItem(item)
            self.tree.scrollToItem(item)
        self.tree.blockSignals(False)

    def neighbour(self, current: Path | None, step: int) -> Path | None:
        """The file ``step`` rows after ``current`` (None at either end)."""
        paths = self.paths
        if not paths:
            return None
        if current is None or Path(current) not in paths:
            return paths[0] if step > 0 else paths[-1]
        i = paths.index(Path(current)) + step
        return paths[i] if 0 <= i < len(paths) else None

    # -- slots ---------------------------------------------------------------------------
    def _clicked(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        self.file_activated.emit(Path(item.data(NAME, _PATH_ROLE)))

    def _recent_picked(self, index: int) -> None:
        folder = self.folder_combo.itemData(index)
        if folder:
            self.folder_chosen.emit(Path(folder))

    def _browse(self) -> None:
        start = str(self._folder) if self._folder else ""
        folder = QFileDialog.getExistingDirectory(self, "Open experiment folder", start)
        if folder:
            self.folder_chosen.emit(Path(folder))
