"""npe2 (napari's plugin engine) reads plugin manifests through package metadata."""

from _pgpviewer_hookutils import TEST_GLOBS, not_a_test
from PyInstaller.utils.hooks import collect_data_files, collect_submodules, copy_metadata

hiddenimports = collect_submodules("npe2", filter=not_a_test)
datas = collect_data_files("npe2", excludes=TEST_GLOBS) + copy_metadata("npe2")
excludedimports = ["pytest", "_pytest"]
