"""Experiment folder listing, dimensions and saved results."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import tifffile

from pgpviewer.core.errors import InputError
from pgpviewer.core.params import AnalysisParams
from pgpviewer.session.experiment import (
    RESULTS_FOLDER_NAME,
    default_results_dir,
    describe_dims,
    file_stem,
    read_saved_run,
    scan_folder,
)


@pytest.fixture
def folder(tmp_path):
    img = np.zeros((3, 2, 16, 20), np.uint16)
    tifffile.imwrite(tmp_path / "pos10.tif", img, imagej=True, metadata={"axes": "TCYX"})
    tifffile.imwrite(tmp_path / "pos2.ome.tif", img, ome=True, metadata={"axes": "TCYX"})
    frames = tmp_path / "movie_frames"
    frames.mkdir()
    for i in range(3):
        tifffile.imwrite(frames / f"f{i}.tif", np.zeros((16, 20), np.uint8))
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / ".hidden.tif").write_bytes(b"")
    (tmp_path / RESULTS_FOLDER_NAME).mkdir()
    (tmp_path / "empty_dir").mkdir()
    return tmp_path


def test_scan_lists_images_and_frame_folders_in_natural_order(folder):
    entries = scan_folder(folder)
    assert [e.name for e in entries] == ["movie_frames/", "pos2.ome.tif", "pos10.tif"]
    frames = entries[0]
    assert frames.kind == "frames" and frames.n_files == 3 and frames.size_bytes > 0
    with pytest.raises(InputError):
        scan_folder(folder / "missing")


def test_describe_dims(folder):
    assert describe_dims(folder / "pos10.tif") == "3t 2ch 16×20"
    assert describe_dims(folder / "movie_frames") == "3t 1ch 16×20"
    (folder / "bad.tif").write_bytes(b"II*\x00garbage")
    with pytest.raises(InputError):
        describe_dims(folder / "bad.tif")


def test_stem_and_default_results_dir(folder):
    assert file_stem("a.ome.tif") == "a" and file_stem("b.TIFF") == "b"
    assert file_stem("frames") == "frames"
    assert default_results_dir(folder / "pos2.ome.tif") == folder / RESULTS_FOLDER_NAME / "pos2"


def test_read_saved_run(folder):
    img = folder / "pos10.tif"
    assert read_saved_run(img) is None
    out = default_results_dir(img)
    out.mkdir(parents=True)
    (out / "cells.csv").write_text("frame\n")
    roles = {"pgp": {"index": 1, "name": "P-gp"}}
    (out / "params.json").write_text(
        json.dumps(
            {"software": "pgpviewer", "params": AnalysisParams().to_dict(), "channel_roles": roles}
        )
    )
    old = img.stat().st_mtime - 100
    os.utime(img, (old, old))
    saved = read_saved_run(img)
    assert saved.params == AnalysisParams() and saved.roles == roles and not saved.newer_input
    os.utime(img, None)
    os.utime(out / "params.json", (old, old))
    assert read_saved_run(img).newer_input
    (out / "params.json").write_text("{broken")
    assert read_saved_run(img).params is None
