"""The review's worker jobs (no Qt): re-computing, restoring and saving sessions."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pgpviewer.session.corrections import apply_review
from pgpviewer.session.persist import SessionData, check_input, write_session


@dataclass
class Recomputed:
    base: Any
    reviewed: Any
    candidates: pd.DataFrame
    rerun: bool


def recompute_review(base, labels, decisions, overrides, *, run=None) -> Recomputed:
    """Re-run the downstream steps from ``labels`` (when given), then apply the decisions."""
    rerun = labels is not None
    if rerun:
        if run is None:
            from pgpviewer.core.pipeline import run_pipeline as run
        base = run(base.stack, dict(base.roles), base.params, labels=labels)
    reviewed, candidates = apply_review(base, decisions, overrides)
    return Recomputed(base, reviewed, candidates, rerun)


def restore_result(stack, data: SessionData, *, run=None) -> Any:
    """Check the file against the session and re-run the downstream steps from its labels."""
    from pgpviewer.core.export import file_sha256

    sha = file_sha256(stack.path) if data.input_sha256 and stack.path is not None else None
    check_input(data, stack, sha)
    if run is None:
        from pgpviewer.core.pipeline import run_pipeline as run
    return run(stack, dict(data.roles), data.params, labels=np.array(data.labels, copy=True))


def save_session_job(data: SessionData, folder: Path, known_sha: dict) -> Path:
    """Write a session (the input checksum is computed once per file and remembered)."""
    from pgpviewer.core.export import file_sha256

    if data.input_sha256 is None and data.input_path:
        p = Path(data.input_path)
        if p.exists():
            data.input_sha256 = known_sha.setdefault(str(p), file_sha256(p))
    return write_session(data, folder)


def write_review_record(folder: Path, record: dict) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".review-", suffix=".json", dir=folder)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(record, fh, indent=2)
    os.replace(tmp, folder / "review.json")
