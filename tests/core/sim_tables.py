"""Simulated movies as the analysis would see them with perfect masks (for source-rule tests)."""

from __future__ import annotations

import numpy as np

from pgpviewer.core.metrics_tracking import label_contacts, label_table
from pgpviewer.core.params import TrackingParams
from pgpviewer.core.tracking import track_cells


def gt_tables(sim, seed):
    """Cells (true tracks, populations; a P-gp score of 5 ± 1 for positive cells, blips and
    donors, 0 ± 1 otherwise, gated at 2.33), contacts and puncta of a simulation."""
    links = track_cells(label_table(sim.labels), TrackingParams())
    c = sim.cells.rename(columns={"cell_id": "label"}).merge(links, on=["frame", "label"])
    pop = c.groupby("track_id")["population"].agg(lambda s: s.mode().iloc[0])
    c["population"] = c["track_id"].map(pop)
    rng = np.random.default_rng(seed)
    hot = c["pgp_positive"].to_numpy() | c["blip"].to_numpy() | (c["population"] == "donor")
    c["pgp_score"] = np.where(hot, 5.0, 0.0) + rng.normal(0, 1, len(c))
    c["pgp_positive"] = c["pgp_score"] > 2.33
    return c, label_contacts(sim.labels), sim.puncta.rename(columns={"cell_id": "label"})
