"""napari-svg: an npe2 writer plugin found through its ``napari.manifest`` entry point."""

from _pgpviewer_hookutils import TEST_GLOBS, not_a_test
from PyInstaller.utils.hooks import collect_data_files, collect_submodules, copy_metadata

hiddenimports = collect_submodules("napari_svg", filter=not_a_test)
datas = collect_data_files("napari_svg", excludes=TEST_GLOBS) + copy_metadata("napari-svg")
