"""The npe2 manifest, the reader, the labels writer and the sample: no display needed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile

from pgpviewer.core.io import read_stack
from pgpviewer.napari_plugin.reader import get_reader, read_layers
from pgpviewer.napari_plugin.writer import write_labels

MANIFEST = Path(__file__).resolve().parents[2] / "pgpviewer" / "napari.yaml"


def test_manifest_is_valid_and_importable():
    import npe2

    pm = npe2.PluginManifest.from_file(MANIFEST)
    assert pm.name == "pgpviewer"
    pm.validate_imports()
    contrib = pm.contributions
    assert {w.display_name for w in contrib.widgets} == {"Analyse P-gp transfer"}
    assert "labels" in contrib.writers[0].layer_types
    assert "*.nd2" in contrib.readers[0].filename_patterns
    assert contrib.readers[0].accepts_directories


def test_npe2_validate_cli():
    out = subprocess.run(
        [sys.executable, "-m", "npe2", "validate", str(MANIFEST)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "valid" in out.stdout


def test_plugin_modules_load_no_qt():
    code = (
        "import sys; import pgpviewer.napari_plugin.reader, pgpviewer.napari_plugin.writer, "
        "pgpviewer.napari_plugin.sample; "
        "print(','.join(m for m in ('PySide6', 'qtpy', 'napari', 'vispy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_reader_accepts_tiff_and_frame_folders_only(tmp_path, tiny_movie):
    assert get_reader(str(tiny_movie)) is not None
    assert get_reader([str(tiny_movie)]) is not None
    assert get_reader([str(tiny_movie), str(tiny_movie)]) is None
    assert get_reader(str(tmp_path / "a.png")) is None
    assert get_reader(str(tmp_path / "a.xyz")) is None
    assert get_reader(str(tmp_path)) is None  # empty folder
    tifffile.imwrite(tmp_path / "f_0.tif", np.zeros((8, 8), np.uint8))
    assert get_reader(str(tmp_path)) is not None


def test_reader_layers_have_names_roles_scale_and_time(tiny_movie):
    stack = read_stack(tiny_movie)
    layers = read_layers(str(tiny_movie))
    assert [kw["name"] for _, kw, _ in layers] == list(stack.channel_names)
    assert all(kind == "image" for _, _, kind in layers)
    data, kw, _ = layers[0]
    assert data.shape == (4, 96, 96)
    dt = stack.frame_interval_s
    py, px = stack.pixel_size_um
    assert kw["scale"] == pytest.approx((dt, py, px))
    assert tuple(kw["units"]) == ("second", "micrometer", "micrometer")
    assert kw["axis_labels"][0] == "time"
    lo, hi = kw["contrast_limits"]
    assert hi > lo
    cmaps = {kw["name"]: kw["colormap"] for _, kw, _ in layers}
    assert cmaps[stack.channel_names[0]] == "blue"  # Hoechst → nuclei
    assert "green" in cmaps.values()  # P-gp
    src = kw["metadata"]["source"]
    assert src["path"] == str(tiny_movie) and src["channel_names"] == list(stack.channel_names)


def test_labels_writer_keeps_scale(tmp_path):
    labels = np.zeros((3, 20, 24), np.int32)
    labels[:, 2:6, 3:9] = 7
    labels[1, 10:15, 10:20] = 70000  # needs uint32
    meta = {
        "scale": (30.0, 0.4, 0.5),
        "units": ("second", "micrometer", "micrometer"),
        "axis_labels": ("time", "y", "x"),
    }
    (out,) = write_labels(str(tmp_path / "cells.ome.tif"), labels, meta)
    back = read_stack(out)
    assert back.shape == (3, 1, 1, 20, 24)
    assert back.pixel_size_um == pytest.approx((0.4, 0.5))
    assert back.frame_interval_s == pytest.approx(30.0)
    np.testing.assert_array_equal(np.asarray(back.data[:, 0, 0]), labels)
    with tifffile.TiffFile(out) as tif:
        px = tifffile.xml2dict(tif.ome_metadata)["OME"]["Image"]["Pixels"]
    assert px["PhysicalSizeX"] == pytest.approx(0.5) and px["DimensionOrder"]


def test_labels_writer_pixel_units_write_no_size(tmp_path):
    (out,) = write_labels(str(tmp_path / "l"), np.ones((16, 16), np.uint8), {"scale": (1, 1)})
    assert out.endswith(".ome.tif")
    assert read_stack(out).pixel_size_um is None


def test_sample_data_is_the_bundled_movie():
    from pgpviewer.napari_plugin.sample import make_sample_data

    layers = make_sample_data()
    names = [kw["name"] for _, kw, _ in layers]
    assert len(layers) == 3 and any("P-gp" in n for n in names)
    assert layers[0][1]["units"][1] == "micrometer"


def test_reader_opens_vendor_files_when_the_extra_is_installed(tmp_path):
    pyczi = pytest.importorskip("pylibCZIrw.czi", reason="pylibCZIrw (formats extra) missing")
    path = tmp_path / "movie.czi"
    with pyczi.create_czi(str(path), exist_ok=True) as w:
        for t in range(2):
            for c in range(2):
                w.write(np.full((16, 20, 1), t + 10 * c, np.uint16), plane={"T": t, "C": c})
        w.write_metadata("m", channel_names={0: "DAPI", 1: "P-gp-GFP"}, scale_x=0.3, scale_y=0.3)
    assert get_reader(str(path)) is not None
    layers = read_layers(str(path))
    assert [kw["name"] for _, kw, _ in layers] == ["DAPI", "P-gp-GFP"]
    assert layers[1][1]["scale"][1:] == pytest.approx((0.3, 0.3))
    assert int(np.asarray(layers[1][0][1]).max()) == 11
