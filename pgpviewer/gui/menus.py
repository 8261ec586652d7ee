"""The main window's menus and actions (File, Edit, Analysis, View, Help)."""

from __future__ import annotations

from typing import Any

from qtpy.QtGui import QAction, QKeySequence
from qtpy.QtWidgets import QMenu


class WindowMenusMixin:
    """Builds the menu bar and its actions; keeps Undo/Redo and Open recent up to date.

    Mixed into :class:`~pgpviewer.gui.main_window.MainWindow` (a ``QMainWindow``).
    """

    def _action(self, text: str, slot, shortcut: Any = None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        m = bar.addMenu("&File")
        self.open_file_action = self._action(
            "&Open file…", self._open_file_dialog, QKeySequence.StandardKey.Open
        )
        m.addAction(self.open_file_action)
        m.addAction(self._action("Open &folder…", self._open_folder_dialog, "Ctrl+Shift+O"))
        m.addAction(self._action("Open frame folder as one stack…", self._open_frames_dialog))
        self.recent_menu = QMenu("Open &recent", self)
        m.addMenu(self.recent_menu)
        m.addSeparator()
        self.next_action = self._action(
            "&Next file",
            lambda: self.open_neighbour(1),
            "Ctrl+PgDown",
            "Open the next file of the folder",
        )
        self.prev_action = self._action(
            "&Previous file",
            lambda: self.open_neighbour(-1),
            "Ctrl+PgUp",
            "Open the previous file of the folder",
        )
        m.addAction(self.next_action)
        m.addAction(self.prev_action)
        m.addSeparator()
        m.addAction(self._action("&Load parameters…", self.params_panel._load_clicked))
        m.addAction(self._action("&Save parameters…", self.params_panel._save_clicked))
        m.addSeparator()
        self.export_action = self._action(
            "&Export results (CSV)…",
            self._export_dialog,
            "Ctrl+E",
            "Write the tables, labels and params.json",
        )
        m.addAction(self.export_action)
        m.addAction(
            self._action(
                "Save &screenshot…",
                self._screenshot_dialog,
                "Alt+S",
                "Save the image canvas as PNG",
            )
        )
        self.movie_action = self._action(
            "Export &movie…", self._movie_dialog, tip="Save the canvas over time as GIF or TIFF"
        )
        m.addAction(self.movie_action)
        m.addSeparator()
        m.addAction(self._action("&Quit", self.close, QKeySequence.StandardKey.Quit))

        e = bar.addMenu("&Edit")
        self.undo_action = self._action(
            "&Undo", self.session.commands.undo, QKeySequence.StandardKey.Undo
        )
        self.redo_action = self._action(
            "&Redo", self.session.commands.redo, QKeySequence.StandardKey.Redo
        )
        e.addAction(self.undo_action)
        e.addAction(self.redo_action)

        a = bar.addMenu("&Analysis")
        self.run_action = self._action("&Run", self.run_analysis, "Ctrl+R")
        self.cancel_action = self._action("&Cancel", self.cancel_analysis, "Esc")
        a.addAction(self.run_action)
        a.addAction(self.cancel_action)
        a.addSeparator()
        self.preview_action = QAction("Live &preview", self, checkable=True)
        self.preview_action.toggled.connect(self.params_panel.preview_check.setChecked)
        a.addAction(self.preview_action)

        v = bar.addMenu("&View")
        for dock in (
            self.files_dock,
            self.roles_dock,
            self.params_dock,
            self.run_dock,
            self.viewer.layer_controls_dock,
            self.viewer.layer_list_dock,
            self.legend_dock,
            self.uptake_dock,
        ):
            v.addAction(dock.toggleViewAction())
        h = bar.addMenu("&Help")
        h.addAction(self._action("&About pgpviewer", self.show_about))
        self._refresh_undo()
        self._refresh_recent_menu()

    def _refresh_recent_menu(self) -> None:
        self.recent_menu.clear()
        for f in self.settings.recent_folders:
            act = self.recent_menu.addAction(f)
            act.triggered.connect(lambda _=False, f=f: self.set_folder(f, open_first=True))
        self.recent_menu.setEnabled(bool(self.settings.recent_folders))

    def _refresh_undo(self) -> None:
        c = self.session.commands
        self.undo_action.setEnabled(c.can_undo)
        self.redo_action.setEnabled(c.can_redo)
        self.undo_action.setText(f"&Undo {c.undo_text}".rstrip())
        self.redo_action.setText(f"&Redo {c.redo_text}".rstrip())
