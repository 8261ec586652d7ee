"""Per-frame table store: same tables in memory and on disk; results assembled only on demand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pgpviewer.core import labelstore
from pgpviewer.core.export import export_results
from pgpviewer.core.pipeline import run_pipeline
from pgpviewer.core.stack import Stack
from pgpviewer.core.synthetic import simulate_coculture
from pgpviewer.core.tablestore import FrameTables, LazyTable, decode_table, encode_table


def _frames():
    return [
        pd.DataFrame({"frame": [t] * (t % 3), "v": np.arange(t % 3, dtype=float) + t,
                      "n": pd.array([t] * (t % 3), dtype="Int64")})
        for t in range(7)
    ]


@pytest.mark.parametrize("on_disk", [False, True])
def test_frame_tables_round_trip(tmp_path, on_disk):
    store = FrameTables(tmp_path if on_disk else None)
    for part in _frames():
        store.append(part)
    assert store.on_disk is on_disk
    assert len(store) == sum(len(p) for p in _frames()) == 6
    assert store.n_parts == 7
    whole = pd.concat(_frames(), ignore_index=True)
    pd.testing.assert_frame_equal(store.to_frame(), whole)
    pd.testing.assert_frame_equal(store.to_frame(["v"]), whole[["v"]])
    chunks = list(store.chunks(rows=2))
    assert all(len(c) >= 2 for c in chunks[:-1])
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), whole)
    if on_disk:
        path = store.path
        assert path.exists() and path.stat().st_size > 0
        store.close()
        assert not path.exists() and not path.parent.exists()


def test_empty_store_keeps_columns(tmp_path):
    store = FrameTables(tmp_path)
    store.append(pd.DataFrame({"frame": pd.Series([], dtype=int), "v": pd.Series([], dtype=float)}))
    lazy = LazyTable(store, lambda t: t.assign(w=t["v"] * 2))
    out = lazy.to_frame()
    assert list(out.columns) == ["frame", "v", "w"] and len(out) == 0


def test_table_codec_keeps_dtypes_and_values():
    table = pd.DataFrame({
        "frame": np.array([3, 3, 3], np.int64),
        "label": np.array([1, 2, 7], np.int32),
        "score": [0.1, np.nan, -2.5e-300],
        "ok": [True, False, True],
        "parent": pd.array([None, 4, 5], dtype="Int64"),
        "population": pd.Series(["donor", "recipient", "unknown"], dtype="str"),
        "note": pd.Series(["é", None, "x"], dtype=object),
        "odd column name, with = and ü": [1.5, 2.5, 3.5],
    })
    back = decode_table(encode_table(table))
    pd.testing.assert_frame_equal(back, table)
    empty = table.iloc[0:0]
    pd.testing.assert_frame_equal(decode_table(encode_table(empty)), empty.reset_index(drop=True))


def _run(sim, tmp_path, spill, monkeypatch):
    monkeypatch.setattr(labelstore, "IN_MEMORY_MAX_BYTES", 0 if spill else 1 << 40)
    stack = Stack.from_array(sim.image, "TCYX", channel_names=sim.channel_names,
                             frame_interval_s=sim.frame_interval_s, pixel_size_um=(0.5, 0.5))
    return run_pipeline(stack, sim.channel_roles, workers=1, workdir=tmp_path / "work")


def test_large_movie_tables_stay_on_disk_until_read(tmp_path, monkeypatch):
    """A movie whose labels go to disk keeps its per-frame tables on disk too: the result reports
    sizes and writes its CSVs without assembling them, and the tables, when read, and the
    exported files are exactly those of an in-memory run."""
    sim = simulate_coculture(seed=3, n_frames=5, shape_yx=(96, 96), n_cells=10)
    mem = _run(sim, tmp_path, False, monkeypatch)
    disk = _run(sim, tmp_path, True, monkeypatch)
    assert isinstance(disk.__dict__["_cells"], LazyTable)
    assert disk.__dict__["_cells"].store.on_disk
    assert disk.n_rows("cells") == len(mem.cells) > 0
    chunks = list(disk.table_chunks("cells", rows=7))
    assert isinstance(disk.__dict__["_cells"], LazyTable)  # still not assembled
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), mem.cells)
    out_mem = export_results(mem, tmp_path / "mem")
    out_disk = export_results(disk, tmp_path / "disk")
    assert isinstance(disk.__dict__["_cells"], LazyTable)  # written a chunk at a time
    for name in ("cells.csv", "tracks.csv", "events.csv", "summary.csv", "curves.csv"):
        assert (out_mem / name).read_bytes() == (out_disk / name).read_bytes(), name
    for name in ("cells", "puncta", "contacts", "events", "tracks", "summary"):
        pd.testing.assert_frame_equal(getattr(mem, name), getattr(disk, name))
    assert not isinstance(disk.__dict__["_cells"], LazyTable)  # assembled once, then kept
