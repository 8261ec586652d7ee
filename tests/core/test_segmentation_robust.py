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
    # detected. Measured F1 1.0 / 1.0 (0.975 / 0.95 before its nucleus grew it to a cell)
    photons = SimulationParams().photons_per_unit / 4
    acc = _score(seed, photons_per_unit=photons)
    assert acc.f1 >= 0.99
