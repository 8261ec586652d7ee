"""Where bundled resources (sample stack, icons) live in a source tree, a wheel or a bundle."""

from __future__ import annotations

import sys
from pathlib import Path

SAMPLE_NAME = "sample.ome.tif"


def resources_dir() -> Path:
    """The folder holding pgpviewer's resources.

    Wheels and PyInstaller bundles carry them inside the package (``pgpviewer/_resources``);
    a source checkout has them in the top-level ``resources/`` folder.
    """
    here = Path(__file__).resolve().parent
    candidates = [here / "_resources", here.parent / "resources"]
    if getattr(sys, "_MEIPASS", None):
        candidates.insert(0, Path(sys._MEIPASS) / "pgpviewer" / "_resources")
    for c in candidates:
        if c.is_dir():
            return c
    return candidates[-1]


def resource_path(*parts: str) -> Path:
    """Path of a resource file (it may not exist)."""
    return resources_dir().joinpath(*parts)


def sample_path() -> Path:
    """The bundled sample stack (an OME-TIFF made by :mod:`pgpviewer.core.synthetic`)."""
    return resource_path("sample", SAMPLE_NAME)
