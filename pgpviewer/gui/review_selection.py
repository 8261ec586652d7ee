"""The review's cell selection and the viewer side: rings, clicks, the review's own layers."""

from __future__ import annotations

import numpy as np
import pandas as pd

EDIT_LAYER = "edit: cell labels"
SELECTION_LAYER = "selected cells"
SELECTION_COLOR = "#ffe135"


class ReviewSelectionMixin:
    """Selecting cells, tracks and events; linking the tables and the viewer.

    Mixed into :class:`~pgpviewer.gui.review.ReviewController` (which holds the state used here).
    """

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
