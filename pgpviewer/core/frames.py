"""Per-frame work of the pipeline and its parallel execution.

Each frame is independent in the two per-frame passes (segment, measure), so frames are spread
over worker **processes**: the scikit-image/scipy kernels used here hold the GIL, and threads
measured no faster than one core. Workers open the stack themselves from its file (nothing
large is pickled); they receive a frame index and send back labels and small tables. At most
``2 × workers`` frames are in flight, so memory does not grow with the length of the movie.
Small jobs run in-process, where starting workers would cost more than it saves.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pgpviewer.core.measurements import frame_features, measure_cells
from pgpviewer.core.params import AnalysisParams
from pgpviewer.core.progress import Progress
from pgpviewer.core.puncta import detect_puncta
from pgpviewer.core.segmentation import segment_cells
from pgpviewer.core.stack import Stack

# Below this many pixel-frames of work, worker start-up (≈1 s) costs more than it saves.
PROCESS_MIN_PIXEL_FRAMES = 12 * 512 * 512


def default_workers() -> int:
    """Worker processes for per-frame work: every core the process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@dataclass
class FrameSegmentation:
    labels: np.ndarray
    features: pd.DataFrame
    contacts: pd.DataFrame


def segment_frame(
    stack: Stack,
    t: int,
    roles: Mapping[str, int],
    params: AnalysisParams,
    labels: np.ndarray | None = None,
) -> FrameSegmentation:
    """Pass 1 for frame ``t``: segment (unless ``labels`` are given) and measure features.

    ``frame`` columns hold file frame indices (``t + stack.frame_offset``).
    """
    image = stack.projected_frame(t, params.z_projection)
    if labels is None:
        labels = segment_cells({r: image[i] for r, i in roles.items()}, params.segmentation)
    labels = np.asarray(labels, dtype=np.int32)
    feats, cont = frame_features(image, labels, roles, params.measurement)
    frame = t + stack.frame_offset
    feats.insert(0, "frame", frame)
    cont.insert(0, "frame", frame)
    return FrameSegmentation(labels, feats, cont)


def measure_frame(
    stack: Stack,
    t: int,
    roles: Mapping[str, int],
    params: AnalysisParams,
    labels: np.ndarray,
    populations: Mapping[int, str],
    tracks: Mapping[int, int],
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Pass 2 for frame ``t``: puncta and per-cell measurements given the populations."""
    image = stack.projected_frame(t, params.z_projection)
    labels = np.asarray(labels, dtype=np.int32)
    frame = t + stack.frame_offset
    spots = (
        detect_puncta(image[roles["pgp"]], labels, params.puncta)
        if "pgp" in roles and params.puncta.enabled
        else None
    )
    table = measure_cells(
        image, labels, stack.channel_names, roles, populations, spots, params.measurement
    )
    table.insert(0, "frame", frame)
    table["track_id"] = table["label"].map(tracks)
    table["population"] = table["label"].map(populations).fillna("unknown")
    if spots is not None:
        spots = spots.assign(frame=frame)
    return table, spots


# -- execution ----------------------------------------------------------------------------
_STATE: dict[str, Any] = {}
_TASKS: dict[str, Callable[..., Any]] = {"segment": segment_frame, "measure": measure_frame}


def _init_worker(recipe: tuple, roles: dict[str, int], params_json: str) -> None:
    # Ctrl-C goes to the whole process group: the parent stops the pool and cleans up, so a
    # worker ignores it (else it could print a traceback mid-import, as seen under load)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from pgpviewer.core.io import read_stack

    path, position, axes, offset, n = recipe
    stack = read_stack(path, position=position, axes=axes)
    if offset or n != stack.n_frames:
        stack = stack.with_frames(offset, offset + n)
    _STATE.update(stack=stack, roles=roles, params=AnalysisParams.from_json(params_json))


def _run_task(name: str, t: int, extra: tuple) -> Any:
    return _TASKS[name](_STATE["stack"], t, _STATE["roles"], _STATE["params"], *extra)


def start_method() -> str:
    """'fork' for a single-threaded process on Linux (works from scripts without a main guard);
    'forkserver' when threads run (the GUI, dask), where forking is unsafe; 'spawn' elsewhere."""
    if getattr(sys, "frozen", False):
        return "spawn"
    if sys.platform.startswith("linux"):
        return "fork" if threading.active_count() == 1 else "forkserver"
    return "spawn"


def reopen_recipe(stack: Stack) -> tuple | None:
    """How a worker process can open the same stack itself, or None (in-memory data)."""
    if stack.path is None or not stack.path.exists():
        return None
    axes = getattr(stack, "open_axes", None)
    return (str(stack.path), stack.position, axes, stack.frame_offset, stack.n_frames)


class FrameRunner:
    """Runs per-frame tasks in order, in-process or on a pool of worker processes.

    Parameters
    ----------
    stack, roles, params
        What every task needs; workers open the stack from its file.
    workers : int
        Processes to use (1 = in-process).
    """

    def __init__(
        self, stack: Stack, roles: Mapping[str, int], params: AnalysisParams, workers: int
    ):
        self.stack, self.roles, self.params = stack, dict(roles), params
        recipe = reopen_recipe(stack)
        work = stack.n_frames * stack.shape_yx[0] * stack.shape_yx[1]
        self.workers = workers if recipe and workers > 1 and work >= PROCESS_MIN_PIXEL_FRAMES else 1
        self._pool: ProcessPoolExecutor | None = None
        self._recipe = recipe

    def __enter__(self) -> FrameRunner:
        if self.workers > 1:
            ctx = multiprocessing.get_context(start_method())
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=ctx,
                initializer=_init_worker,
                initargs=(self._recipe, self.roles, self.params.to_json()),
            )
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def map(
        self,
        name: str,
        items: Iterable[tuple[int, tuple]],
        *,
        progress: Progress,
        message: str,
        total: int,
    ) -> Iterator[Any]:
        """Yield ``task(stack, t, roles, params, *extra)`` for each ``(t, extra)``, in order."""
        total = max(total, 1)
        if self._pool is None:
            for i, (t, extra) in enumerate(items):
                progress(i / total, f"{message} {i + 1}/{total}")
                yield _TASKS[name](self.stack, t, self.roles, self.params, *extra)
            progress(1.0, message)
            return
        it = iter(items)
        pending: list[Future] = []
        done = 0
        try:
            for t, extra in it:
                pending.append(self._pool.submit(_run_task, name, t, extra))
                if len(pending) >= 2 * self.workers:
                    break
            while pending:
                result = pending.pop(0).result()
                done += 1
                progress(done / total, f"{message} {done}/{total}")
                nxt = next(it, None)
                if nxt is not None:
                    pending.append(self._pool.submit(_run_task, name, nxt[0], nxt[1]))
                yield result
        finally:
            for f in pending:
                f.cancel()
