"""A corpus of bad inputs (and small valid movies), written into a folder by the tests.

Every ``make_*`` function writes one kind of bad input into ``folder`` and returns a
:class:`Case`: the image to analyse, extra ``pgpviewer analyze`` arguments, the file the one-line
error must name and a fragment it must contain. :data:`BAD_INPUTS` lists them all by kind.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tifffile

#: Channel names of the simulator (Hoechst, CellTracker Blue, P-gp-EGFP), guessed as roles.
SMALL_MOVIE = dict(n_frames=3, shape_yx=(64, 64), n_cells=6)


@dataclass
class Case:
    """One bad input: what to run and what the one error line must say."""

    kind: str
    image: Path
    message: str
    args: list[str] = field(default_factory=list)
    names: Path | None = None  # the file the message names (default: the image)
    out: Path | None = None  # the output folder (default: <folder>/out)
    during_run: bool = False  # found while analysing: progress lines may come before the error

    def output(self, folder: Path) -> Path:
        return self.out if self.out is not None else folder / "out"

    def named(self) -> Path:
        return self.names if self.names is not None else self.image


# -- valid inputs the bad ones are made from -----------------------------------------------------
def write_movie(path: Path, seed: int = 1, **overrides) -> Path:
    """A small simulated co-culture (OME-TIFF: Hoechst, CellTracker Blue, P-gp-EGFP)."""
    from pgpviewer.core.synthetic import simulate_coculture, write_simulation

    sim = simulate_coculture(seed=seed, **{**SMALL_MOVIE, **overrides})
    return write_simulation(sim, path, ground_truth=False)


def write_blank(path: Path, n_frames: int = 3, shape_yx=(64, 64), seed: int = 0) -> Path:
    """A field without cells: camera offset, background and noise in the simulator's channels."""
    rng = np.random.default_rng(seed)
    data = (100 + rng.poisson(40, (n_frames, 3, *shape_yx))).astype(np.uint16)
    tifffile.imwrite(
        path,
        data,
        ome=True,
        photometric="minisblack",
        metadata={
            "axes": "TCYX",
            "Channel": {"Name": ["Hoechst", "CellTracker Blue", "P-gp-EGFP"]},
            "PhysicalSizeX": 0.65,
            "PhysicalSizeY": 0.65,
            "TimeIncrement": 600.0,
        },
    )
    return path


def patch_tags(path: Path, **tags) -> None:
    """Overwrite TIFF tags in every page in place (e.g. ``ImageWidth=10**6``)."""
    with tifffile.TiffFile(path, mode="r+") as tif:
        for page in tif.pages:
            for name, value in tags.items():
                page.tags[name].overwrite(value)


def patch_ome_xml(path: Path, edit: Callable[[str], str]) -> None:
    """Replace the OME-XML of an OME-TIFF with ``edit(xml)``."""
    with tifffile.TiffFile(path, mode="r+") as tif:
        xml = tif.pages[0].description
        tif.pages[0].tags["ImageDescription"].overwrite(edit(xml).encode())


# -- files that are not images -------------------------------------------------------------------
def make_missing(folder: Path) -> Case:
    return Case("missing", folder / "nowhere.tif", "file not found")


def make_empty(folder: Path) -> Case:
    p = folder / "empty.tif"
    p.write_bytes(b"")
    return Case("empty", p, "file is empty")


def make_text_as_tif(folder: Path) -> Case:
    p = folder / "notes.tif"
    p.write_text("these are my notes, not an image\n", encoding="utf-8")
    return Case("text_as_tif", p, "not a readable TIFF file")


def make_csv_as_tif(folder: Path) -> Case:
    p = folder / "cells.csv.tif"
    p.write_text("frame,label,area\n0,1,200\n0,2,180\n", encoding="utf-8")
    return Case("csv_as_tif", p, "not a readable TIFF file")


def make_corrupt_png(folder: Path) -> Case:
    p = folder / "broken.png"
    p.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    return Case("corrupt_png", p, "not a readable image")


def make_czi_damaged(folder: Path) -> Case:
    """A CZI that is only a header magic (read by the ``formats`` extra's reader)."""
    p = folder / "experiment.czi"
    p.write_bytes(b"ZISRAWFILE" + bytes(200))
    return Case("czi_damaged", p, "cannot read this Zeiss CZI file")


def make_nd2_damaged(folder: Path) -> Case:
    p = folder / "experiment.nd2"
    p.write_bytes(b"\xda\xce\xbe\x0a" + bytes(200))
    return Case("nd2_damaged", p, "cannot read this Nikon ND2 file")


def make_oib(folder: Path) -> Case:
    """A vendor format no reader handles: named, with what is supported and how to convert."""
    p = folder / "experiment.oib"
    p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(200))  # an OLE2 container
    return Case("oib", p, "unsupported file type Olympus OIB (.oib) (supported: ")


def make_txt(folder: Path) -> Case:
    p = folder / "readme.txt"
    p.write_text("hello", encoding="utf-8")
    return Case("txt", p, "unsupported file type '.txt' (supported: ")


def make_empty_folder(folder: Path) -> Case:
    p = folder / "frames"
    p.mkdir()
    (p / "readme.txt").write_text("no frames here", encoding="utf-8")
    return Case("empty_folder", p, "folder contains no TIFF frames")


# -- damaged TIFF files ----------------------------------------------------------------------------
def make_truncated(folder: Path) -> Case:
    """Header and page list intact, pixel data cut short."""
    full = folder / "full.tif"
    tifffile.imwrite(full, np.ones((128, 128), np.uint16))
    p = folder / "truncated.tif"
    p.write_bytes(full.read_bytes()[:-4000])
    full.unlink()
    return Case("truncated", p, "file is truncated")


def make_truncated_pages(folder: Path) -> Case:
    """A compressed multi-page file cut in the middle: the page list breaks off."""
    full = folder / "full.tif"
    rng = np.random.default_rng(0)
    tifffile.imwrite(full, rng.integers(0, 4000, (6, 64, 64), dtype=np.uint16), compression="zlib")
    p = folder / "truncated_pages.tif"
    data = full.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    full.unlink()
    return Case("truncated_pages", p, "file is truncated")


def make_huge_dims(folder: Path) -> Case:
    """Uncompressed pages whose header claims 10⁶ × 10⁶ pixels (1.8 TiB per page)."""
    p = folder / "huge.tif"
    tifffile.imwrite(p, np.ones((2, 16, 16), np.uint16))
    patch_tags(p, ImageWidth=1_000_000, ImageLength=1_000_000)
    return Case("huge_dims", p, "needs 1.8 TiB of memory")


def make_huge_dims_compressed(folder: Path) -> Case:
    p = folder / "huge_zlib.tif"
    tifffile.imwrite(p, np.ones((2, 16, 16), np.uint16), compression="zlib")
    patch_tags(p, ImageWidth=1_000_000, ImageLength=1_000_000)
    return Case("huge_dims_compressed", p, "needs 1.8 TiB of memory")


def make_unknown_compression(folder: Path) -> Case:
    """zlib data labelled with a compression that no decoder knows (ThunderScan, 32809)."""
    p = folder / "thunderscan.tif"
    tifffile.imwrite(p, np.ones((3, 32, 32), np.uint16), compression="zlib")
    patch_tags(p, Compression=32809)
    return Case("unknown_compression", p, "compressed with THUNDERSCAN (TIFF compression 32809)")


def make_ome_missing_planes(folder: Path) -> Case:
    """OME-XML announcing 10 time points for a file that holds 3: no zero-filled frames."""
    p = write_movie(folder / "ome_more_frames.ome.tif")
    patch_ome_xml(p, lambda xml: xml.replace('SizeT="3"', 'SizeT="10"'))
    return Case("ome_missing_planes", p, "of them are not in the file")


def make_ome_unreadable(folder: Path) -> Case:
    """OME-XML cut in half: channels and frames cannot be told apart."""
    p = write_movie(folder / "ome_cut_xml.ome.tif")
    patch_ome_xml(p, lambda xml: xml[: len(xml) // 2])
    return Case("ome_unreadable", p, "OME-XML metadata cannot be read")


# -- images the analysis cannot use ----------------------------------------------------------------
def make_rgb_no_roles(folder: Path) -> Case:
    p = folder / "snapshot.tif"
    rgb = np.zeros((64, 64, 3), np.uint8)
    rgb[16:40, 16:40] = (200, 120, 40)
    tifffile.imwrite(p, rgb, photometric="rgb")
    return Case("rgb_no_roles", p, "cannot guess channel roles from the names (Red, Green, Blue)")


def _float_movie(folder: Path, name: str, value: float, frame: int) -> Path:
    rng = np.random.default_rng(1)
    data = rng.normal(100, 5, (3, 2, 64, 64)).astype(np.float32)
    data[frame, 1, 10, 12] = value
    p = folder / name
    tifffile.imwrite(
        p, data, ome=True, metadata={"axes": "TCYX", "Channel": {"Name": ["Hoechst", "P-gp"]}}
    )
    return p


def make_float_nan(folder: Path) -> Case:
    """NaN in the first frame: refused before the analysis starts."""
    p = _float_movie(folder, "deconvolved_nan.ome.tif", np.nan, frame=0)
    return Case("float_nan", p, "frame 0 has 1 NaN or infinite pixel value")


def make_float_inf(folder: Path) -> Case:
    """Inf in a later frame: refused when that frame is read (no output is written)."""
    p = _float_movie(folder, "deconvolved_inf.ome.tif", np.inf, frame=2)
    return Case("float_inf", p, "frame 2 has 1 NaN or infinite pixel value", during_run=True)


def make_one_pixel(folder: Path) -> Case:
    p = folder / "one_pixel.tif"
    tifffile.imwrite(p, np.full((1, 1), 500, np.uint16))
    return Case("one_pixel", p, "image is 1×1 pixels, too small")


def make_complex_pixels(folder: Path) -> Case:
    p = folder / "fft.tif"
    tifffile.imwrite(p, np.ones((2, 32, 32), np.complex64))
    return Case("complex_pixels", p, "pixels are of type complex64")


# -- bad options -----------------------------------------------------------------------------------
def make_missing_channel_name(folder: Path) -> Case:
    p = write_movie(folder / "movie.ome.tif")
    return Case(
        "missing_channel_name",
        p,
        "no channel named 'GFP-2' for role 'pgp'",
        ["--channel", "pgp=GFP-2"],
    )


def make_missing_channel_index(folder: Path) -> Case:
    p = write_movie(folder / "movie.ome.tif")
    return Case(
        "missing_channel_index",
        p,
        "channel 7 for role 'pgp' does not exist",
        ["--channel", "pgp=7"],
    )


def make_bad_frames(folder: Path) -> Case:
    p = write_movie(folder / "movie.ome.tif")
    return Case("bad_frames", p, "--frames '5:9' selects no frame", ["--frames", "5:9"])


def _params_case(folder: Path, kind: str, text: str | bytes, message: str) -> Case:
    image = write_movie(folder / "movie.ome.tif")
    params = folder / "params.json"
    if isinstance(text, bytes):
        params.write_bytes(text)
    else:
        params.write_text(text, encoding="utf-8")
    return Case(kind, image, message, ["--params", str(params)], names=params)


def make_params_unknown_key(folder: Path) -> Case:
    text = json.dumps({"version": 1, "segmentation": {"cell_diameter": 25}})
    return _params_case(
        folder, "params_unknown_key", text, "invalid parameter segmentation.cell_diameter"
    )


def make_params_wrong_type(folder: Path) -> Case:
    text = json.dumps({"segmentation": {"cell_diameter_px": "large"}})
    return _params_case(
        folder, "params_wrong_type", text, "invalid parameter segmentation.cell_diameter_px"
    )


def make_params_newer_version(folder: Path) -> Case:
    text = json.dumps({"version": 99})
    return _params_case(folder, "params_newer_version", text, "parameters are format version 99")


def make_params_invalid_json(folder: Path) -> Case:
    return _params_case(folder, "params_invalid_json", '{"segmentation": {', "not valid JSON")


def make_params_not_an_object(folder: Path) -> Case:
    return _params_case(folder, "params_not_an_object", "[1, 2, 3]", "must be a JSON object")


def make_params_binary(folder: Path) -> Case:
    return _params_case(folder, "params_binary", b"\xff\xfe\x00garbage", "cannot read parameters")


# -- outputs that cannot be written ----------------------------------------------------------------
def make_out_below_file(folder: Path) -> Case:
    image = write_movie(folder / "movie.ome.tif")
    blocker = folder / "results"
    blocker.write_text("a file where a folder should be", encoding="utf-8")
    out = blocker / "run1"
    return Case("out_below_file", image, f"{blocker} is a file", out=out, names=out)


def make_out_is_file(folder: Path) -> Case:
    image = write_movie(folder / "movie.ome.tif")
    out = folder / "results.csv"
    out.write_text("x\n1\n", encoding="utf-8")
    return Case("out_is_file", image, "output path exists and is not a folder", out=out, names=out)


def make_out_foreign_folder(folder: Path) -> Case:
    image = write_movie(folder / "movie.ome.tif")
    out = folder / "thesis"
    out.mkdir()
    (out / "chapter1.docx").write_bytes(b"precious")
    return Case("out_foreign_folder", image, "not an earlier pgpviewer result", out=out, names=out)


BAD_INPUTS: dict[str, Callable[[Path], Case]] = {
    f.__name__.removeprefix("make_"): f
    for f in (
        make_missing,
        make_empty,
        make_text_as_tif,
        make_csv_as_tif,
        make_corrupt_png,
        make_czi_damaged,
        make_nd2_damaged,
        make_oib,
        make_txt,
        make_empty_folder,
        make_truncated,
        make_truncated_pages,
        make_huge_dims,
        make_huge_dims_compressed,
        make_unknown_compression,
        make_ome_missing_planes,
        make_ome_unreadable,
        make_rgb_no_roles,
        make_float_nan,
        make_float_inf,
        make_one_pixel,
        make_complex_pixels,
        make_missing_channel_name,
        make_missing_channel_index,
        make_bad_frames,
        make_params_unknown_key,
        make_params_wrong_type,
        make_params_newer_version,
        make_params_invalid_json,
        make_params_not_an_object,
        make_params_binary,
        make_out_below_file,
        make_out_is_file,
        make_out_foreign_folder,
    )
}
