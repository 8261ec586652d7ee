"""Frame-parallel execution and the label store: same results in-process and in workers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pgpviewer.core import frames, labelstore
from pgpviewer.core.io import read_stack
from pgpviewer.core.pipeline import run_pipeline
from pgpviewer.core.synthetic import simulate_coculture, write_simulation


def test_disk_labels_round_trip(tmp_path):
    store = labelstore.DiskLabels(3, (5, 7), tmp_path / "s")
    frame = np.arange(35, dtype=np.int32).reshape(5, 7)
    store[1] = frame
    np.testing.assert_array_equal(store[1], frame)
    np.testing.assert_array_equal(store[0], 0)
    assert store[0:3].shape == (3, 5, 7)
    assert np.asarray(store).sum() == frame.sum()
    assert store[1, 2, 3] == frame[2, 3]
    with pytest.raises(IndexError):
        store[3]


def test_label_store_in_memory_when_small(monkeypatch, tmp_path):
    assert isinstance(labelstore.label_store(2, (8, 8)), np.ndarray)
    monkeypatch.setattr(labelstore, "IN_MEMORY_MAX_BYTES", 10)
    assert isinstance(labelstore.label_store(2, (8, 8), tmp_path), labelstore.DiskLabels)


@pytest.fixture(scope="module")
def movie(tmp_path_factory):
    sim = simulate_coculture(seed=5, n_frames=6, shape_yx=(128, 128), n_cells=14)
    path = tmp_path_factory.mktemp("m") / "movie.ome.tif"
    write_simulation(sim, path, compression=None, ground_truth=False)
    return path, sim.channel_roles


def test_worker_processes_give_identical_tables(movie, monkeypatch):
    path, roles = movie
    stack = read_stack(path)
    serial = run_pipeline(stack, roles, workers=1)
    monkeypatch.setattr(frames, "PROCESS_MIN_PIXEL_FRAMES", 0)
    monkeypatch.setattr(labelstore, "IN_MEMORY_MAX_BYTES", 0)  # and the on-disk store
    parallel = run_pipeline(stack, roles, workers=2)
    assert isinstance(parallel.labels, labelstore.DiskLabels)
    pd.testing.assert_frame_equal(serial.cells, parallel.cells)
    pd.testing.assert_frame_equal(serial.events, parallel.events)
    np.testing.assert_array_equal(np.asarray(serial.labels), np.asarray(parallel.labels))


def test_frame_subset_offsets_are_file_frames(movie):
    path, roles = movie
    stack = read_stack(path).with_frames(2, 5)
    result = run_pipeline(stack, roles, workers=1)
    assert sorted(result.cells["frame"].unique()) == [2, 3, 4]
    assert result.frames == (2, 5)
    assert list(result.summary["frame"]) == [2, 3, 4]
