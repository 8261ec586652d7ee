"""Save a screenshot of the main window in each state, to look at after GUI changes.

Run under a virtual screen large enough for the window::

    xvfb-run -a -s "-screen 0 1600x1000x24" \\
        .venv/bin/python tests/gui/make_screenshots.py /tmp/gui_shots

Not a test (pytest does not collect it). States: start-up with the sample, channel roles,
parameters with live preview, a run in progress, results with layers and legend, uptake, an
input error, an unexpected error with details, About. Dialogs are grabbed from the screen.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "sample" / "sample.ome.tif"


def main(out: Path) -> int:
    os.environ.setdefault("PGPVIEWER_CONFIG_DIR", tempfile.mkdtemp(prefix="pgpviewer-shots-"))
    from qtpy.QtCore import QEventLoop, QTimer
    from qtpy.QtGui import QGuiApplication

    from pgpviewer.gui.app import create_app
    from pgpviewer.gui.main_window import MainWindow
    from pgpviewer.session.settings import AppSettings

    out.mkdir(parents=True, exist_ok=True)
    create_app()
    w = MainWindow(settings=AppSettings())
    w.resize(1440, 900)
    w.show()

    def wait(ms: int) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    def wait_for(cond, timeout: float = 120) -> None:
        t = time.time()
        while not cond():
            wait(50)
            if time.time() - t > timeout:
                raise TimeoutError

    def shot(name: str, screen: bool = False) -> None:
        wait(500)
        p = out / f"{name}.png"
        image = QGuiApplication.primaryScreen().grabWindow(0) if screen else w.grab()
        image.save(str(p))
        print("saved", p)

    w.open_paths([SAMPLE])
    wait_for(lambda: w.session.stack is not None and not w.busy)
    shot("01_startup_sample")
    w.roles_dock.raise_()
    shot("02_roles_panel")
    w.params_dock.raise_()
    w.params_panel.preview_check.setChecked(True)
    wait_for(lambda: w.viewer.layer("preview: cells") is not None and not w.busy)
    shot("03_params_panel_preview")
    w.params_panel.preview_check.setChecked(False)
    w.files_dock.raise_()
    w.run_analysis()
    wait_for(lambda: w.run_panel.progress.value() > 300)
    shot("04_running")
    wait_for(lambda: w.run_panel.run_button.isEnabled(), 300)
    wait_for(lambda: not w.busy)
    w.viewer.set_frame(12)
    shot("05_results")
    w.uptake_dock.raise_()
    shot("06_uptake")
    w.open_path(Path(tempfile.mkdtemp()) / "missing.tif")
    wait_for(lambda: w.last_error_dialog is not None and w.last_error_dialog.isVisible())
    shot("07_error_dialog", screen=True)
    w.last_error_dialog.close()
    try:
        raise RuntimeError("boom: something unexpected")
    except RuntimeError as e:
        w.show_error("Analysis failed", e)
    w.last_error_dialog.details_button.setChecked(True)
    shot("08_error_details", screen=True)
    w.last_error_dialog.close()
    w.show_about()
    shot("09_about", screen=True)
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/gui_shots")))
