"""The embedded napari viewer: channels, result layers and the live preview.

Embedding follows napari's ``examples/multiple_viewer_widget.py``: a
:class:`~napari.components.ViewerModel` shown by a :class:`napari.qt.QtViewer` inside our own
widgets; its layer list and layer controls are docked by the main window. Only public napari
API is used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from napari.components import ViewerModel
from napari.qt import QtViewer
from qtpy.QtCore import Signal
from qtpy.QtWidgets import QVBoxLayout, QWidget

from pgpviewer.core.stack import Stack
from pgpviewer.gui.display import (
    DisplayGeometry,
    OpenedStack,
    channel_layer_name,
    channel_view,
    colormap_for,
    display_geometry,
)
from pgpviewer.gui.result_layers import RESULT_LAYER_NAMES, LayerSpec, add_result_layers

PREVIEW_CELLS = "preview: cells"
PREVIEW_PUNCTA = "preview: puncta"


class ViewerPanel(QWidget):
    """napari canvas with one image layer per channel plus result and preview layers.

    Signals
    -------
    frame_changed(int)
        The displayed time point (file frame index) changed.
    """

    frame_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = ViewerModel(title="pgpviewer")
        self.qt_viewer = QtViewer(self.model, show_welcome_screen=False)
        self.qt_viewer.setAcceptDrops(False)  # drops go to the main window's reader
        try:
            self.qt_viewer.viewerButtons.consoleButton.setVisible(False)
        except AttributeError:  # pragma: no cover - napari without the button
            pass
        self.geometry: DisplayGeometry | None = None
        self.stack: Stack | None = None
        self.channel_layers: list[Any] = []
        self.z_projection = "max"
        self._frame = 0
        self.model.dims.events.current_step.connect(self._on_step)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.qt_viewer)

    def close_viewer(self) -> None:
        """Release the canvas and layers (napari's own clean-up); call when the window closes."""
        self.model.layers.clear()
        self.qt_viewer.close()
        self.qt_viewer.deleteLater()

    # -- docks napari provides -----------------------------------------------------------
    @property
    def layer_list_dock(self):
        return self.qt_viewer.dockLayerList

    @property
    def layer_controls_dock(self):
        return self.qt_viewer.dockLayerControls

    def _scale_bar(self):
        overlays = self.model.canvas.overlays
        return overlays["scale_bar"] if isinstance(overlays, dict) else overlays.scale_bar

    # -- channels ------------------------------------------------------------------------
    def show_stack(
        self, opened: OpenedStack, roles: Mapping[str, int], z_projection: str = "max"
    ) -> None:
        """Replace every layer by the channels of ``opened.stack`` (lazy, no pixels read)."""
        stack = opened.stack
        self.z_projection = z_projection
        self.model.layers.clear()
        self.channel_layers = []
        self.stack = stack
        geo = display_geometry(stack)
        self.geometry = geo
        for c in range(stack.n_channels):
            layer = self.model.add_image(
                channel_view(stack, c, z_projection),
                name=channel_layer_name(stack, c, roles),
                colormap=colormap_for(c, roles),
                contrast_limits=opened.contrast_limits[c],
                blending="additive",
                cache=False,  # see result_layers: the dask cache is not thread-safe
                scale=geo.scale,
                units=geo.units,
                axis_labels=geo.axis_labels,
                metadata={"pgpviewer": "channel", "channel": c},
            )
            self.channel_layers.append(layer)
        self.model.dims.axis_labels = geo.axis_labels
        self._scale_bar().visible = stack.pixel_size_um is not None
        self.model.reset_view()
        self._frame = self.current_frame()

    def clear(self) -> None:
        self.model.layers.clear()
        self.channel_layers = []
        self.stack = None

    def update_roles(self, roles: Mapping[str, int]) -> None:
        """Recolour and rename the channel layers after a role change."""
        if self.stack is None:
            return
        for c, layer in enumerate(self.channel_layers):
            layer.colormap = colormap_for(c, roles)
            layer.name = channel_layer_name(self.stack, c, roles)

    # -- results -------------------------------------------------------------------------
    def layer(self, name: str) -> Any:
        return self.model.layers[name] if name in self.model.layers else None

    def result_layers(self) -> list[Any]:
        return [self.model.layers[n] for n in RESULT_LAYER_NAMES if n in self.model.layers]

    def clear_results(self) -> None:
        for layer in self.result_layers():
            self.model.layers.remove(layer)

    def show_result_layers(
        self, specs: Sequence[LayerSpec], visible: Mapping[str, bool] | None = None
    ) -> list[Any]:
        """Replace the result layers; ``visible`` keeps the user's show/hide choice."""
        units = self.geometry.units if self.geometry is not None else None
        added = add_result_layers(self.model, list(specs), units=units, visible=visible)
        # keep the preview (if any) on top
        for name in (PREVIEW_CELLS, PREVIEW_PUNCTA):
            if name in self.model.layers:
                layers = self.model.layers
                layers.move(layers.index(name), len(layers))
        return added

    # -- preview -------------------------------------------------------------------------
    def show_preview(self, labels: np.ndarray, puncta: np.ndarray | None) -> None:
        """Show a 2-D segmentation (and puncta, (N, 2) y/x) of the current frame on top."""
        scale = self.geometry.scale_yx if self.geometry else (1.0, 1.0)
        units = self.geometry.units[1:] if self.geometry else None
        lab = self.layer(PREVIEW_CELLS)
        if lab is None:
            lab = self.model.add_labels(
                labels,
                name=PREVIEW_CELLS,
                scale=scale,
                opacity=0.9,
                units=units,
                metadata={"pgpviewer": "preview"},
            )
            lab.contour = 1
        else:
            lab.data = labels
        pts = self.layer(PREVIEW_PUNCTA)
        data = np.zeros((0, 2)) if puncta is None else np.asarray(puncta, float)
        if pts is None:
            self.model.add_points(
                data,
                name=PREVIEW_PUNCTA,
                scale=scale,
                units=units,
                symbol="ring",
                size=4,
                face_color="#ffd21f",
                border_width=0,
                metadata={"pgpviewer": "preview"},
            )
        else:
            pts.data = data

    def clear_preview(self) -> None:
        for name in (PREVIEW_CELLS, PREVIEW_PUNCTA):
            layer = self.layer(name)
            if layer is not None:
                self.model.layers.remove(layer)

    # -- time ----------------------------------------------------------------------------
    def current_frame(self) -> int:
        if not self.channel_layers or self.model.dims.ndim < 3:
            return 0
        scale_t = self.geometry.scale[0] if self.geometry else 1.0
        return round(self.model.dims.point[0] / scale_t)

    def set_frame(self, frame: int) -> None:
        if not self.channel_layers or self.model.dims.ndim < 3:
            return
        scale_t = self.geometry.scale[0] if self.geometry else 1.0
        self.model.dims.set_point(0, frame * scale_t)

    def _on_step(self, _event=None) -> None:
        f = self.current_frame()
        if f != self._frame:
            self._frame = f
            self.frame_changed.emit(f)

    # -- images --------------------------------------------------------------------------
    def screenshot(self, path: str | None = None) -> np.ndarray:
        """The canvas as RGBA (saved to ``path`` when given)."""
        return self.qt_viewer.screenshot(path, flash=False)
