"""Hatchling build hook: compile pgpviewer's Cython kernels (``pgpviewer/core/*.pyx``).

Why Cython: the per-frame analysis is many small whole-image passes; the few that dominate are
fused into compiled loops. Cython adds no runtime dependency and a few hundred kB to the
installer (numba was measured at +195 MB with llvmlite, over the installer's size budget).

The extension is built in place (next to its ``.pyx``), which serves both editable installs
(the source tree is on ``sys.path``) and wheels (the built file is added as an artifact and the
wheel gets a platform tag). Needs a C++ compiler and the Python headers: ``scripts/setup.sh``
installs them on Debian/Ubuntu.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

EXTENSIONS = {
    f"pgpviewer.core.{name}": f"pgpviewer/core/{name}.pyx"
    for name in ("_cfilters", "_clabels", "_cwatershed")
}


def build_extensions(root: Path) -> list[Path]:
    """Compile every extension in place; returns the built files."""
    import numpy
    from Cython.Build import cythonize
    from setuptools import Distribution, Extension
    from setuptools.command.build_ext import build_ext

    # no fused multiply-add contraction: the kernels reproduce numpy's float roundings exactly
    flags = ([] if sys.platform == "win32"
             else ["-O3", "-g0", "-ffp-contract=off", "-Wno-unreachable-code"])
    exts = [
        Extension(name, [str(root / src)], include_dirs=[numpy.get_include()],
                  language="c++", extra_compile_args=flags,
                  define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")])
        for name, src in EXTENSIONS.items()
    ]
    old = Path.cwd()
    os.chdir(root)
    try:
        dist = Distribution({"ext_modules": cythonize(exts, quiet=True)})
        cmd = build_ext(dist)
        cmd.inplace = True
        cmd.ensure_finalized()
        cmd.run()
        return [Path(cmd.get_ext_fullpath(name)).resolve() for name in EXTENSIONS]
    finally:
        os.chdir(old)


class CythonBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict) -> None:
        if self.target_name != "wheel":
            return
        root = Path(self.root)
        built = build_extensions(root)
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        if version != "editable":
            for path in built:
                rel = path.relative_to(root).as_posix()
                build_data["force_include"][str(path)] = rel
