"""The entry point: start-up, screenshot mode, settings robustness, About."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from guitools import SAMPLE, blank

pytestmark = pytest.mark.gui


def test_screenshot_mode_in_a_new_process(tmp_path):
    """`pgpviewer open SAMPLE --screenshot PNG` as the CLI calls it: draws, saves, exits 0."""
    png = tmp_path / "window.png"
    env = {**os.environ, "PGPVIEWER_LOG_LEVEL": "INFO"}
    code = (
        "import sys; from pgpviewer.gui.app import main; "
        f"sys.exit(main([{str(SAMPLE)!r}], screenshot={str(png)!r}))"
    )
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=180
    )
    elapsed = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert png.is_file() and not blank(png)
    assert "window shown" in proc.stderr
    print(f"screenshot process took {elapsed:.1f} s; {proc.stderr.strip().splitlines()[-1]}")


def test_screenshot_of_a_broken_file_exits_2_with_one_line(qapp, tmp_path, capsys):
    """In this process (the QApplication is shared): the error path of screenshot mode."""
    from pgpviewer.gui.app import main

    broken = tmp_path / "broken.tif"
    broken.write_bytes(b"not a tiff at all")
    png = tmp_path / "w.png"
    assert main([str(broken)], screenshot=str(png)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("pgpviewer: error: ") and "broken.tif" in err[-1]
    assert png.is_file()


def test_corrupt_settings_do_not_block_the_window(qtbot, qapp, isolated_settings, caplog):
    from pgpviewer.gui.main_window import MainWindow
    from pgpviewer.session.settings import load_settings, settings_path

    settings_path().parent.mkdir(parents=True, exist_ok=True)
    settings_path().write_text('{"recent_folders": ["/x"], "window_geometry": "%%%", ')
    settings = load_settings()
    assert settings.recent_folders == []
    settings.window_geometry = "not base64 at all!"  # a damaged layout is ignored too
    w = MainWindow(settings=settings, save_settings=True)
    qtbot.addWidget(w)
    w.show()
    w.close()
    assert load_settings().window_geometry  # rewritten as a valid file on close


def test_about_lists_versions(qtbot, window):
    dialog = window.show_about()
    text = dialog.text.toPlainText()
    for name in ("pgpviewer", "napari", "Qt", "numpy", "PySide6-Essentials"):
        assert f"{name}:" in text
    dialog.close()
