"""The sample the app opens when started without files."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from pgpviewer.core.errors import InputError
from pgpviewer.resources import SAMPLE_NAME, sample_path


def cached_sample_path() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("pgpviewer", appauthor=False)) / "sample" / SAMPLE_NAME


def ensure_sample() -> Path:
    """The bundled sample, or one generated once into the user cache folder.

    Raises
    ------
    InputError
        Neither the bundled sample nor the simulator is available.
    """
    bundled = sample_path()
    if bundled.is_file():
        return bundled
    cached = cached_sample_path()
    if cached.is_file():
        return cached
    try:
        from pgpviewer.core.synthetic import make_sample, write_simulation
    except ImportError as e:
        raise InputError(
            bundled, f"the sample is missing and cannot be generated (no simulator: {e})"
        ) from None
    cached.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".sample-", suffix=".ome.tif", dir=cached.parent)
    os.close(fd)
    try:
        write_simulation(make_sample(), tmp, ground_truth=False)
        os.replace(tmp, cached)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return cached
