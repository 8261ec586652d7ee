"""The "Analyse P-gp transfer" dock widget for stock napari.

It is the desktop app's panels (channel roles, parameters, run, legend, uptake) around a napari
``Viewer`` instead of the app's own viewer: the same classes, no second copy. The analysis runs
in a :class:`~pgpviewer.gui.workers.TaskWorker` (progress, cancel); result layers are built in
the worker by :mod:`pgpviewer.gui.result_layers` and added on the GUI thread.

What is analysed (the *source*) comes from the viewer's image layers:

* layers opened by pgpviewer's reader carry the file and position in their metadata: the whole
  file is analysed (read lazily again, so channels the user deleted still count);
* any other image layers of one shape are stacked as channels (their names are the channel
  names; scale and units give pixel size and frame interval).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qtpy.QtCore import Signal
from qtpy.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from pgpviewer.core.errors import InputError
from pgpviewer.core.params import AnalysisParams
from pgpviewer.core.stack import Stack
from pgpviewer.gui.analysis import AnalysisOutput, RunFunction, analyse, export
from pgpviewer.gui.display import colormap_for
from pgpviewer.gui.legend_panel import LegendPanel
from pgpviewer.gui.params_panel import ParamsPanel
from pgpviewer.gui.result_layers import CELLS_LAYER, RESULT_LAYER_NAMES, add_result_layers
from pgpviewer.gui.roles_panel import RolesPanel
from pgpviewer.gui.run_panel import RunPanel
from pgpviewer.gui.uptake_panel import UptakePanel
from pgpviewer.gui.workers import TaskWorker
from pgpviewer.napari_plugin.reader import CHANNEL_TAG, open_stack

logger = logging.getLogger(__name__)

_LENGTH_UM = {"micrometer": 1.0, "micron": 1.0, "µm": 1.0, "um": 1.0, "nanometer": 1e-3}
_TIME_S = {"second": 1.0, "s": 1.0, "millisecond": 1e-3, "minute": 60.0, "hour": 3600.0}


@dataclass
class StackSource:
    """Image layers that together form one stack to analyse."""

    label: str
    layers: list[Any]
    channel_names: list[str]
    path: str | None = None
    position: int = 0
    scale: tuple[float, ...] = (1.0, 1.0, 1.0)
    units: tuple[Any, ...] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def channel_layers(self) -> dict[int, Any]:
        """Channel index → layer still in the viewer."""
        if self.path is not None:
            return {int(ly.metadata["channel"]): ly for ly in self.layers}
        return dict(enumerate(self.layers))

    def open(self) -> Stack:
        """The stack (lazy); runs in the analysis worker."""
        if self.path is not None:
            return open_stack(self.path, self.position)
        return _stack_from_layers(self.layers, self.channel_names, self.scale, self.units)


def _unit(u: Any) -> str:
    return "" if u is None else str(u).strip().lower()


def _stack_from_layers(
    layers: Sequence[Any], names: Sequence[str], scale: Sequence[float], units: Any
) -> Stack:
    import dask.array as da

    arrays = [ly.data if hasattr(ly.data, "dask") else da.from_array(ly.data) for ly in layers]
    ndim = arrays[0].ndim
    axes = {2: "YX", 3: "TYX"}.get(ndim)
    if axes is None:
        raise InputError(None, f"image layers of {ndim} dimensions: choose (T, Y, X) or (Y, X)")
    data = da.stack(arrays)  # (C, [T,] Y, X)
    units = list(units) if units is not None else [None] * ndim
    sy, sx = float(scale[-2]), float(scale[-1])
    uy, ux = _unit(units[-2]), _unit(units[-1])
    pixel = (
        (sy * _LENGTH_UM[uy], sx * _LENGTH_UM[ux])
        if uy in _LENGTH_UM and ux in _LENGTH_UM
        else None
    )
    interval = None
    if ndim == 3 and _unit(units[0]) in _TIME_S:
        interval = float(scale[0]) * _TIME_S[_unit(units[0])]
    return Stack.from_array(
        data,
        "C" + axes,
        channel_names=tuple(names),
        pixel_size_um=pixel,
        frame_interval_s=interval,
    )


def find_sources(layers: Sequence[Any]) -> list[StackSource]:
    """Analysable stacks among napari ``layers`` (files from pgpviewer's reader first)."""
    sources: list[StackSource] = []
    files: dict[tuple[str, int], list[Any]] = {}
    others: dict[tuple[int, ...], list[Any]] = {}
    for ly in layers:
        if type(ly).__name__ != "Image" or getattr(ly, "rgb", False) or ly.multiscale:
            continue
        meta = ly.metadata or {}
        src = meta.get("source") if meta.get("pgpviewer") == CHANNEL_TAG else None
        if src and src.get("path"):
            files.setdefault((src["path"], int(src.get("position", 0))), []).append(ly)
        elif ly.ndim in (2, 3):
            others.setdefault(tuple(ly.data.shape), []).append(ly)
    for (path, position), group in files.items():
        group.sort(key=lambda ly: int(ly.metadata["channel"]))
        src = group[0].metadata["source"]
        label = Path(path).name + (f" (position {position})" if position else "")
        sources.append(
            StackSource(
                label,
                group,
                list(src.get("channel_names") or [ly.name for ly in group]),
                path=path,
                position=position,
                scale=tuple(group[0].scale),
                units=tuple(getattr(group[0], "units", ()) or ()) or None,
            )
        )
    for shape, group in others.items():
        names = [ly.name for ly in group]
        label = f"{len(group)} image layer{'s' if len(group) > 1 else ''}: " + ", ".join(names)
        sources.append(
            StackSource(
                label,
                group,
                names,
                scale=tuple(group[0].scale),
                units=tuple(getattr(group[0], "units", ()) or ()) or None,
                extra={"shape": shape},
            )
        )
    return sources


def analyse_source(
    source: StackSource,
    roles: Mapping[str, int],
    params: AnalysisParams,
    *,
    run: RunFunction | None = None,
    progress: Callable[[float, str], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> AnalysisOutput:
    """Open the source and analyse it (the worker's job); layers use the source's scale."""
    stack = source.open()
    scale = tuple(source.scale[-3:]) if len(source.scale) >= 3 else (1.0, *source.scale[-2:])
    return analyse(stack, roles, params, scale=scale, run=run, progress=progress, cancel=cancel)


class TransferAnalysisWidget(QWidget):
    """Channel roles, parameters, run with progress, result layers and uptake, in napari.

    Parameters
    ----------
    napari_viewer : napari.viewer.Viewer or napari.components.ViewerModel
        The viewer whose image layers are analysed and which receives the result layers.
    run_function : callable, optional
        Replaces :func:`~pgpviewer.core.pipeline.run_pipeline` (tests, other back ends).

    Signals
    -------
    analysis_finished(str)
        "ok", "failed" or "cancelled".
    result_shown(object)
        The result whose layers were added.
    exported(Path)
        Results were written to this folder.
    """

    analysis_finished = Signal(str)
    result_shown = Signal(object)
    exported = Signal(object)

    def __init__(
        self,
        napari_viewer: Any,
        *,
        run_function: RunFunction | None = None,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.viewer = napari_viewer
        self.run_function = run_function
        self.sources: list[StackSource] = []
        self.source: StackSource | None = None
        self.result: Any = None
        self.last_error: str = ""
        self._roles: dict[str, int] = {}
        self._job: TaskWorker | None = None
        self._export_job: TaskWorker | None = None
        self._scale_t = 1.0
        self._state = "failed"

        self.source_combo = QComboBox()
        self.source_combo.setToolTip(
            "The stack to analyse: a file opened with pgpviewer's reader, or image layers "
            "of one shape taken as its channels"
        )
        self.source_combo.currentIndexChanged.connect(self._source_chosen)
        self.refresh_button = QPushButton("↻")
        self.refresh_button.setToolTip("Look for image layers again")
        self.refresh_button.setFixedWidth(30)
        self.refresh_button.clicked.connect(self.refresh_sources)
        top = QHBoxLayout()
        top.addWidget(QLabel("Stack:"))
        top.addWidget(self.source_combo, 1)
        top.addWidget(self.refresh_button)

        self.roles_panel = RolesPanel()
        self.params_panel = ParamsPanel()
        # the live preview needs the app's own viewer; in napari, run the analysis instead
        self.params_panel.preview_check.setVisible(False)
        self.run_panel = RunPanel()
        self.legend_panel = LegendPanel()
        self.uptake_panel = UptakePanel()
        self.uptake_panel.setMinimumHeight(260)
        self.export_button = QPushButton("Export results (CSV)…")
        self.export_button.setToolTip("Write the tables, labels.tif and params.json into a folder")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self._export_dialog)

        results = QWidget()
        rl = QVBoxLayout(results)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.legend_panel)
        rl.addWidget(self.uptake_panel, 1)
        rl.addWidget(self.export_button)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.roles_panel, "Channels")
        self.tabs.addTab(self.params_panel, "Parameters")
        self.tabs.addTab(results, "Results")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.run_panel)

        self.roles_panel.roles_edited.connect(self._roles_edited)
        self.params_panel.error_raised.connect(lambda e: self._show_error(str(e)))
        self.run_panel.run_requested.connect(self.run_analysis)
        self.run_panel.cancel_requested.connect(self.cancel_analysis)
        self.legend_panel.visibility_toggled.connect(self._set_layer_visible)
        self.uptake_panel.frame_requested.connect(self.set_frame)
        self.viewer.dims.events.current_step.connect(self._on_step)
        self.viewer.layers.events.inserted.connect(self._layers_changed)
        self.viewer.layers.events.removed.connect(self._layers_changed)
        self.refresh_sources()

    # -- sources -------------------------------------------------------------------------
    def refresh_sources(self) -> None:
        """Rebuild the source list from the viewer's image layers (keeps the choice)."""
        current = self.source.label if self.source is not None else None
        self.sources = find_sources(list(self.viewer.layers))
        self.source_combo.blockSignals(True)
        self.source_combo.clear()
        for s in self.sources:
            self.source_combo.addItem(s.label)
        labels = [s.label for s in self.sources]
        index = labels.index(current) if current in labels else 0
        if self.sources:
            self.source_combo.setCurrentIndex(index)
        self.source_combo.blockSignals(False)
        self._source_chosen(index if self.sources else -1)

    def _layers_changed(self, event=None) -> None:
        layer = getattr(event, "value", None)
        if layer is not None and layer.name in RESULT_LAYER_NAMES:
            return  # our own result layers
        try:
            self.refresh_sources()
        except RuntimeError:  # the widget was deleted before the viewer
            self._disconnect_viewer()

    def _source_chosen(self, index: int) -> None:
        new = self.sources[index] if 0 <= index < len(self.sources) else None
        same = (
            new is not None
            and self.source is not None
            and new.label == self.source.label
            and new.channel_names == self.source.channel_names
        )
        self.source = new
        if new is not None:
            self._scale_t = float(new.scale[-3]) if len(new.scale) >= 3 else 1.0
        if same:
            return
        from pgpviewer.core.roles import guess_roles

        names = new.channel_names if new is not None else []
        self._roles = guess_roles(names) if names else {}
        if new is not None and not self._roles and len(names) == 1:
            self._roles = {"nuclei": 0}
        self.roles_panel.set_channels(names, self._roles)
        self._update_run_state()

    # -- roles ---------------------------------------------------------------------------
    def roles(self) -> dict[str, int]:
        return dict(self._roles)

    def _roles_edited(self, roles: dict) -> None:
        self._roles = dict(roles)
        if self.source is not None:
            for c, layer in self.source.channel_layers().items():
                try:
                    layer.colormap = colormap_for(c, self._roles)
                except Exception:  # a layer the user changed beyond recolouring
                    logger.debug("cannot recolour layer %s", layer.name, exc_info=True)
        self._update_run_state()

    # -- analysis ------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._job is not None or self._export_job is not None

    def _update_run_state(self) -> None:
        running = self._job is not None
        ok = self.source is not None and not running
        why = "Open a stack (File > Open) or add image layers first" if self.source is None else ""
        self.run_panel.set_can_run(ok, why)
        self.export_button.setEnabled(self.result is not None and not self.busy)
        if running:
            return
        if self.source is None:
            self.run_panel.set_result_state("No image layers to analyse.", "#9aa0a6")
        elif self.result is None:
            self.run_panel.set_result_state("Not analysed yet.", "#9aa0a6")

    def run_analysis(self) -> TaskWorker | None:
        """Analyse the chosen source in a worker; result layers are added when it ends."""
        if self._job is not None:
            return None
        if self.source is None:
            self._show_error("Nothing to analyse: open a stack or add image layers first.")
            return None
        source = self.source
        job = TaskWorker(
            analyse_source,
            source,
            self.roles(),
            self.params_panel.params(),
            run=self.run_function,
            report=True,
        )
        job.progressed.connect(self.run_panel.update_progress)
        job.succeeded.connect(lambda out, s=source: self._succeeded(out, s))
        job.failed.connect(self._failed)
        job.cancelled.connect(self._cancelled)
        job.finished.connect(self._finished)
        self._job = job
        self.run_panel.started()
        self._update_run_state()
        job.start()
        return job

    def cancel_analysis(self) -> None:
        if self._job is not None:
            self._job.cancel()

    def _succeeded(self, output: AnalysisOutput, source: StackSource) -> None:
        result = output.result
        self.result = result
        visible = {n: c.isChecked() for n, c in self.legend_panel.checks.items()}
        layers = add_result_layers(self.viewer, output.layers, units=source.units, visible=visible)
        for layer in layers:
            layer.events.visible.connect(
                lambda e, n=layer.name: self.legend_panel.set_visible(n, e.source.visible)
            )
        if CELLS_LAYER in self.viewer.layers:
            self.viewer.layers.selection.active = self.viewer.layers[CELLS_LAYER]
        self.legend_panel.set_available(True)
        gate = getattr(result, "gate", None)
        if gate is not None:
            self.legend_panel.set_gate_text(
                f"P-gp gate {float(gate.value):.4g} (from {gate.source})"
            )
        self.uptake_panel.show_result(result)
        self.uptake_panel.set_frame(self.current_frame())
        n_ev = len(result.events) if result.events is not None else 0
        self.run_panel.stopped(
            f"Done: {len(result.tracks)} tracks, {n_ev} transfer event{'s' if n_ev != 1 else ''}."
        )
        self.run_panel.set_result_state("Results are shown as layers.", "#5fd35f")
        self.tabs.setCurrentIndex(2)
        self._state = "ok"
        self.result_shown.emit(result)

    def _failed(self, exc: BaseException) -> None:
        from pgpviewer.gui.dialogs import describe_error

        message, _ = describe_error(exc)
        self.run_panel.stopped(f"Failed: {message}", ok=False)
        self._state = "failed"
        self._show_error(message)

    def _cancelled(self) -> None:
        self.run_panel.stopped("Cancelled.", ok=False)
        self._state = "cancelled"

    def _finished(self) -> None:
        self._job = None
        self._update_run_state()
        self.analysis_finished.emit(self._state)

    def _show_error(self, message: str) -> None:
        self.last_error = message
        try:
            from napari.utils.notifications import show_error

            show_error(f"pgpviewer: {message}")
        except Exception:  # pragma: no cover - no napari notification manager
            logger.error("pgpviewer: %s", message)

    # -- export --------------------------------------------------------------------------
    def export_results_to(self, out_dir: str | Path) -> TaskWorker | None:
        """Write the result as the CSV contract into ``out_dir`` (in a worker)."""
        if self.result is None or self._export_job is not None:
            return None
        out = Path(out_dir)
        job = TaskWorker(export, self.result, out)
        job.succeeded.connect(lambda _saved, d=out: self.exported.emit(d))
        job.failed.connect(lambda e: self._show_error(str(e)))
        job.finished.connect(self._export_finished)
        self._export_job = job
        self.export_button.setEnabled(False)
        job.start()
        return job

    def _export_finished(self) -> None:
        self._export_job = None
        self._update_run_state()

    def _export_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Export results into folder (created or replaced)"
        )
        if folder:
            self.export_results_to(folder)

    # -- viewer sync ---------------------------------------------------------------------
    def _set_layer_visible(self, name: str, visible: bool) -> None:
        if name in self.viewer.layers:
            self.viewer.layers[name].visible = visible

    def current_frame(self) -> int:
        dims = self.viewer.dims
        if dims.ndim < 3:
            return 0
        return round(dims.point[dims.ndim - 3] / (self._scale_t or 1.0))

    def set_frame(self, frame: int) -> None:
        dims = self.viewer.dims
        if dims.ndim >= 3:
            dims.set_point(dims.ndim - 3, frame * self._scale_t)

    def _on_step(self, _event=None) -> None:
        try:
            self.uptake_panel.set_frame(self.current_frame())
        except RuntimeError:  # the widget was deleted before the viewer
            self._disconnect_viewer()

    def _disconnect_viewer(self, *_args) -> None:
        for emitter, slot in (
            (self.viewer.dims.events.current_step, self._on_step),
            (self.viewer.layers.events.inserted, self._layers_changed),
            (self.viewer.layers.events.removed, self._layers_changed),
        ):
            try:
                emitter.disconnect(slot)
            except Exception:  # already gone
                pass

    def closeEvent(self, event) -> None:
        for job in (self._job, self._export_job):
            if job is not None:
                job.cancel()
        self._disconnect_viewer()
        super().closeEvent(event)
