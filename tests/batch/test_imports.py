"""The batch and report modules stay headless and light: no Qt, no napari, no dask at import."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("PySide6", "PyQt5", "PyQt6", "qtpy", "napari", "vispy", "distributed", "matplotlib")


@pytest.mark.parametrize("module", ["pgpviewer.cli_batch", "pgpviewer.batch", "pgpviewer.report"])
def test_import_is_headless(module):
    code = (
        f"import sys, importlib; importlib.import_module({module!r}); "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"importing {module} loaded {out.stdout.strip()}"
