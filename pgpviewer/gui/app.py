"""Start the desktop app: ``pgpviewer`` and ``pgpviewer open PATH... [--screenshot PNG]``."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

logger = logging.getLogger("pgpviewer.gui")

SCREENSHOT_TIMEOUT_S = 120.0
SCREENSHOT_SETTLE_MS = 600


def create_app():
    """The QApplication (napari's, with its dark stylesheet so its icons show)."""
    from napari.qt import get_qapp, get_stylesheet
    from qtpy.QtWidgets import QApplication

    import pgpviewer
    from pgpviewer.resources import resource_path

    if QApplication.instance() is not None:  # e.g. under pytest-qt: reuse it
        return get_qapp()
    icon = resource_path("icons", "pgpviewer.svg")  # napari reads the icon as SVG
    app = get_qapp(
        app_name="pgpviewer",
        app_version=pgpviewer.__version__,
        icon=str(icon) if icon.is_file() else None,
        org_name="pgpviewer",
        app_id="pgpviewer",
    )
    app.setStyleSheet(get_stylesheet("dark"))
    return app


def _configure_logging() -> None:
    level = os.environ.get("PGPVIEWER_LOG_LEVEL", "").upper() or (
        "DEBUG" if os.environ.get("PGPVIEWER_DEBUG") else "WARNING"
    )
    logging.basicConfig(
        level=getattr(logging, level, logging.WARNING), format="%(levelname)s %(name)s: %(message)s"
    )


def main(paths: Sequence[str] | None = None, *, screenshot: str | None = None) -> int:
    """Open the main window on ``paths`` (files or a folder), or on the sample.

    Parameters
    ----------
    paths : list of str, optional
        Files or an experiment folder; without them the bundled sample opens (generated once
        into the user cache folder when this install has no sample file).
    screenshot : str, optional
        Wait until the image is drawn, save the whole window as this PNG and return
        (settings are neither read nor written in this mode, so the picture is reproducible).

    Returns
    -------
    int
        Exit status: 0 on success; 2 when a file could not be opened in screenshot mode;
        1 when the screenshot could not be made.
    """
    t0 = time.perf_counter()
    _configure_logging()
    # pydantic is imported here, on this thread, before Qt: importing PySide6 installs an import
    # hook that inspects every module imported after it, and inspecting pydantic's lazily
    # imported modules while pydantic is itself being imported (e.g. by the warm-up thread
    # below) fails with a circular ImportError — an intermittent crash at start-up.
    import pgpviewer.core.params  # noqa: F401

    _warm_up_in_background()
    from qtpy.QtCore import QTimer

    from pgpviewer.gui.main_window import MainWindow, default_size
    from pgpviewer.gui.workers import TaskWorker
    from pgpviewer.session.settings import AppSettings, load_settings

    app = create_app()
    # Garbage is collected on a timer on the GUI thread only: a collection that happens to run
    # inside a worker thread and finalises Qt objects would crash the app (pyqtgraph's fix).
    from pyqtgraph.util.garbage_collector import GarbageCollector

    app._pgpviewer_gc = GarbageCollector(interval=1.0)
    settings = AppSettings() if screenshot else load_settings()
    window = MainWindow(settings=settings, save_settings=screenshot is None)
    if not settings.window_geometry:
        default_size(window)
    window.show()
    t_shown = time.perf_counter() - t0
    logger.info(
        "window shown %.2f s after main() (process CPU %.2f s)", t_shown, time.process_time()
    )
    window.startup_times = {"shown_s": t_shown}

    def first_draw(_stack) -> None:
        if "stack_shown_s" not in window.startup_times:
            window.startup_times["stack_shown_s"] = time.perf_counter() - t0
            logger.info(
                "first file shown %.2f s after main() (process CPU %.2f s)",
                window.startup_times["stack_shown_s"],
                time.process_time(),
            )

    window.stack_shown.connect(first_draw)

    state = {"status": None, "error": ""}
    if screenshot is None:
        _install_excepthook(window)

    if paths:
        window.open_paths([str(p) for p in paths])
    else:
        from pgpviewer.gui.sample import ensure_sample

        window.statusBar().showMessage("Opening the sample…")
        job = TaskWorker(ensure_sample)
        job.succeeded.connect(lambda p: window.open_paths([p]))
        job.failed.connect(lambda e: window.show_error("Cannot open the sample", e))
        window.start_job(job)

    if screenshot is None:
        return app.exec()

    # -- screenshot mode ------------------------------------------------------------------
    # A local event loop, not app.exec()/app.quit(): quitting the application would leave
    # Qt's quit flag set, and every later event loop of this process (tests, the CLI's
    # self-test) would return at once.
    from qtpy.QtCore import QEventLoop

    out = Path(screenshot)
    loop = QEventLoop()

    def save_and_quit() -> None:
        if state["status"] is not None:
            return
        app.processEvents()
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            ok = window.grab().save(str(out))
        except OSError as e:
            ok, state["error"] = False, str(e)
        if not ok:
            state["status"] = 1
            state["error"] = state["error"] or f"could not write {out}"
        else:
            state["status"] = 2 if state["error"] else 0
        window.close()
        loop.quit()

    def later(_=None) -> None:
        QTimer.singleShot(SCREENSHOT_SETTLE_MS, save_and_quit)

    def on_error(message: str) -> None:
        state["error"] = message
        later()

    def on_timeout() -> None:
        if state["status"] is None:
            state["error"] = f"nothing was shown after {SCREENSHOT_TIMEOUT_S:.0f} s"
            save_and_quit()
            state["status"] = 1

    window.stack_shown.connect(later)
    window.error_shown.connect(on_error)
    watchdog = QTimer()
    watchdog.setSingleShot(True)
    watchdog.timeout.connect(on_timeout)
    watchdog.start(int(SCREENSHOT_TIMEOUT_S * 1000))
    loop.exec()
    watchdog.stop()
    window.deleteLater()
    if state["error"]:
        print(f"pgpviewer: error: {state['error']}", file=sys.stderr)
    return int(state["status"] if state["status"] is not None else 1)


def _warm_up_in_background() -> None:
    """Import the reader and build the unit registry in a thread while the GUI thread imports
    Qt and napari (the first file then opens sooner)."""
    import threading

    def work() -> None:
        try:
            import tifffile  # noqa: F401  (dask/zarr are only needed for compressed files)

            from pgpviewer.gui.display import _warm_unit_registry

            _warm_unit_registry()
        except Exception:  # pragma: no cover - only a head start
            pass

    threading.Thread(target=work, name="pgpviewer-warm-up", daemon=True).start()


def _install_excepthook(window) -> None:
    """Unexpected exceptions in Qt callbacks: a dialog with details, the app keeps running."""
    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        if issubclass(exc_type, KeyboardInterrupt):
            previous(exc_type, exc, tb)
            return
        logger.error("unexpected error", exc_info=(exc_type, exc, tb))
        try:
            window.show_error("Unexpected error", exc.with_traceback(tb))
        except Exception:  # pragma: no cover - never let the hook itself fail
            previous(exc_type, exc, tb)

    sys.excepthook = hook
