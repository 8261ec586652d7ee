"""`pgpviewer analyze` end to end: the output contract, reproducibility, options."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
import tifffile

from pgpviewer.core import export
from pgpviewer.core.synthetic import simulate_coculture, write_simulation


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pgpviewer", *args], capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def movie(tmp_path_factory):
    folder = tmp_path_factory.mktemp("movie")
    sim = simulate_coculture(seed=4, n_frames=8, shape_yx=(160, 160), n_cells=18)
    path = write_simulation(sim, folder / "coculture.ome.tif")
    ctrl = simulate_coculture(
        seed=9,
        n_frames=1,
        shape_yx=(160, 160),
        n_cells=18,
        donor_fraction=0.0,
        positive_at_start_fraction=0.0,
    )
    control = write_simulation(ctrl, folder / "control.ome.tif", ground_truth=False)
    return path, control


@pytest.fixture(scope="module")
def analysed(movie, tmp_path_factory):
    out = tmp_path_factory.mktemp("o") / "results"
    res = run("analyze", str(movie[0]), "--out", str(out))
    assert res.returncode == 0, res.stderr
    return out, res


def test_contract_files_and_columns(analysed):
    out, res = analysed
    assert "channel roles (guessed from channel names): nuclei=Hoechst (0)" in res.stderr
    for name in export.OUTPUT_FILES:
        assert (out / name).is_file(), name
    cells = pd.read_csv(out / "cells.csv")
    stems = ["hoechst", "celltracker_blue", "p_gp_egfp"]
    required = export.CELLS_COLUMNS + [f"{k}_{s}" for s in stems for k in ("mean", "total")]
    assert list(cells.columns[: len(required)]) == required
    assert set(export.CELLS_TAIL_COLUMNS) <= set(cells.columns)
    assert set(cells["population"]) <= {"donor", "recipient", "unknown"}
    assert set(cells["pgp_positive"].astype(str).str.lower()) <= {"true", "false"}
    assert cells["time_s"].notna().all() and cells["area_um2"].notna().all()
    for name, cols in [
        ("tracks.csv", export.TRACKS_COLUMNS),
        ("events.csv", export.EVENTS_COLUMNS),
        ("summary.csv", export.SUMMARY_COLUMNS),
        ("curves.csv", export.CURVES_COLUMNS),
    ]:
        assert list(pd.read_csv(out / name).columns[: len(cols)]) == cols, name
    labels = tifffile.imread(out / "labels.tif")
    assert labels.shape == (8, 160, 160)
    for f, group in cells.groupby("frame"):
        present = set(pd.unique(labels[f].ravel())) - {0}
        assert present == set(group["label"]), f
    summary = pd.read_csv(out / "summary.csv")
    assert len(summary) == 8
    prov = json.loads((out / "params.json").read_text())
    assert prov["software"] == "pgpviewer" and len(prov["input"]["sha256"]) == 64
    assert prov["channel_roles"]["pgp"] == {"index": 2, "name": "P-gp-EGFP"}
    assert prov["gate"]["value"] > 0


def test_rerun_with_saved_params_is_identical(movie, analysed, tmp_path):
    out, _ = analysed
    again = tmp_path / "again"
    res = run("analyze", str(movie[0]), "--out", str(again), "--params", str(out / "params.json"))
    assert res.returncode == 0, res.stderr
    for name in export.OUTPUT_FILES:
        assert (again / name).read_bytes() == (out / name).read_bytes(), name


def test_frames_control_and_explicit_channels(movie, tmp_path):
    path, control = movie
    out = tmp_path / "part"
    res = run(
        "analyze",
        str(path),
        "--out",
        str(out),
        "--frames",
        "2:6",
        "--control",
        str(control),
        "--channel",
        "nuclei=Hoechst",
        "--channel",
        "recipient=1",
        "--channel",
        "pgp=2",
    )
    assert res.returncode == 0, res.stderr
    cells = pd.read_csv(out / "cells.csv")
    assert sorted(cells["frame"].unique()) == [2, 3, 4, 5]
    prov = json.loads((out / "params.json").read_text())
    assert prov["gate"]["source"].startswith("control file")
    assert prov["input"]["frames"] == [2, 6]
    assert prov["params"]["gate"]["source"] == "control"


def test_existing_foreign_folder_is_refused(movie, tmp_path):
    target = tmp_path / "mine"
    target.mkdir()
    (target / "notes.txt").write_text("precious")
    res = run("analyze", str(movie[0]), "--out", str(target))
    assert res.returncode == 2
    assert "not an earlier pgpviewer result" in res.stderr
    assert (target / "notes.txt").read_text() == "precious"
