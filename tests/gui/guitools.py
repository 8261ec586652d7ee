"""Helpers shared by the GUI tests (waiting on the window, fake pipelines)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "resources" / "sample" / "sample.ome.tif"


def open_and_wait(qtbot, window, path, timeout=30000):
    with qtbot.waitSignal(window.stack_shown, timeout=timeout):
        window.open_paths([path])
    qtbot.waitUntil(lambda: not window.busy, timeout=timeout)


def run_and_wait(qtbot, window, timeout=120000) -> str:
    with qtbot.waitSignal(window.analysis_finished, timeout=timeout) as blocker:
        window.run_analysis()
    qtbot.waitUntil(lambda: not window.busy, timeout=timeout)
    return blocker.args[0]


def slow_fake_pipeline(stack, roles, params, *, progress=None, cancel=None, **_):
    """Reports progress until cancelled (the core's check raises Cancelled)."""
    for i in range(3000):
        progress(i / 3000, f"working {i}")
        time.sleep(0.005)
    raise AssertionError("was not cancelled")


def failing_pipeline(stack, roles, params, **_):
    raise ValueError("segmentation exploded")


def blank(path: Path) -> bool:
    from PIL import Image

    rgb = np.asarray(Image.open(path).convert("RGB"))
    return rgb.std() < 5
