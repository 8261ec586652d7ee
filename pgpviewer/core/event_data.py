"""What :func:`~pgpviewer.core.events.detect_events` reads, from a table or frame by frame.

Finding events needs, for every row, only the track, frame, P-gp score and positivity (to build
each track's observation sequence, :class:`~pgpviewer.core.event_runs.Track`); everything else
(positions, contacts, puncta, nearest donors) is read for the few rows and frames around each
event. Two sources give the same answers:

- :class:`TableEvents`: a cells table in memory (the ``detect_events`` API);
- :class:`StoreEvents`: per-frame tables (:class:`~pgpviewer.core.tablestore.FrameTables`, on
  disk for a long movie), read one frame at a time: memory holds the per-track observation
  sequences, not the movie's table.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping

import numpy as np
import pandas as pd

from pgpviewer.core.columns import flag_column, numeric_column
from pgpviewer.core.event_runs import Track, infer_gate
from pgpviewer.core.event_source import SourceContext, frames_of, spots_of
from pgpviewer.core.tablestore import FrameTables

__all__ = ["StoreEvents", "TableEvents", "make_tracks", "track_population"]

PUNCTA_WINDOW = 3  # frames at each end of a track for puncta_gained
_ROW_FIELDS = ("frame", "label", "track_id", "pgp_score", "touching_donor", "centroid_y",
               "centroid_x", "nearest_donor_track_id", "nearest_donor_distance_px")


def track_population(cells: pd.DataFrame) -> pd.Series:
    """Population per track: the most frequent value (ties: alphabetical).

    Parameters
    ----------
    cells : DataFrame
        ``track_id`` and ``population`` per row.

    Returns
    -------
    Series
        Population indexed by track id.
    """
    counts = (
        cells.assign(population=cells["population"].fillna("unknown").astype(str))
        .groupby(["track_id", "population"], sort=True)
        .size()
        .reset_index(name="n")
    )
    return _most_frequent(counts)


def _most_frequent(counts: pd.DataFrame) -> pd.Series:
    counts = counts.sort_values(["track_id", "n", "population"], ascending=[True, False, True],
                                kind="stable").drop_duplicates("track_id")
    return pd.Series(counts["population"].to_numpy(), index=counts["track_id"].astype(np.int64))


def make_tracks(tid, frame, positive, score, parent, pop: pd.Series) -> dict[int, Track]:
    """:class:`Track` records from per-row columns (rows in any order).

    Parameters
    ----------
    tid, frame : ndarray of int
        Track id and frame per row.
    positive : ndarray of bool
        ``pgp_positive`` per row.
    score : ndarray of float or None
        ``pgp_score`` per row (NaN: not an observation); None: every row is an observation.
    parent : ndarray of float or dict
        Parent track id per row (a track's first finite value in frame order counts), or a
        dict track id → parent track id.
    pop : Series
        Population by track id (:func:`track_population`).

    Returns
    -------
    dict of int to Track
        With the lineage (``parent``, ``children``) and ``status`` (``no_event`` for
        recipients, else ``not_recipient``) set; non-recipients keep no observations.
    """
    if len(tid) == 0:
        return {}
    valid = np.isfinite(score) if score is not None else np.ones(len(tid), bool)
    order = np.lexsort((frame, tid))
    cut = np.flatnonzero(np.diff(tid[order])) + 1
    tracks: dict[int, Track] = {}
    for rows in np.split(order, cut):
        t = int(tid[rows[0]])
        if isinstance(parent, dict):
            p = parent.get(t)
        else:
            par = parent[rows]
            par = par[np.isfinite(par)]
            p = int(par[0]) if len(par) else None
        v = valid[rows]
        fr = frame[rows]
        if pop.get(t) == "recipient":
            obs = slice(None) if v.all() else v  # (all observed: the frames themselves)
            tracks[t] = Track(
                tid=t, parent=p, rows=rows, frames=fr, obs_frames=fr[obs],
                obs_pos=positive[rows][v], given_parent=p,
                obs_score=None if score is None else score[rows][v],
            )
        else:  # observations of other tracks are never read (no lineage, no runs)
            tracks[t] = Track(
                tid=t, parent=p, rows=rows, frames=fr, obs_frames=np.empty(0, fr.dtype),
                obs_pos=np.empty(0, bool), given_parent=p,
                obs_score=None if score is None else np.empty(0),
            )
            tracks[t].status = "not_recipient"
    # lineage only through recipient parents present in the table that start earlier (which
    # also rules out cycles in hand-edited tables)
    for t in tracks.values():
        if t.parent is not None and (
            t.parent not in tracks or tracks[t.parent].status == "not_recipient"
            or t.status == "not_recipient"
            or tracks[t.parent].frames[0] >= t.frames[0]
        ):
            t.parent = None
        if t.parent is not None:
            tracks[t.parent].children.append(t.tid)
    return tracks


def donor_contacts(contacts, cells, donor_tracks) -> dict[tuple[int, int], list]:
    """Donors touching each cell.

    Parameters
    ----------
    contacts : DataFrame or None
        ``frame``, ``label_a``, ``label_b``, ``border_px``.
    cells : DataFrame
        ``frame``, ``label``, ``track_id``.
    donor_tracks : set of int
        Track ids of donors.

    Returns
    -------
    dict
        (frame, label) → [(donor track, shared border), ...], longest border first.
    """
    if contacts is None or len(contacts) == 0 or not donor_tracks:
        return {}
    frame = contacts["frame"].to_numpy(np.int64)
    la = contacts["label_a"].to_numpy(np.int64)
    lb = contacts["label_b"].to_numpy(np.int64)
    border = pd.to_numeric(contacts["border_px"], errors="coerce").fillna(0.0).to_numpy()
    c_frame = cells["frame"].to_numpy(np.int64)
    c_label = cells["label"].to_numpy(np.int64)
    c_track = cells["track_id"].to_numpy(np.int64)
    is_donor = np.isin(c_track, np.fromiter(donor_tracks, np.int64, len(donor_tracks)))
    c_frame, c_label, c_track = c_frame[is_donor], c_label[is_donor], c_track[is_donor]
    # both directions of every contact; the other cell's (frame, label) looked up among donors
    f2, me, other = np.concatenate([frame, frame]), np.concatenate([la, lb]), np.concatenate(
        [lb, la])
    b2 = np.concatenate([border, border])
    span = int(max(other.max(initial=0), c_label.max(initial=0))) + 1
    keys = c_frame * span + c_label
    order = np.argsort(keys, kind="stable")
    keys, tracks = keys[order], c_track[order]
    want = f2 * span + other
    pos = np.minimum(np.searchsorted(keys, want), max(len(keys) - 1, 0))
    hit = (keys[pos] == want) if len(keys) else np.zeros(len(want), bool)
    f2, me, b2, donor = f2[hit], me[hit], b2[hit], tracks[pos[hit]]
    # one border per donor (its longest); longest first, ties -> smaller track id (reproducible)
    rank = np.lexsort((donor, -b2.astype(np.float64), me, f2))
    f2, me, b2, donor = f2[rank], me[rank], b2[rank], donor[rank]
    pair = (f2 * span + me) * (int(donor.max(initial=0)) + 1) + donor
    first = np.zeros(len(f2), bool)
    first[np.unique(pair, return_index=True)[1]] = True  # first = longest border of each
    out: dict[tuple[int, int], list] = {}
    for f, m_, d, bd in zip(f2[first].tolist(), me[first].tolist(), donor[first].tolist(),
                            b2[first].tolist(), strict=True):
        out.setdefault((f, m_), []).append((d, bd))
    return out


def _row_columns(cells: pd.DataFrame) -> dict[str, np.ndarray]:
    """The per-row columns the event rows read, as arrays (absent: NaN / False)."""
    return {
        "frame": cells["frame"].astype(np.int64).to_numpy(),
        "label": cells["label"].astype(np.int64).to_numpy(),
        "track_id": cells["track_id"].astype(np.int64).to_numpy(),
        "pgp_score": numeric_column(cells, "pgp_score"),
        "touching_donor": flag_column(cells, "touching_donor"),
        "centroid_y": numeric_column(cells, "centroid_y"),
        "centroid_x": numeric_column(cells, "centroid_x"),
        "nearest_donor_track_id": numeric_column(cells, "nearest_donor_track_id"),
        "nearest_donor_distance_px": numeric_column(cells, "nearest_donor_distance_px"),
    }


def _source_context(cells_columns, spots_columns, donor_tracks, params):
    """Whether the puncta can trace sources (as ``detect_events`` decides it)."""
    return (
        spots_columns is not None and bool(donor_tracks)
        and (params.trace_vesicles or params.contact_source == "puncta")
        and {"frame", "y", "x", "label"} <= set(spots_columns)
    )


class TableEvents:
    """Event input from a cells table in memory (rows with a track id, fresh index)."""

    def __init__(self, cells: pd.DataFrame, contacts=None, spots=None):
        self.cells, self.contacts, self.spots = cells, contacts, spots
        self.has_score = "pgp_score" in cells.columns
        self.population = track_population(cells)
        self._cols = _row_columns(cells)
        self.labels = self._cols["label"]
        self._puncta = (numeric_column(cells, "pgp_puncta") if "pgp_puncta" in cells.columns
                        else None)

    def tracks(self) -> dict[int, Track]:
        c = self.cells
        score = (pd.to_numeric(c["pgp_score"], errors="coerce").to_numpy(float)
                 if self.has_score else None)
        parent = (pd.to_numeric(c["parent_track_id"], errors="coerce").to_numpy(float)
                  if "parent_track_id" in c.columns else np.full(len(c), np.nan))
        return make_tracks(
            c["track_id"].astype(np.int64).to_numpy(), c["frame"].astype(np.int64).to_numpy(),
            c["pgp_positive"].fillna(False).astype(bool).to_numpy(), score, parent,
            self.population)

    def infer_gate(self) -> float | None:
        return infer_gate(self.cells)

    def row(self, r: int) -> dict:
        """The event-relevant values of row ``r``."""
        return {k: v[r] for k, v in self._cols.items()}

    def frame_rows(self, f: int) -> dict[str, np.ndarray]:
        """Track id and centroid of every row of frame ``f``, in table order."""
        sel = self._cols["frame"] == f
        return {k: self._cols[k][sel] for k in ("track_id", "centroid_y", "centroid_x")}

    def donor_contacts(self, donor_tracks) -> Mapping:
        return donor_contacts(self.contacts, self.cells, donor_tracks)

    def source_context(self, donor_tracks, params) -> SourceContext | None:
        cols = None if self.spots is None else self.spots.columns
        if not _source_context(self.cells.columns, cols, donor_tracks, params):
            return None
        return SourceContext(self.cells, self.spots, donor_tracks, params.vesicle_min_snr,
                             params.vesicle_path_tolerance_px)

    def puncta_ends(self, t: Track):
        """``pgp_puncta`` of the first and last (up to) 3 rows of a track, None without it."""
        if self._puncta is None:
            return None
        k = min(PUNCTA_WINDOW, len(t.rows))
        return self._puncta[t.rows[:k]], self._puncta[t.rows[-k:]]


class _Lazy(Mapping):
    """A mapping frame → value whose values are made when first asked for (a few kept)."""

    def __init__(self, keys: list[int], make: Callable[[int], object], keep: int = 16):
        self._keys, self._set, self._make = keys, set(keys), make
        self._cache: OrderedDict = OrderedDict()
        self._keep = keep

    def __getitem__(self, k):
        if k not in self._set:
            raise KeyError(k)
        if k in self._cache:
            self._cache.move_to_end(k)
            return self._cache[k]
        v = self._cache[k] = self._make(k)
        if len(self._cache) > self._keep:
            self._cache.popitem(last=False)
        return v

    def __contains__(self, k) -> bool:
        return k in self._set

    def __iter__(self) -> Iterator[int]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


class _Labels:
    """``labels[r]`` of the rows of a :class:`StoreEvents`."""

    def __init__(self, data: StoreEvents):
        self._data = data

    def __getitem__(self, r):
        return self._data.value(int(r), "label")


class StoreEvents:
    """Event input from per-frame tables, read one frame at a time.

    Parameters
    ----------
    cells : FrameTables
        One cells table per frame (frames in increasing order), with the columns of
        :class:`TableEvents`.
    contacts, spots : FrameTables, optional
        Contacts and puncta, one table per frame.
    finish : callable, optional
        Applied to each cells table when read (e.g. adds ``pgp_positive``).
    """

    def __init__(self, cells: FrameTables, contacts: FrameTables | None = None,
                 spots: FrameTables | None = None, finish=None):
        self._cells, self._finish = cells, finish or (lambda t: t)
        self._contacts, self._spots = contacts, spots
        self._cache: OrderedDict = OrderedDict()
        self.columns = list(self._finish(cells.empty()).columns)
        self.has_score = "pgp_score" in self.columns
        self.labels = _Labels(self)
        self._build()

    def _part(self, i: int) -> pd.DataFrame:
        if i in self._cache:
            self._cache.move_to_end(i)
            return self._cache[i]
        part = self._finish(self._cells.part(i))
        part = part[pd.to_numeric(part["track_id"], errors="coerce").notna()].reset_index(
            drop=True)
        cols = _row_columns(part)
        self._cache[i] = (part, cols)
        if len(self._cache) > 8:
            self._cache.popitem(last=False)
        return self._cache[i]

    def _build(self) -> None:
        """One pass: per-row track, frame, score and positivity; per-track population counts,
        parent and puncta at both ends; where each frame's rows are."""
        total = len(self._cells)  # (rows without a track are left out: at most this many)
        tid, frame = np.empty(total, np.int32), np.empty(total, np.int32)
        pos, score = np.empty(total, bool), np.empty(total if self.has_score else 0)
        counts: dict = {}
        parent: dict[int, int] = {}
        first: dict[int, list] = {}
        last: dict[int, list] = {}
        starts, frames = [0], []
        has_puncta = "pgp_puncta" in self.columns
        for i in range(self._cells.n_parts):
            part, _ = self._part(i)
            t = part["track_id"].astype(np.int64).to_numpy()
            a, b = starts[-1], starts[-1] + len(t)
            tid[a:b] = t
            frame[a:b] = part["frame"].astype(np.int64).to_numpy()
            pos[a:b] = part["pgp_positive"].fillna(False).astype(bool).to_numpy()
            if self.has_score:
                score[a:b] = pd.to_numeric(part["pgp_score"], errors="coerce").to_numpy(float)
            pop = part["population"].fillna("unknown").astype(str).to_numpy()
            par = (pd.to_numeric(part["parent_track_id"], errors="coerce").to_numpy(float)
                   if "parent_track_id" in part.columns else np.full(len(t), np.nan))
            pun = numeric_column(part, "pgp_puncta") if has_puncta else None
            for k, (a, p) in enumerate(zip(t.tolist(), pop.tolist(), strict=True)):
                counts[(a, p)] = counts.get((a, p), 0) + 1
                if a not in parent and np.isfinite(par[k]):
                    parent[a] = int(par[k])
                if pun is not None:
                    f = first.setdefault(a, [])
                    if len(f) < PUNCTA_WINDOW:
                        f.append(pun[k])
                    lst = last.setdefault(a, [])
                    lst.append(pun[k])
                    if len(lst) > PUNCTA_WINDOW:
                        lst.pop(0)
            starts.append(starts[-1] + len(t))
            frames.append(int(part["frame"].iloc[0]) if len(part) else None)
        n = starts[-1]
        self._tid, self._frame, self._pos = tid[:n], frame[:n], pos[:n]
        self._score = score[:n] if self.has_score else None
        c = pd.DataFrame([(a, p, n) for (a, p), n in counts.items()],
                         columns=["track_id", "population", "n"])
        self.population = _most_frequent(c.sort_values(["track_id", "population"],
                                                        kind="stable"))
        self._parent = parent
        self._ends = (first, last) if has_puncta else None
        self._starts = np.array(starts, np.int64)
        self._frames = frames
        self._part_of = {f: i for i, f in enumerate(frames) if f is not None}
        self.n_rows = int(self._starts[-1])

    def tracks(self) -> dict[int, Track]:
        """The :class:`Track` records (the per-row columns are dropped afterwards)."""
        out = make_tracks(self._tid, self._frame, self._pos, self._score, self._parent,
                          self.population)
        del self._tid, self._frame, self._pos, self._score
        for t in out.values():  # own int32 copies: the whole-movie sort order is freed
            t.rows = t.rows.astype(np.int32)
        return out

    def infer_gate(self) -> float | None:
        raise NotImplementedError("give the gate: StoreEvents does not keep every score")

    def _locate(self, r: int) -> tuple[dict, int]:
        """The columns of the frame holding row ``r`` and the row's index in them."""
        i = int(np.searchsorted(self._starts, r, side="right")) - 1
        return self._part(i)[1], r - int(self._starts[i])

    def row(self, r: int) -> dict:
        cols, k = self._locate(r)
        return {name: v[k] for name, v in cols.items()}

    def value(self, r: int, name: str):
        """One column of row ``r`` (:meth:`row` without the other columns)."""
        cols, k = self._locate(r)
        return cols[name][k]

    def frame_rows(self, f: int) -> dict[str, np.ndarray]:
        i = self._part_of.get(f)
        if i is None:
            return {k: np.empty(0) for k in ("track_id", "centroid_y", "centroid_x")}
        _, cols = self._part(i)
        return {k: cols[k] for k in ("track_id", "centroid_y", "centroid_x")}

    def donor_contacts(self, donor_tracks) -> Mapping:
        if self._contacts is None or not donor_tracks:
            return {}
        where = {}
        for i in range(self._contacts.n_parts):
            head = self._contacts.part(i)
            if len(head):
                where[int(head["frame"].iloc[0])] = i

        def make(f):
            i = self._part_of.get(f)
            cells = self._part(i)[0] if i is not None else None
            if cells is None:
                return {}
            return donor_contacts(self._contacts.part(where[f]), cells, donor_tracks)

        frames = _Lazy(sorted(where), make)
        return _ByFrame(frames)

    def source_context(self, donor_tracks, params) -> SourceContext | None:
        cols = None if self._spots is None else list(self._spots.empty().columns)
        if not _source_context(self.columns, cols, donor_tracks, params):
            return None
        spot_part = {}
        for i in range(self._spots.n_parts):
            p = self._spots.part(i)
            for f in np.unique(p["frame"].astype(np.int64).to_numpy()).tolist():
                spot_part.setdefault(int(f), []).append(i)
        frames = _Lazy(sorted(self._part_of),
                       lambda f: frames_of(self._part(self._part_of[f])[0], donor_tracks)[f])

        def spots(f):
            p = pd.concat([self._spots.part(i) for i in spot_part[f]], ignore_index=True)
            return spots_of(p[p["frame"].astype(np.int64) == f])[f]

        return SourceContext.from_mappings(frames, _Lazy(sorted(spot_part), spots),
                                           params.vesicle_min_snr,
                                           params.vesicle_path_tolerance_px)

    def puncta_ends(self, t: Track):
        if self._ends is None:
            return None
        return np.array(self._ends[0][t.tid]), np.array(self._ends[1][t.tid])


class _ByFrame(Mapping):
    """(frame, label) → donor contacts, read a frame at a time."""

    def __init__(self, frames: _Lazy):
        self._frames = frames

    def __getitem__(self, key):
        return self._frames[key[0]][key]

    def get(self, key, default=None):
        if key[0] not in self._frames:
            return default
        return self._frames[key[0]].get(key, default)

    def __iter__(self):
        raise TypeError("not iterable")

    def __len__(self) -> int:
        return len(self._frames)
