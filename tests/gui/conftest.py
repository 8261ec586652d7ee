"""Fixtures for the desktop app tests (real napari canvas under pytest-xvfb; never offscreen).

Every test gets its own settings folder, so a developer's settings never leak in and a test
never writes outside tmp.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, monkeypatch):
    cfg = tmp_path / "config"
    monkeypatch.setenv("PGPVIEWER_CONFIG_DIR", str(cfg))
    return cfg


@pytest.fixture(scope="session")
def qapp():
    """The QApplication made as the app makes it (napari's, with its stylesheet)."""
    if os.environ.get("QT_QPA_PLATFORM", "").startswith("offscreen"):
        pytest.skip("napari canvases need OpenGL: run under pytest-xvfb, not offscreen")
    from pgpviewer.gui.app import create_app

    return create_app()


@pytest.fixture(scope="session")
def small_movie(tmp_path_factory) -> Path:
    """A small simulated co-culture (6 frames, 128×128, 3 channels) as OME-TIFF."""
    from pgpviewer.core.synthetic import simulate_coculture, write_simulation

    folder = tmp_path_factory.mktemp("experiment")
    sim = simulate_coculture(n_frames=6, shape_yx=(128, 128), n_cells=10, seed=1)
    return write_simulation(sim, folder / "coculture.ome.tif", ground_truth=False)


@pytest.fixture
def experiment(tmp_path, small_movie) -> Path:
    """A folder with two readable movies and nothing else."""
    import shutil

    folder = tmp_path / "experiment"
    folder.mkdir()
    shutil.copy(small_movie, folder / "pos1.ome.tif")
    shutil.copy(small_movie, folder / "pos2.ome.tif")
    return folder


@pytest.fixture
def window(qtbot, qapp):
    from pgpviewer.gui.main_window import MainWindow
    from pgpviewer.session.settings import AppSettings

    w = MainWindow(settings=AppSettings())
    qtbot.addWidget(w)
    w.resize(1280, 820)
    w.show()
    qtbot.waitExposed(w)
    yield w
    for job in list(w._jobs):
        job.cancel()
    qtbot.waitUntil(lambda: not w._jobs, timeout=30000)
    w.close()
    # Destroy the window and collect its garbage here, on the GUI thread: a garbage collection
    # that runs later inside a worker thread must never be the one that finalises Qt objects.
    from qtpy.QtCore import QCoreApplication, QEvent

    w.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()
