"""vispy: GLSL shader files and fonts are data (vispy issues 1643, 2300); the Qt backend and
the visuals are imported by name. Only the PySide6 backend is kept (the others would pull in
tkinter, wx, glfw, Jupyter…)."""

from _pgpviewer_hookutils import TEST_GLOBS, not_a_test
from PyInstaller.utils.hooks import collect_data_files, collect_submodules

KEEP_BACKENDS = {"vispy.app.backends._pyside6", "vispy.app.backends._qt"}
# Debug and optional-integration modules that would pull in pyqtgraph, networkx, imageio.
SKIP = (
    "vispy.geometry._triangulation_debugger",
    "vispy.visuals.graphs.layouts.networkx_layout",
    "vispy.util.gallery_scraper",
)


def _wanted(module: str) -> bool:
    if not not_a_test(module) or module.startswith(("vispy.testing", *SKIP)):
        return False
    if module.startswith("vispy.app.backends._"):
        return module in KEEP_BACKENDS
    return True


hiddenimports = collect_submodules("vispy", filter=_wanted)
datas = collect_data_files("vispy", excludes=TEST_GLOBS)
excludedimports = ["pytest", "_pytest", "tkinter", "wx", "glfw", "sdl2", "jupyter_rfb"]
