"""Dialogs: errors (one line for input errors, details for the unexpected) and About."""

from __future__ import annotations

import platform
import sys
import traceback
from importlib import metadata

from qtpy.QtCore import Qt
from qtpy.QtGui import QGuiApplication
from qtpy.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from pgpviewer.core.errors import InputError


def describe_error(exc: BaseException) -> tuple[str, str]:
    """(one-line message, details) for an exception shown to the user.

    :class:`InputError` is the user's to fix: its message alone, no details. Anything else is
    a bug or an environment problem: the message plus the traceback as details.
    """
    if isinstance(exc, InputError):
        return str(exc), ""
    line = (
        f"{type(exc).__name__}: {exc}".strip().splitlines()[0] if str(exc) else type(exc).__name__
    )
    details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return line, details


class ErrorDialog(QDialog):
    """Non-blocking error window: a title, one line, and optional expandable details.

    It is window-modal but opened with :meth:`QDialog.open`, so the event loop (and tests)
    keep running; the app stays usable after it is closed.
    """

    def __init__(self, title: str, message: str, details: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("ErrorDialog")
        self.setWindowTitle(title)
        self.message = message
        self.details = details
        self.setMinimumWidth(460)

        icon = QLabel()
        icon.setPixmap(
            self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning).pixmap(40, 40)
        )
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        heading = QLabel(f"<b>{title}</b>")
        self.message_label = QLabel(message)
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        text = QVBoxLayout()
        text.addWidget(heading)
        text.addWidget(self.message_label)
        top = QHBoxLayout()
        top.addWidget(icon)
        top.addLayout(text, 1)

        self.details_box = QPlainTextEdit(details)
        self.details_box.setReadOnly(True)
        self.details_box.setMinimumHeight(180)
        self.details_box.setVisible(False)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        if details:
            self.details_button = QPushButton("Show details")
            self.details_button.setCheckable(True)
            self.details_button.toggled.connect(self._toggle_details)
            copy = QPushButton("Copy")
            copy.setToolTip("Copy the message and details (for a bug report)")
            copy.clicked.connect(self._copy)
            buttons.addButton(self.details_button, QDialogButtonBox.ButtonRole.ActionRole)
            buttons.addButton(copy, QDialogButtonBox.ButtonRole.ActionRole)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.details_box, 1)
        layout.addWidget(buttons)

    def _toggle_details(self, on: bool) -> None:
        self.details_box.setVisible(on)
        self.details_button.setText("Hide details" if on else "Show details")
        self.adjustSize()

    def _copy(self) -> None:
        QGuiApplication.clipboard().setText(f"{self.message}\n\n{self.details}")


def versions() -> dict[str, str]:
    """Versions of pgpviewer and the libraries that shape its results and display."""
    import pgpviewer

    out = {"pgpviewer": pgpviewer.__version__, "Python": sys.version.split()[0]}
    for dist in (
        "napari",
        "PySide6-Essentials",
        "numpy",
        "scipy",
        "scikit-image",
        "pandas",
        "tifffile",
        "dask",
        "pydantic",
        "superqt",
        "pyqtgraph",
        "vispy",
    ):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    try:
        from qtpy import QtCore

        out["Qt"] = QtCore.qVersion()
    except ImportError:  # pragma: no cover
        pass
    out["Platform"] = platform.platform()
    return out


class AboutDialog(QDialog):
    """Name, purpose, versions (copyable) and where settings are kept."""

    def __init__(self, parent: QWidget | None = None, settings_file: str = ""):
        super().__init__(parent)
        self.setWindowTitle("About pgpviewer")
        self.setMinimumWidth(480)
        from pgpviewer.gui.icons import app_icon

        icon = QLabel()
        icon.setPixmap(app_icon().pixmap(72, 72))
        title = QLabel(
            "<h2 style='margin:0'>pgpviewer</h2>"
            "<p>Measures P-glycoprotein transfer from donor to recipient cells in "
            "fluorescence time-lapses: cells, populations, P-gp puncta, tracks, transfer "
            "events and uptake curves.</p>"
        )
        title.setWordWrap(True)
        head = QHBoxLayout()
        head.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        head.addWidget(title, 1)
        self.versions = versions()
        text = "\n".join(f"{k}: {v}" for k, v in self.versions.items())
        if settings_file:
            text += f"\nSettings: {settings_file}"
        self.text = QPlainTextEdit(text)
        self.text.setReadOnly(True)
        self.text.setMinimumHeight(330)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy = QPushButton("Copy")
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.text.toPlainText()))
        buttons.addButton(copy, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)
