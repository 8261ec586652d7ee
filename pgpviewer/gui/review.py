"""Review and correction in the window: linked tables, event gallery, corrections, plots, sessions.

:class:`ReviewController` owns a Qt-free :class:`~pgpviewer.session.corrections.ReviewState` and
binds it to the window:

- every correction or decision is a command on the session's ``CommandStack`` (Edit ▸ Undo);
- after a change, the downstream steps re-run in a worker from the corrected labels
  (``run_pipeline(..., labels=...)``, well under a second for a small movie) and the decisions
  are applied (:func:`~pgpviewer.session.corrections.apply_review`); the reviewed result becomes
  the session's result, so the layers, the uptake dock and Export show it;
- selecting a table row moves the viewer to the cell and rings it; clicking a cell in the
  viewer selects its row;
- sessions are saved as folders (:mod:`pgpviewer.session.persist`), autosaved while there are
  unsaved changes, and offered again when the file is reopened (a banner, never a modal).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from qtpy.QtCore import QObject, Qt, QTimer, Signal
from qtpy.QtWidgets import QTabWidget, QWidget

from pgpviewer.gui.corrections_panel import CorrectionsPanel
from pgpviewer.gui.event_gallery import EventGalleryPanel, event_crops
from pgpviewer.gui.plots_panel import PlotsPanel
from pgpviewer.gui.review_corrections import ReviewCorrectionsMixin
from pgpviewer.gui.review_jobs import (
    Recomputed,
    recompute_review,
    restore_result,
    save_session_job,
    write_review_record,
)
from pgpviewer.gui.review_selection import (
    EDIT_LAYER,
    SELECTION_COLOR,
    SELECTION_LAYER,
    ReviewSelectionMixin,
)
from pgpviewer.gui.review_sessions import AUTOSAVE_INTERVAL_S, RestoreBanner, ReviewSessionsMixin
from pgpviewer.gui.tables_panel import TablesPanel
from pgpviewer.gui.workers import TaskWorker
from pgpviewer.session.corrections import ReviewState, apply_review
from pgpviewer.session.persist import SessionData, has_autosave

__all__ = [
    "AUTOSAVE_INTERVAL_S",
    "EDIT_LAYER",
    "SELECTION_COLOR",
    "SELECTION_LAYER",
    "Recomputed",
    "RestoreBanner",
    "ReviewController",
    "recompute_review",
    "restore_result",
    "save_session_job",
    "write_review_record",
]

logger = logging.getLogger(__name__)


class ReviewController(ReviewSessionsMixin, ReviewCorrectionsMixin, ReviewSelectionMixin, QObject):
    """Binds the review panels, the viewer and the review state (see the module docstring).

    Signals
    -------
    review_applied(object)
        A reviewed result is shown (after a correction, decision, undo or redo).
    crops_ready()
        The event gallery's thumbnails are drawn.
    session_saved(Path), session_restored(Path), autosaved(Path)
    """

    review_applied = Signal(object)
    crops_ready = Signal()
    session_saved = Signal(object)
    session_restored = Signal(object)
    autosaved = Signal(object)

    def __init__(self, window, *, autosave_interval_s: float = AUTOSAVE_INTERVAL_S):
        super().__init__(window)
        self.window = window
        self.session = window.session
        self.viewer = window.viewer
        self.state = ReviewState()
        self.candidates: pd.DataFrame | None = None
        self.selection: list[tuple[int, int]] = []
        self._shown: Any = None
        self._job: TaskWorker | None = None
        self._pending = False
        self._crops_key: Any = None
        self._paint_snapshot: tuple[int, np.ndarray] | None = None
        self._pending_restore: tuple[SessionData, Path] | None = None
        self._restore_state: tuple[SessionData, Path] | None = None
        self._restore_view: dict | None = None
        self._dirty = False
        self._known_sha: dict[str, str | None] = {}
        self.last_autosave: Path | None = None

        self.tables = TablesPanel()
        self.gallery = EventGalleryPanel()
        self.plots = PlotsPanel()
        self.corrections = CorrectionsPanel()
        self.banner = RestoreBanner()
        review_widget = QWidget()
        from qtpy.QtWidgets import QVBoxLayout

        box = QVBoxLayout(review_widget)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.banner)
        self.side_tabs = QTabWidget()
        self.side_tabs.addTab(self.gallery, "Events")
        self.side_tabs.addTab(self.corrections, "Correct")
        box.addWidget(self.side_tabs, 1)
        self.review_widget = review_widget

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(150)
        self._timer.timeout.connect(self.recompute)
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(int(autosave_interval_s * 1000))
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()

        self._install_docks()
        self._install_actions()
        self._connect()

    # ------------------------------------------------------------------ construction --
    def _install_docks(self) -> None:
        w = self.window
        bottom = Qt.DockWidgetArea.BottomDockWidgetArea
        right = Qt.DockWidgetArea.RightDockWidgetArea
        self.tables_dock = w._dock(self.tables, "Tables", "tables_dock", bottom)
        self.plots_dock = w._dock(self.plots, "Plots", "plots_dock", bottom)
        w.tabifyDockWidget(w.uptake_dock, self.tables_dock)
        w.tabifyDockWidget(self.tables_dock, self.plots_dock)
        w.uptake_dock.raise_()
        self.review_dock = w._dock(self.review_widget, "Review", "review_dock", right)
        w.tabifyDockWidget(w.viewer.layer_controls_dock, self.review_dock)
        w.viewer.layer_controls_dock.raise_()
        w.resizeDocks([w.uptake_dock], [270], Qt.Orientation.Vertical)

    def _install_actions(self) -> None:
        w = self.window
        m = w.menuBar().addMenu("Re&view")
        self.save_session_action = w._action(
            "&Save session…",
            self._save_session_dialog,
            "Ctrl+S",
            "Save the corrections, decisions and view as a session folder",
        )
        self.open_session_action = w._action(
            "&Open session…", self._open_session_dialog, tip="Restore a saved session folder"
        )
        self.restore_action = w._action(
            "&Restore last session",
            self.restore_last_session,
            tip="Restore the autosaved session of the open file",
        )
        self.rerun_action = w._action(
            "Re-&compute from labels",
            self.force_recompute,
            tip="Re-run tracking, events and counts from the corrected labels",
        )
        for a in (self.save_session_action, self.open_session_action, self.restore_action):
            m.addAction(a)
        m.addSeparator()
        m.addAction(self.rerun_action)
        m.addSeparator()
        for dock in (self.tables_dock, self.plots_dock, self.review_dock):
            m.addAction(dock.toggleViewAction())
        self._update_actions()

    def _connect(self) -> None:
        s = self.session
        s.result_changed.connect(self._on_result_changed)
        self.window.stack_shown.connect(self._on_stack_shown)
        self.window.result_shown.connect(self._raise_own_layers)
        self.window.exported.connect(self._on_exported)
        self.viewer.frame_changed.connect(self._on_frame_changed)
        self.viewer.model.mouse_drag_callbacks.append(self._on_mouse_drag)
        self.state.labels_edited.connect(self._on_labels_edited)
        self.state.decisions_changed.connect(self._on_decisions_changed)

        self.tables.cell_selected.connect(lambda f, lab: self.select_cell(f, lab, source="cells"))
        self.tables.track_selected.connect(self.select_track)
        self.tables.event_selected.connect(self.select_event)
        self.tables.cells.view.selectionModel().selectionChanged.connect(self._cells_multi)
        self.gallery.decision_requested.connect(self.decide)
        self.gallery.event_selected.connect(self.select_event)
        c = self.corrections
        c.merge_requested.connect(self.merge_selected)
        c.split_requested.connect(self.split_selected)
        c.erase_requested.connect(self.erase_selected)
        c.population_requested.connect(self.set_population)
        c.paint_toggled.connect(self.set_paint_mode)
        c.rerun_requested.connect(self.force_recompute)
        self.banner.restore_button.clicked.connect(self.restore_last_session)

    def _update_actions(self) -> None:
        active = self.state.active
        self.save_session_action.setEnabled(active)
        self.rerun_action.setEnabled(active)
        self.restore_action.setEnabled(has_autosave(self.session.path))
        self.corrections.set_enabled(active)

    # --------------------------------------------------------------------- results --
    def _on_result_changed(self, result) -> None:
        if result is None:
            self.state.reset(None)
            self._shown = None
            self.candidates = None
            self._clear_selection()
            self._remove_layer(EDIT_LAYER)
            self.tables.show_result(None)
            self.plots.show_result(None)
            self.gallery.show_events(None)
            self._update_actions()
            return
        if result is self._shown:
            self._refresh_panels(result)
            return
        # a new analysis (or a restored session): review starts over from it
        self.state.reset(result)
        self.session.commands.clear()
        self._shown = result
        self._dirty = False
        self._clear_selection()
        restore = self._restore_state
        self._restore_state = None
        if restore is not None:
            data, folder = restore
            self.state.decisions = dict(data.decisions)
            self.state.overrides = dict(data.overrides)
            self.state.net_label_edits = 1 if data.labels_corrected else 0
            self._restore_view = dict(data.view, folder=str(folder))
        self.candidates = apply_review(result, {}, {})[1]
        self._crops_key = None
        if self.state.decisions or self.state.overrides:
            self.recompute()
        else:
            self._refresh_panels(result)
        self._sync_edit_layer()
        self._update_actions()

    def _refresh_panels(self, result) -> None:
        self.tables.show_result(result, self.candidates)
        self.plots.show_result(result)
        self.gallery.show_events(self.candidates)
        self._update_state_text()
        self._request_crops(result)
        self._reselect()
        if self._restore_view is not None:
            view, self._restore_view = self._restore_view, None
            self.apply_view(view)
            self.session_restored.emit(Path(view["folder"]))

    def _update_state_text(self) -> None:
        st = self.state
        if not st.active:
            text = ""
        elif self._job is not None or st.needs_rerun:
            text = "Re-computing tracks, events and counts…"
        else:
            parts = []
            if st.labels_corrected:
                parts.append("labels corrected")
            n_rej = sum(1 for v in st.decisions.values() if v == "rejected")
            if n_rej:
                parts.append(f"{n_rej} event{'s' if n_rej != 1 else ''} rejected")
            if st.overrides:
                parts.append(f"{len(st.overrides)} population override(s)")
            text = ("Up to date: " + ", ".join(parts)) if parts else "No corrections."
        self.corrections.set_state(text)

    def schedule(self) -> None:
        self._dirty = True
        self._update_state_text()
        self._timer.start()

    def force_recompute(self) -> None:
        if self.state.active:
            self.state.base_generation = -1  # forces a re-run from the labels
            self.recompute()

    def recompute(self) -> None:
        """Re-run what the changes need in a worker (queued if one is already running)."""
        st = self.state
        if not st.active:
            return
        if self._job is not None:
            self._pending = True
            return
        labels = np.array(st.labels, copy=True) if st.needs_rerun else None
        gens = (st.label_generation, st.decision_generation)
        job = TaskWorker(recompute_review, st.base, labels, dict(st.decisions), dict(st.overrides))
        job.succeeded.connect(lambda out, g=gens: self._recomputed(out, g))
        job.failed.connect(lambda e: self.window.show_error("Re-computing failed", e))
        job.finished.connect(self._recompute_finished)
        self._job = job
        self._update_state_text()
        self.window.start_job(job)

    def _recomputed(self, out: Recomputed, gens: tuple[int, int]) -> None:
        st = self.state
        if out.rerun and gens[0] == st.label_generation:
            st.set_base(out.base, gens[0])
        if gens != (st.label_generation, st.decision_generation):
            self._pending = True  # changed meanwhile: compute again
            return
        self.candidates = out.candidates
        self._shown = out.reviewed
        keep = {id(st.base)}
        specs = self.window._layer_specs
        for k in [k for k in specs if k not in keep]:
            del specs[k]  # layer data of superseded results (each holds a label stack)
        self.session.set_result(out.reviewed)
        self.review_applied.emit(out.reviewed)

    def _recompute_finished(self) -> None:
        self._job = None
        if self._pending:
            self._pending = False
            self.recompute()
        self._update_state_text()

    # ---------------------------------------------------------------- event crops --
    def _request_crops(self, result) -> None:
        cand = self.candidates
        if cand is None or not len(cand) or self.session.stack is None:
            return
        key = (self.state.label_generation, tuple(cand["event_id"]), tuple(cand["frame"]))
        if key == self._crops_key:
            return
        self._crops_key = key
        job = TaskWorker(
            event_crops,
            result.stack,
            dict(result.roles),
            result.cells,
            cand,
            result.labels,
            frames=tuple(result.frames),
            z_projection=result.params.z_projection,
        )
        job.succeeded.connect(self._crops_done)
        job.failed.connect(lambda e: logger.warning("event thumbnails failed: %s", e))
        self.window.start_job(job)

    def _crops_done(self, crops) -> None:
        self.gallery.set_crops(crops)
        self.crops_ready.emit()
