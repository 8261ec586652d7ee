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

import json
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from qtpy.QtCore import QObject, Qt, QTimer, Signal
from qtpy.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QTabWidget, QWidget

from pgpviewer.core.errors import InputError
from pgpviewer.gui.corrections_panel import CorrectionsPanel
from pgpviewer.gui.event_gallery import EventGalleryPanel, event_crops
from pgpviewer.gui.plots_panel import PlotsPanel
from pgpviewer.gui.tables_panel import TablesPanel
from pgpviewer.gui.workers import TaskWorker
from pgpviewer.session.corrections import (
    CorrectionError,
    LabelEditCommand,
    ReviewState,
    apply_review,
    decision_command,
    erase_command,
    merge_command,
    override_command,
    review_record,
    split_command,
)
from pgpviewer.session.persist import (
    SessionData,
    autosave_dir,
    capture,
    check_input,
    has_autosave,
    read_session,
    write_session,
)

logger = logging.getLogger(__name__)

EDIT_LAYER = "edit: cell labels"
SELECTION_LAYER = "selected cells"
SELECTION_COLOR = "#ffe135"
AUTOSAVE_INTERVAL_S = 45.0


# ---------------------------------------------------------------------------------------------
# worker jobs (no Qt)


@dataclass
class Recomputed:
    base: Any
    reviewed: Any
    candidates: pd.DataFrame
    rerun: bool


def recompute_review(base, labels, decisions, overrides, *, run=None) -> Recomputed:
    """Re-run the downstream steps from ``labels`` (when given), then apply the decisions."""
    rerun = labels is not None
    if rerun:
        if run is None:
            from pgpviewer.core.pipeline import run_pipeline as run
        base = run(base.stack, dict(base.roles), base.params, labels=labels)
    reviewed, candidates = apply_review(base, decisions, overrides)
    return Recomputed(base, reviewed, candidates, rerun)


def restore_result(stack, data: SessionData, *, run=None) -> Any:
    """Check the file against the session and re-run the downstream steps from its labels."""
    from pgpviewer.core.export import file_sha256

    sha = file_sha256(stack.path) if data.input_sha256 and stack.path is not None else None
    check_input(data, stack, sha)
    if run is None:
        from pgpviewer.core.pipeline import run_pipeline as run
    return run(stack, dict(data.roles), data.params, labels=np.array(data.labels, copy=True))


def save_session_job(data: SessionData, folder: Path, known_sha: dict) -> Path:
    """Write a session (the input checksum is computed once per file and remembered)."""
    from pgpviewer.core.export import file_sha256

    if data.input_sha256 is None and data.input_path:
        p = Path(data.input_path)
        if p.exists():
            data.input_sha256 = known_sha.setdefault(str(p), file_sha256(p))
    return write_session(data, folder)


def write_review_record(folder: Path, record: dict) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".review-", suffix=".json", dir=folder)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(record, fh, indent=2)
    os.replace(tmp, folder / "review.json")


# ---------------------------------------------------------------------------------------------


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


class ReviewController(QObject):
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

    # ------------------------------------------------------------------- commands --
    def _push(self, make) -> bool:
        if not self.state.active:
            return False
        try:
            command = make()
        except CorrectionError as e:
            self.window.statusBar().showMessage(e.problem, 8000)
            return False
        if command is None:
            return False
        self.session.commands.push(command)
        self.window.statusBar().showMessage(command.text, 4000)
        return True

    def decide(self, event_id: int, decision: str | None) -> bool:
        """Accept / reject (None: clear) the event ``event_id`` of the candidates."""
        cand = self.candidates
        if cand is None:
            return False
        rows = cand[cand["event_id"] == event_id]
        if not len(rows):
            return False
        return self._push(lambda: decision_command(self.state, rows.iloc[0], decision))

    def merge_selected(self) -> bool:
        sel = self.selection
        if len(sel) != 2 or sel[0][0] != sel[1][0]:
            self.window.statusBar().showMessage("Select two cells of one frame to merge", 6000)
            return False
        frame = sel[0][0]
        ok = self._push(lambda: merge_command(self.state, frame, [sel[0][1], sel[1][1]]))
        if ok:
            self.selection = [sel[0]]
            self._show_selection()
        return ok

    def split_selected(self, seeds=None) -> bool:
        if len(self.selection) != 1:
            return False
        frame, label = self.selection[0]
        return self._push(lambda: split_command(self.state, frame, label, seeds))

    def erase_selected(self) -> bool:
        if not self.selection:
            return False
        frame = self.selection[0][0]
        labels = [lab for f, lab in self.selection if f == frame]
        ok = self._push(lambda: erase_command(self.state, frame, labels))
        if ok:
            self._clear_selection()
        return ok

    def set_population(self, population: str | None) -> bool:
        tid = self._selected_track()
        if tid is None:
            self.window.statusBar().showMessage("Select a cell of the track first", 6000)
            return False
        return self._push(lambda: override_command(self.state, tid, population))

    def _on_labels_edited(self, frame: int) -> None:
        layer = self.viewer.layer(EDIT_LAYER)
        if layer is not None:
            layer.refresh()
        self._take_snapshot()
        self.schedule()

    def _on_decisions_changed(self) -> None:
        self.schedule()

    # ------------------------------------------------------------- paint mode --
    def set_paint_mode(self, on: bool) -> None:
        """Show the editable labels (napari's paint/erase/fill tools record undoable edits)."""
        if self.corrections.paint_button.isChecked() != on:
            self.corrections.paint_button.setChecked(on)
            return
        if on and self.state.active:
            layer = self._sync_edit_layer(create=True)
            self.viewer.model.layers.selection.active = layer
            layer.mode = "paint"
            self._take_snapshot()
        else:
            self._remove_layer(EDIT_LAYER)

    @property
    def paint_mode(self) -> bool:
        return self.corrections.paint_button.isChecked()

    def _sync_edit_layer(self, create: bool = False):
        layer = self.viewer.layer(EDIT_LAYER)
        st = self.state
        if not st.active:
            self._remove_layer(EDIT_LAYER)
            return None
        if layer is None and not (create or self.paint_mode):
            return None
        geo = self.viewer.geometry
        scale = geo.scale if geo else (1.0, 1.0, 1.0)
        if layer is None:
            layer = self.viewer.model.add_labels(
                st.labels,
                name=EDIT_LAYER,
                scale=scale,
                units=geo.units if geo else None,
                translate=(st.offset * scale[0], 0.0, 0.0),
                opacity=0.6,
                metadata={"pgpviewer": "edit"},
            )
            layer.events.paint.connect(self._on_paint)
        elif layer.data is not st.labels:
            layer.data = st.labels
        self._raise_own_layers()
        return layer

    def _take_snapshot(self) -> None:
        st = self.state
        if st.active and self.viewer.layer(EDIT_LAYER) is not None:
            f = self.viewer.current_frame()
            if 0 <= f - st.offset < st.labels.shape[0]:
                self._paint_snapshot = (f, st.frame_labels(f).copy())

    def _on_paint(self, _event=None) -> None:
        """A brush/eraser/fill stroke ended: record it as one undoable command.

        napari emits ``paint`` before a single click's pixels are written, so the difference
        to the snapshot is taken once control is back in the event loop.
        """
        QTimer.singleShot(0, self._record_paint)

    def _record_paint(self) -> None:
        snap = self._paint_snapshot
        st = self.state
        if snap is None or not st.active:
            return
        frame, before = snap
        after = st.frame_labels(frame).copy()
        cmd = LabelEditCommand.from_frames(st, frame, before, after, "paint labels")
        if cmd is not None:
            self.session.commands.push(cmd)

    # ---------------------------------------------------------------- selection --
    def _cell_row(self, frame: int, label: int) -> pd.Series | None:
        r = self._shown if self._shown is not None else self.state.base
        if r is None:
            return None
        c = r.cells
        sel = c[(c["frame"] == frame) & (c["label"] == label)]
        return sel.iloc[0] if len(sel) else None

    def _selected_track(self) -> int | None:
        if not self.selection:
            return None
        row = self._cell_row(*self.selection[0])
        if row is None or pd.isna(row["track_id"]):
            return None
        return int(row["track_id"])

    def select_cell(self, frame: int, label: int, *, add: bool = False, source: str = "") -> None:
        """Select a cell: the viewer moves there and rings it, the tables select its row."""
        key = (int(frame), int(label))
        if add and self.selection and key not in self.selection:
            self.selection = [self.selection[-1], key]
        else:
            self.selection = [key]
        row = self._cell_row(*key)
        self.viewer.set_frame(key[0])
        if row is not None and not add:
            self.center_on(float(row["centroid_y"]), float(row["centroid_x"]))
        self._show_selection()
        tid = self._selected_track()
        self.tables.set_track(tid)
        if source != "cells":
            self.tables.select_cell(*key)
        if tid is not None and source != "tracks":
            self.tables.select_track(tid)
        self.plots.show_track(tid)
        if tid is not None:
            self.corrections.population_combo.setCurrentText(str(row["population"]))

    def _cells_multi(self, *_):
        rows = self.tables.cells.selected_rows()
        if len(rows) == 2:
            keys = [(int(r["frame"]), int(r["label"])) for r in rows]
            if keys != self.selection:
                self.selection = keys
                self._show_selection()

    def select_track(self, track_id: int) -> None:
        r = self._shown
        if r is None:
            return
        c = r.cells[pd.to_numeric(r.cells["track_id"], errors="coerce") == track_id]
        if not len(c):
            return
        here = c[c["frame"] == self.viewer.current_frame()]
        row = (here if len(here) else c.sort_values("frame")).iloc[0]
        self.select_cell(int(row["frame"]), int(row["label"]), source="tracks")

    def select_event(self, event_id: int) -> None:
        cand = self.candidates
        if cand is None:
            return
        ev = cand[cand["event_id"] == event_id]
        if not len(ev):
            return
        key = self.state.event_key(ev.iloc[0], cells=self._shown.cells)
        if key is not None:
            self.select_cell(*key, source="events")
        self.tables.select_event(event_id)

    def _clear_selection(self) -> None:
        self.selection = []
        self._show_selection()

    def _reselect(self) -> None:
        """Keep the selection across a re-computation (cells that still exist)."""
        st = self.state
        keep = [k for k in self.selection if st.active and st.label_at(k[0], *self._yx(k)) == k[1]]
        self.selection = keep
        self._show_selection()
        if keep:
            self.tables.select_cell(*keep[0])

    def _yx(self, key) -> tuple[float, float]:
        row = self._cell_row(*key)
        if row is None:
            return (-1.0, -1.0)
        mask = self.state.frame_labels(key[0]) == key[1]
        cy, cx = float(row["centroid_y"]), float(row["centroid_x"])
        if mask.any() and not mask[round(cy), round(cx)]:  # a curved cell: any of its pixels
            ys, xs = np.nonzero(mask)
            return float(ys[0]), float(xs[0])
        return cy, cx

    def _show_selection(self) -> None:
        pts, sizes = [], []
        desc = None
        for k in self.selection:
            row = self._cell_row(*k)
            if row is None:
                continue
            pts.append((float(k[0]), float(row["centroid_y"]), float(row["centroid_x"])))
            sizes.append(2.0 * np.sqrt(float(row["area_px"]) / np.pi) + 8.0)
            if desc is None:
                tid = "" if pd.isna(row["track_id"]) else f", track {int(row['track_id'])}"
                desc = f"Cell {k[1]} in frame {k[0]}{tid} ({row['population']})"
        self.corrections.set_selection(list(self.selection), desc)
        layer = self.viewer.layer(SELECTION_LAYER)
        if not pts:
            if layer is not None:
                layer.data = np.zeros((0, 3))
            return
        data = np.asarray(pts, float)
        if layer is None:
            geo = self.viewer.geometry
            active = self.viewer.model.layers.selection.active
            layer = self.viewer.model.add_points(
                data,
                name=SELECTION_LAYER,
                size=sizes,
                symbol="disc",
                face_color="transparent",
                border_color=SELECTION_COLOR,
                border_width=0.06,
                scale=geo.scale if geo else (1.0, 1.0, 1.0),
                units=geo.units if geo else None,
                out_of_slice_display=False,
                metadata={"pgpviewer": "selection"},
            )
            self._raise_own_layers()
            if active is not None and active in self.viewer.model.layers:
                self.viewer.model.layers.selection.active = active  # keep the user's layer
            self._reactivate()
        else:
            layer.data = data
            layer.size = sizes
        layer.refresh()

    def center_on(self, y: float, x: float) -> None:
        geo = self.viewer.geometry
        sy, sx = (geo.scale[1], geo.scale[2]) if geo else (1.0, 1.0)
        self.viewer.model.camera.center = (y * sy, x * sx)

    def _raise_own_layers(self, *_):
        layers = self.viewer.model.layers
        for name in (EDIT_LAYER, SELECTION_LAYER):
            if name in layers:
                layers.move(layers.index(name), len(layers))
        self._reactivate()

    def _reactivate(self):
        edit = self.viewer.layer(EDIT_LAYER)
        if edit is not None:
            self.viewer.model.layers.selection.active = edit

    def _remove_layer(self, name: str) -> None:
        layer = self.viewer.layer(name)
        if layer is not None:
            self.viewer.model.layers.remove(layer)

    # ------------------------------------------------------------------ viewer --
    def _on_frame_changed(self, frame: int) -> None:
        self.tables.set_frame(frame)
        self._take_snapshot()

    def _on_mouse_drag(self, viewer, event):
        """A click (press and release without moving) on a cell selects it; Shift adds."""
        if getattr(event, "button", 1) != 1 or not self.state.active:
            return
        edit = self.viewer.layer(EDIT_LAYER)
        if edit is not None and edit.mode != "pan_zoom":
            return  # painting
        start = np.asarray(event.position, float)
        yield
        moved = False
        while event.type == "mouse_move":
            moved = moved or np.abs(np.asarray(event.position, float) - start).max() > 2.0
            yield
        if not moved:
            self.click_at(event.position, add="Shift" in set(map(str, event.modifiers)))

    def click_at(self, position, add: bool = False) -> int:
        """Select the cell under a world position (t, y, x) of the viewer; returns its label."""
        geo = self.viewer.geometry
        sy, sx = (geo.scale[1], geo.scale[2]) if geo else (1.0, 1.0)
        frame = self.viewer.current_frame()
        y, x = float(position[-2]) / sy, float(position[-1]) / sx
        label = self.state.label_at(frame, y, x)
        if label:
            self.select_cell(frame, label, add=add, source="viewer")
        return label

    # ------------------------------------------------------------------ sessions --
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
