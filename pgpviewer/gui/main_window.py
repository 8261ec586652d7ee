"""The main window: composes the panels, binds them to the :class:`Session`, runs workers.

The window owns no analysis logic: files open, analyses run and exports write in
:class:`~pgpviewer.gui.workers.TaskWorker` jobs; their results are applied here, on the GUI
thread, through the session's signals.
"""

from __future__ import annotations

import base64
import logging
from pathlib import Path

from qtpy.QtCore import QByteArray, Qt, QThreadPool, Signal
from qtpy.QtWidgets import (
    QApplication,
    QDockWidget,
    QMainWindow,
    QTabWidget,
    QWidget,
)

from pgpviewer.core.errors import InputError
from pgpviewer.core.params import AnalysisParams
from pgpviewer.gui.analysis import (
    AnalysisOutput,
    RunFunction,
    analyse,
    layers_for,
)
from pgpviewer.gui.dialogs import AboutDialog, ErrorDialog, describe_error
from pgpviewer.gui.display import OpenedStack
from pgpviewer.gui.file_panel import FilePanel
from pgpviewer.gui.icons import app_icon
from pgpviewer.gui.legend_panel import LegendPanel
from pgpviewer.gui.menus import WindowMenusMixin
from pgpviewer.gui.params_panel import ParamsPanel
from pgpviewer.gui.preview import PreviewWorker, preview_available
from pgpviewer.gui.result_layers import CELLS_LAYER
from pgpviewer.gui.roles_panel import RolesPanel
from pgpviewer.gui.run_panel import RunPanel
from pgpviewer.gui.uptake_panel import UptakePanel
from pgpviewer.gui.viewer_panel import ViewerPanel
from pgpviewer.gui.window_files import WindowFilesMixin
from pgpviewer.gui.workers import TaskWorker
from pgpviewer.session.session import FileStatus, RunTicket, Session
from pgpviewer.session.settings import AppSettings, save_settings, settings_path

logger = logging.getLogger(__name__)


class MainWindow(WindowFilesMixin, WindowMenusMixin, QMainWindow):
    """pgpviewer's window.

    Parameters
    ----------
    session : Session, optional
        The app state (a new one by default).
    settings : AppSettings, optional
        Remembered settings (defaults when not given); saved on close when ``save_settings``.
    run_function : callable, optional
        Replaces :func:`~pgpviewer.core.pipeline.run_pipeline` (tests, other back ends).
    save_settings : bool
        Write settings to disk on changes and on close.

    Signals
    -------
    stack_shown(Stack)
        A file is open and its channels are in the viewer.
    result_shown(object)
        Result layers, legend and uptake dock show this result (None: cleared).
    analysis_finished(str)
        "ok", "failed" or "cancelled".
    exported(Path)
        Results were written to this folder.
    error_shown(str)
        An error dialog was opened with this message.
    """

    stack_shown = Signal(object)
    result_shown = Signal(object)
    analysis_finished = Signal(str)
    exported = Signal(object)
    error_shown = Signal(str)

    def __init__(
        self,
        session: Session | None = None,
        settings: AppSettings | None = None,
        *,
        run_function: RunFunction | None = None,
        save_settings: bool = False,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.session = session or Session()
        self.settings = settings or AppSettings()
        self.run_function = run_function
        self._persist = save_settings
        self._open_job: TaskWorker | None = None
        self._open_generation = 0
        self._run_job: TaskWorker | None = None
        self._run_ticket: RunTicket | None = None
        self._details_job: TaskWorker | None = None
        self._layers_job: TaskWorker | None = None
        self._layer_specs: dict[int, list] = {}
        self._opened_stack: OpenedStack | None = None
        self._jobs: set[TaskWorker] = set()
        self.last_error_dialog: ErrorDialog | None = None

        self.setWindowTitle("pgpviewer")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.setDockNestingEnabled(True)

        self.viewer = ViewerPanel(self)
        self.setCentralWidget(self.viewer)
        self.file_panel = FilePanel()
        self.roles_panel = RolesPanel()
        self.params_panel = ParamsPanel(self.session.params)
        self.run_panel = RunPanel()
        self.legend_panel = LegendPanel()
        self.uptake_panel = UptakePanel()
        self.preview = PreviewWorker(parent=self)
        self._build_docks()
        self._build_menus()
        self._connect()
        from pgpviewer.gui.review import ReviewController

        self.review = ReviewController(self)
        self._restore_layout()
        self.file_panel.set_recent_folders(self.settings.recent_folders)
        ok, why = preview_available()
        self.params_panel.preview_check.setEnabled(ok)
        if not ok:
            self.params_panel.preview_check.setToolTip(why)
        self._update_run_state()
        self.statusBar().showMessage("Ready")

    # ------------------------------------------------------------------ construction --
    def _dock(self, widget: QWidget, title: str, name: str, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        bottom = Qt.DockWidgetArea.BottomDockWidgetArea
        self.files_dock = self._dock(self.file_panel, "Files", "files_dock", left)
        self.run_dock = self._dock(self.run_panel, "Analysis", "run_dock", left)
        self.splitDockWidget(self.files_dock, self.run_dock, Qt.Orientation.Vertical)
        self.roles_dock = self._dock(self.roles_panel, "Channels", "roles_dock", left)
        self.params_dock = self._dock(self.params_panel, "Parameters", "params_dock", left)
        self.setTabPosition(left, QTabWidget.TabPosition.North)
        self.tabifyDockWidget(self.files_dock, self.roles_dock)
        self.tabifyDockWidget(self.roles_dock, self.params_dock)
        self.files_dock.raise_()

        controls = self.viewer.layer_controls_dock
        layers = self.viewer.layer_list_dock
        controls.setObjectName("layer_controls_dock")
        layers.setObjectName("layer_list_dock")
        self.addDockWidget(right, controls)
        self.addDockWidget(right, layers)
        self.legend_dock = self._dock(self.legend_panel, "Legend", "legend_dock", right)
        self.uptake_dock = self._dock(self.uptake_panel, "Uptake", "uptake_dock", bottom)
        self.setCorner(Qt.Corner.BottomLeftCorner, bottom)
        self.setCorner(Qt.Corner.BottomRightCorner, right)
        self.resizeDocks([self.files_dock, self.run_dock], [480, 150], Qt.Orientation.Vertical)
        self.resizeDocks([self.files_dock], [390], Qt.Orientation.Horizontal)
        self.resizeDocks([controls], [290], Qt.Orientation.Horizontal)
        self.resizeDocks(
            [controls, layers, self.legend_dock], [330, 260, 150], Qt.Orientation.Vertical
        )
        self.resizeDocks([self.uptake_dock], [230], Qt.Orientation.Vertical)

    def _connect(self) -> None:
        s = self.session
        s.stack_changed.connect(self._on_stack_changed)
        s.roles_changed.connect(self._on_roles_changed)
        s.params_changed.connect(self._on_params_changed)
        s.result_changed.connect(self._on_result_changed)
        s.status_changed.connect(self._on_status_changed)
        s.commands.changed.connect(self._refresh_undo)

        self.file_panel.file_activated.connect(self.open_path)
        self.file_panel.folder_chosen.connect(self.set_folder)
        self.roles_panel.roles_edited.connect(self._roles_edited)
        self.params_panel.params_edited.connect(self.session.set_params)
        self.params_panel.preview_toggled.connect(self._preview_toggled)
        self.params_panel.error_raised.connect(lambda e: self.show_error("Parameters", e))
        self.run_panel.run_requested.connect(self.run_analysis)
        self.run_panel.cancel_requested.connect(self.cancel_analysis)
        self.legend_panel.visibility_toggled.connect(self._set_layer_visible)
        self.uptake_panel.frame_requested.connect(self.viewer.set_frame)
        self.viewer.frame_changed.connect(self._on_frame_changed)
        self.preview.ready.connect(self._preview_ready)
        self.preview.failed.connect(self._preview_failed)

    def _restore_layout(self) -> None:
        try:
            if self.settings.window_geometry:
                self.restoreGeometry(QByteArray(base64.b64decode(self.settings.window_geometry)))
            if self.settings.window_state:
                self.restoreState(QByteArray(base64.b64decode(self.settings.window_state)))
        except (ValueError, TypeError):
            logger.warning("ignoring an unreadable saved window layout")

    # ------------------------------------------------------------------------ jobs --
    def start_job(self, job: TaskWorker) -> TaskWorker:
        self._jobs.add(job)
        job.finished.connect(lambda j=job: self._jobs.discard(j))
        job.start()
        return job

    @property
    def busy(self) -> bool:
        """True while any background job runs (tests wait on it)."""
        return bool(self._jobs) or self.preview.busy

    # drag and drop ----------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_paths(paths)

    # ------------------------------------------------------------- session events --
    def _on_stack_changed(self, stack) -> None:
        if stack is None:
            self.viewer.clear()
            self.roles_panel.set_channels([], {})
        else:
            self.roles_panel.set_channels(stack.channel_names, self.session.roles)
        self._update_run_state()

    def _on_roles_changed(self, roles: dict) -> None:
        self.roles_panel.set_roles(roles)
        self.viewer.update_roles(roles)
        self._update_run_state()
        self._request_preview()

    def _roles_edited(self, roles: dict) -> None:
        try:
            self.session.set_roles(roles)
        except InputError as e:
            self.show_error("Channel roles", e)
            self.roles_panel.set_roles(self.session.roles)
            return
        stack = self.session.stack
        if stack is not None and stack.path is not None:
            self.settings.remember_roles(stack.path.parent, self.session.roles, stack.channel_names)
            self._save_settings()

    def _on_params_changed(self, params: AnalysisParams) -> None:
        if self.params_panel.params() != params:
            self.params_panel.set_params(params)
        opened = self._opened_stack
        if (
            opened is not None
            and opened.stack is self.session.stack
            and opened.stack.n_z > 1
            and self.viewer.z_projection != params.z_projection
        ):  # show what will be analysed
            frame = self.viewer.current_frame()
            self.viewer.show_stack(opened, self.session.roles, params.z_projection)
            self.viewer.set_frame(frame)
            self._on_result_changed(self.session.result)
        self._update_run_state()
        self._request_preview()

    def _on_status_changed(self, path) -> None:
        paths = self.file_panel.paths if path is None else [path]
        for p in paths:
            status = self.session.status(p)
            self.file_panel.set_status(p, status, self.session.status_message(p))
        self._update_run_state()

    def _on_result_changed(self, result) -> None:
        if result is None:
            self.viewer.clear_results()
            self.legend_panel.set_available(False)
            self.uptake_panel.clear()
            self._update_run_state()
            self.result_shown.emit(None)
            return
        specs = self._layer_specs.get(id(result))
        if specs is not None:
            self._show_result(result, specs)
            return
        scale = self.viewer.geometry.scale if self.viewer.geometry else (1.0, 1.0, 1.0)
        job = TaskWorker(layers_for, result, scale)
        job.succeeded.connect(lambda specs, r=result: self._layers_ready(r, specs))
        job.failed.connect(lambda e: self.show_error("Cannot show the result", e))
        self._layers_job = self.start_job(job)

    def _layers_ready(self, result, specs) -> None:
        self._layer_specs[id(result)] = specs
        if result is self.session.result:
            self._show_result(result, specs)

    def _show_result(self, result, specs) -> None:
        visible = {n: c.isChecked() for n, c in self.legend_panel.checks.items()}
        layers = self.viewer.show_result_layers(specs, visible)
        cells = self.viewer.layer(CELLS_LAYER)
        if cells is not None:
            self.viewer.model.layers.selection.active = cells
        for layer in layers:
            layer.events.visible.connect(
                lambda e, n=layer.name: self.legend_panel.set_visible(n, e.source.visible)
            )
        self.legend_panel.set_available(True)
        gate = getattr(result, "gate", None)
        if gate is not None:
            self.legend_panel.set_gate_text(
                f"P-gp gate {float(gate.value):.4g} (from {gate.source})"
            )
        self.uptake_panel.show_result(result)
        self.uptake_panel.set_frame(self.viewer.current_frame())
        self._update_run_state()
        self.result_shown.emit(result)

    def _set_layer_visible(self, name: str, visible: bool) -> None:
        layer = self.viewer.layer(name)
        if layer is not None:
            layer.visible = visible

    def _on_frame_changed(self, frame: int) -> None:
        self.uptake_panel.set_frame(frame)
        self._request_preview()

    # ------------------------------------------------------------------ analysis --
    def _update_run_state(self) -> None:
        s = self.session
        running = self._run_job is not None
        can = s.stack is not None and not running
        self.run_panel.set_can_run(can, "Open a file first" if s.stack is None else "")
        self.run_action.setEnabled(can)
        self.cancel_action.setEnabled(running)
        has_result = s.result is not None
        self.export_action.setEnabled(has_result and not running)
        self.movie_action.setEnabled(s.stack is not None)
        if running:
            return
        if s.stack is None:
            self.run_panel.set_result_state("")
        elif s.result is None:
            self.run_panel.set_result_state("Not analysed yet.", "#9aa0a6")
        elif s.result_is_current:
            self.run_panel.set_result_state("Results are up to date.", "#5fd35f")
        else:
            self.run_panel.set_result_state(
                "Results are out of date (roles or parameters changed): run again.", "#f0a030"
            )

    def run_analysis(self) -> None:
        """Analyse the open file in a worker (progress, ETA and cancel in the run panel)."""
        if self._run_job is not None:
            return
        s = self.session
        if s.stack is None:
            self.show_error("Nothing to analyse", InputError(None, "open a file first"))
            return
        self.preview.cancel()
        ticket = s.begin_run()
        scale = self.viewer.geometry.scale if self.viewer.geometry else (1.0, 1.0, 1.0)
        job = TaskWorker(
            analyse,
            ticket.stack,
            ticket.roles,
            ticket.params,
            scale=scale,
            run=self.run_function,
            report=True,
        )
        job.progressed.connect(self.run_panel.update_progress)
        job.succeeded.connect(self._run_succeeded)
        job.failed.connect(self._run_failed)
        job.cancelled.connect(self._run_cancelled)
        job.finished.connect(self._run_finished)
        self._run_ticket = ticket
        self._run_job = job
        self.run_panel.started()
        self._update_run_state()
        self.statusBar().showMessage(f"Analysing {ticket.stack.name}…")
        self.start_job(job)

    def cancel_analysis(self) -> None:
        if self._run_job is not None:
            self._run_job.cancel()
            self.statusBar().showMessage("Cancelling…")

    def _run_succeeded(self, output: AnalysisOutput) -> None:
        ticket = self._run_ticket
        self._layer_specs = {id(output.result): output.layers}
        n_ev = len(output.result.events) if output.result.events is not None else 0
        self.run_panel.stopped(
            f"Done: {len(output.result.tracks)} tracks, {n_ev} transfer "
            f"event{'s' if n_ev != 1 else ''}."
        )
        self.session.finish_run(ticket, output.result)
        self.statusBar().showMessage(f"Analysed {ticket.stack.name}", 8000)
        self._finish_state = "ok"

    def _run_failed(self, exc: BaseException) -> None:
        message, _ = describe_error(exc)
        self.session.fail_run(self._run_ticket, message)
        self.run_panel.stopped("Failed: see the message.", ok=False)
        self.statusBar().showMessage("Analysis failed", 8000)
        self._finish_state = "failed"
        self.show_error("Analysis failed", exc)

    def _run_cancelled(self) -> None:
        self.session.cancel_run(self._run_ticket)
        self.run_panel.stopped("Cancelled.", ok=False)
        self.statusBar().showMessage("Analysis cancelled", 8000)
        self._finish_state = "cancelled"

    def _run_finished(self) -> None:
        state = getattr(self, "_finish_state", "failed")
        self._run_job = None
        self._run_ticket = None
        self._update_run_state()
        self._request_preview()
        self.analysis_finished.emit(state)

    # ------------------------------------------------------------------- preview --
    def _preview_toggled(self, on: bool) -> None:
        self.preview.enabled = on
        if self.preview_action.isChecked() != on:
            self.preview_action.setChecked(on)
        self.settings.live_preview = on
        if on:
            self._request_preview()
        else:
            self.preview.cancel()
            self.viewer.clear_preview()

    def _request_preview(self) -> None:
        if not self.preview.enabled or self._run_job is not None:
            return
        s = self.session
        self.preview.request(s.stack, self.viewer.current_frame(), s.roles, s.params)

    def _preview_ready(self, result) -> None:
        if not self.preview.enabled:
            return
        self.viewer.show_preview(result.labels, result.puncta_yx)
        n_p = "" if result.puncta_yx is None else f", {len(result.puncta_yx)} puncta"
        self.statusBar().showMessage(
            f"Preview of frame {result.frame}: {result.n_cells} cells{n_p}", 5000
        )

    def _preview_failed(self, exc: BaseException) -> None:
        self.statusBar().showMessage(f"Preview failed: {describe_error(exc)[0]}", 8000)

    # -------------------------------------------------------------------- errors --
    def show_error(self, title: str, error: BaseException | str) -> ErrorDialog:
        """Show an error without blocking; ``InputError`` as one line, others with details."""
        if isinstance(error, BaseException):
            message, details = describe_error(error)
            if details:
                logger.error("%s: %s\n%s", title, message, details)
        else:
            message, details = str(error), ""
        dialog = ErrorDialog(title, message, details, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        self.last_error_dialog = dialog
        self.error_shown.emit(message)
        return dialog

    def show_about(self) -> AboutDialog:
        dialog = AboutDialog(self, str(settings_path()))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    # -------------------------------------------------------------------- misc --
    def _save_settings(self) -> None:
        if self._persist:
            save_settings(self.settings)

    def status_of(self, path: str | Path) -> FileStatus:
        return self.session.status(path)

    def closeEvent(self, event) -> None:
        self.settings.window_geometry = base64.b64encode(bytes(self.saveGeometry())).decode()
        self.settings.window_state = base64.b64encode(bytes(self.saveState())).decode()
        self._save_settings()
        self.preview.cancel()
        for job in list(self._jobs):
            job.cancel()
        QThreadPool.globalInstance().waitForDone(3000)
        self.viewer.close_viewer()
        super().closeEvent(event)


def default_size(window: QMainWindow) -> None:
    """A size that fits the screen: 1440×900 at most, 90 % of the screen otherwise."""
    screen = QApplication.primaryScreen()
    if screen is None:
        window.resize(1440, 900)
        return
    avail = screen.availableGeometry()
    window.resize(min(1440, int(avail.width() * 0.92)), min(900, int(avail.height() * 0.9)))
