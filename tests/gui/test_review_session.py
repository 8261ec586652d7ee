"""Review sessions: save and restore give identical exports; autosave; restore offer; bad files."""

from __future__ import annotations

import filecmp

import pytest
from guitools import open_and_wait
from review_tools import analysed_window, export_and_read, wait_applied

from pgpviewer.core.export import OUTPUT_FILES
from pgpviewer.session.persist import autosave_dir, has_autosave

pytestmark = pytest.mark.gui


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("PGPVIEWER_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def _correct(qtbot, window, ctrl):
    result = window.session.result
    ev = result.events.iloc[0]
    wait_applied(qtbot, ctrl, lambda: ctrl.decide(int(ev["event_id"]), "rejected"))
    label = int(result.cells.query("frame == 2")["label"].iloc[0])
    ctrl.select_cell(2, label)
    wait_applied(qtbot, ctrl, ctrl.split_selected)


def test_session_round_trip_gives_identical_exports(qtbot, window, experiment, tmp_path):
    movie = experiment / "pos1.ome.tif"
    ctrl = analysed_window(qtbot, window, movie)
    _correct(qtbot, window, ctrl)
    window.viewer.set_frame(3)
    window.viewer.model.camera.zoom = 3.0
    export_and_read(qtbot, window, tmp_path / "a")
    with qtbot.waitSignal(ctrl.session_saved, timeout=30000):
        ctrl.save_session_to(tmp_path / "review.pgpsession")
    assert window.session.commands.is_clean

    # another file, then the session: its file is reopened, the review restored
    open_and_wait(qtbot, window, experiment / "pos2.ome.tif")
    assert not ctrl.state.active
    with qtbot.waitSignal(ctrl.session_restored, timeout=60000):
        ctrl.restore_session(tmp_path / "review.pgpsession")
    qtbot.waitUntil(lambda: not window.busy, timeout=30000)
    assert window.session.path == movie
    assert window.viewer.current_frame() == 3
    assert window.viewer.model.camera.zoom == pytest.approx(3.0)
    assert ctrl.state.labels_corrected and list(ctrl.state.decisions.values()) == ["rejected"]
    export_and_read(qtbot, window, tmp_path / "b")
    for name in OUTPUT_FILES:
        assert filecmp.cmp(tmp_path / "a" / name, tmp_path / "b" / name, shallow=False), name
    assert filecmp.cmp(tmp_path / "a" / "review.json", tmp_path / "b" / "review.json")
    # undo still works after a restore (the restored state is the new baseline)
    ctrl.select_cell(2, int(window.session.result.cells.query("frame == 2")["label"].iloc[0]))
    wait_applied(qtbot, ctrl, ctrl.erase_selected)
    wait_applied(qtbot, ctrl, window.undo_action.trigger)
    assert (window.session.result.cells["frame"] == 2).sum() == (
        ctrl.state.base.cells["frame"] == 2
    ).sum()


def test_autosave_offer_and_bad_session(qtbot, window, experiment, tmp_path):
    movie = experiment / "pos1.ome.tif"
    ctrl = analysed_window(qtbot, window, movie)
    assert ctrl.autosave() is None  # nothing changed yet
    _correct(qtbot, window, ctrl)
    with qtbot.waitSignal(ctrl.autosaved, timeout=30000):
        ctrl.autosave()
    assert has_autosave(movie) and ctrl.last_autosave == autosave_dir(movie)
    assert ctrl.autosave() is None  # saved: not again until the next change
    assert 0 < ctrl.autosave_timer.interval() <= 60000 and ctrl.autosave_timer.isActive()

    # reopening the file offers the session without blocking
    open_and_wait(qtbot, window, experiment / "pos2.ome.tif")
    assert ctrl.banner.isHidden()
    open_and_wait(qtbot, window, movie)
    assert ctrl.banner.isVisible() and ctrl.restore_action.isEnabled()
    with qtbot.waitSignal(ctrl.session_restored, timeout=60000):
        ctrl.banner.restore_button.click()
    qtbot.waitUntil(lambda: not window.busy, timeout=30000)
    assert ctrl.banner.isHidden()
    assert len(window.session.result.events) == len(ctrl.state.base.events) - 1

    # a damaged session file: one clear message, the app goes on
    bad = tmp_path / "bad.pgpsession"
    bad.mkdir()
    (bad / "session.json").write_text('{"format": "pgpviewer-session", "version": 1, "input": 3}')
    with qtbot.waitSignal(window.error_shown, timeout=30000) as err:
        ctrl.restore_session(bad)
    assert "not a valid pgpviewer session" in err.args[0] and "'input'" in err.args[0]
    window.last_error_dialog.close()
    assert window.session.result is not None
