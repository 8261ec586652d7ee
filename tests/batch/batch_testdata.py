"""Test data for the batch tests: tiny synthetic movies and byte-level comparisons."""

from __future__ import annotations

import re
from pathlib import Path

MOVIE = dict(
    n_frames=6, shape_yx=(96, 96), n_cells=8, contact_transfer_prob=0.4, remote_transfer_rate=0.1
)


def write_movie(path: Path, seed: int, **overrides) -> Path:
    """A tiny synthetic co-culture movie (OME-TIFF, no ground-truth files)."""
    from pgpviewer.core.synthetic import simulate_coculture, write_simulation

    sim = simulate_coculture(seed=seed, **{**MOVIE, **overrides})
    return write_simulation(sim, path, ground_truth=False)


def tree_bytes(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` (relative posix path → bytes)."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


_OME_UUID = re.compile(rb"urn:uuid:[0-9a-fA-F-]{36}")


def without_ome_uuid(data: bytes) -> bytes:
    """The bytes with the OME-XML ``UUID`` blanked (same length, so offsets stay valid).

    tifffile puts a fresh ``uuid1()`` into every OME-TIFF unless the writer passes one, so
    labels.tif differs between two runs by that attribute alone.
    """
    return _OME_UUID.sub(b"urn:uuid:" + b"0" * 36, data)
