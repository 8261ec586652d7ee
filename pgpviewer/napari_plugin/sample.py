"""napari sample data: the bundled co-culture movie (generated once when absent)."""

from __future__ import annotations

from pgpviewer.napari_plugin.reader import LayerData, open_stack, stack_layer_data


def make_sample_data() -> list[LayerData]:
    """The pgpviewer sample: 24 frames of a donor/recipient co-culture, 3 channels.

    Hoechst (nuclei), CellTracker Blue (recipients) and P-gp-EGFP, 0.65 µm pixels, with
    contact and remote P-gp transfer events; layers as the reader makes them.
    """
    from pgpviewer.gui.sample import ensure_sample

    return stack_layer_data(open_stack(ensure_sample()))
