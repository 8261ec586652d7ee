"""napari's icons and fonts; without them: ``No module named 'napari_resources.resources'``."""

from PyInstaller.utils.hooks import collect_data_files, collect_submodules, copy_metadata

hiddenimports = collect_submodules("napari_resources")
datas = collect_data_files("napari_resources") + copy_metadata("napari_resources")
