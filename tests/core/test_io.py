"""read_stack: formats, metadata, laziness and clear errors."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import tifffile

from pgpviewer.core.errors import InputError
from pgpviewer.core.io import read_stack


def _ramp(shape, dtype=np.uint16):
    return (np.arange(np.prod(shape)) % 4000).astype(dtype).reshape(shape)


def test_ome_tiff_channels_units_and_positions(tmp_path):
    path = tmp_path / "multi.ome.tif"
    a = _ramp((4, 2, 3, 32, 40))
    b = a[:, :, :, ::-1] + 1
    meta = {
        "axes": "TCZYX",
        "Channel": {"Name": ["Hoechst", "P-gp-EGFP"]},
        "PhysicalSizeX": 0.325,
        "PhysicalSizeXUnit": "µm",
        "PhysicalSizeY": 0.33,
        "PhysicalSizeYUnit": "µm",
        "PhysicalSizeZ": 1.5,
        "PhysicalSizeZUnit": "µm",
        "TimeIncrement": 2.0,
        "TimeIncrementUnit": "min",
    }
    with tifffile.TiffWriter(path, ome=True) as tw:
        tw.write(a, metadata=meta)
        tw.write(b, metadata=meta)
    s = read_stack(path)
    assert s.shape == (4, 2, 3, 32, 40)
    assert s.channel_names == ("Hoechst", "P-gp-EGFP")
    assert s.pixel_size_um == pytest.approx((0.33, 0.325))
    assert s.z_step_um == pytest.approx(1.5)
    assert s.frame_interval_s == pytest.approx(120.0)
    assert s.n_positions == 2
    np.testing.assert_array_equal(s.frame(2), a[2])
    s1 = read_stack(path, position=1)
    np.testing.assert_array_equal(s1.frame(3), b[3])
    with pytest.raises(InputError, match="position 5 does not exist"):
        read_stack(path, position=5)


def test_imagej_hyperstack(tmp_path):
    path = tmp_path / "hyper.tif"
    data = _ramp((5, 2, 3, 24, 24))  # TZCYX, as ImageJ stores it
    tifffile.imwrite(
        path,
        data,
        imagej=True,
        resolution=(1 / 0.2, 1 / 0.2),
        metadata={"axes": "TZCYX", "unit": "um", "spacing": 0.8, "finterval": 30},
    )
    s = read_stack(path)
    assert s.shape == (5, 3, 2, 24, 24)
    assert s.pixel_size_um == pytest.approx((0.2, 0.2))
    assert s.z_step_um == pytest.approx(0.8)
    assert s.frame_interval_s == pytest.approx(30)
    np.testing.assert_array_equal(s.frame(4)[:, 1], data[4, 1])  # z=1, all channels


def test_plain_multipage_guessed_as_time_and_overridable(tmp_path):
    path = tmp_path / "plain.tif"
    data = _ramp((7, 16, 16))
    with tifffile.TiffWriter(path) as tw:
        for plane in data:
            tw.write(plane, contiguous=False, metadata=None)  # no shape hint: plain pages
    s = read_stack(path)
    assert s.shape == (7, 1, 1, 16, 16)
    assert "read as T" in s.axes_note
    z = read_stack(path, axes="ZYX")
    assert z.shape == (1, 1, 7, 16, 16)
    with pytest.raises(InputError, match="axes"):
        read_stack(path, axes="TCZYX")


@pytest.mark.parametrize("compression", ["zlib", "lzw", "zstd"])
def test_compressed_tiff(tmp_path, compression):
    path = tmp_path / f"c_{compression}.tif"
    data = _ramp((3, 2, 20, 20))
    tifffile.imwrite(path, data, compression=compression, imagej=False, metadata={"axes": "TCYX"})
    s = read_stack(path)
    assert s.shape == (3, 2, 1, 20, 20)
    np.testing.assert_array_equal(s.frame(1)[:, 0], data[1])


def test_frame_folder_and_glob(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    data = _ramp((12, 10, 11))
    for t, plane in enumerate(data):  # natural order: t2 before t10
        tifffile.imwrite(folder / f"img_t{t}.tif", plane)
    s = read_stack(folder)
    assert s.shape == (12, 1, 1, 10, 11)
    np.testing.assert_array_equal(s.frame(10)[0, 0], data[10])
    g = read_stack(str(folder / "img_t1*.tif"))
    assert g.n_frames == 3  # t1, t10, t11
    (folder / "img_t99.tif").write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        read_stack(folder)


def test_frame_folder_with_mismatched_frames(tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    tifffile.imwrite(folder / "a.tif", np.zeros((8, 8), np.uint16))
    tifffile.imwrite(folder / "b.tif", np.zeros((9, 8), np.uint16))
    with pytest.raises(InputError, match="frames differ"):
        read_stack(folder)


def test_rgb_becomes_channels(tmp_path):
    path = tmp_path / "rgb.tif"
    data = _ramp((20, 30, 3), np.uint8)
    tifffile.imwrite(path, data, photometric="rgb")
    s = read_stack(path)
    assert s.shape == (1, 3, 1, 20, 30)
    assert s.channel_names == ("Red", "Green", "Blue")
    np.testing.assert_array_equal(s.frame(0)[1, 0], data[..., 1])


@pytest.mark.parametrize("contiguous", [True, False])
def test_frame_read_does_not_load_the_whole_file(tmp_path, contiguous):
    path = tmp_path / "big.tif"
    n, shape = 64, (256, 256)
    frame_bytes = shape[0] * shape[1] * 2
    with tifffile.TiffWriter(path) as tw:
        if contiguous:
            tw.write(_ramp((n, *shape)), metadata={"axes": "TYX"})
        else:
            for t in range(n):
                tw.write(_ramp(shape) + t, compression="zlib", metadata=None, contiguous=False)
    s = read_stack(path)
    assert s.n_frames == n
    tracemalloc.start()
    try:
        f = s.frame(37)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert f.shape == (1, 1, *shape)
    # a frame read allocates a few frames' worth at most, never the n-frame file
    assert peak < 6 * frame_bytes, peak


def test_missing_empty_truncated_and_not_image(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_stack(tmp_path / "nope.tif")
    empty = tmp_path / "empty.tif"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        read_stack(empty)
    text = tmp_path / "notes.tif"
    text.write_text("this is not an image")
    with pytest.raises(InputError, match="not a readable TIFF"):
        read_stack(text)
    full = tmp_path / "full.tif"
    tifffile.imwrite(full, _ramp((10, 64, 64)))
    cut = tmp_path / "cut.tif"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.raises(InputError, match="truncated"):
        read_stack(cut)
    for err in [InputError(cut, "x")]:
        assert str(cut) in str(err)


def test_png_is_read(tmp_path):
    import imageio.v3 as iio

    path = tmp_path / "cells.png"
    data = _ramp((30, 20), np.uint8)
    iio.imwrite(path, data)
    s = read_stack(path)
    assert s.shape == (1, 1, 1, 30, 20)
    np.testing.assert_array_equal(s.frame(0)[0, 0], data)
