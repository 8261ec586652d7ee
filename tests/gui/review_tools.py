"""Helpers for the review tests: a fast analysis from the simulator's ground-truth labels."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
from guitools import open_and_wait, run_and_wait

SIM_ARGS = {"n_frames": 6, "shape_yx": (128, 128), "n_cells": 10, "seed": 1}  # = small_movie


@lru_cache(maxsize=1)
def truth_labels() -> np.ndarray:
    from pgpviewer.core.synthetic import simulate_coculture

    return simulate_coculture(**SIM_ARGS).labels.astype(np.int32)


def fast_pipeline(stack, roles, params, **kwargs):
    """run_pipeline on the true labels: only the downstream steps (well under a second)."""
    from pgpviewer.core.pipeline import run_pipeline

    kwargs.pop("labels", None)
    return run_pipeline(stack, roles, params, labels=truth_labels().copy(), **kwargs)


def analysed_window(qtbot, window, movie):
    """Open ``movie`` and analyse it with :func:`fast_pipeline`; returns the controller."""
    open_and_wait(qtbot, window, movie)
    window.run_function = fast_pipeline
    assert run_and_wait(qtbot, window) == "ok"
    qtbot.waitUntil(lambda: window.review.state.active, timeout=10000)
    return window.review


def wait_applied(qtbot, ctrl, action, timeout=30000):
    """Run ``action`` and wait until the reviewed result is shown and every job finished."""
    with qtbot.waitSignal(ctrl.review_applied, timeout=timeout):
        action()
    qtbot.waitUntil(lambda: not ctrl.window.busy, timeout=timeout)


def export_and_read(qtbot, window, out) -> dict[str, pd.DataFrame]:
    with qtbot.waitSignal(window.exported, timeout=60000):
        window.export_results_to(out)
    qtbot.waitUntil(lambda: not window.busy, timeout=30000)
    names = ("cells", "tracks", "events", "summary", "curves")
    return {n: pd.read_csv(out / f"{n}.csv") for n in names}
