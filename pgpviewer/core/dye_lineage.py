"""Identity dye passed from a cell to its daughters: the population check across divisions.

Each division halves an identity dye. In low light a recipient's daughter carrying half its
mother's dye can fall below a frame's bright/dim split and be called a donor on its own
evidence, although it is plainly the same recipient (its P-gp says nothing: it may have acquired
P-gp). :func:`keep_diluted_daughters` gives such a daughter its parent's population when it
still carries at least :data:`DILUTED_SHARE` of the dye that made the parent what it is; a
daughter of a wrongly linked division carries no such share and keeps its own call.

The dye levels compared are medians over the parent's last and the daughter's first
:data:`DILUTION_FRAMES` frames (:class:`DyeEnds`), computed from a whole table
(:meth:`DyeEnds.from_table`) or accumulated a frame at a time (:class:`DyeEndsStream`, for
movies whose tables stay on disk).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

#: One division halves the dye: a quarter allows for noise and a second division.
DILUTED_SHARE = 0.25
#: Frames whose median dye level is compared (the parent's last, the daughter's first).
DILUTION_FRAMES = 3
#: Population → the identity dye that marks it.
DYE_OF = {"recipient": "recipient", "donor": "donor"}


@dataclass
class DyeEnds:
    """Per track: first frame, and median dye signal of its first and last frames, per dye.

    Attributes
    ----------
    start : dict of int to int
        Track id → first frame.
    heads, tails : dict of str to dict of int to float
        Dye role → track id → median ``<role>_signal`` over the track's first / last
        :data:`DILUTION_FRAMES` frames (NaN values skipped).
    """

    start: dict = field(default_factory=dict)
    heads: dict = field(default_factory=dict)
    tails: dict = field(default_factory=dict)

    @classmethod
    def from_table(cls, feats: pd.DataFrame, roles: Mapping[str, int]) -> DyeEnds:
        """From a table of all frames (``track_id``, ``frame``, ``<role>_signal``)."""
        by_track = feats.sort_values(["track_id", "frame"], kind="stable").groupby("track_id")
        out = cls(start=by_track["frame"].min().to_dict())
        for role in set(DYE_OF.values()):
            col = f"{role}_signal"
            if role in roles and col in feats:
                head = by_track.head(DILUTION_FRAMES).groupby("track_id")[col].median()
                tail = by_track.tail(DILUTION_FRAMES).groupby("track_id")[col].median()
                out.heads[role], out.tails[role] = head.to_dict(), tail.to_dict()
        return out


class DyeEndsStream:
    """:class:`DyeEnds` from cells given a frame at a time (frames in increasing order); keeps
    :data:`DILUTION_FRAMES` values per track and dye, so memory does not grow with frames.

    Parameters
    ----------
    n_tracks : int
        Track ids are ``1 … n_tracks``.
    roles : iterable of str
        The identity dyes mapped (``recipient`` and/or ``donor``).
    """

    def __init__(self, n_tracks: int, roles):
        k, n = n_tracks + 1, DILUTION_FRAMES
        self.roles = [r for r in DYE_OF.values() if r in set(roles)]
        self.start = np.full(k, -1, np.int64)
        self.seen = np.zeros(k, np.int64)
        self.head = {r: np.full((k, n), np.nan) for r in self.roles}
        self.tail = {r: np.full((k, n), np.nan) for r in self.roles}

    def add(self, track: np.ndarray, frame: int, signals: Mapping[str, np.ndarray]) -> None:
        """Add one frame's cells: their track ids and ``signals[role]`` per dye."""
        track = np.asarray(track, np.int64)
        if track.size == 0:
            return
        new = self.start[track] < 0
        self.start[track[new]] = frame
        slot = self.seen[track]
        for r in self.roles:
            v = np.asarray(signals[r], np.float64)
            first = slot < DILUTION_FRAMES
            self.head[r][track[first], slot[first]] = v[first]
            self.tail[r][track, slot % DILUTION_FRAMES] = v
        self.seen[track] += 1

    def result(self) -> DyeEnds:
        """The :class:`DyeEnds` of the cells added."""
        ids = np.flatnonzero(self.start >= 0)
        keys = ids.tolist()
        out = DyeEnds(start=dict(zip(keys, self.start[ids].tolist(), strict=True)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows give NaN
            for r in self.roles:
                head = np.nanmedian(self.head[r][ids], axis=1).tolist()
                tail = np.nanmedian(self.tail[r][ids], axis=1).tolist()
                out.heads[r] = dict(zip(keys, head, strict=True))
                out.tails[r] = dict(zip(keys, tail, strict=True))
        return out


def keep_diluted_daughters(ends: DyeEnds, parents: dict, final: dict, basis: dict) -> None:
    """Give a daughter its parent's population when it carries at least
    :data:`DILUTED_SHARE` of the parent's marking dye (see the module docstring).

    Parameters
    ----------
    ends : DyeEnds
    parents : dict of int to int
        Track id → parent track id.
    final, basis : dict
        Track id → population and its basis; changed in place (basis ``"inherited"``),
        parents before daughters.
    """
    for tid in sorted(parents, key=lambda t: ends.start.get(t, np.inf)):
        parent = parents[tid]
        ppop, own = final.get(parent), final.get(tid)
        dye = DYE_OF.get(ppop)
        if dye not in ends.heads or own is None or own == ppop:
            continue
        p_dye = float(ends.tails[dye].get(parent, np.nan))
        d_dye = float(ends.heads[dye].get(tid, np.nan))
        if np.isfinite(p_dye) and np.isfinite(d_dye) and p_dye > 0 and (
            d_dye >= DILUTED_SHARE * p_dye
        ):
            final[tid], basis[tid] = ppop, "inherited"
