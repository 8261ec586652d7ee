"""Export the canvas over time as a movie (animated GIF or multi-page TIFF).

Rendering uses the canvas, so it runs on the GUI thread, one frame at a time, with a
cancellable progress dialog that keeps the window responsive.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QApplication, QProgressDialog

if TYPE_CHECKING:
    from pgpviewer.gui.main_window import MainWindow


def render_frames(window: MainWindow, frames: list[int], on_frame=None) -> list[np.ndarray]:
    """Screenshots of the canvas at each frame (RGB); ``on_frame(i)`` False stops early."""
    viewer = window.viewer
    start = viewer.current_frame()
    images = []
    try:
        for i, f in enumerate(frames):
            if on_frame is not None and on_frame(i) is False:
                break
            viewer.set_frame(f)
            QApplication.processEvents()
            images.append(np.asarray(viewer.screenshot())[..., :3].copy())
    finally:
        viewer.set_frame(start)
    return images


def write_movie(path: Path, images: list[np.ndarray], fps: float = 5.0) -> Path:
    """GIF (by suffix .gif) via imageio/Pillow, otherwise a TIFF stack (T, Y, X, RGB)."""
    path = Path(path)
    if not images:
        raise ValueError("no frames to write")
    if path.suffix.lower() == ".gif":
        import imageio.v3 as iio

        iio.imwrite(path, np.stack(images), duration=1000.0 / fps, loop=0)
    else:
        import tifffile

        tifffile.imwrite(path, np.stack(images), photometric="rgb")
    return path


def export_movie_interactive(window: MainWindow, path: Path, fps: float = 5.0) -> Path | None:
    """Render every frame with a progress dialog and write ``path``."""
    stack = window.session.stack
    if stack is None:
        return None
    frames = list(range(stack.frame_offset, stack.frame_offset + stack.n_frames))
    dialog = QProgressDialog("Rendering frames…", "Cancel", 0, len(frames), window)
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(300)

    def step(i: int) -> bool:
        dialog.setValue(i)
        return not dialog.wasCanceled()

    images = render_frames(window, frames, step)
    dialog.setValue(len(frames))
    if dialog.wasCanceled() or not images:
        return None
    try:
        write_movie(path, images, fps)
    except (OSError, ValueError) as e:
        from pgpviewer.core.errors import InputError

        window.show_error("Movie export failed", InputError(path, f"cannot write ({e})"))
        return None
    window.statusBar().showMessage(f"Saved movie {path}", 8000)
    return path
