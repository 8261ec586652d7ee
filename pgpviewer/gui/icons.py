"""The application icon (found via :mod:`pgpviewer.resources`: source tree, wheel or bundle)."""

from __future__ import annotations

from functools import cache

from qtpy.QtGui import QIcon

from pgpviewer.resources import resource_path


@cache
def app_icon() -> QIcon:
    """The application icon (an empty icon when the resources are not installed)."""
    icon = QIcon()
    for name in ("pgpviewer.png", "pgpviewer.svg"):
        p = resource_path("icons", name)
        if p.is_file():
            icon.addFile(str(p))
    return icon
