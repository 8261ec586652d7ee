"""Fixtures for the napari plugin tests: a tiny movie and the plugin registered with npe2."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

MANIFEST = Path(__file__).resolve().parents[2] / "pgpviewer" / "napari.yaml"


@pytest.fixture(scope="session")
def tiny_movie(tmp_path_factory) -> Path:
    """4 frames × 3 channels × 96×96 co-culture as OME-TIFF (0.65 µm, frame interval known)."""
    from pgpviewer.core.synthetic import simulate_coculture, write_simulation

    sim = simulate_coculture(n_frames=4, shape_yx=(96, 96), n_cells=8, seed=2)
    folder = tmp_path_factory.mktemp("plugin")
    return write_simulation(sim, folder / "tiny.ome.tif", ground_truth=False)


@pytest.fixture
def plugin_manifest():
    """pgpviewer's manifest registered with npe2 (as the installed entry point would do)."""
    import npe2

    pm = npe2.PluginManager.instance()
    try:
        return pm.get_manifest("pgpviewer")
    except KeyError:
        manifest = npe2.PluginManifest.from_file(MANIFEST)
        pm.register(manifest)
        return manifest


@pytest.fixture
def no_offscreen():
    if os.environ.get("QT_QPA_PLATFORM", "").startswith("offscreen"):
        pytest.skip("napari canvases need OpenGL: run under pytest-xvfb, not offscreen")
