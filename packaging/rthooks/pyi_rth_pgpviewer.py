"""PyInstaller runtime hook: runs in the bundle before pgpviewer starts.

qtpy (used by napari, superqt and pgpviewer's GUI) tries PyQt5 first unless told otherwise;
the bundle only carries PySide6.
"""

import os

os.environ.setdefault("QT_API", "pyside6")
