"""The output contract (../shared/spec/OUTPUTS.md): CSV tables, labels.tif and params.json.

Everything is written into a temporary sibling folder first and moved into place when complete,
so an output folder is either absent, the previous complete result, or the new complete result.
A run that is killed (SIGKILL, power loss) can leave a hidden ``.<name>.tmp-<pid>-*`` sibling;
the next export to the same folder removes it (:func:`remove_stale_temporaries`).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd
import tifffile

import pgpviewer
from pgpviewer.core.errors import InputError
from pgpviewer.core.roles import channel_columns

CELLS_COLUMNS = [
    "frame",
    "time_s",
    "label",
    "track_id",
    "parent_track_id",
    "population",
    "centroid_y",
    "centroid_x",
    "centroid_y_um",
    "centroid_x_um",
    "area_px",
    "area_um2",
]
CELLS_TAIL_COLUMNS = [
    "pgp_membrane_mean",
    "pgp_cytoplasm_mean",
    "pgp_puncta",
    "pgp_score",
    "pgp_positive",
    "touching_donor",
    "nearest_donor_track_id",
    "nearest_donor_distance_px",
]
TRACKS_COLUMNS = [
    "track_id",
    "parent_track_id",
    "population",
    "first_frame",
    "last_frame",
    "n_frames",
    "status",
    "acquired_frame",
    "puncta_gained",
]
EVENTS_COLUMNS = [
    "event_id",
    "recipient_track_id",
    "frame",
    "time_s",
    "centroid_y",
    "centroid_x",
    "donor_track_id",
    "mode",
    "pgp_score_before",
    "pgp_score_after",
]
SUMMARY_COLUMNS = [
    "frame",
    "time_s",
    "n_cells",
    "n_donors",
    "n_recipients",
    "n_recipients_positive",
    "fraction_recipients_positive",
    "new_events",
    "cumulative_events",
    "puncta_in_recipients",
]
CURVES_COLUMNS = [
    "time_s",
    "frame",
    "at_risk",
    "acquired",
    "km_not_acquired",
    "km_ci_low",
    "km_ci_high",
]
OUTPUT_FILES = (
    "cells.csv",
    "tracks.csv",
    "events.csv",
    "summary.csv",
    "curves.csv",
    "labels.tif",
    "params.json",
)
_SPREADSHEET_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Rows formatted at once when writing a CSV: a chunk of a wide cells table, formatted, takes a
# few kB per row, so this bounds the memory of writing a movie's millions of rows.
CSV_CHUNK_ROWS = 10_000
# Temporary folders made before this moment cannot belong to this process.
PROCESS_START = time.time()
# A temporary folder whose writer still runs is left alone for this long.
_LIVE_WRITER_GRACE_S = 24 * 3600


def order_columns(table: pd.DataFrame, required: list[str]) -> pd.DataFrame:
    """Required columns first in contract order (missing ones added empty), extras after."""
    missing = {col: pd.NA for col in required if col not in table.columns}
    table = table.assign(**missing) if missing else table  # (copy-on-write: no deep copy)
    extras = [c for c in table.columns if c not in required]
    return table[required + extras]


def cells_table(cells: pd.DataFrame, channel_names: Iterable[str]) -> pd.DataFrame:
    """cells.csv in contract order: fixed columns, per-channel columns, P-gp columns, extras."""
    stems = channel_columns(channel_names)
    per_channel = [f"{kind}_{s}" for s in stems for kind in ("mean", "total")]
    return order_columns(cells, CELLS_COLUMNS + per_channel + CELLS_TAIL_COLUMNS)


def neutralise(value: Any) -> Any:
    """Prefix text that a spreadsheet would run as a formula with an apostrophe."""
    if isinstance(value, str) and value.startswith(_SPREADSHEET_TRIGGERS):
        return "'" + value
    return value


def _format_csv(table: pd.DataFrame) -> str:
    """The table as CSV text (the contract's formatting, see :func:`write_csv`)."""
    buf = io.StringIO()
    write_csv(table, buf)
    return buf.getvalue()


def write_csv(
    table: pd.DataFrame, handle: TextIO, chunk_rows: int = CSV_CHUNK_ROWS, header: bool = True
) -> None:
    """Write ``table`` as contract CSV to an open text handle, ``chunk_rows`` rows at a time.

    Booleans as ``true``/``false``, missing values empty, text made formula-safe; written in
    chunks so a table of millions of rows is never formatted as one string in memory (each
    value is formatted on its own, so the output does not depend on the chunk size).
    ``header=False`` continues a file: the next rows of the same table.
    """
    names = [neutralise(str(c)) for c in table.columns]
    for start in range(0, max(len(table), 1), chunk_rows):
        part = _formatted(table.iloc[start : start + chunk_rows], names)
        part.to_csv(
            handle, index=False, header=header and start == 0, lineterminator="\n", na_rep=""
        )


def _chunks(result: Any, name: str):
    """A result table in chunks (without assembling a table that is still on disk)."""
    if hasattr(result, "table_chunks"):
        return result.table_chunks(name, rows=CSV_CHUNK_ROWS)
    return [getattr(result, name)]


def _formatted(table: pd.DataFrame, header: list[str]) -> pd.DataFrame:
    out = table.copy()
    out.columns = header
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_bool_dtype(s):
            out[col] = s.map({True: "true", False: "false"}).astype(object)
        elif s.dtype == object or pd.api.types.is_string_dtype(s):
            vals = s.astype(object)
            if vals.map(lambda v: isinstance(v, bool | np.bool_)).any():
                vals = vals.map(
                    lambda v: ("true" if v else "false") if isinstance(v, bool | np.bool_) else v
                )
            out[col] = vals.map(_text_cell)
    return out


def _text_cell(value: Any) -> Any:
    """Formula-safe text whose line breaks are all ``\\n`` (so that the CSV writer quotes it)."""
    value = neutralise(value)
    if isinstance(value, str) and "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    return value


def file_sha256(path: Path, chunk: int = 1 << 22) -> str | None:
    """SHA-256 of a file (or of the sorted files of a folder); None when unreadable."""
    path = Path(path)
    h = hashlib.sha256()
    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    try:
        for f in files:
            with open(f, "rb") as fh:
                while block := fh.read(chunk):
                    h.update(block)
    except OSError:
        return None
    return h.hexdigest()


def provenance(result: Any) -> dict[str, Any]:
    """The params.json content: everything needed to reproduce the tables.

    Non-finite numbers (e.g. the false-positive rate of a manual gate) are written as null, so
    that the file is strict JSON for every reader.
    """
    stack = result.stack
    names = stack.channel_names
    return _json_safe(
        {
            "software": "pgpviewer",
            "version": pgpviewer.__version__,
            "input": {
                "path": str(stack.path) if stack.path else None,
                "sha256": file_sha256(stack.path) if stack.path and stack.path.exists() else None,
                "position": stack.position,
                "frames": list(result.frames),
                "stack": stack.describe(),
            },
            "channel_roles": {
                role: {"index": idx, "name": names[idx]} for role, idx in result.roles.items()
            },
            "gate": result.gate.to_dict(),
            "units": {
                "pixel_size_um": list(stack.pixel_size_um) if stack.pixel_size_um else None,
                "frame_interval_s": stack.frame_interval_s,
            },
            "params": result.params.to_dict(),
        }
    )


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, float | np.floating) and not math.isfinite(value):
        return None
    return value


def write_labels(
    path: Path, labels: Any, pixel_size_um: tuple[float, float] | None, *, identity: str = ""
) -> None:
    """Write the (T, Y, X) label stack frame by frame as a zlib-compressed OME-TIFF.

    The OME UUID is derived from ``identity`` (input checksum, frames, parameters), not random,
    so that the same analysis writes the same bytes.
    """
    n = labels.shape[0]
    peak = max((int(np.asarray(labels[t]).max(initial=0)) for t in range(n)), default=0)
    dtype = np.uint16 if peak < 2**16 else np.uint32
    meta: dict[str, Any] = {
        "axes": "TYX",
        "UUID": "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"pgpviewer:{identity}")),
    }
    if pixel_size_um:
        meta.update(
            PhysicalSizeY=pixel_size_um[0],
            PhysicalSizeYUnit="µm",
            PhysicalSizeX=pixel_size_um[1],
            PhysicalSizeXUnit="µm",
        )
    frames = (np.asarray(labels[t]).astype(dtype) for t in range(n))
    tifffile.imwrite(
        path,
        frames,
        shape=(n, *labels.shape[1:]),
        dtype=dtype,
        ome=True,
        metadata=meta,
        compression="zlib",
        photometric="minisblack",
    )


def export_results(result: Any, out_dir: str | Path) -> Path:
    """Write the analysis of one file as the output contract into ``out_dir``.

    Parameters
    ----------
    result : PipelineResult
        What :func:`~pgpviewer.core.pipeline.run_pipeline` returned.
    out_dir : str or Path
        Folder to create (or replace, if it holds an earlier pgpviewer output).

    Returns
    -------
    Path
        The output folder.

    Raises
    ------
    InputError
        The folder exists and holds something that is not a pgpviewer output, or cannot be
        written (permissions, disk full); nothing is left half-written.
    """
    out = Path(out_dir)
    check_output_dir(out)
    parent = out.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(out)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-{os.getpid()}-", dir=parent))
    except OSError as e:
        raise InputError(out, f"cannot create the output folder ({e.strerror or e})") from None
    try:
        names = result.stack.channel_names
        with open(tmp / "cells.csv", "w", encoding="utf-8", newline="") as handle:
            for i, chunk in enumerate(_chunks(result, "cells")):  # (a long movie: millions)
                write_csv(cells_table(chunk, names), handle, header=i == 0)
        tables = {
            "tracks.csv": order_columns(result.tracks, TRACKS_COLUMNS),
            "events.csv": order_columns(result.events, EVENTS_COLUMNS),
            "summary.csv": order_columns(result.summary, SUMMARY_COLUMNS),
            "curves.csv": order_columns(result.curves, CURVES_COLUMNS),
        }
        for name, table in tables.items():
            with open(tmp / name, "w", encoding="utf-8", newline="") as handle:
                write_csv(table, handle)
        prov = json.dumps(provenance(result), indent=2, ensure_ascii=False) + "\n"
        write_labels(
            tmp / "labels.tif",
            result.labels,
            result.stack.pixel_size_um,
            identity=hashlib.sha256(prov.encode()).hexdigest(),
        )
        (tmp / "params.json").write_text(prov, encoding="utf-8")
        _replace_dir(tmp, out)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise InputError(out, f"cannot write results ({e.strerror or e})") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def is_complete_output(folder: Path) -> bool:
    """True when ``folder`` holds every file of a finished pgpviewer analysis."""
    folder = Path(folder)
    if not all((folder / f).is_file() for f in OUTPUT_FILES):
        return False
    try:
        data = json.loads((folder / "params.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("software") == "pgpviewer"


def check_output_dir(out: Path) -> None:
    """Refuse an output path that cannot receive the results, before any work is done.

    Refused: a path that is a file, a non-empty folder of something else, a path below a file,
    and a folder whose nearest existing parent cannot be written to (permissions, read-only
    file system).
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(out, "output path exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not is_complete_output(out):
        raise InputError(
            out,
            "output folder is not empty and is not an earlier pgpviewer result; "
            "choose a new folder",
        )
    # the results are written into a sibling folder, then renamed: the nearest existing
    # ancestor must be a folder this process can write into
    ancestor = Path(os.path.abspath(out)).parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise InputError(out, f"cannot create the output folder: {ancestor} is a file")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise InputError(out, f"cannot write into {ancestor} (permission denied or read-only)")


def remove_stale_temporaries(out: Path) -> list[Path]:
    """Remove ``.<name>.tmp-*`` and ``.<name>.old-*`` siblings of ``out`` left by killed runs.

    A folder is stale when it is older than this process and the process that made it (its
    id is in the name) no longer runs, or it is more than a day old. Folders of a run that may
    still be writing are left alone. Returns the folders removed.
    """
    out = Path(out)
    prefixes = (f".{out.name}.tmp-", f".{out.name}.old-")
    try:
        candidates = [p for p in out.parent.iterdir() if p.name.startswith(prefixes)]
    except OSError:
        return []
    removed = []
    for p in candidates:
        if p.is_dir() and not _maybe_in_use(p):
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    return removed


def _maybe_in_use(folder: Path) -> bool:
    try:
        mtime = folder.stat().st_mtime
    except OSError:
        return True
    if mtime >= PROCESS_START:
        return True
    m = re.search(r"\.(?:tmp|old)-(\d+)-", folder.name)
    if m and time.time() - mtime < _LIVE_WRITER_GRACE_S:
        return _pid_alive(int(m.group(1)))
    return False


def _pid_alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill would terminate the process there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def _replace_dir(tmp: Path, out: Path) -> None:
    os.chmod(tmp, 0o755)
    if not out.exists():
        os.replace(tmp, out)
        return
    if not any(out.iterdir()):
        out.rmdir()
        os.replace(tmp, out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-{os.getpid()}-", dir=out.parent))
    old.rmdir()
    os.replace(out, old)
    try:
        os.replace(tmp, out)
    except BaseException:
        os.replace(old, out)  # put the earlier result back
        raise
    shutil.rmtree(old, ignore_errors=True)
