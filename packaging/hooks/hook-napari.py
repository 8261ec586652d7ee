"""napari has no ready PyInstaller hook.

* Many of its modules are imported by name at run time (app-model actions, lazy ``__init__.pyi``
  stubs, layer/control registries), so every submodule is collected, minus the test suites.
* Data: ``*.pyi`` stubs read by lazy_loader, themes, translations, resources.
* Metadata: npe2 finds the builtin reader/writer plugin (``napari_builtins``) through the
  ``napari.manifest`` entry point in napari's dist-info (PartSeg issue 465 is the failure
  without it).
"""

from _pgpviewer_hookutils import TEST_GLOBS, not_a_test
from PyInstaller.utils.hooks import collect_data_files, collect_submodules, copy_metadata

hiddenimports = [
    *collect_submodules("napari", filter=not_a_test),
    "napari_builtins",
    "napari_resources",
    "napari_svg",
    "vispy.app.backends._pyside6",
]
datas = collect_data_files("napari", excludes=TEST_GLOBS) + copy_metadata("napari")
# pytest plugin, dev tooling and the IPython console are not part of the app.
excludedimports = ["pytest", "_pytest", "napari.utils._testsupport", "napari_console"]
