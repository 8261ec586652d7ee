"""Accuracy on co-cultures unlike the default simulation: do the defaults hold elsewhere?

The accuracy bars must hold on data the defaults were not developed on. This runs the whole
analysis (``bench_accuracy.score_seed``: simulate, analyse as a user would, score against the
ground truth) on simulator variants that change one property of the experiment at a time —
density, cell size, noise, which channels exist, bleaching, uneven illumination, z-stacks — and
prints, per variant, the mean over seeds of segmentation F1 and mean IoU, population accuracy,
fraction-positive error, event F1 and source-donor accuracy.

Usage: python benchmarks/bench_robustness.py [--variants default noisy ...] [--seeds 1 2 3]
       [--frames 30]
Writes benchmarks/results/robustness.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_accuracy import RESULTS, score_seed

from pgpviewer.core.synthetic import SimulationParams

_PHOTONS = SimulationParams().photons_per_unit

#: Simulator settings that differ from bench_accuracy's default movie (256², 40 cells).
VARIANTS: dict[str, dict] = {
    "default": {},
    "dense": {"n_cells": 60},
    "sparse": {"n_cells": 20},
    "noisy": {"photons_per_unit": _PHOTONS / 4},
    "small_cells": {"radius_px": (5.0, 11.0), "n_cells": 80},
    "large_cells": {"radius_px": (14.0, 28.0), "n_cells": 18},
    "no_nuclei": {"include_nuclei": False},
    "donor_dye": {"include_recipient_dye": False, "include_donor_dye": True},
    "both_dyes": {"include_donor_dye": True},
    "bleach": {"bleach_per_frame": 0.03, "pgp_bleach_per_frame": 0.01},
    "uneven": {"illumination_strength": 0.4},
    "zstack": {"n_z": 3},
}
COLUMNS = [
    "seg_f1", "seg_mean_iou", "population_accuracy", "fraction_positive_error", "event_f1",
    "donor_accuracy", "contact_donor_accuracy", "remote_donor_accuracy",
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    ap.add_argument("--frames", type=int, default=30)
    args = ap.parse_args()
    rows = []
    for name in args.variants:
        for seed in args.seeds:
            row = score_seed(seed, args.frames, **VARIANTS[name])
            rows.append({"variant": name, **row})
            print(f"{name} seed {seed}: " + ", ".join(f"{k} {row[k]:.3f}" for k in COLUMNS),
                  file=sys.stderr, flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "robustness.json").write_text(json.dumps(rows, indent=2, default=float))
    table = pd.DataFrame(rows).groupby("variant", sort=False)[COLUMNS].agg(np.nanmean)
    table.insert(0, "events", pd.DataFrame(rows).groupby("variant", sort=False)["events_true"]
                 .sum())
    with pd.option_context("display.width", 200, "display.precision", 3):
        print(table.to_string())


if __name__ == "__main__":
    main()
