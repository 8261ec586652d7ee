"""Event gallery: crops around each transfer event's recipient over time, with Accept/Reject.

Each row shows the recipient a few frames before to a few frames after the event, as RGB
thumbnails (red: donor identity, green: P-gp, blue: recipient identity or nuclei) with the
recipient's outline in white. :func:`event_crops` (numpy only) runs in a worker; the widget only
shows the images and turns button clicks into ``decision_requested``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from qtpy.QtCore import Qt, Signal
from qtpy.QtGui import QImage, QPixmap
from qtpy.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from pgpviewer.gui.tables_panel import REVIEW_COLORS

OFFSETS = (-2, -1, 0, 1, 2)
HALF = 24  # crop half-size in pixels
THUMB_PX = 52


def _norm(channel: np.ndarray) -> np.ndarray:
    lo, hi = np.percentile(channel, (1.0, 99.7)) if channel.size else (0.0, 1.0)
    if hi <= lo:
        hi = lo + 1.0
    return np.clip((channel.astype(np.float32) - lo) / (hi - lo), 0.0, 1.0)


def _crop(img: np.ndarray, cy: float, cx: float, half: int) -> np.ndarray:
    h, w = img.shape[-2:]
    y0, x0 = round(float(cy)) - half, round(float(cx)) - half
    out = np.zeros((*img.shape[:-2], 2 * half, 2 * half), img.dtype)
    ys, xs = max(y0, 0), max(x0, 0)
    ye, xe = min(y0 + 2 * half, h), min(x0 + 2 * half, w)
    if ye > ys and xe > xs:
        out[..., ys - y0 : ye - y0, xs - x0 : xe - x0] = img[..., ys:ye, xs:xe]
    return out


def event_crops(
    stack: Any,
    roles: Mapping[str, int],
    cells: pd.DataFrame,
    events: pd.DataFrame,
    labels: Any,
    *,
    frames: tuple[int, int],
    offsets: Sequence[int] = OFFSETS,
    half: int = HALF,
    z_projection: str = "max",
) -> dict[int, list[np.ndarray | None]]:
    """RGB uint8 crops (2·half × 2·half × 3) per event id, one per offset (None outside the movie).

    ``labels`` is the (T, Y, X) label stack of file frames ``frames[0]:frames[1]``; the
    recipient's outline is drawn in white.
    """
    from skimage.segmentation import find_boundaries

    chan = {
        0: roles.get("donor"),
        1: roles.get("pgp"),
        2: roles.get("recipient", roles.get("nuclei")),
    }
    cache: dict[int, list[np.ndarray | None]] = {}

    def planes(f: int) -> list[np.ndarray | None]:
        if f not in cache:
            img = stack.projected_frame(f - stack.frame_offset, z_projection)
            cache[f] = [_norm(img[c]) if c is not None else None for c in chan.values()]
        return cache[f]

    tid = pd.to_numeric(cells["track_id"], errors="coerce")
    out: dict[int, list[np.ndarray | None]] = {}
    for ev in events.itertuples(index=False):
        rows = cells[tid == ev.recipient_track_id].set_index("frame")
        crops: list[np.ndarray | None] = []
        for k in offsets:
            f = int(ev.frame) + int(k)
            if not frames[0] <= f < frames[1]:
                crops.append(None)
                continue
            if f in rows.index:
                r = rows.loc[f]
                r = r.iloc[0] if isinstance(r, pd.DataFrame) else r
                cy, cx, lab = float(r["centroid_y"]), float(r["centroid_x"]), int(r["label"])
            else:
                cy, cx, lab = float(ev.centroid_y), float(ev.centroid_x), 0
            rgb = np.zeros((2 * half, 2 * half, 3), np.float32)
            for i, plane in enumerate(planes(f)):
                if plane is not None:
                    rgb[..., i] = _crop(plane, cy, cx, half)
            if lab:
                lab_crop = _crop(np.asarray(labels[f - frames[0]]), cy, cx, half)
                edge = find_boundaries(lab_crop == lab, mode="inner")
                rgb[edge] = 1.0
            crops.append((rgb * 255).astype(np.uint8))
        out[int(ev.event_id)] = crops
    return out


def _pixmap(rgb: np.ndarray | None, size: int) -> QPixmap:
    if rgb is None:
        pm = QPixmap(size, size)
        pm.fill(Qt.GlobalColor.black)
        return pm
    rgb = np.ascontiguousarray(rgb)
    h, w, _ = rgb.shape
    image = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    return QPixmap.fromImage(image).scaled(
        size, size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation
    )


class EventRow(QFrame):
    """One event: a title, the thumbnails over time and Accept/Reject."""

    def __init__(self, event: dict, offsets: Sequence[int], parent=None):
        super().__init__(parent)
        self.event_id = int(event["event_id"])
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.accept_button = QPushButton("Accept")
        self.reject_button = QPushButton("Reject")
        for b in (self.accept_button, self.reject_button):
            b.setCheckable(True)
            b.setMinimumWidth(60)
        self.show_button = QPushButton("Show")
        self.show_button.setToolTip("Show this event in the viewer")
        self.thumbs: list[QLabel] = []
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(3)
        grid.setVerticalSpacing(0)
        for i, k in enumerate(offsets):
            lab = QLabel()
            lab.setFixedSize(THUMB_PX, THUMB_PX)
            lab.setStyleSheet("background: black;")
            self.thumbs.append(lab)
            grid.addWidget(lab, 0, i)
            cap = QLabel("event" if k == 0 else f"{k:+d}")
            cap.setAlignment(Qt.AlignmentFlag.AlignCenter)
            cap.setStyleSheet("color: #9aa0a6; font-size: 10px;")
            grid.addWidget(cap, 1, i)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.setSpacing(4)
        buttons.addWidget(self.accept_button)
        buttons.addWidget(self.reject_button)
        buttons.addWidget(self.show_button)
        buttons.addStretch(1)
        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.addLayout(grid)
        body.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 3, 4, 3)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addLayout(body)
        layout.addLayout(buttons)
        self.update_event(event)

    def update_event(self, event: dict) -> None:
        donor = event.get("donor_track_id")
        d = f"D{int(donor)}" if pd.notna(donor) else "no donor"
        decision = str(event.get("review") or "")
        color = REVIEW_COLORS.get(decision, "#9aa0a6")
        state = decision or "to review"
        self.title.setText(
            f"<b>{self.event_id}</b>&nbsp; {d} → R{int(event['recipient_track_id'])}"
            f" · {event.get('mode', '')} · frame {int(event['frame'])}"
            f" · <span style='color:{color}'>{state}</span>"
        )
        self.accept_button.setChecked(decision == "accepted")
        self.reject_button.setChecked(decision == "rejected")
        self.setStyleSheet(
            "EventRow { border: 1px solid %s; }" % (color if decision else "#3d4148")
        )

    def set_crops(self, crops: Sequence[np.ndarray | None]) -> None:
        for lab, rgb in zip(self.thumbs, crops, strict=False):
            lab.setPixmap(_pixmap(rgb, THUMB_PX))


class EventGalleryPanel(QWidget):
    """Scrollable list of :class:`EventRow`.

    Signals
    -------
    decision_requested(int, object)
        event id and ``"accepted"``, ``"rejected"`` or None (clicking a checked button again
        clears the decision).
    event_selected(int)
    """

    decision_requested = Signal(int, object)
    event_selected = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.offsets = OFFSETS
        self.rows: dict[int, EventRow] = {}
        self.header = QLabel("Transfer events appear here after an analysis.")
        self.header.setWordWrap(True)
        self.header.setStyleSheet("color: #9aa0a6;")
        self.body = QWidget()
        self.body_layout = QVBoxLayout(self.body)
        self.body_layout.setContentsMargins(0, 0, 0, 0)
        self.body_layout.setSpacing(4)
        self.body_layout.addStretch(1)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(self.body)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.header)
        layout.addWidget(self.scroll, 1)

    def show_events(self, candidates: pd.DataFrame | None) -> None:
        """One row per candidate event (kept rows are updated, not rebuilt)."""
        records = [] if candidates is None else candidates.to_dict("records")
        ids = [int(r["event_id"]) for r in records]
        for eid in list(self.rows):
            if eid not in ids:
                row = self.rows.pop(eid)
                self.body_layout.removeWidget(row)
                row.deleteLater()
        for i, rec in enumerate(records):
            eid = int(rec["event_id"])
            row = self.rows.get(eid)
            if row is None:
                row = EventRow(rec, self.offsets)
                row.accept_button.clicked.connect(
                    lambda _=False, e=eid: self._clicked(e, "accepted")
                )
                row.reject_button.clicked.connect(
                    lambda _=False, e=eid: self._clicked(e, "rejected")
                )
                row.show_button.clicked.connect(lambda _=False, e=eid: self.event_selected.emit(e))
                self.rows[eid] = row
                self.body_layout.insertWidget(i, row)
            else:
                row.update_event(rec)
        n = len(records)
        n_rej = sum(1 for r in records if r.get("review") == "rejected")
        n_acc = sum(1 for r in records if r.get("review") == "accepted")
        if candidates is None:
            self.header.setText("Transfer events appear here after an analysis.")
        elif not n:
            self.header.setText("No transfer events in this analysis.")
        else:
            self.header.setText(
                f"{n} event{'s' if n != 1 else ''}: {n_acc} accepted, {n_rej} rejected, "
                f"{n - n_acc - n_rej} to review. Rejected events leave the counts and exports."
            )

    def set_crops(self, crops: Mapping[int, Sequence[np.ndarray | None]]) -> None:
        for eid, c in crops.items():
            if eid in self.rows:
                self.rows[eid].set_crops(c)

    def _clicked(self, event_id: int, decision: str) -> None:
        row = self.rows[event_id]
        button = row.accept_button if decision == "accepted" else row.reject_button
        # the click already toggled the button: unchecked now means "clear the decision"
        self.decision_requested.emit(event_id, decision if button.isChecked() else None)
