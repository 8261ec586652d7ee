"""TrackMate export: the XML has TrackMate's layout and counts, the spots table its columns."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from pgpviewer.core.io import read_stack
from pgpviewer.core.pipeline import run_pipeline
from pgpviewer.core.synthetic import simulate_coculture, write_simulation
from pgpviewer.core.trackmate import SPOT_FEATURES, export_trackmate


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    sim = simulate_coculture(n_frames=4, shape_yx=(96, 96), n_cells=8, seed=2)
    path = write_simulation(
        sim, tmp_path_factory.mktemp("tm") / "movie.ome.tif", ground_truth=False
    )
    return run_pipeline(read_stack(path), sim.channel_roles)


def test_xml_matches_the_tracks(result, tmp_path):
    xml_path, _ = export_trackmate(result, tmp_path / "out")
    root = ET.parse(xml_path).getroot()
    assert root.tag == "TrackMate"
    model = root.find("Model")
    assert model.get("spatialunits") == "µm" and model.get("timeunits") == "s"
    spots = model.findall("AllSpots/SpotsInFrame/Spot")
    assert int(model.find("AllSpots").get("nspots")) == len(spots) == len(result.cells)
    assert [int(s.get("frame")) for s in model.findall("AllSpots/SpotsInFrame")] == [0, 1, 2, 3]
    declared = {f.get("feature") for f in model.findall("FeatureDeclarations/SpotFeatures/Feature")}
    assert declared == {f[0] for f in SPOT_FEATURES}
    for s in spots:  # TmXmlReader needs these on every spot
        assert {"ID", "name", "POSITION_X", "POSITION_Y", "POSITION_Z", "RADIUS", "QUALITY"} <= set(
            s.attrib
        )
    ids = {int(s.get("ID")) for s in spots}

    per_track = result.cells.groupby("track_id").size()
    linked = per_track[per_track >= 2]
    assert len(linked) > 0
    tracks = model.findall("AllTracks/Track")
    assert sorted(int(t.get("TRACK_ID")) for t in tracks) == sorted(linked.index.tolist())
    for t in tracks:
        edges = t.findall("Edge")
        n = int(linked[int(t.get("TRACK_ID"))])
        assert int(t.get("NUMBER_SPOTS")) == n and len(edges) == n - 1
        for e in edges:
            assert {int(e.get("SPOT_SOURCE_ID")), int(e.get("SPOT_TARGET_ID"))} <= ids
    filtered = [int(t.get("TRACK_ID")) for t in model.findall("FilteredTracks/TrackID")]
    assert sorted(filtered) == sorted(linked.index.tolist())

    image = root.find("Settings/ImageData")
    assert image.get("filename") == "movie.ome.tif"
    assert float(image.get("pixelwidth")) == pytest.approx(result.stack.pixel_size_um[1])
    assert float(image.get("timeinterval")) == pytest.approx(result.stack.frame_interval_s)
    assert int(image.get("nframes")) == 4


def test_spots_csv_in_physical_units(result, tmp_path):
    _, csv_path = export_trackmate(result, tmp_path)
    spots = pd.read_csv(csv_path)
    for col in ("LABEL", "ID", "TRACK_ID", "POSITION_X", "POSITION_Y", "POSITION_T", "FRAME"):
        assert col in spots.columns
    cells = result.cells.reset_index(drop=True)
    px = result.stack.pixel_size_um
    assert spots["POSITION_X"].to_numpy() == pytest.approx(cells["centroid_x"].to_numpy() * px[1])
    dt = result.stack.frame_interval_s
    assert spots["POSITION_T"].to_numpy() == pytest.approx(cells["frame"].to_numpy() * dt)
    assert spots["TRACK_ID"].tolist() == cells["track_id"].tolist()
