"""Screenshots, movies and the Edit menu's undo/redo wiring."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from guitools import blank, open_and_wait

from pgpviewer.gui.movie import render_frames, write_movie
from pgpviewer.session.commands import CallbackCommand

pytestmark = pytest.mark.gui


def test_canvas_screenshot_and_movie(qtbot, window, experiment, tmp_path):
    open_and_wait(qtbot, window, experiment / "pos1.ome.tif")
    png = window.save_screenshot(tmp_path / "canvas.png")
    assert png.is_file() and not blank(png)
    window.viewer.set_frame(1)
    images = render_frames(window, [0, 2, 4])
    assert len(images) == 3 and images[0].shape[-1] == 3
    assert window.viewer.current_frame() == 1  # back where the user was
    gif = write_movie(tmp_path / "movie.gif", images)
    tif = write_movie(tmp_path / "movie.tif", images)
    assert gif.stat().st_size > 0
    assert tifffile.imread(tif).shape == (3, *images[0].shape)
    assert not np.array_equal(images[0], images[2])  # the frames differ


def test_edit_menu_follows_the_command_stack(window):
    values = []
    assert not window.undo_action.isEnabled()
    window.session.commands.push(
        CallbackCommand("merge cells 3+4", lambda: values.append(1), values.pop)
    )
    assert window.undo_action.isEnabled() and "merge cells 3+4" in window.undo_action.text()
    window.undo_action.trigger()
    assert values == [] and window.redo_action.isEnabled()
    window.redo_action.trigger()
    assert values == [1]
