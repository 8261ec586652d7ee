"""Segmentation on data unlike the default simulation: cells without a visible body, noisy
images, other cell sizes (automatic cell diameter)."""

from __future__ import annotations

import pytest

from pgpviewer.core.metrics import match_label_stacks
from pgpviewer.core.segmentation import segment_cells
from pgpviewer.core.synthetic import SimulationParams, simulate_coculture


def _score(seed, params=None, **overrides):
    sim = simulate_coculture(seed=seed, n_frames=1, shape_yx=(256, 256), n_cells=40, **overrides)
    img = sim.image[0]
    lab = segment_cells({r: img[i] for r, i in sim.channel_roles.items()}, params)
    acc, _ = match_label_stacks(sim.labels[:1], lab[None])
    return acc


@pytest.mark.parametrize("seed", [13, 14])
def test_recipients_without_dye_get_a_cell_sized_body(seed):
    # donor dye + P-gp + nuclei: recipients show only their nucleus. Measured F1 1.0 / 0.975
    # (0.95 / 0.925 when body-less meant "cell under 1.5 x its nucleus" and the growth was a
    # fixed margin)
    acc = _score(seed, include_recipient_dye=False, include_donor_dye=True)
    assert acc.f1 >= 0.97


@pytest.mark.parametrize("seed", [13, 14])
def test_noisy_dim_rim_donors_are_whole_cells(seed):
    # a quarter of the photons: dim P-gp rims break up and only pieces of the donor are
    # detected. Measured F1 0.988 / 1.0 (0.975 / 0.95 before its nucleus grew it to a cell)
    photons = SimulationParams().photons_per_unit / 4
    acc = _score(seed, photons_per_unit=photons)
    assert acc.f1 >= 0.98


@pytest.mark.parametrize(
    ("overrides", "lo", "hi"),
    [({}, 18, 30), ({"radius_px": (5.0, 11.0), "n_cells": 80}, 11, 19)],
)
def test_cell_diameter_is_measured_from_the_image(overrides, lo, hi):
    # true median equivalent diameters: 22.5-23.2 px (default), 13.6-13.9 px (small cells);
    # measured 23.8 / 16.2 on seed 1
    from pgpviewer.core.segmentation import estimate_cell_diameter

    kw = {"n_cells": 40, **overrides}
    sim = simulate_coculture(seed=1, n_frames=1, shape_yx=(256, 256), **kw)
    d = estimate_cell_diameter({r: sim.image[0][i] for r, i in sim.channel_roles.items()})
    assert d is not None and lo <= d <= hi


def test_pipeline_records_the_measured_diameter():
    from pgpviewer.core.pipeline import run_pipeline
    from pgpviewer.core.stack import Stack

    sim = simulate_coculture(seed=1, n_frames=2, shape_yx=(128, 128), n_cells=12)
    stack = Stack.from_array(sim.image, "TCYX", channel_names=sim.channel_names)
    res = run_pipeline(stack, sim.channel_roles, workers=1)
    d = res.params.segmentation.cell_diameter_px
    assert d is not None and 12 <= d <= 40
    assert any("cell diameter measured" in n for n in res.notes)
