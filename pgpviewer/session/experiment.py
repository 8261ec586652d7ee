"""The experiment folder: which image files and frame folders it holds and what is saved.

Listing is cheap (names and sizes only); :func:`describe_dims` and :func:`read_saved_run` open
files and belong in a worker thread.

Results exported from the app go by default to ``<folder>/pgpviewer_results/<file stem>/``
(the layout of ``pgpviewer batch``), which is also where the file list looks for them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pgpviewer.core.errors import InputError
from pgpviewer.core.io import IMAGE_SUFFIXES, TIFF_SUFFIXES
from pgpviewer.core.params import AnalysisParams

RESULTS_FOLDER_NAME = "pgpviewer_results"
_SKIP_DIRS = {RESULTS_FOLDER_NAME, "__pycache__"}


@dataclass(frozen=True)
class ExperimentEntry:
    """One openable item of an experiment folder.

    Attributes
    ----------
    path : Path
        An image file, or a folder of per-frame TIFFs.
    kind : {"file", "frames"}
    size_bytes : int
        File size, or the total of the frame files.
    n_files : int
        1 for a file; the number of frame files for a frame folder.
    """

    path: Path
    kind: Literal["file", "frames"]
    size_bytes: int
    n_files: int = 1

    @property
    def name(self) -> str:
        return self.path.name + ("/" if self.kind == "frames" else "")


def scan_folder(folder: str | Path) -> list[ExperimentEntry]:
    """List the image files and frame folders directly inside ``folder`` (natural order).

    Raises
    ------
    InputError
        When ``folder`` does not exist or cannot be listed.
    """
    import tifffile

    root = Path(folder)
    if not root.is_dir():
        raise InputError(root, "folder not found")
    try:
        children = list(root.iterdir())
    except OSError as e:
        raise InputError(root, f"cannot list folder ({e})") from None
    entries: list[ExperimentEntry] = []
    for child in children:
        if child.name.startswith("."):
            continue
        try:
            if child.is_file() and child.suffix.lower() in IMAGE_SUFFIXES:
                entries.append(ExperimentEntry(child, "file", child.stat().st_size))
            elif child.is_dir() and child.name not in _SKIP_DIRS:
                frames = [
                    f for f in child.iterdir() if f.is_file() and f.suffix.lower() in TIFF_SUFFIXES
                ]
                if frames:
                    size = sum(f.stat().st_size for f in frames)
                    entries.append(ExperimentEntry(child, "frames", size, len(frames)))
        except OSError:
            continue
    order = tifffile.natural_sorted([e.path.name for e in entries])
    by_name = {e.path.name: e for e in entries}
    return [by_name[n] for n in order]


def describe_dims(path: str | Path) -> str:
    """A short description of a file's dimensions, e.g. ``"30t 3ch 512×512"``.

    Opens the file's metadata (no pixels). Raises :class:`InputError` for unreadable files.
    """
    from pgpviewer.core.io import read_stack

    stack = read_stack(path)
    t, c, z, y, x = stack.shape
    parts = []
    if t > 1:
        parts.append(f"{t}t")
    parts.append(f"{c}ch")
    if z > 1:
        parts.append(f"{z}z")
    parts.append(f"{y}×{x}")
    text = " ".join(parts)
    if stack.n_positions > 1:
        text += f" ({stack.n_positions} positions)"
    return text


def file_stem(path: str | Path) -> str:
    """File name without image suffixes (``a.ome.tif`` → ``a``)."""
    name = Path(path).name
    lower = name.lower()
    for suffix in (".ome.tiff", ".ome.tif", *IMAGE_SUFFIXES):
        if lower.endswith(suffix):
            return name[: -len(suffix)]
    return name


def default_results_dir(path: str | Path) -> Path:
    """Where results of ``path`` are exported by default."""
    p = Path(path)
    return p.parent / RESULTS_FOLDER_NAME / file_stem(p)


@dataclass(frozen=True)
class SavedRun:
    """What a results folder says about the run that produced it."""

    folder: Path
    params: AnalysisParams | None
    roles: dict[str, Any] | None
    newer_input: bool  # the input changed after the results were written


def read_saved_run(path: str | Path, results_dir: str | Path | None = None) -> SavedRun | None:
    """Read ``params.json`` of the exported results of ``path``; None when there are none.

    Accepts the ``analyze`` layout (``{"params": …, "roles" or "channel_roles": …}``) and a bare
    parameter file. Unreadable parameters give ``params=None`` (shown as out of date).
    """
    src = Path(path)
    folder = Path(results_dir) if results_dir is not None else default_results_dir(src)
    pj = folder / "params.json"
    if not (pj.is_file() and (folder / "cells.csv").is_file()):
        return None
    try:
        data = json.loads(pj.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return SavedRun(folder, None, None, False)
    params = None
    roles = None
    if isinstance(data, dict):
        raw = data.get("params", data)
        try:
            params = AnalysisParams.from_dict(raw)
        except InputError:
            params = None
        for key in ("roles", "channel_roles"):
            if isinstance(data.get(key), dict):
                roles = data[key]
                break
    try:
        newer = src.stat().st_mtime > pj.stat().st_mtime
    except OSError:
        newer = False
    return SavedRun(folder, params, roles, newer)
