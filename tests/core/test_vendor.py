"""Vendor formats (the ``formats`` extra): ND2, CZI, LIF.

Test files: CZI files are written with pylibCZIrw (Zeiss's own writer); LIF files are built here
following Leica's published layout (an XML header and raw memory blocks) and read back with
liffile; ND2 has no writer anywhere, so the reader's metadata handling is tested on nd2's own
structures and a real file only when ``PGPVIEWER_ND2_FILE`` names one.
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

import numpy as np
import pytest

from pgpviewer.core.errors import InputError
from pgpviewer.core.vendor import (
    czi_metadata,
    median_interval_s,
    nd2_frame_interval_s,
    read_vendor,
    vendor_available,
)


def test_missing_extra_names_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "nd2", None)  # as if nd2 were not installed
    f = tmp_path / "movie.nd2"
    f.write_bytes(b"\0" * 64)
    with pytest.raises(InputError) as e:
        read_vendor(f)
    assert str(e.value) == (
        f"{f}: reading .nd2 files (Nikon ND2) needs the formats extra: "
        "pip install 'pgpviewer[formats]'"
    )


def test_unknown_suffix_and_damaged_file(tmp_path):
    with pytest.raises(InputError, match="not a vendor format"):
        read_vendor(tmp_path / "a.tif")
    assert not vendor_available(".tif")
    if vendor_available(".czi"):
        bad = tmp_path / "bad.czi"
        bad.write_bytes(b"not a czi file at all" * 10)
        with pytest.raises(InputError, match="cannot read this Zeiss CZI file"):
            read_vendor(bad)


def test_median_interval():
    assert median_interval_s([0, 30, 60.5, 90]) == pytest.approx(30.0)
    assert median_interval_s([5.0]) is None


# -- CZI ----------------------------------------------------------------------------------
def _write_czi(path: Path, data: np.ndarray, names, pixel_um: float, *, scenes: int = 1):
    pyczi = pytest.importorskip("pylibCZIrw.czi", reason="pylibCZIrw (formats extra) missing")
    with pyczi.create_czi(str(path), exist_ok=True) as w:
        for s in range(scenes):
            for t in range(data.shape[0]):
                for c in range(data.shape[1]):
                    plane = data[t, c] + s * 1000
                    w.write(
                        plane[..., None],
                        plane={"T": t, "C": c, "Z": 0},
                        scene=s,
                        location=(s * 200, 0),
                    )
        w.write_metadata(
            "test", channel_names=dict(enumerate(names)), scale_x=pixel_um, scale_y=pixel_um
        )
    return path


def _czi_set_interval(path: Path, seconds: float) -> None:
    """Add the frame interval ZEN writes (Dimensions/T/Positions/Interval/Increment)."""
    pyczi = pytest.importorskip("pylibCZIrw.czi")
    with pyczi.edit_czi(str(path)) as ed:
        xml = ed.read_metadata_xml()
        t = (
            "<T><Positions><Interval><Start>0</Start>"
            f"<Increment>{seconds}</Increment></Interval></Positions></T>"
        )
        xml = xml.replace("</Channels>", "</Channels>" + t, 1)
        with ed.edit_session() as builder:
            builder.set_xml(xml)


def _movie(t=3, c=2, y=20, x=30):
    rng = np.random.default_rng(0)
    return rng.integers(0, 4000, size=(t, c, y, x), dtype=np.uint16)


def test_czi_reads_pixels_names_scale_and_interval(tmp_path):
    data = _movie()
    path = _write_czi(tmp_path / "movie.czi", data, ["Hoechst 33342", "P-gp-EGFP"], 0.325)
    _czi_set_interval(path, 120.0)
    stack = read_vendor(path)
    assert stack.shape == (3, 2, 1, 20, 30)
    assert stack.channel_names == ("Hoechst 33342", "P-gp-EGFP")
    assert stack.pixel_size_um == pytest.approx((0.325, 0.325))
    assert stack.frame_interval_s == pytest.approx(120.0)
    np.testing.assert_array_equal(stack.frame(2)[:, 0], data[2])
    np.testing.assert_array_equal(np.asarray(stack.data[:, 1, 0, 5, 7]), data[:, 1, 5, 7])


def test_czi_scenes_are_positions(tmp_path):
    data = _movie(t=2, c=1)
    path = _write_czi(tmp_path / "scenes.czi", data, ["DAPI"], 0.5, scenes=2)
    first, second = read_vendor(path, 0), read_vendor(path, 1)
    assert first.n_positions == 2 and second.position == 1
    np.testing.assert_array_equal(second.frame(1)[0, 0], data[1, 0] + 1000)
    with pytest.raises(InputError, match="position 2 does not exist"):
        read_vendor(path, 2)


def test_czi_metadata_in_metres_as_zen_writes_it():
    meta = {
        "ImageDocument": {
            "Metadata": {
                "Scaling": {
                    "Items": {
                        "Distance": [
                            {"@Id": "X", "Value": "1.0378e-07"},
                            {"@Id": "Y", "Value": "1.0378e-07"},
                            {"@Id": "Z", "Value": "5e-07"},
                        ]
                    }
                },
                "Information": {
                    "Image": {"Dimensions": {"Channels": {"Channel": {"@Name": "GFP"}}}}
                },
                "Experiment": {
                    "Block": {
                        "TimeSeriesSetup": {
                            "Interval": {"TimeSpan": {"Value": "5", "DefaultUnitFormat": "min"}}
                        }
                    }
                },
            }
        }
    }
    info = czi_metadata(meta)
    assert info["pixel_size_um"] == pytest.approx((0.10378, 0.10378))
    assert info["z_step_um"] == pytest.approx(0.5)
    assert info["channel_names"] == ["GFP"]
    assert info["frame_interval_s"] == pytest.approx(300.0)


# -- LIF ----------------------------------------------------------------------------------
def write_lif(path: Path, data: np.ndarray, pixel_m: float, interval_s: float) -> Path:
    """A LIF version 2 file of one (T, C, Y, X) uint16 image (Leica's documented layout)."""
    t, c, y, x = data.shape
    chans = "".join(
        f'<ChannelDescription DataType="0" ChannelTag="0" Resolution="16" '
        f'NameOfMeasuredQuantity="" Min="0" Max="65535" Unit="" LUTName="{lut}" '
        f'IsLUTInverted="0" BytesInc="{i * y * x * 2}" BitInc="0"/>'
        for i, lut in enumerate(["Blue", "Green", "Red"][:c])
    )

    def dim(dim_id, n, length, unit, inc):
        return (
            f'<DimensionDescription DimID="{dim_id}" NumberOfElements="{n}" Origin="0" '
            f'Length="{length}" Unit="{unit}" BitInc="0" BytesInc="{inc}"/>'
        )

    dims = (
        dim(1, x, (x - 1) * pixel_m, "m", 2)
        + dim(2, y, (y - 1) * pixel_m, "m", 2 * x)
        + dim(4, t, (t - 1) * interval_s, "s", 2 * x * y * c)
    )
    xml = (
        '<LMSDataContainerHeader Version="2"><Element Name="experiment">'
        '<Data><Experiment/></Data><Memory Size="0" MemoryBlockID="MemBlock_0"/><Children>'
        '<Element Name="Position 1"><Data><Image><ImageDescription>'
        f"<Channels>{chans}</Channels><Dimensions>{dims}</Dimensions>"
        "</ImageDescription></Image></Data>"
        f'<Memory Size="{data.nbytes}" MemoryBlockID="MemBlock_1"/><Children/></Element>'
        "</Children></Element></LMSDataContainerHeader>"
    )
    header = xml.encode("utf-16-le")
    block_id = "MemBlock_1".encode("utf-16-le")
    with open(path, "wb") as fh:
        fh.write(struct.pack("<IIBI", 0x70, len(header) + 5, 0x2A, len(xml)))
        fh.write(header)
        fh.write(struct.pack("<IIBQBI", 0x70, 0, 0x2A, data.nbytes, 0x2A, len("MemBlock_1")))
        fh.write(block_id)
        fh.write(np.ascontiguousarray(data, "<u2").tobytes())
    return path


def test_lif_reads_pixels_scale_and_interval(tmp_path):
    pytest.importorskip("liffile", reason="liffile (formats extra) missing")
    data = _movie(t=4, c=2, y=16, x=24)
    path = write_lif(tmp_path / "movie.lif", data, pixel_m=0.4e-6, interval_s=45.0)
    stack = read_vendor(path)
    assert stack.shape == (4, 2, 1, 16, 24)
    assert stack.channel_names == ("Blue", "Green")  # LIF channels carry only their LUT
    assert stack.pixel_size_um == pytest.approx((0.4, 0.4))
    assert stack.frame_interval_s == pytest.approx(45.0)
    np.testing.assert_array_equal(stack.frame(3)[:, 0], data[3])


# -- ND2 ----------------------------------------------------------------------------------
def test_nd2_frame_interval_from_experiment_loops():
    structures = pytest.importorskip("nd2.structures", reason="nd2 (formats extra) missing")
    loop = structures.TimeLoop(
        count=10,
        nestingLevel=0,
        parameters={
            "startMs": 0,
            "periodMs": 60000.0,
            "durationMs": 0,
            "periodDiff": {"avg": 60012.0, "max": 60100.0, "min": 59900.0},
        },
    )
    assert nd2_frame_interval_s([loop]) == pytest.approx(60.012)
    ne = structures.NETimeLoop(
        count=5,
        nestingLevel=0,
        parameters={
            "periods": [
                {"startMs": 0, "periodMs": 30000.0, "durationMs": 0, "periodDiff": None, "count": 5}
            ]
        },
    )
    assert nd2_frame_interval_s([ne]) == pytest.approx(30.0)
    assert nd2_frame_interval_s([]) is None


@pytest.mark.skipif(
    not os.environ.get("PGPVIEWER_ND2_FILE"),
    reason="no ND2 writer exists: set PGPVIEWER_ND2_FILE to a real .nd2 time-lapse to test it",
)
def test_nd2_real_file():
    pytest.importorskip("nd2", reason="nd2 (formats extra) missing")
    stack = read_vendor(os.environ["PGPVIEWER_ND2_FILE"])
    assert stack.n_channels >= 1 and stack.pixel_size_um is not None
    assert stack.frame(0).shape[1:] == (stack.n_z, *stack.shape_yx)
