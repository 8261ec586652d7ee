"""Positive runs of recipient lineages: the two-level (hysteresis) positive state and the run
classification behind :func:`pgpviewer.core.events.detect_events`.

The rules are documented in :mod:`pgpviewer.core.events` (sections *Positive state* and
*Runs*); this module implements them on :class:`Track` records.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = [
    "Track", "apply_hysteresis", "baseline_fraction", "classify_runs", "infer_gate",
    "within_cell_noise_sd",
]

_MAD_TO_SD = 1.4826
_BASELINE_OBS = 3  # negative observations whose median is a cell's own baseline
_MIN_NOISE_PAIRS = 30  # frame-to-frame pairs needed to estimate the within-cell noise


@dataclass
class Track:
    """One track of the cells table and its classification (filled in place)."""

    tid: int
    parent: int | None
    rows: np.ndarray  # row positions in the cells table, frame order
    frames: np.ndarray  # frames of rows
    obs_frames: np.ndarray  # frames of valid observations
    obs_pos: np.ndarray  # bool positive state of valid observations
    obs_score: np.ndarray | None = None  # pgp_score of valid observations (None: no scores)
    rise_onset: dict[int, int] = field(default_factory=dict)  # entry observation -> onset frame
    given_parent: int | None = None  # parent_track_id as given (the lineage may ignore it)
    children: list[int] = field(default_factory=list)
    status: str = "no_event"
    acquired: int | None = None
    onset_owner: bool = False


# --------------------------------------------------------------------------------------------
# the gate and the within-cell noise


def infer_gate(cells: pd.DataFrame) -> float | None:
    """The gate implied by ``pgp_positive = pgp_score > gate``: the largest non-positive score.

    Parameters
    ----------
    cells : DataFrame
        ``pgp_score`` and ``pgp_positive`` per row.

    Returns
    -------
    float or None
        The smallest gate that reproduces ``pgp_positive`` on every scored row; None without
        scores, without a non-positive scored row, or when ``pgp_positive`` is not a threshold
        on ``pgp_score`` (some positive row scores no higher than a negative one).

    Examples
    --------
    >>> infer_gate(pd.DataFrame({"pgp_score": [1.0, 4.0, 9.0],
    ...                          "pgp_positive": [False, False, True]}))
    4.0
    """
    if "pgp_score" not in cells.columns or len(cells) == 0:
        return None
    score = pd.to_numeric(cells["pgp_score"], errors="coerce").to_numpy(float)
    pos = cells["pgp_positive"].fillna(False).astype(bool).to_numpy()
    ok = np.isfinite(score)
    neg = score[ok & ~pos]
    if neg.size == 0:
        return None
    lo = float(neg.max())
    above = score[ok & pos]
    if above.size and float(above.min()) <= lo:
        return None
    return lo


def within_cell_noise_sd(tracks: dict[int, Track], gate: float) -> float | None:
    """Robust SD of a negative recipient's score from one frame to the next.

    Pooled over consecutive observations of the same recipient track that are both at or
    below the gate: ``1.4826 × MAD(differences) / √2`` (a difference of two independent
    readings has √2 times the SD of one; the MAD ignores the rare jumps of a cell that
    acquires P-gp or is mis-segmented).

    Parameters
    ----------
    tracks : dict of int to Track
        Tracks with ``obs_score`` (non-recipients are skipped).
    gate : float
        The positivity gate.

    Returns
    -------
    float or None
        None when fewer than 30 such pairs exist (too few to estimate).
    """
    diffs = []
    for t in tracks.values():
        if t.status == "not_recipient" or t.obs_score is None or len(t.obs_score) < 2:
            continue
        s = t.obs_score
        ok = (s[1:] <= gate) & (s[:-1] <= gate)
        diffs.append(np.diff(s)[ok])
    d = np.concatenate(diffs) if diffs else np.empty(0)
    if d.size < _MIN_NOISE_PAIRS:
        return None
    return float(_MAD_TO_SD * np.median(np.abs(d - np.median(d))) / np.sqrt(2.0))


def baseline_fraction(tracks: dict[int, Track], gate: float, noise_sd: float) -> float:
    """Share of the negative recipients' score spread that is cell-to-cell (``σ_b / σ``).

    ``σ`` = 1.4826 × MAD of all recipient observations at or below the gate, ``σ_b² = σ² −
    σ_w²`` (clipped at 0). The two-level rule is applied only when ``σ_b > σ_w``: it guards
    against cells whose own baseline lies near the gate, which need baselines that differ
    between cells by more than the frame noise; when the spread is mostly frame-to-frame noise
    the gate is itself a noise threshold, persistence removes its crossings, and margins of
    several σ_w would only cut true positives.

    Parameters
    ----------
    tracks : dict of int to Track
        Tracks with ``obs_score``.
    gate : float
        The positivity gate.
    noise_sd : float
        σ_w from :func:`within_cell_noise_sd`.

    Returns
    -------
    float
        In [0, 1]; 0 when the spread cannot be measured.
    """
    vals = [t.obs_score[t.obs_score <= gate] for t in tracks.values()
            if t.status != "not_recipient" and t.obs_score is not None]
    v = np.concatenate(vals) if vals else np.empty(0)
    if v.size == 0:
        return 0.0
    total = _MAD_TO_SD * float(np.median(np.abs(v - np.median(v))))
    if total <= 0:
        return 0.0
    return float(np.sqrt(max(0.0, 1.0 - (noise_sd / total) ** 2)))


# --------------------------------------------------------------------------------------------
# the positive state


def _median(values: list[float]) -> float | None:
    return float(np.median(values[-_BASELINE_OBS:])) if values else None


def apply_hysteresis(
    tracks: dict[int, Track], gate: float, margin: float, rise: float
) -> None:
    """Set ``obs_pos`` of every recipient track by the two-level rule (in place).

    Parameters
    ----------
    tracks : dict of int to Track
        Tracks with ``obs_score`` and the lineage (``parent``, ``children``) set.
    gate : float
        The positivity gate.
    margin : float
        Margin around the gate, Δ_gate.
    rise : float
        Margin above a cell's own baseline, Δ_rise.
    """
    roots = sorted(
        (t for t in tracks.values() if t.status != "not_recipient" and t.parent is None),
        key=lambda t: t.tid,
    )
    # state along a path: (negative scores so far, floor of the current run or None)
    stack: list[tuple[int, list[float], float | None]] = [(t.tid, [], None) for t in roots]
    while stack:
        tid, hist, floor = stack.pop()
        t = tracks[tid]
        hist, floor = _track_states(t, list(hist), floor, gate, margin, rise)
        for c in t.children:
            stack.append((c, hist, floor))


def _track_states(
    t: Track, hist: list[float], floor: float | None, gate: float, margin: float, rise: float
) -> tuple[list[float], float | None]:
    """Positive state of one track's observations, continuing the path's state."""
    s = t.obs_score
    pos = np.zeros(len(s), bool)
    stretch = 0  # first observation of the current negative stretch in this track
    hist0 = list(hist)  # negative scores before that stretch
    for k, v in enumerate(s.tolist()):
        if floor is not None:
            if v > floor:
                pos[k] = True
                continue
            floor, stretch, hist0 = None, k, list(hist)
        b = _median(hist)
        if v <= (gate + margin if b is None else max(gate + margin, b + rise)):
            hist.append(v)
            continue
        # entry: clearly above the gate and the cell's own baseline; the run starts where the
        # rise above the baseline began (never before this track's current negative stretch)
        onset, b_on, low = k, b, v
        for i in range(k - 1, stretch - 1, -1):
            low = min(low, s[i])
            base = _median(hist0 + s[stretch:i].tolist())
            if base is not None and low > base + rise:
                onset, b_on = i, base
        pos[k] = True
        if onset < k:
            t.rise_onset[k] = int(t.obs_frames[onset])
        floor = gate - margin if b_on is None else max(gate - margin, b_on + rise)
    t.obs_pos = pos
    return hist, floor


# --------------------------------------------------------------------------------------------
# runs and statuses


def _reach(tracks: dict[int, Track], tid: int, start: int) -> tuple[int | None, bool]:
    """Follow a positive run from observation ``start`` of track ``tid`` into all descendants.

    Returns the latest frame the run reaches on any path (None if it does not start) and
    whether some path ends (track without children) while still positive.
    """
    t = tracks[tid]
    pos = t.obs_pos
    i = start
    last = None
    while i < len(pos) and pos[i]:
        last = int(t.obs_frames[i])
        i += 1
    if i < len(pos):  # ended by a negative observation
        return last, False
    if not t.children:
        return last, True
    best, open_end = last, False
    for c in t.children:
        r, o = _reach(tracks, c, 0)
        if r is not None and (best is None or r > best):
            best = r
        open_end = open_end or o
    return best, open_end


def classify_runs(tracks: dict[int, Track], persistence: int) -> None:
    """Set status / acquired / onset_owner on every recipient track from ``obs_pos`` (in place).

    Parameters
    ----------
    tracks : dict of int to Track
        Tracks with ``obs_pos`` and the lineage set.
    persistence : int
        ``min_persistence_frames``.
    """
    roots = [t for t in tracks.values() if t.status != "not_recipient" and t.parent is None]
    # state passed to a track: "fresh" (no observation yet on the path), "negative" (last
    # observation negative), "skip" (inside a run that began earlier and was not accepted),
    # or ("inherit", status, frame)
    stack: list[tuple[int, object]] = [(t.tid, "fresh") for t in sorted(roots,
                                                                        key=lambda t: t.tid)]
    while stack:
        tid, state = stack.pop()
        t = tracks[tid]
        if isinstance(state, tuple):
            _, t.status, t.acquired = state
            for c in t.children:
                stack.append((c, state))
            continue
        pos = t.obs_pos
        i = 0
        accepted = None
        while i < len(pos):
            if state == "skip":
                if pos[i]:
                    i += 1
                    continue
                state = "negative"
            if not pos[i]:
                state = "negative"
                i += 1
                continue
            onset = int(t.obs_frames[i])
            reach, open_end = _reach(tracks, tid, i)
            confirmed = reach is not None and reach - onset + 1 >= persistence
            if state == "fresh" and (confirmed or open_end):
                accepted = ("positive_at_start", None)
                break
            if state == "negative" and confirmed:
                accepted = ("event", t.rise_onset.get(i, onset))
                break
            state = "skip"  # a blip or an unconfirmed run: skip to its end
        if accepted is not None:
            t.status, t.acquired = accepted
            t.onset_owner = accepted[0] == "event"
            child_state: object = ("inherit", t.status, t.acquired)
        else:
            child_state = state
        for c in t.children:
            stack.append((c, child_state))
