"""Per-cell measurements: exact values on hand-made label images, speed on a realistic frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pgpviewer.core.measurements import (
    border_pixels,
    channel_columns,
    frame_features,
    label_contacts,
    measure_cells,
    pixel_noise_sd,
    shift_max,
)
from pgpviewer.core.params import MeasurementParams

P0 = MeasurementParams(contact_gap_px=0)


def _two_cells():
    """Donor (1) and recipient (2) side by side, a lone cell (3); background 10."""
    lab = np.zeros((20, 30), np.int32)
    lab[2:12, 2:10] = 1
    lab[2:12, 10:18] = 2
    lab[14:18, 22:28] = 3
    img = np.full((3, 20, 30), 10.0)
    img[0][lab == 1] = 110.0  # donor dye
    img[1][lab == 2] = 60.0  # recipient dye
    img[2][lab == 1] = 510.0  # P-gp: donor bright
    img[2][lab == 2] = 20.0  # recipient: 10 above background
    img[2][lab == 3] = 15.0
    return img, lab


def test_frame_features_columns_values_and_contacts():
    img, lab = _two_cells()
    roles = {"donor": 0, "recipient": 1, "pgp": 2}
    feats, contacts = frame_features(img, lab, roles, P0)
    assert list(feats.columns[:4]) == ["label", "centroid_y", "centroid_x", "area_px"]
    assert feats["label"].tolist() == [1, 2, 3]
    assert feats["area_px"].tolist() == [80, 80, 24]
    assert feats.loc[0, "centroid_y"] == pytest.approx(6.5)
    assert feats.loc[0, "centroid_x"] == pytest.approx(5.5)
    assert feats["donor_signal"].tolist() == pytest.approx([100, 0, 0])
    assert feats["recipient_signal"].tolist() == pytest.approx([0, 50, 0])
    assert feats["pgp_signal"].tolist() == pytest.approx([500, 10, 5])
    assert (feats["pgp_noise"] == 0).all()  # flat background
    assert contacts.to_dict("list") == {"label_a": [1], "label_b": [2], "border_px": [10]}


def test_frame_features_unmapped_roles_are_nan_and_empty_frames_work():
    img, lab = _two_cells()
    feats, _ = frame_features(img, lab, {"nuclei": 0})
    for role in ("donor", "recipient", "pgp"):
        assert feats[f"{role}_signal"].isna().all()
        assert feats[f"{role}_noise"].isna().all()
    feats, contacts = frame_features(img, np.zeros_like(lab), {"pgp": 2})
    assert len(feats) == 0 and "pgp_signal" in feats and len(contacts) == 0


def test_labels_need_not_be_consecutive():
    img, lab = _two_cells()
    lab = np.where(lab == 3, 40, lab)
    feats, _ = frame_features(img, lab, {"pgp": 2})
    assert feats["label"].tolist() == [1, 2, 40]
    t = measure_cells(img, lab, ["a", "b", "c"], {"pgp": 2}, {1: "donor"}, None, P0)
    assert t["label"].tolist() == [1, 2, 40]


def test_label_contacts_gap_and_diagonals():
    lab = np.array([
        [1, 1, 0, 2],
        [1, 1, 0, 2],
        [0, 0, 0, 0],
        [3, 0, 0, 4],
    ])
    assert label_contacts(lab).empty
    gap1 = label_contacts(lab, gap_px=1)
    assert gap1[["label_a", "label_b"]].values.tolist() == [[1, 2], [1, 3], [2, 4]]
    assert gap1["border_px"].tolist() == [2, 1, 1]
    # 3 and 4 are 2 background pixels apart
    assert [3, 4] in label_contacts(lab, gap_px=2)[["label_a", "label_b"]].values.tolist()
    # pairs do not wrap around rows
    wrap = np.array([[0, 0, 1], [2, 0, 0]])
    assert label_contacts(wrap, gap_px=2).empty


def test_background_global_and_local():
    img, lab = _two_cells()
    img = img + 5.0  # background 15
    feats, _ = frame_features(img, lab, {"pgp": 2}, MeasurementParams(background="global"))
    assert feats["pgp_signal"].tolist() == pytest.approx([500, 10, 5])


def test_local_background_follows_the_surroundings():
    lab = np.zeros((40, 40), np.int32)
    lab[17:23, 17:23] = 1
    img = np.full((1, 40, 40), 10.0)
    img[0, 10:30, 10:30] = 30.0  # brighter surroundings of the cell only
    img[0][lab == 1] = 40.0
    glob = frame_features(img, lab, {"pgp": 0}, MeasurementParams(background="global"))[0]
    loc = frame_features(img, lab, {"pgp": 0}, MeasurementParams(background="local"))[0]
    assert glob.loc[0, "pgp_signal"] == pytest.approx(30)
    assert loc.loc[0, "pgp_signal"] == pytest.approx(10)


def test_measure_cells_channels_pgp_exclusion_and_neighbours():
    img, lab = _two_cells()
    names = ["Donor dye", "CellTracker", "P-gp"]
    roles = {"donor": 0, "recipient": 1, "pgp": 2}
    pops = {1: "donor", 2: "recipient", 3: "recipient"}
    spots = pd.DataFrame({
        "y": [6.2, 6.0, 15.5, 1.0],
        "x": [10.1, 15.0, 24.0, 25.0],  # on the donor-adjacent column, inside 2, in 3, outside
        "amplitude": [50.0, 30.0, 20.0, 5.0],
        "label": [2, 2, 3, 0],
    })
    t = measure_cells(
        img, lab, names, roles, pops, spots, MeasurementParams(neighbour_exclusion_px=0)
    ).set_index("label")
    assert t.loc[1, "mean_donor_dye"] == pytest.approx(100)
    assert t.loc[1, "total_donor_dye"] == pytest.approx(8000)
    assert t.loc[2, "mean_celltracker"] == pytest.approx(50)
    assert t.loc[2, "mean_p_gp"] == pytest.approx(10)  # whole cell, no exclusion
    # recipient 2: the column next to the donor is not counted for P-gp measures
    assert t.loc[2, "pgp_counted_px"] == 70
    assert t.loc[1, "pgp_counted_px"] == 80
    assert t.loc[2, "pgp_score"] == pytest.approx(10)
    assert t.loc[1, "pgp_score"] == pytest.approx(500)
    assert t.loc[2, "pgp_puncta"] == 1  # the punctum on the excluded column does not count
    assert t.loc[2, "pgp_puncta_amplitude"] == pytest.approx(30)
    assert t.loc[3, "pgp_puncta"] == 1
    assert bool(t.loc[2, "touching_donor"]) and not bool(t.loc[3, "touching_donor"])
    assert not bool(t.loc[1, "touching_donor"])  # no *other* donor
    assert t.loc[3, "nearest_donor_label"] == 1 and t.loc[2, "nearest_donor_label"] == 1
    assert t.loc[1, "nearest_donor_label"] == 0
    assert np.isnan(t.loc[1, "nearest_donor_distance_px"])
    d = np.hypot(15.5 - 6.5, 24.5 - 5.5)
    assert t.loc[3, "nearest_donor_distance_px"] == pytest.approx(d)
    assert t.loc[2, "nearest_donor_gap_px"] == 0.0
    assert 0 < t.loc[3, "nearest_donor_gap_px"] < d


def test_membrane_and_cytoplasm():
    lab = np.zeros((12, 12), np.int32)
    lab[1:11, 1:11] = 1
    img = np.zeros((1, 12, 12))
    img[0][lab == 1] = 10.0
    img[0][border_pixels(lab, 2)] = 50.0  # 2-px membrane rim
    t = measure_cells(img, lab, ["pgp"], {"pgp": 0}, {1: "donor"}, None,
                      MeasurementParams(membrane_width_px=2))
    assert t.loc[0, "pgp_membrane_mean"] == pytest.approx(50)
    assert t.loc[0, "pgp_cytoplasm_mean"] == pytest.approx(10)
    assert pd.isna(t.loc[0, "pgp_puncta"])  # no puncta table given


def test_without_pgp_role_pgp_columns_are_nan():
    img, lab = _two_cells()
    t = measure_cells(img, lab, ["a", "b", "c"], {"donor": 0}, {}, None, P0)
    assert t["pgp_score"].isna().all() and t["pgp_membrane_mean"].isna().all()
    assert not t["touching_donor"].any()
    assert (t["nearest_donor_label"] == 0).all()


def test_channel_name_collisions():
    assert channel_columns(["GFP", "gfp", "G-F-P", "DAPI"]) == ["gfp_1", "gfp_2", "g_f_p", "dapi"]
    assert channel_columns(["x", "x", "x_1"]) == ["x_2", "x_3", "x_1"]
    assert channel_columns(["", "µ"]) == ["channel_0", "channel_1"]
    img, lab = _two_cells()
    t = measure_cells(img, lab, ["P-gp", "P gp", "other"], {"pgp": 0}, {}, None, P0)
    assert {"mean_p_gp_1", "mean_p_gp_2", "total_other"} <= set(t.columns)


def test_shift_filters_and_noise():
    a = np.zeros((7, 7), bool)
    a[3, 3] = True
    assert shift_max(a, 2).sum() == 25
    rng = np.random.default_rng(3)
    img = 1000 + 20 * rng.standard_normal((200, 200)) + np.linspace(0, 500, 200)
    assert pixel_noise_sd(img) == pytest.approx(20, rel=0.05)


def _dense_frame(n_cells=150, shape=(512, 512), seed=0):
    from skimage.draw import disk

    rng = np.random.default_rng(seed)
    lab = np.zeros(shape, np.int32)
    k = 0
    while k < n_cells:
        c = rng.uniform(15, shape[0] - 15, 2)
        rr, cc = disk(c, 14, shape=shape)
        if (lab[rr, cc] > 0).mean() < 0.2:
            k += 1
            lab[rr, cc] = np.where(lab[rr, cc] == 0, k, lab[rr, cc])
    img = rng.integers(100, 4000, (4, *shape)).astype(np.uint16)
    return img, lab


def test_dense_frame_matches_regionprops():
    """150 overlapping cells in a 512² frame: the single-pass statistics agree with scikit-image's
    regionprops (area, centroid, mean of every channel); recipients next to donors lose pixels."""
    from skimage.measure import regionprops_table

    img, lab = _dense_frame()
    roles = {"nuclei": 0, "recipient": 1, "pgp": 2, "efflux": 3}
    pops = {i: ("donor" if i % 3 == 0 else "recipient") for i in range(1, 151)}
    p = MeasurementParams(background="global")
    feats, _ = frame_features(img, lab, roles, p)
    table = measure_cells(img, lab, list("abcd"), roles, pops, None, p)
    ref = pd.DataFrame(regionprops_table(lab, np.moveaxis(img, 0, -1).astype(float),
                                         properties=("label", "area", "centroid",
                                                     "intensity_mean")))
    assert len(table) == len(feats) == len(ref) == 150
    np.testing.assert_array_equal(feats["area_px"], ref["area"])
    np.testing.assert_allclose(feats["centroid_y"], ref["centroid-0"], atol=1e-9)
    np.testing.assert_allclose(feats["centroid_x"], ref["centroid-1"], atol=1e-9)
    for c, name in enumerate("abcd"):
        bg = ref[f"intensity_mean-{c}"] - table[f"mean_{name}"]  # raw mean - corrected mean
        assert np.ptp(bg) < 1e-6  # one global background per channel, subtracted from every cell
    rec = table["label"].map(pops) == "recipient"
    assert (table.loc[rec, "pgp_counted_px"] <= ref.loc[rec.to_numpy(), "area"].to_numpy()).all()
    assert (table.loc[rec, "pgp_counted_px"] < ref.loc[rec.to_numpy(), "area"].to_numpy()).any()
    don = ~rec
    np.testing.assert_array_equal(table.loc[don, "pgp_counted_px"],
                                  ref.loc[don.to_numpy(), "area"])


def test_neighbour_exclusion_removes_spill_over_from_a_bright_neighbour():
    # recipient 2 (P-gp 10) between a bright recipient 1 (left) and background; the two columns
    # of 2 next to 1 carry 1's blurred light (200) and must not count
    lab = np.zeros((10, 20), np.int32)
    lab[1:9, 1:9] = 1
    lab[1:9, 9:17] = 2
    img = np.zeros((1, 10, 20), np.float32)
    img[0][lab == 1] = 300.0
    img[0][lab == 2] = 10.0
    img[0][1:9, 9:11] = 200.0  # spill-over into the first two columns of cell 2
    pops = {1: "recipient", 2: "recipient"}
    near = measure_cells(img, lab, ["P-gp"], {"pgp": 0}, pops,
                         params=MeasurementParams(neighbour_exclusion_px=2)).set_index("label")
    off = measure_cells(img, lab, ["P-gp"], {"pgp": 0}, pops,
                        params=MeasurementParams(neighbour_exclusion_px=0)).set_index("label")
    assert near.loc[2, "pgp_score"] == pytest.approx(10.0)
    assert near.loc[2, "pgp_counted_px"] == 8 * 6
    assert off.loc[2, "pgp_score"] == pytest.approx((16 * 200 + 48 * 10) / 64)
    # cell 1's pixels next to cell 2 are dropped too; its score is unchanged (uniform)
    assert near.loc[1, "pgp_score"] == pytest.approx(300.0)


def test_neighbour_exclusion_falls_back_when_nothing_is_left():
    lab = np.zeros((6, 9), np.int32)
    lab[1:5, 1:4] = 1
    lab[1:5, 4:5] = 2  # a one-pixel-wide recipient squeezed between two cells
    lab[1:5, 5:8] = 3
    img = np.zeros((1, 6, 9), np.float32)
    img[0][lab == 2] = 7.0
    t = measure_cells(img, lab, ["P-gp"], {"pgp": 0},
                      {1: "recipient", 2: "recipient", 3: "recipient"},
                      params=MeasurementParams(neighbour_exclusion_px=2)).set_index("label")
    assert t.loc[2, "pgp_counted_px"] == 4
    assert t.loc[2, "pgp_score"] == pytest.approx(7.0)
