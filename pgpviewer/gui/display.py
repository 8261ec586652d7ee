"""How a stack is shown: colours per channel role, robust contrast, physical scale, lazy views.

Pure numpy/dask (no Qt), so it runs in workers and is tested without a display.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from pgpviewer.core.stack import Stack

# napari colormap names per channel role
ROLE_COLORMAPS: dict[str, str] = {
    "nuclei": "blue",
    "recipient": "cyan",
    "pgp": "green",
    "donor": "magenta",
    "efflux": "yellow",
}
OTHER_COLORMAP = "gray"

ROLE_TITLES: dict[str, str] = {
    "nuclei": "Nuclei",
    "donor": "Donor identity",
    "recipient": "Recipient identity",
    "pgp": "P-gp",
    "efflux": "Efflux dye",
}
ROLE_TAGS: dict[str, str] = {
    "nuclei": "nuclei",
    "donor": "donor",
    "recipient": "recipient",
    "pgp": "P-gp",
    "efflux": "efflux",
}
ROLE_HINTS: dict[str, str] = {
    "nuclei": "Hoechst, DAPI, H2B-FP: seeds that split touching cells (recommended).",
    "donor": "Donor CellTracker, CFSE, DiD/PKH membrane dye: marks donor cells.",
    "recipient": "Recipient CellTracker Blue/Deep Red or FP: marks recipient cells.",
    "pgp": "P-gp-EGFP or anti-P-gp antibody (UIC2, MRK16, C219): needed for every P-gp measure.",
    "efflux": "Calcein-AM, rhodamine 123, doxorubicin: functional P-gp read-out (optional).",
}

# sampled pixels per frame for contrast estimation
_CONTRAST_SAMPLES = 250_000


def colormap_for(channel: int, roles: Mapping[str, int]) -> str:
    """napari colormap for a channel given the role mapping."""
    for role, idx in roles.items():
        if idx == channel:
            return ROLE_COLORMAPS.get(role, OTHER_COLORMAP)
    return OTHER_COLORMAP


def role_of(channel: int, roles: Mapping[str, int]) -> str | None:
    for role, idx in roles.items():
        if idx == channel:
            return role
    return None


def channel_layer_name(stack: Stack, channel: int, roles: Mapping[str, int]) -> str:
    """Layer name: the channel's own name, with its role when it has one."""
    name = stack.channel_names[channel]
    role = role_of(channel, roles)
    return f"{name} [{ROLE_TAGS[role]}]" if role else name


def sample_frames(n_frames: int, k: int = 3) -> list[int]:
    """Up to ``k`` frames spread over the movie (first, middle, last)."""
    if n_frames <= k:
        return list(range(n_frames))
    return sorted({round(float(i)) for i in np.linspace(0, n_frames - 1, k)})


def robust_contrast_limits(
    stack: Stack,
    channel: int,
    *,
    frames: list[int] | None = None,
    low: float = 0.5,
    high: float = 99.8,
) -> tuple[float, float]:
    """Contrast limits from percentiles of a pixel sample of a few frames.

    Reads ``len(frames)`` frames of one channel (default: first, middle, last), strided so that
    about 250 000 pixels per frame are used; never the whole stack.
    """
    frames = sample_frames(stack.n_frames) if frames is None else frames
    y, x = stack.shape_yx
    step = max(1, int(np.sqrt(y * x / _CONTRAST_SAMPLES)))
    samples = []
    for t in frames:
        block = stack.data[t, channel, :, ::step, ::step]
        if hasattr(block, "compute"):
            block = block.compute(scheduler="synchronous")
        samples.append(np.asarray(block, dtype=np.float32).ravel())
    values = np.concatenate(samples) if samples else np.zeros(1, np.float32)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return 0.0, 1.0
    lo, hi = (float(v) for v in np.percentile(values, [low, high]))
    if hi <= lo:
        hi = lo + (1.0 if np.issubdtype(stack.dtype, np.integer) else 1e-6)
    return lo, hi


@dataclass(frozen=True)
class DisplayGeometry:
    """Scale of the displayed (t, y, x) axes and their units."""

    scale: tuple[float, float, float]
    units: tuple[str, str, str]
    axis_labels: tuple[str, str, str]

    @property
    def scale_yx(self) -> tuple[float, float]:
        return self.scale[1], self.scale[2]


def display_geometry(stack: Stack) -> DisplayGeometry:
    """Physical scale when the file says it (µm, s), pixels and frames otherwise."""
    dt = stack.frame_interval_s
    px = stack.pixel_size_um
    scale_t, unit_t, label_t = (dt, "second", "time") if dt else (1.0, "pixel", "frame")
    if px:
        return DisplayGeometry(
            (scale_t, px[0], px[1]), (unit_t, "micrometer", "micrometer"), (label_t, "y", "x")
        )
    return DisplayGeometry((scale_t, 1.0, 1.0), (unit_t, "pixel", "pixel"), (label_t, "y", "x"))


def channel_view(stack: Stack, channel: int, z_projection: str = "max") -> Any:
    """Lazy (T, Y, X) view of one channel for napari (z-stacks projected lazily).

    Nothing is read here; napari reads the frame it shows.
    """
    data = stack.data[:, channel]
    if stack.n_z == 1:
        return data[:, 0]
    import dask.array as da

    d = data if hasattr(data, "dask") else da.from_array(data, chunks=(1, -1, -1, -1))
    if z_projection == "mean":
        return d.mean(axis=1, dtype=np.float32)
    if z_projection == "middle":
        return d[:, stack.n_z // 2]
    return d.max(axis=1)


@dataclass
class OpenedStack:
    """A stack plus what the viewer needs to show it (made in a worker)."""

    stack: Stack
    contrast_limits: list[tuple[float, float]]


def prepare_stack(path: Any) -> OpenedStack:
    """Open ``path`` and compute display contrast (runs in a worker)."""
    from pgpviewer.core.io import read_stack

    stack = read_stack(path)
    limits = [robust_contrast_limits(stack, c) for c in range(stack.n_channels)]
    _warm_unit_registry()
    return OpenedStack(stack, limits)


_UNITS_LOCK = threading.Lock()


def _warm_unit_registry() -> None:
    """Build pint's unit registry here (0.5 s once, in a worker) rather than when napari adds
    the first layer with units on the GUI thread. Serialised: pint's lazy set-up is not
    guarded against two threads."""
    with _UNITS_LOCK:
        try:
            import pint

            pint.get_application_registry().Unit("micrometer")
        except Exception:  # pragma: no cover - napari builds it itself then
            pass
