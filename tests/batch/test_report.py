"""HTML reports: sections, inline charts and crops, no network, deterministic bytes."""

from __future__ import annotations

import io
import re
import shutil

import numpy as np
import pandas as pd
import pytest
from batch_testdata import write_movie

from pgpviewer.analyze import analyze_file
from pgpviewer.batch import run_batch
from pgpviewer.core.errors import InputError
from pgpviewer.report import write_report
from pgpviewer.report.gallery import png_bytes
from pgpviewer.report.svg import nice_ticks

RESOURCE_LOAD = re.compile(
    r"""(?:src|href|srcset|action|poster|data)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//|@import""",
    re.IGNORECASE,
)


def assert_offline(html: str) -> None:
    assert "http://" not in html and "https://" not in html
    assert not RESOURCE_LOAD.search(html)
    assert "<script" not in html.lower()
    assert "<link" not in html.lower()


@pytest.fixture(scope="module")
def analysis(tmp_path_factory):
    """An analyze output folder with a known event (the gallery needs one)."""
    root = tmp_path_factory.mktemp("report")
    movie = write_movie(root / "movie.ome.tif", seed=3)
    out = root / "movie"
    analyze_file(movie, out, workers=1)
    cells = pd.read_csv(out / "cells.csv")
    rec = cells[(cells["population"] == "recipient") & (cells["frame"] == 3)].iloc[0]
    donors = cells[(cells["population"] == "donor") & (cells["frame"] == 3)]
    events = pd.DataFrame(
        [
            {
                "event_id": 1,
                "recipient_track_id": int(rec["track_id"]),
                "frame": 3,
                "time_s": 1800.0,
                "centroid_y": rec["centroid_y"],
                "centroid_x": rec["centroid_x"],
                "donor_track_id": int(donors["track_id"].iloc[0]) if len(donors) else "",
                "mode": "contact",
                "pgp_score_before": 1.0,
                "pgp_score_after": 5.0,
            }
        ]
    )
    events.to_csv(out / "events.csv", index=False)
    return out


def test_analysis_report_sections_and_offline(analysis):
    path = write_report(analysis)
    assert path == analysis / "report.html"
    html = path.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    for section in ("uptake", "curves", "events", "tracks", "gallery", "provenance"):
        assert f'<section id="{section}">' in html
    for text in (
        "Fraction of recipients positive",
        "Kaplan–Meier",
        "Acquisition curve",
        "Events by mode",
        "Tracks by population and status",
        "P-gp gate",
        "Analysis parameters",
        "segmentation.",
        "movie.ome.tif",
    ):
        assert text in html, text
    assert html.count("<svg") >= 5
    assert "<polygon" in html  # the KM confidence band
    crops = re.findall(r'src="data:image/png;base64,', html)
    assert len(crops) == 3  # before, at and after the event
    assert_offline(html)
    # deterministic: the same folder gives the same bytes
    first = path.read_bytes()
    assert write_report(analysis).read_bytes() == first


def test_report_without_gallery_or_input(analysis, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(analysis, copy)
    html = write_report(copy, gallery=False).read_text()
    assert 'id="gallery"' not in html
    # the input moved away: the gallery says why it is missing, the rest is written
    prov = (copy / "params.json").read_text().replace("movie.ome.tif", "moved.ome.tif")
    (copy / "params.json").write_text(prov)
    html = write_report(copy).read_text()
    assert "Gallery not drawn" in html and "is not available" in html


def test_batch_report_links_every_file(experiment, tmp_path, local_client):
    out = tmp_path / "batch"
    data = tmp_path / "data"
    shutil.copytree(experiment, data)
    (data / "drug" / "bad.tif").write_text("x")
    result = run_batch([data], out, client=local_client, stream=io.StringIO())
    assert result.exit_status == 2
    html = (out / "report.html").read_text(encoding="utf-8")
    for section in ("conditions", "files", "problems", "settings"):
        assert f'<section id="{section}">' in html
    for name in ("control_well1", "well2", "drug_well1"):
        assert f'<a href="{name}/report.html">report</a>' in html
        assert (out / name / "report.html").is_file()
    assert "Fraction of recipients P-gp positive" in html and "control (n=2)" in html
    assert "bad.tif" in html and "status-bad_input" in html
    assert_offline(html)
    # a report of a batch folder rewrites the batch report and fills in missing file reports
    (out / "well2" / "report.html").unlink()
    before = (out / "report.html").read_bytes()
    write_report(out)
    assert (out / "well2" / "report.html").is_file()
    assert (out / "report.html").read_bytes() == before


def test_report_command(analysis, tmp_path, capsys):
    from cli_runner import run_cli

    copy = tmp_path / "a"
    shutil.copytree(analysis, copy)
    (copy / "report.html").unlink()
    assert run_cli(["report", str(copy), "--no-gallery"]) == 0
    assert (copy / "report.html").is_file()
    assert f"wrote {copy / 'report.html'}" in capsys.readouterr().err
    (tmp_path / "other").mkdir()
    assert run_cli(["report", str(tmp_path / "other")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is neither a finished 'pgpviewer analyze' output" in err[0]
    with pytest.raises(InputError, match="folder not found"):
        write_report(tmp_path / "missing")


def test_png_encoder_round_trip(tmp_path):
    import tifffile  # noqa: F401  (imageio reads PNG; it is a dependency of scikit-image)
    from imageio.v3 import imread

    rgb = np.arange(5 * 7 * 3, dtype=np.uint8).reshape(5, 7, 3)
    path = tmp_path / "x.png"
    path.write_bytes(png_bytes(rgb))
    assert np.array_equal(imread(path), rgb)
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4)
    path.write_bytes(png_bytes(grey))
    assert np.array_equal(imread(path), grey)


def test_nice_ticks():
    assert nice_ticks(0, 1) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(0, 37) == [0.0, 10.0, 20.0, 30.0, 40.0]
    assert nice_ticks(3, 3)[0] <= 3 <= nice_ticks(3, 3)[-1]
