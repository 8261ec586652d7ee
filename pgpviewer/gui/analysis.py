"""The jobs the window runs in workers: analysis (+ layer data), export, folder details.

Plain functions (no Qt): each takes its inputs, does the slow part and returns what the GUI
thread needs to apply, so the GUI thread never computes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pgpviewer.core.errors import InputError
from pgpviewer.core.params import AnalysisParams
from pgpviewer.core.stack import Stack
from pgpviewer.gui.result_layers import LayerSpec, build_result_layers
from pgpviewer.session.experiment import SavedRun, describe_dims, read_saved_run

RunFunction = Callable[..., Any]


def default_run_function() -> RunFunction:
    """:func:`pgpviewer.core.pipeline.run_pipeline` (imported when first needed)."""
    try:
        from pgpviewer.core.pipeline import run_pipeline
    except ImportError as e:
        raise InputError(None, f"the analysis modules are not installed ({e})") from None
    return run_pipeline


@dataclass
class AnalysisOutput:
    """A pipeline result plus the napari layer data made from it."""

    result: Any
    layers: list[LayerSpec]


def analyse(
    stack: Stack,
    roles: Mapping[str, int],
    params: AnalysisParams,
    *,
    scale: Sequence[float] = (1.0, 1.0, 1.0),
    run: RunFunction | None = None,
    progress: Callable[[float, str], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> AnalysisOutput:
    """Run the pipeline (progress 0–97 %), then build the result layers (97–100 %)."""
    from pgpviewer.core.progress import as_progress

    run = run or default_run_function()
    prog = as_progress(progress, cancel)
    result = run(stack, dict(roles), params, progress=prog.sub(0.0, 0.97), cancel=cancel)
    prog.sub(0.97, 1.0)(0.0, "preparing the result layers")
    layers = build_result_layers(result, tuple(scale))
    prog(1.0, "done")
    return AnalysisOutput(result, layers)


def layers_for(result: Any, scale: Sequence[float]) -> list[LayerSpec]:
    """Layer data for a result that came without (e.g. after a correction)."""
    return build_result_layers(result, tuple(scale))


def export(result: Any, out_dir: str | Path) -> SavedRun | None:
    """Write the CSV contract of ``result`` into ``out_dir``; returns what is now saved."""
    try:
        from pgpviewer.core.export import export_results
    except ImportError as e:
        raise InputError(None, f"exporting needs pgpviewer.core.export ({e})") from None
    out = Path(export_results(result, out_dir))
    path = result.stack.path
    return read_saved_run(path, out) if path is not None else None


@dataclass
class EntryDetails:
    path: Path
    dims: str
    error: str
    saved: SavedRun | None


def folder_details(paths: Sequence[Path]) -> list[EntryDetails]:
    """Dimensions and saved results of each file (opens metadata only)."""
    out = []
    for p in paths:
        try:
            dims, error = describe_dims(p), ""
        except InputError as e:
            dims, error = "unreadable", e.problem
        except Exception as e:  # a broken file must not stop the listing
            dims, error = "unreadable", f"{type(e).__name__}: {e}"
        try:
            saved = read_saved_run(p)
        except OSError:
            saved = None
        out.append(EntryDetails(Path(p), dims, error, saved))
    return out
