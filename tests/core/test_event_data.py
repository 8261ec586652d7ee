"""Donors touching each cell (event_data.donor_contacts) against a plain pandas join."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pgpviewer.core.event_data import donor_contacts


def _by_join(contacts, cells, donor_tracks):
    """Reference: both directions of every contact joined to the donor cells with pandas; each
    donor's longest border; longest first, ties by smaller track id."""
    if len(contacts) == 0 or not donor_tracks:
        return {}
    c = contacts
    both = pd.concat([
        pd.DataFrame({"frame": c["frame"], "me": c["label_a"], "other": c["label_b"],
                      "border": c["border_px"]}),
        pd.DataFrame({"frame": c["frame"], "me": c["label_b"], "other": c["label_a"],
                      "border": c["border_px"]}),
    ], ignore_index=True)
    nodes = cells.rename(columns={"label": "other", "track_id": "donor"})
    nodes = nodes[nodes["donor"].isin(donor_tracks)]
    m = both.merge(nodes, on=["frame", "other"], how="inner")
    m = m.sort_values(["frame", "me", "border", "donor"], ascending=[True, True, False, True],
                      kind="stable").drop_duplicates(["frame", "me", "donor"])
    out: dict = {}
    for f, me, d, b in zip(m["frame"].tolist(), m["me"].tolist(), m["donor"].tolist(),
                           m["border"].tolist(), strict=True):
        out.setdefault((f, me), []).append((d, b))
    return out


def test_donor_contacts_equal_a_pandas_join_on_random_frames():
    rng = np.random.default_rng(0)
    for trial in range(200):
        contacts, cells = [], []
        for f in range(int(rng.integers(1, 4))):
            labels = rng.choice(np.arange(1, 40), int(rng.integers(2, 12)), replace=False)
            cells += [(f, int(lb), int(rng.integers(1, 15))) for lb in labels]
            for _ in range(int(rng.integers(0, 20))):  # repeated pairs, other borders
                a, b = rng.choice(labels, 2, replace=False)
                border = int(rng.integers(1, 6))
                contacts.append((f, int(a), int(b), border if trial % 2 else float(border)))
        contacts = pd.DataFrame(contacts, columns=["frame", "label_a", "label_b", "border_px"])
        cells = pd.DataFrame(cells, columns=["frame", "label", "track_id"])
        donors = set(rng.choice(np.arange(1, 15), int(rng.integers(0, 8))).tolist())
        got = donor_contacts(contacts, cells, donors)
        assert got == _by_join(contacts, cells, donors)
        assert all(type(b) is (int if trial % 2 else float) for v in got.values() for _, b in v)


def test_donor_contacts_longest_border_first_one_per_donor():
    contacts = pd.DataFrame({"frame": [0, 0, 0, 0], "label_a": [1, 1, 1, 3],
                             "label_b": [2, 3, 2, 2], "border_px": [4, 9, 6, 2]})
    cells = pd.DataFrame({"frame": [0, 0, 0], "label": [1, 2, 3], "track_id": [10, 20, 30]})
    got = donor_contacts(contacts, cells, {20, 30})
    assert got[(0, 1)] == [(30, 9), (20, 6)]  # donor 20's longer border only
    assert got[(0, 3)] == [(20, 2)]
    assert got[(0, 2)] == [(30, 2)]
    assert donor_contacts(contacts.iloc[0:0], cells, {20}) == {}
    assert donor_contacts(contacts, cells, set()) == {}
