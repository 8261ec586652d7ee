"""The review's corrections: undoable commands (merge, split, erase, decisions) and paint mode."""

from __future__ import annotations

from qtpy.QtCore import QTimer

from pgpviewer.gui.review_selection import EDIT_LAYER
from pgpviewer.session.corrections import (
    CorrectionError,
    LabelEditCommand,
    decision_command,
    erase_command,
    merge_command,
    override_command,
    split_command,
)


class ReviewCorrectionsMixin:
    """Corrections and decisions as commands on the session's ``CommandStack``; paint mode.

    Mixed into :class:`~pgpviewer.gui.review.ReviewController`.
    """

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
