"""Opening files and folders: channels shown lazily with role colours, file list, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from guitools import SAMPLE, open_and_wait
from qtpy.QtCore import QMimeData, QPointF, Qt, QUrl
from qtpy.QtGui import QDropEvent

pytestmark = pytest.mark.gui


def test_open_sample_shows_channels_with_role_colours_and_scale(qtbot, window):
    open_and_wait(qtbot, window, SAMPLE)
    v = window.viewer
    names = [layer.name for layer in v.channel_layers]
    assert names == ["Hoechst [nuclei]", "CellTracker Blue [recipient]", "P-gp-EGFP [P-gp]"]
    assert [layer.colormap.name for layer in v.channel_layers] == ["blue", "cyan", "green"]
    stack = window.session.stack
    layer = v.channel_layers[2]
    assert tuple(layer.scale) == (stack.frame_interval_s, *stack.pixel_size_um)
    lazy = hasattr(layer.data, "dask") or isinstance(layer.data, np.memmap)
    assert lazy, "channels are passed lazily (dask or a memory map), never loaded whole"
    lo, hi = layer.contrast_limits
    assert 0 <= lo < hi < 65535
    assert window.roles_panel.roles() == {"nuclei": 0, "recipient": 1, "pgp": 2}
    assert window.file_panel.paths == [SAMPLE]
    qtbot.waitUntil(lambda: window.file_panel.item(SAMPLE).text(2) != "…")
    assert window.file_panel.item(SAMPLE).text(2).startswith("24t 3ch 256×256")
    assert window.file_panel.status_text(SAMPLE) == "not analysed"
    assert "sample.ome.tif" in window.windowTitle()


def test_roles_edit_recolours_and_is_remembered_per_folder(qtbot, window, experiment):
    first = experiment / "pos1.ome.tif"
    open_and_wait(qtbot, window, first)
    window.roles_panel.set_role("donor", 1)  # CellTracker → donor instead of recipient
    assert window.session.roles == {"nuclei": 0, "donor": 1, "pgp": 2}
    assert window.viewer.channel_layers[1].colormap.name == "magenta"
    assert window.viewer.channel_layers[1].name.endswith("[donor]")
    window.roles_panel.set_role("pgp", None)
    assert "pgp" not in window.session.roles
    assert window.viewer.channel_layers[2].colormap.name == "gray"
    assert "No P-gp channel" in window.roles_panel.note.text()
    # the next file of the same folder gets the remembered mapping
    with qtbot.waitSignal(window.stack_shown, timeout=30000):
        window.open_neighbour(1)
    assert window.session.path == experiment / "pos2.ome.tif"
    assert window.session.roles == {"nuclei": 0, "donor": 1}


def test_keyboard_next_previous_file(qtbot, window, experiment):
    open_and_wait(qtbot, window, experiment)
    assert window.session.path == experiment / "pos1.ome.tif"
    assert window.next_action.shortcut().toString() == "Ctrl+PgDown"
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    with qtbot.waitSignal(window.stack_shown, timeout=30000):
        qtbot.keyClick(window, Qt.Key.Key_PageDown, Qt.KeyboardModifier.ControlModifier)
    assert window.session.path == experiment / "pos2.ome.tif"
    with qtbot.waitSignal(window.stack_shown, timeout=30000):
        window.prev_action.trigger()
    assert window.session.path == experiment / "pos1.ome.tif"
    window.prev_action.trigger()  # at the first file: nothing happens
    assert not window._jobs or window.session.path == experiment / "pos1.ome.tif"


def test_drop_a_folder_opens_it(qtbot, window, experiment):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(experiment))])
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    with qtbot.waitSignal(window.stack_shown, timeout=30000):
        window.dropEvent(event)
    assert window.session.folder == experiment
    assert [p.name for p in window.file_panel.paths] == ["pos1.ome.tif", "pos2.ome.tif"]
    assert window.settings.recent_folders[0] == str(experiment.resolve())


def test_broken_file_shows_a_one_line_error_and_the_app_keeps_working(qtbot, window, experiment):
    broken = experiment / "broken.tif"
    broken.write_bytes(b"II*\x00" + b"\x00" * 10)
    with qtbot.waitSignal(window.error_shown, timeout=30000) as blocker:
        window.open_paths([broken])
    dialog = window.last_error_dialog
    assert dialog.isVisible() and dialog.objectName() == "ErrorDialog"
    assert "broken.tif" in blocker.args[0] and "\n" not in blocker.args[0]
    assert dialog.details == ""  # an input error: no traceback for the user
    dialog.close()
    qtbot.waitUntil(lambda: window.file_panel.item(broken).text(2) == "unreadable", timeout=30000)
    open_and_wait(qtbot, window, experiment / "pos1.ome.tif")
    assert window.session.stack is not None


def test_folder_without_images_is_an_error(qtbot, window, tmp_path):
    empty = tmp_path / "nothing"
    empty.mkdir()
    with qtbot.waitSignal(window.error_shown, timeout=5000) as blocker:
        window.open_paths([empty])
    assert "no image files" in blocker.args[0]


def test_stale_open_results_are_dropped(qtbot, window, experiment):
    """Clicking quickly through files shows the last one asked for."""
    window.set_folder(experiment)
    with qtbot.waitSignal(window.stack_shown, timeout=30000):
        window.open_path(experiment / "pos1.ome.tif")
        window.open_path(experiment / "pos2.ome.tif")
    qtbot.waitUntil(lambda: not window.busy, timeout=30000)
    assert window.session.path == experiment / "pos2.ome.tif"
    assert isinstance(window.viewer.channel_layers[0].data[0].compute(), np.ndarray)
    assert Path(window.file_panel.tree.currentItem().data(0, Qt.ItemDataRole.UserRole)) == (
        experiment / "pos2.ome.tif"
    )


def test_z_stack_is_shown_as_the_analysed_projection(qtbot, window, tmp_path):
    import tifffile

    z = np.zeros((2, 1, 3, 16, 16), np.uint16)
    z[:, :, 1] = 100  # only the middle plane is bright
    z[:, :, 2] = 50
    path = tmp_path / "z.ome.tif"
    tifffile.imwrite(path, z, ome=True, metadata={"axes": "TCZYX"})
    open_and_wait(qtbot, window, path)
    layer = window.viewer.channel_layers[0]
    assert layer.data.shape == (2, 16, 16)  # time, y, x: z projected lazily
    assert int(layer.data[0].compute().max()) == 100
    assert "max projection" in window.statusBar().currentMessage()
    window.session.set_params(window.session.params.replace(z_projection="mean"))
    layer = window.viewer.channel_layers[0]
    assert float(layer.data[0].compute().max()) == pytest.approx(50.0)
