"""imagecodecs loads its ~60 codec extensions lazily by name (``imagecodecs.lzw_decode`` →
``imagecodecs._imcd``), so none of them is found by import analysis. All of them weigh about
80 MB; these are the ones TIFF files from microscopes use (tifffile's decompressors and
predictors). zarr stores use numcodecs, not imagecodecs. Add a codec here when a user's files
need it (tifffile then says which one is missing)."""

import importlib.util

from PyInstaller.utils.hooks import collect_data_files

CODECS = [
    "_shared",
    "_shared_cython",
    "_imcd",  # LZW, PackBits, delta/float predictors, bit order
    "_zlib",
    "_deflate",
    "_zstd",
    "_lzma",
    "_lz4",
    "_jpeg8",  # JPEG (incl. ndpi/svs/Zeiss)
    "_ljpeg",  # lossless JPEG
    "_jpegsof3",
    "_jpeg2k",  # JPEG 2000 (Aperio)
    "_webp",
    "_png",
]

hiddenimports = [
    f"imagecodecs.{name}"
    for name in CODECS
    if importlib.util.find_spec(f"imagecodecs.{name}") is not None
]
datas = collect_data_files("imagecodecs")  # __init__.pyi (lazy attribute table)
