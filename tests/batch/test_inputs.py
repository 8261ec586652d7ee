"""Finding a batch's inputs (folders, globs, frame folders) and naming their output folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile

from pgpviewer.batch_inputs import (
    BatchInput,
    assign_outputs,
    find_inputs,
    frame_folder_files,
    image_stem,
)
from pgpviewer.core.errors import InputError


def _tif(path: Path, shape=(8, 8)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, np.zeros(shape, np.uint16))
    return path


def _names(paths, root: Path) -> list[str]:
    return [p.relative_to(root.resolve()).as_posix() for p in paths]


def test_folders_are_searched_recursively_in_natural_order(tmp_path):
    root = tmp_path / "exp"
    for name in ("b/m10.tif", "b/m2.tif", "a/x.ome.tif", "a/sub/y.tiff", "a/z.png"):
        _tif(root / name)
    (root / "a" / "notes.txt").write_text("not an image")
    _tif(root / ".hidden" / "h.tif")
    _tif(root / "a" / ".h.tif")
    _tif(root / "a" / "x_gt_labels.tif")  # simulator ground truth beside a movie
    done = root / "b" / "old_results"  # an earlier pgpviewer output folder
    _tif(done / "labels.tif")
    (done / "params.json").write_text('{"software": "pgpviewer", "version": "0"}')
    found = find_inputs([root])
    assert _names(found, root) == [
        "a/sub/y.tiff",
        "a/x.ome.tif",
        "a/z.png",
        "b/m2.tif",
        "b/m10.tif",
    ]


def test_output_folder_and_control_are_never_inputs(tmp_path):
    root = tmp_path / "exp"
    _tif(root / "a.tif")
    control = _tif(root / "control.tif")
    _tif(root / "results" / "a" / "labels.tif")
    found = find_inputs([root], skip=[root / "results", control])
    assert _names(found, root) == ["a.tif"]


def test_globs_files_and_duplicates(tmp_path):
    root = tmp_path / "exp"
    for name in ("c1/a.tif", "c1/b.tif", "c2/a.tif"):
        _tif(root / name)
    (root / "c1" / "readme.md").write_text("x")
    found = find_inputs([str(root / "*" / "a.tif"), root / "c1" / "b.tif", str(root / "c1" / "*")])
    assert _names(found, root) == ["c1/a.tif", "c2/a.tif", "c1/b.tif"]
    with pytest.raises(InputError, match="no files match this pattern"):
        find_inputs([str(root / "*.nd2")])
    with pytest.raises(InputError, match="file or folder not found"):
        find_inputs([root / "missing"])


def test_frame_folder_is_one_input(tmp_path):
    root = tmp_path / "exp"
    for t in (0, 1, 2, 10):
        _tif(root / "movie" / f"img_t{t}.tif")
    for t in range(3):
        _tif(root / "mito" / f"EMBO--W0002--P001--T{t:05d}--Z000--C.tif")
    for w in (1, 2):  # end-point images of two wells: separate inputs
        _tif(root / "wells" / f"well_{w:02d}.tif")
    found = find_inputs([root])
    assert _names(found, root) == ["mito", "movie", "wells/well_01.tif", "wells/well_02.tif"]
    frames = frame_folder_files(root / "movie")
    assert [p.name for p in frames] == ["img_t0.tif", "img_t1.tif", "img_t2.tif", "img_t10.tif"]
    # a frame folder named on the command line is also one input
    assert _names(find_inputs([root / "movie"]), root) == ["movie"]
    # mixed names are not a frame folder
    _tif(root / "movie" / "overview.tif")
    assert frame_folder_files(root / "movie") is None


def test_output_names_are_stems_made_unique_with_folder_names():
    def item(name, position=None):
        return BatchInput(Path("/d") / name, position=position, name=name)

    items = assign_outputs(
        [
            item("ctrl/well1.ome.tif"),
            item("drug/well1.ome.tif"),
            item("drug/plate.ome.tif", 0),
            item("drug/plate.ome.tif", 1),
            item("x/a/m.tif"),
            item("y/a/m.tif"),
            item("Frames"),
            item("frames.tif"),
        ]
    )
    assert [i.output for i in items] == [
        "ctrl_well1",
        "drug_well1",
        "plate_pos0",
        "plate_pos1",
        "x_a_m",
        "y_a_m",
        "Frames",
        "frames_2",
    ]


def test_image_stem():
    assert image_stem(Path("a.ome.tif")) == "a"
    assert image_stem(Path("a.OME.TIFF")) == "a"
    assert image_stem(Path("a.b.png")) == "a.b"
    assert image_stem(Path("noext")) == "noext"
