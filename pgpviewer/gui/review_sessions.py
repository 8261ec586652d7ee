"""Review sessions: save, restore, autosave and the restore banner."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QWidget

from pgpviewer.core.errors import InputError
from pgpviewer.gui.review_jobs import restore_result, save_session_job, write_review_record
from pgpviewer.gui.workers import TaskWorker
from pgpviewer.session.corrections import review_record
from pgpviewer.session.persist import (
    SessionData,
    autosave_dir,
    capture,
    has_autosave,
    read_session,
)

logger = logging.getLogger("pgpviewer.gui.review")  # the review's log, as before the split

AUTOSAVE_INTERVAL_S = 45.0


class RestoreBanner(QWidget):
    """A non-blocking offer to restore the last session of the opened file."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.label = QLabel("This file has an unsaved review session.")
        self.label.setWordWrap(True)
        self.restore_button = QPushButton("Restore")
        self.dismiss_button = QPushButton("Dismiss")
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 2, 4, 2)
        row.addWidget(self.label, 1)
        row.addWidget(self.restore_button)
        row.addWidget(self.dismiss_button)
        self.setStyleSheet("RestoreBanner { background: #3b3420; }")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.dismiss_button.clicked.connect(self.hide)
        self.hide()


class ReviewSessionsMixin:
    """Session folders: save, open, autosave, restore (offered by the banner) and review.json.

    Mixed into :class:`~pgpviewer.gui.review.ReviewController`.
    """

    def view_state(self) -> dict[str, Any]:
        cam = self.viewer.model.camera
        return {
            "frame": self.viewer.current_frame(),
            "camera_center": [float(v) for v in cam.center],
            "camera_zoom": float(cam.zoom),
        }

    def apply_view(self, view: dict[str, Any]) -> None:
        if "frame" in view:
            self.viewer.set_frame(int(view["frame"]))
        cam = self.viewer.model.camera
        if "camera_center" in view:
            cam.center = tuple(view["camera_center"])
        if "camera_zoom" in view:
            cam.zoom = float(view["camera_zoom"])

    def capture(self) -> SessionData | None:
        st = self.state
        if not st.active:
            return None
        path = self.session.path
        sha = self._known_sha.get(str(path)) if path is not None else None
        return capture(st.base, st, sha256=sha, view=self.view_state())

    def save_session_to(self, folder: str | Path) -> TaskWorker | None:
        data = self.capture()
        if data is None:
            self.window.show_error("Nothing to save", InputError(None, "run the analysis first"))
            return None
        job = TaskWorker(save_session_job, data, Path(folder), self._known_sha)
        job.succeeded.connect(self._session_saved)
        job.failed.connect(lambda e: self.window.show_error("Cannot save the session", e))
        return self.window.start_job(job)

    def _session_saved(self, folder: Path) -> None:
        self.session.commands.set_clean()
        self.window.statusBar().showMessage(f"Session saved to {folder}", 8000)
        self.session_saved.emit(folder)

    def autosave(self) -> TaskWorker | None:
        """Write the session into the autosave folder when something changed since."""
        path = self.session.path
        if not self._dirty or not self.state.active or path is None or self._job is not None:
            return None
        data = self.capture()
        folder = autosave_dir(path)
        self._dirty = False
        job = TaskWorker(save_session_job, data, folder, self._known_sha)
        job.succeeded.connect(self._autosaved)
        job.failed.connect(lambda e: logger.warning("autosave failed: %s", e))
        return self.window.start_job(job)

    def _autosaved(self, folder: Path) -> None:
        self.last_autosave = folder
        self._update_actions()
        self.window.statusBar().showMessage(
            f"Session autosaved at {time.strftime('%H:%M:%S')}", 4000
        )
        self.autosaved.emit(folder)

    def restore_session(self, folder: str | Path) -> TaskWorker:
        """Read a session folder (in a worker), open its file if needed and restore it."""
        folder = Path(folder)
        job = TaskWorker(read_session, folder)
        job.succeeded.connect(lambda data, f=folder: self._session_read(data, f))
        job.failed.connect(lambda e: self.window.show_error("Cannot restore the session", e))
        return self.window.start_job(job)

    def restore_last_session(self) -> TaskWorker | None:
        path = self.session.path
        self.banner.hide()
        if path is None or not has_autosave(path):
            self.window.statusBar().showMessage("No autosaved session for this file", 6000)
            return None
        return self.restore_session(autosave_dir(path))

    def _session_read(self, data: SessionData, folder: Path) -> None:
        src = Path(data.input_path) if data.input_path else None
        if src is not None and self.session.path != src:
            if not src.exists():
                self.window.show_error(
                    "Cannot restore the session",
                    InputError(src, "the session's image file is not found"),
                )
                return
            self._pending_restore = (data, folder)
            self.window.open_paths([src])
            return
        self._run_restore(data, folder)

    def _on_stack_shown(self, stack) -> None:
        pending, self._pending_restore = self._pending_restore, None
        if pending is not None and stack.path == Path(pending[0].input_path):
            self._run_restore(*pending)
            return
        if stack.path is not None and has_autosave(stack.path):
            self.banner.label.setText(
                f"{stack.name} has an autosaved review session (corrections and decisions)."
            )
            self.banner.show()
        else:
            self.banner.hide()
        self._update_actions()

    def _run_restore(self, data: SessionData, folder: Path) -> None:
        s = self.session
        try:
            s.set_roles(data.roles)
            s.set_params(data.params)
        except InputError as e:
            self.window.show_error("Cannot restore the session", e)
            return
        ticket = s.begin_run()
        job = TaskWorker(restore_result, ticket.stack, data)
        job.succeeded.connect(lambda r, t=ticket, d=data, f=folder: self._restored(t, r, d, f))
        job.failed.connect(lambda e, t=ticket: self._restore_failed(t, e))
        self.window.statusBar().showMessage(f"Restoring the session from {folder}…")
        self.window.start_job(job)

    def _restored(self, ticket, result, data: SessionData, folder: Path) -> None:
        self.banner.hide()
        self._restore_state = (data, folder)
        self.session.finish_run(ticket, result)
        self.window.statusBar().showMessage(f"Session restored from {folder}", 8000)

    def _restore_failed(self, ticket, exc) -> None:
        from pgpviewer.gui.dialogs import describe_error

        self.session.fail_run(ticket, describe_error(exc)[0])
        self.window.show_error("Cannot restore the session", exc)

    def _save_session_dialog(self) -> None:
        path = self.session.path
        start = str(path.with_name(path.name.split(".")[0] + ".pgpsession")) if path else ""
        folder, _ = QFileDialog.getSaveFileName(self.window, "Save session folder", start)
        if folder:
            self.save_session_to(folder)

    def _open_session_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.window, "Open session folder")
        if folder:
            self.restore_session(folder)

    def _on_exported(self, out_dir) -> None:
        if self.state.active and self.state.changed:
            record = review_record(self.state)
            record["notes"] = list(getattr(self.session.result, "notes", []))
            try:
                write_review_record(Path(out_dir), record)
            except OSError as e:
                logger.warning("could not write review.json: %s", e)
