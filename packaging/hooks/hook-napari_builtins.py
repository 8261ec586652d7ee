"""napari's builtin npe2 plugin: readers/writers resolved by name from ``builtins.yaml``."""

from _pgpviewer_hookutils import TEST_GLOBS, not_a_test
from PyInstaller.utils.hooks import collect_data_files, collect_submodules

hiddenimports = collect_submodules("napari_builtins", filter=not_a_test)
datas = collect_data_files("napari_builtins", excludes=TEST_GLOBS)
