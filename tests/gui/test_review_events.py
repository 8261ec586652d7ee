"""Accepting and rejecting transfer events in the gallery changes the counts and the exports."""

from __future__ import annotations

import json

import pytest
from review_tools import analysed_window, export_and_read, wait_applied

pytestmark = pytest.mark.gui


def test_reject_event_leaves_counts_and_exports(qtbot, window, experiment, tmp_path):
    ctrl = analysed_window(qtbot, window, experiment / "pos1.ome.tif")
    result = window.session.result
    assert len(result.events) >= 1
    before = export_and_read(qtbot, window, tmp_path / "before")
    n_events = len(before["events"])
    assert before["summary"]["cumulative_events"].iloc[-1] == n_events

    # the gallery shows each event with thumbnails over time
    qtbot.waitUntil(lambda: len(ctrl.gallery.rows) == n_events, timeout=10000)
    row = ctrl.gallery.rows[int(result.events["event_id"].iloc[0])]
    qtbot.waitUntil(lambda: not row.thumbs[2].pixmap().isNull(), timeout=20000)
    assert row.thumbs[2].pixmap().width() > 40

    # reject with the gallery's button
    wait_applied(qtbot, ctrl, row.reject_button.click)
    assert row.reject_button.isChecked() and "rejected" in row.title.text()
    reviewed = window.session.result
    assert len(reviewed.events) == n_events - 1
    assert "1 rejected" in ctrl.gallery.header.text()
    assert ctrl.tables.events.model.rowCount() == n_events  # still listed, marked rejected
    assert "rejected" in ctrl.tables.events.model.frame["review"].tolist()
    assert window.uptake_panel.model.rowCount() == len(reviewed.summary)
    after = export_and_read(qtbot, window, tmp_path / "after")
    assert len(after["events"]) == n_events - 1
    assert after["summary"]["cumulative_events"].iloc[-1] == n_events - 1
    assert (after["tracks"]["status"] == "event").sum() < (
        before["tracks"]["status"] == "event"
    ).sum()
    review = json.loads((tmp_path / "after" / "review.json").read_text())
    assert review["event_decisions"][0]["decision"] == "rejected"

    # undo restores the counts; redo rejects again; accepting keeps the event
    wait_applied(qtbot, ctrl, window.undo_action.trigger)
    assert len(window.session.result.events) == n_events and not row.reject_button.isChecked()
    wait_applied(qtbot, ctrl, window.redo_action.trigger)
    assert len(window.session.result.events) == n_events - 1
    wait_applied(qtbot, ctrl, row.accept_button.click)
    assert len(window.session.result.events) == n_events and row.accept_button.isChecked()
    assert "1 accepted" in ctrl.gallery.header.text()
