"""The napari reader: one image layer per channel, coloured by role, in physical units.

napari calls :func:`get_reader` with a path; it returns a function that reads the file with
pgpviewer's reader (:func:`pgpviewer.core.io.read_stack`, or a vendor reader of the
``formats`` extra) and gives napari one layer-data tuple per channel. Nothing here imports Qt
or napari; pixels are read lazily (three frames per channel for the contrast limits).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pgpviewer.core.stack import Stack

LayerData = tuple[Any, dict[str, Any], str]
ReaderFunction = Callable[[Any], list[LayerData]]

#: Suffixes read with tifffile (the ``*.ome.tif`` pattern ends in ``.tif`` too).
TIFF_SUFFIXES = (".tif", ".tiff", ".btf")
#: metadata["pgpviewer"] of the channel layers the reader makes
CHANNEL_TAG = "channel"


def get_reader(path: str | Sequence[str]) -> ReaderFunction | None:
    """The reader for ``path``, or None when pgpviewer cannot read it (napari tries others).

    Accepts one TIFF/OME-TIFF file, a folder of TIFF frames, and ND2/CZI/LIF files when the
    ``formats`` extra is installed.
    """
    if isinstance(path, list | tuple):
        if len(path) != 1:
            return None
        path = path[0]
    p = Path(path)
    if p.is_dir():
        if p.suffix.lower() == ".zarr":
            return None
        from pgpviewer.core.io import list_frame_files

        try:
            return read_layers if list_frame_files(p) else None
        except OSError:
            return None
    suffix = p.suffix.lower()
    if suffix in TIFF_SUFFIXES:
        return read_layers
    from pgpviewer.core.vendor import VENDOR_LIBRARIES, vendor_available

    if suffix in VENDOR_LIBRARIES and vendor_available(suffix):
        return read_layers
    return None


def open_stack(path: str | Path, position: int = 0) -> Stack:
    """Open ``path`` lazily: vendor formats through :mod:`pgpviewer.core.vendor`."""
    from pgpviewer.core.vendor import VENDOR_LIBRARIES, read_vendor

    if Path(path).suffix.lower() in VENDOR_LIBRARIES:
        return read_vendor(path, position)
    from pgpviewer.core.io import read_stack

    return read_stack(path, position=position)


def read_layers(path: str | Sequence[str]) -> list[LayerData]:
    """Read ``path`` as napari layer data (one image layer per channel)."""
    if isinstance(path, list | tuple):
        path = path[0]
    return stack_layer_data(open_stack(path))


def stack_layer_data(stack: Stack, roles: dict[str, int] | None = None) -> list[LayerData]:
    """Layer-data tuples for every channel of ``stack``, as the desktop app shows them.

    Each (T, Y, X) layer is named after its channel, coloured by the channel's guessed role,
    has robust contrast limits and a physical scale: (s, µm, µm) when the file says, frames
    and pixels otherwise. Z-stacks are shown as their lazy maximum projection, which is what
    the analysis sees (result layers then line up with the channels). The layer metadata
    names the file, position and channel, so the analysis widget finds the whole stack again.
    """
    from pgpviewer.core.roles import guess_roles
    from pgpviewer.gui.display import (
        channel_view,
        colormap_for,
        display_geometry,
        robust_contrast_limits,
    )

    roles = guess_roles(stack.channel_names) if roles is None else roles
    geo = display_geometry(stack)
    source = {
        "path": str(stack.path) if stack.path is not None else None,
        "position": stack.position,
        "channel_names": list(stack.channel_names),
        "pixel_size_um": list(stack.pixel_size_um) if stack.pixel_size_um else None,
        "frame_interval_s": stack.frame_interval_s,
        "z_projection": "max" if stack.n_z > 1 else None,
    }
    out: list[LayerData] = []
    for c, name in enumerate(stack.channel_names):
        kwargs = {
            "name": name,
            "colormap": colormap_for(c, roles),
            "contrast_limits": robust_contrast_limits(stack, c),
            "blending": "additive",
            "scale": geo.scale,
            "units": geo.units,
            "axis_labels": geo.axis_labels,
            "metadata": {"pgpviewer": CHANNEL_TAG, "channel": c, "source": source},
        }
        out.append((channel_view(stack, c, "max"), kwargs, "image"))
    return out
