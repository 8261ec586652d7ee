"""The desktop app (PySide6 + napari). Import :func:`pgpviewer.gui.app.main` to start it.

Nothing here is imported by ``pgpviewer.core`` or ``pgpviewer.cli`` at import time.
"""
