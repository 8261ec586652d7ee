"""The core and the CLI never load Qt or napari (the GUI is imported only to open windows)."""

from __future__ import annotations

import subprocess
import sys

import pytest

GUI_MODULES = (
    "PySide6",
    "PyQt5",
    "PyQt6",
    "qtpy",
    "napari",
    "vispy",
    "superqt",
    "magicgui",
    "pyqtgraph",
)


@pytest.mark.parametrize(
    "module",
    [
        "pgpviewer.core",
        "pgpviewer.cli",
        "pgpviewer.core.pipeline",
        "pgpviewer.core.export",
        "pgpviewer.core.synthetic",
        "pgpviewer.core.vendor",
        "pgpviewer.core.trackmate",
        "pgpviewer.batch",
        "pgpviewer.report",
    ],
)
def test_import_loads_no_gui(module):
    code = (
        f"import sys, importlib; importlib.import_module({module!r}); "
        f"print(','.join(m for m in {GUI_MODULES!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"importing {module} loaded {out.stdout.strip()}"


def test_ruff_is_clean():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--output-format",
            "concise",
            "pgpviewer",
            "tests",
            "benchmarks",
        ],
        capture_output=True,
        text=True,
        cwd=root,
    )
    assert out.returncode == 0, out.stdout + out.stderr
