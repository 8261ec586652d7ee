"""pgpviewer as a napari plugin (npe2): reader, labels writer, sample data and the analysis widget.

The manifest is ``pgpviewer/napari.yaml``, found by napari through the ``napari.manifest`` entry
point. The reader, writer and sample modules import neither Qt nor napari; the widget reuses the
desktop app's panels (:mod:`pgpviewer.gui`), so the app and the plugin share one implementation.
"""
