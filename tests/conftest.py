"""Shared fixtures: paths to ../shared/data and small synthetic files."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or skip with the reason when this checkout has none beside it."""
    if not (SHARED_DATA / "INDEX.md").is_file():
        pytest.skip(f"real test data not found at {SHARED_DATA} (../shared/data is absent)")
    return SHARED_DATA


def pytest_collection_modifyitems(config, items):
    """Run the napari-plugin tests first: napari's ``make_napari_viewer`` fixture refuses to
    start while any QtViewer from an earlier test is still alive, and the app's windows are
    freed by Qt only later."""
    items.sort(key=lambda item: 0 if "/tests/plugin/" in str(item.fspath) else 1)
