"""Saving and restoring a review session: a folder with ``session.json`` and ``labels.tif``.

A session folder holds everything needed to come back to a reviewed analysis:

- ``session.json`` — the input file (path, SHA-256, position, frames), channel roles, analysis
  parameters, the event decisions and population overrides (keyed by ``(frame, label)``, see
  :mod:`pgpviewer.session.corrections`) and the view (frame, camera centre and zoom);
- ``labels.tif`` — the (corrected) cell labels, shape (T, Y, X).

Restoring re-runs only the downstream steps from the saved labels, which gives the same tables
as the saved analysis. Nothing is pickled; ``session.json`` is validated field by field and any
problem is an :class:`~pgpviewer.core.errors.InputError` naming the file and what is wrong.
Folders are written atomically (a temporary sibling, then renamed into place).

Autosaves go to ``<user data dir>/sessions/<hash of the input path>/`` (``platformdirs``, or
``$PGPVIEWER_DATA_DIR`` when set).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pgpviewer.core.errors import InputError
from pgpviewer.core.params import AnalysisParams
from pgpviewer.session.corrections import DECISIONS, POPULATIONS, CellKey

SESSION_FORMAT = "pgpviewer-session"
SESSION_VERSION = 1
SESSION_FILE = "session.json"
LABELS_FILE = "labels.tif"
DATA_DIR_ENV = "PGPVIEWER_DATA_DIR"


@dataclass
class SessionData:
    """What a session folder holds (see the module docstring)."""

    input_path: str | None
    input_sha256: str | None
    position: int
    frames: tuple[int, int]
    roles: dict[str, int]
    params: AnalysisParams
    labels: np.ndarray
    labels_corrected: bool = False
    decisions: dict[CellKey, str] = field(default_factory=dict)
    overrides: dict[CellKey, str] = field(default_factory=dict)
    view: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": SESSION_FORMAT,
            "version": SESSION_VERSION,
            "input": {
                "path": self.input_path,
                "sha256": self.input_sha256,
                "position": int(self.position),
                "frames": [int(self.frames[0]), int(self.frames[1])],
            },
            "roles": {k: int(v) for k, v in self.roles.items()},
            "params": self.params.to_dict(),
            "labels": {
                "file": LABELS_FILE,
                "shape": [int(s) for s in self.labels.shape],
                "corrected": bool(self.labels_corrected),
            },
            "event_decisions": [
                {"frame": k[0], "label": k[1], "decision": v}
                for k, v in sorted(self.decisions.items())
            ],
            "population_overrides": [
                {"frame": k[0], "label": k[1], "population": v}
                for k, v in sorted(self.overrides.items())
            ],
            "view": _json_view(self.view),
        }


def _json_view(view: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "frame" in view:
        out["frame"] = int(view["frame"])
    if "camera_center" in view:
        out["camera_center"] = [float(v) for v in view["camera_center"]]
    if "camera_zoom" in view:
        out["camera_zoom"] = float(view["camera_zoom"])
    return out


def capture(
    result: Any, state: Any, *, sha256: str | None = None, view: dict[str, Any] | None = None
) -> SessionData:
    """A snapshot of a reviewed analysis (labels copied, so the GUI may go on editing)."""
    stack = result.stack
    labels = state.labels if state is not None and state.labels is not None else result.labels
    return SessionData(
        input_path=str(stack.path) if stack.path is not None else None,
        input_sha256=sha256,
        position=int(stack.position),
        frames=(int(result.frames[0]), int(result.frames[1])),
        roles=dict(result.roles),
        params=result.params,
        labels=np.array(labels, copy=True),
        labels_corrected=bool(state.labels_corrected) if state is not None else False,
        decisions=dict(state.decisions) if state is not None else {},
        overrides=dict(state.overrides) if state is not None else {},
        view=dict(view or {}),
    )


# ---------------------------------------------------------------------------------------------
# writing


def write_session(data: SessionData, folder: str | Path) -> Path:
    """Write ``data`` into ``folder`` atomically (an existing session there is replaced).

    Raises
    ------
    InputError
        The folder exists and is not a session, or cannot be written.
    """
    import tifffile

    out = Path(folder)
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not is_session(out))):
        raise InputError(out, "folder exists and is not a pgpviewer session; choose a new folder")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    except OSError as e:
        raise InputError(out, f"cannot create the session folder ({e.strerror or e})") from None
    try:
        labels = np.asarray(data.labels)
        peak = int(labels.max(initial=0))
        dtype = np.uint16 if peak < 2**16 else np.uint32
        tifffile.imwrite(
            tmp / LABELS_FILE, labels.astype(dtype), compression="zlib", metadata={"axes": "TYX"}
        )
        text = json.dumps(data.to_json(), indent=2, ensure_ascii=False) + "\n"
        (tmp / SESSION_FILE).write_text(text, encoding="utf-8")
        old = None
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(out, old)
        os.replace(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise InputError(out, f"cannot write the session ({e.strerror or e})") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def is_session(folder: str | Path) -> bool:
    return (Path(folder) / SESSION_FILE).is_file()


# ---------------------------------------------------------------------------------------------
# reading and validation


def _fail(folder: Path, problem: str) -> InputError:
    return InputError(folder / SESSION_FILE, f"not a valid pgpviewer session: {problem}")


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _keyed(folder: Path, items: Any, name: str, value_key: str, allowed) -> dict[CellKey, str]:
    if not isinstance(items, list):
        raise _fail(folder, f"{name!r} must be a list")
    out: dict[CellKey, str] = {}
    for i, item in enumerate(items):
        ok = (
            isinstance(item, dict)
            and _int(item.get("frame"))
            and _int(item.get("label"))
            and item.get(value_key) in allowed
        )
        if not ok:
            raise _fail(
                folder,
                f"{name}[{i}] must be {{'frame': int, 'label': int, '{value_key}': one of "
                f"{', '.join(allowed)}}}",
            )
        out[(item["frame"], item["label"])] = item[value_key]
    return out


def read_session(folder: str | Path) -> SessionData:
    """Read and validate a session folder.

    Raises
    ------
    InputError
        Missing or unreadable files, invalid JSON, a newer format, wrong or missing fields,
        or labels that do not match the recorded shape.
    """
    import tifffile

    folder = Path(folder)
    pj = folder / SESSION_FILE
    if not pj.is_file():
        raise InputError(folder, f"not a pgpviewer session (no {SESSION_FILE})")
    try:
        raw = json.loads(pj.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(pj, f"cannot read the session ({e})") from None
    except json.JSONDecodeError as e:
        raise InputError(
            pj, f"the session file is not valid JSON ({e.msg}, line {e.lineno})"
        ) from None
    if not isinstance(raw, dict) or raw.get("format") != SESSION_FORMAT:
        raise _fail(folder, f"'format' must be {SESSION_FORMAT!r}")
    version = raw.get("version")
    if not _int(version):
        raise _fail(folder, "'version' must be an integer")
    if version > SESSION_VERSION:
        raise InputError(pj, f"the session is from a newer pgpviewer (format {version})")
    inp = raw.get("input")
    if not isinstance(inp, dict):
        raise _fail(folder, "'input' must be an object")
    path, sha = inp.get("path"), inp.get("sha256")
    if not (path is None or isinstance(path, str)) or not (sha is None or isinstance(sha, str)):
        raise _fail(folder, "'input.path' and 'input.sha256' must be strings")
    position, frames = inp.get("position", 0), inp.get("frames")
    if not _int(position) or not (
        isinstance(frames, list)
        and len(frames) == 2
        and all(_int(f) for f in frames)
        and 0 <= frames[0] < frames[1]
    ):
        raise _fail(folder, "'input.position' must be an integer and 'input.frames' [start, stop]")
    roles = raw.get("roles")
    if not isinstance(roles, dict) or not all(
        isinstance(k, str) and _int(v) and v >= 0 for k, v in roles.items()
    ):
        raise _fail(folder, "'roles' must map role names to channel indices")
    if not isinstance(raw.get("params"), dict):
        raise _fail(folder, "'params' must be an object")
    try:
        params = AnalysisParams.from_dict(raw["params"], source=pj)
    except InputError as e:
        raise _fail(folder, f"invalid parameters ({e.problem})") from None
    lab = raw.get("labels")
    if not (
        isinstance(lab, dict)
        and isinstance(lab.get("shape"), list)
        and len(lab["shape"]) == 3
        and all(_int(s) for s in lab["shape"])
    ):
        raise _fail(folder, "'labels' must give the label file's shape [T, Y, X]")
    decisions = _keyed(
        folder, raw.get("event_decisions", []), "event_decisions", "decision", DECISIONS
    )
    overrides = _keyed(
        folder,
        raw.get("population_overrides", []),
        "population_overrides",
        "population",
        POPULATIONS,
    )
    view_raw = raw.get("view", {})
    view: dict[str, Any] = {}
    if isinstance(view_raw, dict):
        if _int(view_raw.get("frame")):
            view["frame"] = view_raw["frame"]
        c = view_raw.get("camera_center")
        if isinstance(c, list) and c and all(_finite(v) for v in c):
            view["camera_center"] = [float(v) for v in c]
        if _finite(view_raw.get("camera_zoom")) and view_raw["camera_zoom"] > 0:
            view["camera_zoom"] = float(view_raw["camera_zoom"])
    lf = folder / LABELS_FILE
    try:
        labels = np.asarray(tifffile.imread(lf))
    except FileNotFoundError:
        raise InputError(lf, "the session's label image is missing") from None
    except Exception as e:  # tifffile raises many types for damaged files
        raise InputError(
            lf, f"cannot read the session's label image ({type(e).__name__}: {e})"
        ) from None
    if labels.ndim == 2:
        labels = labels[None]
    if list(labels.shape) != lab["shape"] or labels.dtype.kind not in "ui":
        raise InputError(
            lf, f"label image has shape {labels.shape}, the session says {lab['shape']}"
        )
    if labels.shape[0] != frames[1] - frames[0]:
        raise _fail(folder, "the label image and 'input.frames' disagree on the number of frames")
    return SessionData(
        input_path=path,
        input_sha256=sha,
        position=position,
        frames=(frames[0], frames[1]),
        roles=dict(roles),
        params=params,
        labels=labels.astype(np.int32),
        labels_corrected=bool(lab.get("corrected", False)),
        decisions=decisions,
        overrides=overrides,
        view=view,
    )


def _finite(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def check_input(data: SessionData, stack: Any, sha256: str | None) -> None:
    """Refuse a session made on another file or on different frames than ``stack``."""
    src = Path(data.input_path) if data.input_path else None
    n = data.frames[1] - data.frames[0]
    if tuple(stack.shape_yx) != tuple(data.labels.shape[1:]) or stack.n_frames < n:
        raise InputError(src, "the session's labels do not match the open image (another file?)")
    if data.input_sha256 and sha256 and data.input_sha256 != sha256:
        raise InputError(
            stack.path, "the image file has changed since the session was saved (checksum differs)"
        )


# ---------------------------------------------------------------------------------------------
# autosave


def data_dir() -> Path:
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir("pgpviewer", appauthor=False))


def autosave_dir(input_path: str | Path) -> Path:
    """Where the autosave of ``input_path`` lives (keyed by a hash of its absolute path)."""
    key = str(Path(input_path).expanduser().resolve())
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]
    return data_dir() / "sessions" / digest


def has_autosave(input_path: str | Path | None) -> bool:
    return input_path is not None and is_session(autosave_dir(input_path))


def discard_autosave(input_path: str | Path) -> None:
    shutil.rmtree(autosave_dir(input_path), ignore_errors=True)
