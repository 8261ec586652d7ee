"""Per-frame tables of a long movie, kept in memory when small and in a file on disk when large.

A whole-movie table of a multi-day time-lapse has millions of rows (2048² fields hold ≈ 2000
cells, a 1000-frame movie ≈ 2 M cell rows of ≈ 40 columns: well over a gigabyte as a
DataFrame). :func:`~pgpviewer.core.pipeline.run_pipeline` therefore appends each frame's table
to a :class:`FrameTables` as the frame is done; the whole-movie steps (tracking, populations,
events, uptake) read them back a frame at a time (:meth:`FrameTables.part`, iteration), the full
tables are read back a chunk at a time when they are written out (:meth:`FrameTables.chunks`),
or assembled once when a caller asks for the whole table (:class:`LazyTable`).

On disk, each frame's table is appended to one temporary file (written and read with
``pwrite``/``pread``, so nothing stays mapped in memory) as a small JSON header and each column's
raw bytes (:func:`encode_table`; no pickle: nothing read back can run code); the file is private
to this process and removed with the store.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["FrameTables", "LazyTable", "concat_tables", "decode_table", "encode_table"]

_HEAD = struct.Struct("<Q")  # byte length of the JSON header


def encode_table(table: pd.DataFrame) -> bytes:
    """A DataFrame as bytes: a JSON header (columns, dtypes) and each column's raw values.

    Numeric and boolean numpy columns keep their bytes exactly; pandas nullable columns (e.g.
    ``Int64``) are stored as values plus a mask; text and other object columns as JSON. The
    index is not kept (tables are read back with a fresh one). See :func:`decode_table`.
    """
    cols, blobs = [], []
    for name in table.columns:
        s = table[name]
        if isinstance(s.dtype, np.dtype) and s.dtype.kind in "biuf":
            cols.append({"name": name, "kind": "array", "dtype": s.dtype.str})
            blobs.append(np.ascontiguousarray(s.to_numpy()).tobytes())
        elif isinstance(s.dtype, pd.api.extensions.ExtensionDtype) and hasattr(s.array, "_data"):
            cols.append({"name": name, "kind": "masked", "dtype": str(s.dtype),
                         "values": s.array._data.dtype.str})
            blobs.append(np.ascontiguousarray(s.array._data).tobytes())
            blobs.append(np.ascontiguousarray(s.array._mask).tobytes())
        else:
            values = [None if v is None or (isinstance(v, float) and v != v) else v
                      for v in s.astype(object).tolist()]
            text = json.dumps(values, ensure_ascii=False).encode()
            cols.append({"name": name, "kind": "json", "dtype": str(s.dtype), "size": len(text)})
            blobs.append(text)
    head = json.dumps({"rows": len(table), "columns": cols}).encode()
    return _HEAD.pack(len(head)) + head + b"".join(blobs)


def decode_table(data: bytes) -> pd.DataFrame:
    """The DataFrame that :func:`encode_table` wrote (same columns, dtypes and values)."""
    (n_head,) = _HEAD.unpack_from(data)
    head = json.loads(data[_HEAD.size : _HEAD.size + n_head])
    rows, pos = head["rows"], _HEAD.size + n_head
    out = {}
    for col in head["columns"]:
        if col["kind"] == "array":
            dt = np.dtype(col["dtype"])
            out[col["name"]] = np.frombuffer(data, dt, rows, pos).copy()
            pos += rows * dt.itemsize
        elif col["kind"] == "masked":
            dt = np.dtype(col["values"])
            values = np.frombuffer(data, dt, rows, pos).copy()
            pos += rows * dt.itemsize
            mask = np.frombuffer(data, np.bool_, rows, pos).copy()
            pos += rows
            out[col["name"]] = pd.array(values, dtype=col["dtype"])
            out[col["name"]][mask] = pd.NA
        else:
            values = json.loads(data[pos : pos + col["size"]])
            pos += col["size"]
            out[col["name"]] = pd.Series(values, dtype=object).astype(col["dtype"])
    return pd.DataFrame(out, index=pd.RangeIndex(rows))


def concat_tables(parts: Sequence[pd.DataFrame], empty: pd.DataFrame | None = None) -> pd.DataFrame:
    """``pd.concat`` of ``parts`` with a fresh index (``empty`` when there are none)."""
    if not parts:
        return empty if empty is not None else pd.DataFrame()
    return pd.concat(parts, ignore_index=True)


class FrameTables:
    """An append-only sequence of per-frame DataFrames.

    Parameters
    ----------
    folder : str or Path, optional
        Keep the tables in a file in this folder (a private temporary folder is made inside
        it). ``None`` keeps them in memory.

    Examples
    --------
    >>> import pandas as pd
    >>> store = FrameTables()
    >>> store.append(pd.DataFrame({"frame": [0, 0], "v": [1.0, 2.0]}))
    >>> store.append(pd.DataFrame({"frame": [1], "v": [3.0]}))
    >>> len(store), store.to_frame(["v"])["v"].tolist()
    (3, [1.0, 2.0, 3.0])
    """

    def __init__(self, folder: str | Path | None = None):
        self._parts: list[pd.DataFrame] | None = None
        self._index: list[tuple[int, int]] = []  # (offset, size) of each stored frame
        self._rows = 0
        self._fd = -1
        self._template: pd.DataFrame | None = None
        if folder is None:
            self._parts = []
            return
        Path(folder).mkdir(parents=True, exist_ok=True)
        self._dir = Path(tempfile.mkdtemp(prefix="pgpviewer-tables-", dir=folder))
        self.path = self._dir / "frames.bin"
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        self._end = 0

    @property
    def on_disk(self) -> bool:
        """True when the tables are kept in a file."""
        return self._parts is None

    def __len__(self) -> int:
        return self._rows

    @property
    def n_parts(self) -> int:
        """Number of tables appended."""
        return len(self._parts) if self._parts is not None else len(self._index)

    def append(self, table: pd.DataFrame) -> None:
        """Add the next frame's table (kept as it is: same columns and dtypes on reading)."""
        if self._template is None:
            self._template = table.iloc[0:0].copy()
        self._rows += len(table)
        if self._parts is not None:
            self._parts.append(table)
            return
        data = encode_table(table)
        os.pwrite(self._fd, data, self._end)
        self._index.append((self._end, len(data)))
        self._end += len(data)

    def __iter__(self) -> Iterator[pd.DataFrame]:
        """The appended tables, in order."""
        if self._parts is not None:
            yield from self._parts
            return
        for offset, size in self._index:
            yield decode_table(os.pread(self._fd, size, offset))

    def part(self, i: int) -> pd.DataFrame:
        """The ``i``-th appended table.

        Parameters
        ----------
        i : int
            Position in the order of appending.

        Returns
        -------
        DataFrame
            Read from disk when the store is on disk.
        """
        if self._parts is not None:
            return self._parts[i]
        offset, size = self._index[i]
        return decode_table(os.pread(self._fd, size, offset))

    def chunks(
        self, rows: int = 100_000, columns: Sequence[str] | None = None
    ) -> Iterator[pd.DataFrame]:
        """Consecutive tables joined into chunks of about ``rows`` rows (fresh index)."""
        buf: list[pd.DataFrame] = []
        n = 0
        for part in self:
            buf.append(part if columns is None else part[list(columns)])
            n += len(part)
            if n >= rows:
                yield concat_tables(buf)
                buf, n = [], 0
        if buf:
            yield concat_tables(buf)

    def to_frame(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """Everything as one DataFrame (only ``columns``, when given)."""
        parts = list(self.chunks(columns=columns))
        empty = self.empty() if columns is None else self.empty()[list(columns)]
        return concat_tables(parts, empty)

    def empty(self) -> pd.DataFrame:
        """A table with no rows and the appended tables' columns (none before the first)."""
        return self._template.copy() if self._template is not None else pd.DataFrame()

    def close(self) -> None:
        """Drop the tables (the file, when on disk)."""
        if self._parts is not None:
            self._parts.clear()
            return
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
            self.path.unlink(missing_ok=True)
            try:
                self._dir.rmdir()
            except OSError:
                pass

    def __del__(self):
        try:
            self.close()
        except (OSError, AttributeError):
            pass


class LazyTable:
    """A whole-movie table read from a :class:`FrameTables` with a finishing step per chunk.

    Parameters
    ----------
    store : FrameTables
        The per-frame tables.
    finish : callable, optional
        ``finish(chunk) -> chunk``: columns added once the whole movie is known (for example
        P-gp positivity once the gate is calibrated). Must work row by row, so that finishing
        chunks and joining them equals finishing the joined table.
    """

    def __init__(self, store: FrameTables, finish: Callable[[pd.DataFrame], pd.DataFrame] | None):
        self.store = store
        self.finish = finish or (lambda t: t)

    def __len__(self) -> int:
        return len(self.store)

    def chunks(self, rows: int = 100_000) -> Iterator[pd.DataFrame]:
        """The finished table, ``rows`` rows at a time."""
        got = False
        for chunk in self.store.chunks(rows):
            got = True
            yield self.finish(chunk)
        if not got:
            yield self.finish(self.store.empty())

    def to_frame(self) -> pd.DataFrame:
        """The whole finished table."""
        return concat_tables(list(self.chunks()), self.finish(self.store.empty()))
