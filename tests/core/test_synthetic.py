"""Tests of the co-culture simulator: determinism, shapes, ground-truth consistency, files."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import tifffile
from skimage.measure import label as cc_label
from skimage.measure import regionprops

from pgpviewer.core.synthetic import (
    SAMPLE_PARAMS,
    SimulationParams,
    gt_paths,
    make_sample,
    simulate_coculture,
    write_simulation,
)

SMALL = {"n_frames": 6, "shape_yx": (128, 128), "n_cells": 12}
# event-rich settings so that every kind of ground truth is exercised
RICH = {
    "seed": 17,
    "n_frames": 16,
    "shape_yx": (160, 160),
    "n_cells": 22,
    "contact_transfer_prob": 0.15,
    "remote_transfer_rate": 0.05,
    "division_rate": 0.03,
    "blip_rate": 0.05,
    "positive_at_start_fraction": 0.25,
}


@pytest.fixture(scope="module")
def rich():
    return simulate_coculture(**RICH)


@pytest.fixture(scope="module")
def sample():
    return make_sample()


def _touching(lab: np.ndarray, cid: int, others) -> bool:
    """Independent check: does cell ``cid`` share a 4-neighbour border with any of ``others``?"""
    m = lab == cid
    grown = m.copy()
    grown[1:] |= m[:-1]
    grown[:-1] |= m[1:]
    grown[:, 1:] |= m[:, :-1]
    grown[:, :-1] |= m[:, 1:]
    return bool(np.isin(lab[grown & ~m], list(others)).any())


# ------------------------------------------------------------------------------------------------
# determinism, shapes, parameters
# ------------------------------------------------------------------------------------------------


def test_same_seed_same_bytes_different_seed_differs():
    a = simulate_coculture(seed=5, **SMALL)
    b = simulate_coculture(SimulationParams(seed=5, **SMALL))
    c = simulate_coculture(seed=6, **SMALL)
    assert a.image.tobytes() == b.image.tobytes()
    assert np.array_equal(a.labels, b.labels)
    assert np.array_equal(a.nuclei_labels, b.nuclei_labels)
    for name in ("cells", "events", "puncta", "tracks"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert a.image.tobytes() != c.image.tobytes()
    assert not np.array_equal(a.labels, c.labels)


def test_shapes_dtypes_and_metadata(rich):
    p = rich.params
    t, (h, w) = p.n_frames, p.shape_yx
    assert rich.image.shape == (t, 3, h, w) and rich.image.dtype == np.uint16
    assert rich.labels.shape == (t, h, w) and rich.labels.dtype == np.int32
    assert rich.nuclei_labels.shape == (t, h, w) and rich.nuclei_labels.dtype == np.int32
    assert rich.channel_names == ("Hoechst", "CellTracker Blue", "P-gp-EGFP")
    assert rich.channel_roles == {"nuclei": 0, "recipient": 1, "pgp": 2}
    assert rich.axes == "TCYX"
    assert rich.pixel_size_um == p.pixel_size_um and rich.frame_interval_s == p.frame_interval_s
    assert rich.channel("pgp").shape == (t, h, w)
    assert list(rich.cells.columns[:10]) == [
        "frame", "cell_id", "parent_id", "population", "centroid_y", "centroid_x",
        "area_px", "pgp_positive", "touching_donor", "n_puncta",
    ]  # fmt: skip
    assert {"recipient_id", "frame", "donor_id", "mode"} <= set(rich.events.columns)
    assert {"frame", "y", "x", "cell_id"} <= set(rich.puncta.columns)
    assert {
        "cell_id", "parent_id", "population", "first_frame", "last_frame", "status",
        "acquired_frame",
    } <= set(rich.tracks.columns)  # fmt: skip
    assert rich.cells["pgp_positive"].dtype == bool
    assert rich.cells["touching_donor"].dtype == bool
    assert set(rich.cells["population"]) == {"donor", "recipient"}
    # the image is not flat: background near the camera offset, cells well above it
    assert rich.image.min() >= 50 and rich.image.max() > 600


def test_default_is_realistic():
    sim = simulate_coculture()
    assert sim.image.shape == (20, 3, 256, 256)
    assert sim.elapsed_s > 0  # (its speed is measured in benchmarks, not asserted here)
    first = sim.cells[sim.cells.frame == 0]
    assert 20 <= len(first) <= 50
    radius = np.sqrt(first["area_px"] / np.pi)
    assert radius.max() > 13 and radius.min() < 11  # varied sizes
    lab0 = sim.labels[0]
    ecc = [r.eccentricity for r in regionprops(lab0) if r.area > 150]
    assert np.mean(np.array(ecc) > 0.45) > 0.3  # not all disks
    assert first["touching_donor"].any()


def test_invalid_parameters():
    with pytest.raises(ValueError, match="donor_fraction"):
        SimulationParams(donor_fraction=1.5)
    with pytest.raises(ValueError, match="shape_yx"):
        SimulationParams(shape_yx=(16, 256))
    with pytest.raises(TypeError):
        simulate_coculture(not_a_parameter=1)


# ------------------------------------------------------------------------------------------------
# ground-truth consistency
# ------------------------------------------------------------------------------------------------


def test_rich_fixture_exercises_everything(rich):
    assert set(rich.events["mode"]) == {"contact", "remote"}
    assert (rich.tracks["parent_id"] > 0).any()
    assert rich.cells["blip"].any()
    assert (rich.tracks["status"] == "positive_at_start").any()
    assert (rich.puncta["kind"] == "in_transit").any()


def test_labels_are_exact_partition_consistent_with_tables(rich):
    cells = rich.cells
    for f in range(rich.params.n_frames):
        lab = rich.labels[f]
        rows = cells[cells.frame == f].set_index("cell_id")
        present = np.unique(lab[lab > 0])
        assert set(present.tolist()) == set(rows.index.tolist())
        area = np.bincount(lab.ravel())
        assert np.array_equal(area[rows.index.to_numpy()], rows["area_px"].to_numpy())
        # one 4-connected piece per cell
        comp = cc_label(lab, background=0, connectivity=1)
        assert comp.max() == len(present)
        # nuclei inside their own cell, one per cell
        nuc = rich.nuclei_labels[f]
        assert np.array_equal(nuc[nuc > 0], lab[nuc > 0])
        assert set(np.unique(nuc[nuc > 0]).tolist()) == set(present.tolist())
        ys, xs = np.nonzero(lab == rows.index[0])
        assert rows.iloc[0]["centroid_y"] == pytest.approx(ys.mean())
        assert rows.iloc[0]["centroid_x"] == pytest.approx(xs.mean())


def test_tracks_are_contiguous_and_match_cells(rich):
    tr = rich.tracks.set_index("cell_id")
    g = rich.cells.groupby("cell_id")["frame"]
    assert np.array_equal(g.min().to_numpy(), tr.loc[g.min().index, "first_frame"].to_numpy())
    assert np.array_equal(g.max().to_numpy(), tr.loc[g.max().index, "last_frame"].to_numpy())
    assert ((tr["last_frame"] - tr["first_frame"] + 1) == g.size()).all()
    assert (tr.loc[tr.population == "donor", "status"] == "not_recipient").all()
    assert tr.loc[tr.status != "event", "acquired_frame"].isna().all() or (
        tr.loc[(tr.status != "event") & tr.acquired_frame.notna()].empty
    )


def test_events_are_persistent_and_mode_consistent(rich):
    cells = rich.cells
    pop = rich.tracks.set_index("cell_id")["population"]
    tracks = rich.tracks.set_index("cell_id")
    assert len(rich.events) > 0
    for ev in rich.events.itertuples():
        rows = cells[cells.cell_id == ev.recipient_id]
        assert pop[ev.recipient_id] == "recipient"
        assert rows.loc[rows.frame >= ev.frame, "pgp_positive"].all()
        before = rows[rows.frame < ev.frame]
        assert len(before) >= 1 and not before["pgp_positive"].any()
        assert tracks.loc[ev.recipient_id, "status"] == "event"
        assert tracks.loc[ev.recipient_id, "acquired_frame"] == ev.frame
        assert tracks.loc[ev.recipient_id, "last_frame"] >= ev.frame + 2
        donors_before = set(cells.loc[cells.population == "donor", "cell_id"])
        if ev.mode == "contact":
            assert pop[ev.donor_id] == "donor"
            assert any(
                _touching(rich.labels[g], ev.recipient_id, [ev.donor_id])
                for g in range(max(0, ev.frame - 2), ev.frame + 1)
            )
        else:
            assert ev.mode == "remote"
            assert ev.donor_id == 0 or pop[ev.donor_id] == "donor"
            for g in range(max(0, ev.frame - 2), ev.frame + 1):
                if g in set(rows.frame):
                    assert not _touching(rich.labels[g], ev.recipient_id, donors_before)
    # every positive-switch of a recipient is an event or inherited from a parent
    switched = tracks[(tracks.status == "event") & ~tracks.inherited].index
    assert set(switched) == set(rich.events.recipient_id)


def test_positivity_blips_and_donors(rich):
    cells = rich.cells
    assert cells.loc[cells.population == "donor", "pgp_positive"].all()
    blips = cells[cells.blip]
    assert len(blips) and not blips["pgp_positive"].any()
    assert (blips["population"] == "recipient").all()
    assert not set(blips.cell_id) & set(rich.events.recipient_id[rich.events.frame <= 0])
    start = rich.tracks[rich.tracks.status == "positive_at_start"]
    assert (start.first_frame == 0).all() or start.inherited.any()
    for cid in start.loc[~start.inherited, "cell_id"]:
        assert cells.loc[cells.cell_id == cid, "pgp_positive"].all()
    # daughters inherit positivity
    for row in rich.tracks[rich.tracks.inherited].itertuples():
        assert cells.loc[cells.cell_id == row.cell_id, "pgp_positive"].all()


def test_touching_donor_matches_labels(rich):
    cells = rich.cells
    donors = set(cells.loc[cells.population == "donor", "cell_id"])
    for f in (0, rich.params.n_frames // 2, rich.params.n_frames - 1):
        for row in cells[cells.frame == f].itertuples():
            assert row.touching_donor == _touching(
                rich.labels[f], row.cell_id, donors - {row.cell_id}
            )


def test_puncta_lie_in_their_cells(rich):
    pu = rich.puncta
    assert len(pu) > 0
    iy = np.floor(pu["y"].to_numpy() + 0.5).astype(int)
    ix = np.floor(pu["x"].to_numpy() + 0.5).astype(int)
    assert np.array_equal(rich.labels[pu["frame"].to_numpy(), iy, ix], pu["cell_id"].to_numpy())
    assert (pu.loc[pu.kind == "resident", "cell_id"] > 0).all()
    frac = np.modf(pu["y"].to_numpy())[0]
    assert len(np.unique(np.round(frac, 3))) > 10  # sub-pixel positions
    # resident puncta only in donors and positive recipients, blip puncta in blip cells
    key = rich.cells.set_index(["frame", "cell_id"])
    res = pu[pu.kind == "resident"]
    assert key.loc[list(zip(res.frame, res.cell_id, strict=True)), "pgp_positive"].all()
    bl = pu[pu.kind == "blip"]
    assert key.loc[list(zip(bl.frame, bl.cell_id, strict=True)), "blip"].all()
    counts = pu[pu.cell_id > 0].groupby(["frame", "cell_id"]).size()
    n = key["n_puncta"]
    assert (n.loc[counts.index] == counts).all()
    assert n.drop(counts.index).eq(0).all()


def test_remote_vesicle_travels_before_the_event(rich):
    pu = rich.puncta
    transit = pu[pu.kind == "in_transit"]
    first_remote = rich.events[rich.events["mode"] == "remote"].frame.min()
    assert transit.frame.min() < first_remote


def test_divisions_give_parent_ids_and_inheritance(rich):
    tr = rich.tracks.set_index("cell_id")
    kids = tr[tr.parent_id > 0]
    assert len(kids) >= 2
    for _, row in kids.iterrows():
        parent = tr.loc[row.parent_id]
        assert parent.population == row.population
        assert row.first_frame == parent.last_frame + 1
    assert kids.groupby("parent_id").size().max() <= 2


def test_identity_dye_dilutes_on_division():
    sim = simulate_coculture(**{**RICH, "add_noise": False, "illumination_strength": 0.0})
    tr = sim.tracks.set_index("cell_id")
    dye = sim.channel("recipient").astype(float) - sim.params.offset_adu
    kids = tr[(tr.parent_id > 0) & (tr.population == "recipient")]
    assert len(kids)
    for cid, row in kids.iterrows():
        f_parent = int(tr.loc[row.parent_id, "last_frame"])
        parent_mean = dye[f_parent][sim.labels[f_parent] == row.parent_id].mean()
        kid_mean = dye[row.first_frame][sim.labels[row.first_frame] == cid].mean()
        assert kid_mean < 0.8 * parent_mean


# ------------------------------------------------------------------------------------------------
# images reflect the ground truth
# ------------------------------------------------------------------------------------------------


def test_pgp_image_reflects_positivity(rich):
    pgp = rich.channel("pgp").astype(float)
    f = rich.params.n_frames - 1
    rows = rich.cells[(rich.cells.frame == f) & ~rich.cells.blip]
    means = {r.cell_id: pgp[f][rich.labels[f] == r.cell_id].mean() for r in rows.itertuples()}
    rec = rows[rows.population == "recipient"]
    pos = [means[c] for c in rec.loc[rec.pgp_positive, "cell_id"]]
    neg = [means[c] for c in rec.loc[~rec.pgp_positive & ~rec.touching_donor, "cell_id"]]
    don = [means[c] for c in rows.loc[rows.population == "donor", "cell_id"]]
    assert pos and neg and don
    assert np.median(pos) > np.median(neg) + 20
    assert np.median(don) > np.median(neg) + 40


def test_geometry_does_not_depend_on_channels():
    a = simulate_coculture(seed=3, **SMALL)
    b = simulate_coculture(seed=3, include_efflux=True, include_donor_dye=True, **SMALL)
    assert np.array_equal(a.labels, b.labels)
    pd.testing.assert_frame_equal(a.events, b.events)
    assert np.array_equal(a.image[:, :3], b.image[:, :3])  # adding channels changes nothing else


# ------------------------------------------------------------------------------------------------
# channel options and z-stacks
# ------------------------------------------------------------------------------------------------


def test_without_nuclei_or_identity_channels():
    sim = simulate_coculture(include_nuclei=False, **SMALL)
    assert sim.channel_names == ("CellTracker Blue", "P-gp-EGFP")
    assert sim.channel_roles == {"recipient": 0, "pgp": 1}
    assert sim.image.shape[1] == 2
    sim = simulate_coculture(include_recipient_dye=False, **SMALL)
    assert sim.channel_roles == {"nuclei": 0, "pgp": 1}


def test_donor_dye_and_efflux_channels():
    sim = simulate_coculture(
        seed=2, include_donor_dye=True, include_efflux=True, add_noise=False, **SMALL
    )
    assert sim.channel_names == (
        "Hoechst", "CellTracker Blue", "P-gp-EGFP", "CellTracker Deep Red", "Calcein",
    )  # fmt: skip
    assert sim.channel_roles == {"nuclei": 0, "recipient": 1, "pgp": 2, "donor": 3, "efflux": 4}
    f = 0
    lab = sim.labels[f]
    rows = sim.cells[sim.cells.frame == f]
    donor_ids = rows.loc[rows.population == "donor", "cell_id"]
    neg_ids = rows.loc[(rows.population == "recipient") & ~rows.pgp_positive, "cell_id"]
    dmask, rmask = np.isin(lab, donor_ids), np.isin(lab, neg_ids)
    deep_red = sim.channel("donor")[f].astype(float)
    calcein = sim.channel("efflux")[f].astype(float)
    blue = sim.channel("recipient")[f].astype(float)
    assert deep_red[dmask].mean() > 2 * deep_red[rmask].mean()
    assert blue[rmask].mean() > 2 * blue[dmask].mean()
    assert calcein[rmask].mean() > 1.5 * calcein[dmask].mean()  # P-gp pumps calcein out


def test_z_stack(tmp_path):
    sim = simulate_coculture(n_z=5, z_step_um=1.0, **SMALL)
    t, (h, w) = SMALL["n_frames"], SMALL["shape_yx"]
    assert sim.image.shape == (t, 3, 5, h, w) and sim.axes == "TCZYX"
    assert sim.labels.shape == (t, h, w)
    hoechst = sim.channel("nuclei")[0].astype(float)  # (Z, Y, X)
    sharp = [np.var(np.diff(plane, axis=1)) for plane in hoechst]
    assert int(np.argmax(sharp)) == 2  # the middle plane is in focus
    out = write_simulation(sim, tmp_path / "z.ome.tif")
    with tifffile.TiffFile(out) as tif:
        assert tif.series[0].axes == "TCZYX"
        assert tif.series[0].shape == sim.image.shape
        assert 'PhysicalSizeZ="1.0"' in tif.ome_metadata


# ------------------------------------------------------------------------------------------------
# files
# ------------------------------------------------------------------------------------------------


def test_ome_tiff_round_trip_and_ground_truth_files(tmp_path, rich):
    out = write_simulation(rich, tmp_path / "movie.ome.tif")
    assert out == tmp_path / "movie.ome.tif"
    with tifffile.TiffFile(out) as tif:
        assert tif.is_ome
        series = tif.series[0]
        assert series.axes == "TCYX"
        assert np.array_equal(series.asarray(), rich.image)
        xml = tif.ome_metadata
    meta = tifffile.xml2dict(xml)["OME"]["Image"]
    meta = meta[0] if isinstance(meta, list) else meta
    pixels = meta["Pixels"]
    assert float(pixels["PhysicalSizeX"]) == rich.pixel_size_um
    assert float(pixels["PhysicalSizeY"]) == rich.pixel_size_um
    assert float(pixels["TimeIncrement"]) == rich.frame_interval_s
    assert pixels["TimeIncrementUnit"] == "s"
    channels = pixels["Channel"]
    assert [c["Name"] for c in channels] == list(rich.channel_names)

    gt = gt_paths(out)
    assert {p.name for p in gt.values()} == {
        "movie_gt_labels.tif", "movie_gt_nuclei.tif", "movie_gt_cells.csv",
        "movie_gt_events.csv", "movie_gt_puncta.csv", "movie_gt_tracks.csv", "movie_gt.json",
    }  # fmt: skip
    assert np.array_equal(tifffile.imread(gt["labels"]), rich.labels)
    assert np.array_equal(tifffile.imread(gt["nuclei"]), rich.nuclei_labels)
    ev = pd.read_csv(gt["events"])
    assert ev[["recipient_id", "frame", "donor_id", "mode"]].equals(
        rich.events[["recipient_id", "frame", "donor_id", "mode"]]
    )
    cells = pd.read_csv(gt["cells"])
    assert len(cells) == len(rich.cells) and cells["pgp_positive"].dtype == bool
    assert len(pd.read_csv(gt["puncta"])) == len(rich.puncta)
    assert len(pd.read_csv(gt["tracks"])) == len(rich.tracks)
    info = json.loads(gt["json"].read_text(encoding="utf-8"))
    assert info["params"]["seed"] == RICH["seed"]
    assert info["channel_roles"] == rich.channel_roles
    assert SimulationParams.from_dict(info["params"]) == rich.params


def test_uncompressed_write(tmp_path):
    sim = simulate_coculture(**SMALL)
    out = write_simulation(sim, tmp_path / "raw.tif", compression=None, ground_truth=False)
    assert out.stat().st_size >= sim.image.nbytes
    assert not gt_paths(out)["labels"].exists()
    with tifffile.TiffFile(out) as tif:
        assert tif.series[0].axes == "TCYX"
    with pytest.raises(ValueError):
        write_simulation(sim, tmp_path / "x.tif", compression="lzma")


def test_sample(tmp_path, sample):
    assert sample.params == SAMPLE_PARAMS
    assert sample.image.shape == (24, 3, 256, 256)
    modes = sample.events["mode"].value_counts()
    assert modes.get("contact", 0) >= 2 and modes.get("remote", 0) >= 2
    assert (sample.tracks.parent_id > 0).sum() >= 4  # a few divisions
    out = write_simulation(sample, tmp_path / "sample.ome.tif")
    assert out.stat().st_size < 8 * 2**20


def test_written_files_are_byte_identical(tmp_path):
    sim = simulate_coculture(seed=4, **SMALL)
    a = write_simulation(sim, tmp_path / "a" / "m.ome.tif")
    b = write_simulation(simulate_coculture(seed=4, **SMALL), tmp_path / "b" / "m.ome.tif")
    assert a.read_bytes() == b.read_bytes()
    for key in ("labels", "cells", "events", "puncta", "tracks", "json"):
        assert gt_paths(a)[key].read_bytes() == gt_paths(b)[key].read_bytes()
