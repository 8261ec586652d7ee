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
