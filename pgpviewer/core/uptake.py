"""Uptake counts per frame and the acquisition / Kaplan–Meier "not yet acquired" curves.

Per frame (``summary.csv``): cells, donors, recipients, recipients P-gp positive, their
fraction, new and cumulative transfer events and the puncta counted inside recipients.

A recipient counts as **P-gp positive** in a frame when its lineage has acquired P-gp by then
(``tracks.status`` ``positive_at_start``, or ``event`` with ``acquired_frame`` ≤ frame, own or
inherited from the mother), so single-frame blips and gate noise are not counted, consistent
with the events and the curves. The raw per-frame gate result (every frame above the gate,
blips included; also shows a loss of P-gp) is in the extra columns
``n_recipients_positive_raw`` and ``fraction_recipients_positive_raw``. Caveat: a recipient that
turns positive within the last ``min_persistence_frames - 1`` frames of its track is not
(yet) counted, as its acquisition is unconfirmed.

Curves (``curves.csv``), one row per analysed frame. The subjects are recipient **cells** (tracks)
that are not yet acquired when first seen, counted with delayed entry (left truncation):

- a track enters the risk set at its ``first_frame`` if its lineage has not acquired P-gp by
  then (status ``no_event``, or ``event`` with the onset in this track); tracks that are
  ``positive_at_start`` or inherit an acquisition from their mother never enter;
- it leaves at its ``acquired_frame`` (an acquisition, counted in that frame) or, without one, at
  its ``last_frame`` (censored: it left the field, divided — its daughters enter the risk set in
  the next frame — or the movie ended).

So ``at_risk`` in a frame is the number of recipient cells present and not yet acquired, a
division replaces one subject by two, and the product-limit estimate
``S(t) = Π_{s ≤ t} (1 − d(s) / n(s))`` is the fraction of recipient cells still negative.
``acquired`` is the cumulative number of acquisitions (events). The 95 % interval uses
Greenwood's variance on the log–log scale,
``S^{exp(±1.96 · sqrt(Σ d / (n (n − d))) / log S)}``, clipped to [0, 1]; it is ``[1, 1]`` before
the first acquisition and undefined (NaN) once ``S`` reaches 0.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from pgpviewer.core.columns import flag_column

__all__ = [
    "CURVE_COLUMNS", "SUMMARY_COLUMNS", "kaplan_meier", "uptake_summary", "uptake_summary_frames",
]

#: Columns of ``summary.csv`` in contract order.
SUMMARY_COLUMNS = [
    "frame", "time_s", "n_cells", "n_donors", "n_recipients", "n_recipients_positive",
    "fraction_recipients_positive", "new_events", "cumulative_events", "puncta_in_recipients",
    "n_recipients_positive_raw", "fraction_recipients_positive_raw",
]
#: Columns of ``curves.csv`` in contract order.
CURVE_COLUMNS = [
    "time_s", "frame", "at_risk", "acquired", "km_not_acquired", "km_ci_low", "km_ci_high",
]

_Z95 = 1.959963984540054


def uptake_summary(
    cells: pd.DataFrame,
    events: pd.DataFrame,
    tracks: pd.DataFrame,
    *,
    frame_interval_s: float | None,
    frames: range,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-frame uptake counts and the acquisition / Kaplan–Meier curves.

    Parameters
    ----------
    cells : DataFrame
        One row per cell per frame with ``frame``, ``population``, ``track_id`` and
        ``pgp_positive``; ``pgp_puncta`` is summed over recipients when present.
    events : DataFrame
        From :func:`~pgpviewer.core.events.detect_events` (``frame`` used).
    tracks : DataFrame
        From :func:`~pgpviewer.core.events.detect_events` (``track_id``, ``population``,
        ``first_frame``, ``last_frame``, ``status``, ``acquired_frame``).
    frame_interval_s : float or None
        Seconds between frames; ``time_s = frame * frame_interval_s``, NaN when None.
    frames : range
        The analysed frames; one output row each, also for frames without cells.

    Returns
    -------
    summary : DataFrame
        Columns :data:`SUMMARY_COLUMNS`, one row per frame in ``frames``
        (``fraction_recipients_positive`` NaN in frames without recipients).
    curves : DataFrame
        Columns :data:`CURVE_COLUMNS`, one row per frame in ``frames``.

    Examples
    --------
    >>> import pandas as pd
    >>> cells = pd.DataFrame({"frame": [0, 0, 1, 1], "track_id": [1, 2, 1, 2],
    ...                       "population": ["recipient", "donor"] * 2,
    ...                       "pgp_positive": [False, True, True, True],
    ...                       "pgp_puncta": [0, 3, 1, 2]})
    >>> events = pd.DataFrame({"frame": [1]})
    >>> tracks = pd.DataFrame({"track_id": [1, 2], "population": ["recipient", "donor"],
    ...                        "first_frame": [0, 0], "last_frame": [1, 1],
    ...                        "status": ["event", "not_recipient"], "acquired_frame": [1, None]})
    >>> summary, curves = uptake_summary(cells, events, tracks, frame_interval_s=60.0,
    ...                                  frames=range(2))
    >>> summary[["frame", "time_s", "n_recipients_positive", "cumulative_events"]]
       frame  time_s  n_recipients_positive  cumulative_events
    0      0     0.0                      0                  0
    1      1    60.0                      1                  1
    >>> curves[["frame", "at_risk", "acquired", "km_not_acquired"]]
       frame  at_risk  acquired  km_not_acquired
    0      0        1         0              1.0
    1      1        1         1              0.0
    """
    fr = np.arange(frames.start, frames.stop, frames.step, dtype=np.int64)
    counts = _frame_counts(cells, _by_track(tracks), fr, "pgp_puncta" in cells.columns)
    return _tables(counts, events, tracks, fr, frame_interval_s)


def uptake_summary_frames(
    parts: Iterable[pd.DataFrame],
    events: pd.DataFrame,
    tracks: pd.DataFrame,
    *,
    frame_interval_s: float | None,
    frames: range,
    has_puncta: bool,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`uptake_summary` of a cells table given one frame at a time.

    Parameters
    ----------
    parts : iterable of DataFrame
        The cells table as per-frame tables (each holds one frame, or is empty).
    events, tracks, frame_interval_s, frames
        As for :func:`uptake_summary`.
    has_puncta : bool
        Whether the cells table has ``pgp_puncta``.

    Returns
    -------
    summary, curves : DataFrame
        Equal to :func:`uptake_summary` of the joined table.
    """
    fr = np.arange(frames.start, frames.stop, frames.step, dtype=np.int64)
    at = {f: i for i, f in enumerate(fr.tolist())}
    by_track = _by_track(tracks)
    counts = {k: np.zeros(len(fr), np.int64) for k in _COUNTS}
    counts["puncta"] = np.zeros(len(fr)) if has_puncta else None
    for part in parts:
        if len(part) == 0:
            continue
        f = int(part["frame"].iloc[0])
        if f not in at:
            continue
        one = _frame_counts(part, by_track, np.array([f], np.int64), has_puncta)
        for k, v in one.items():
            if v is not None:
                counts[k][at[f]] = v[0]
    return _tables(counts, events, tracks, fr, frame_interval_s)


_COUNTS = ("n_cells", "n_donors", "n_rec", "n_pos", "n_raw")


def _by_track(tracks: pd.DataFrame) -> pd.DataFrame | None:
    return tracks.set_index("track_id") if len(tracks) else None


def _frame_counts(cells, by_track, fr, has_puncta) -> dict:
    """Per frame of ``fr``: cells, donors, recipients, recipients acquired and positive (raw)
    and puncta in recipients (None without ``pgp_puncta``)."""
    f = cells["frame"].astype(np.int64).to_numpy() if len(cells) else np.empty(0, np.int64)
    pop = cells["population"].astype(str).to_numpy() if len(cells) else np.empty(0, str)
    pos = flag_column(cells, "pgp_positive") if len(cells) else np.empty(0, bool)
    rec = pop == "recipient"
    puncta = (
        pd.to_numeric(cells["pgp_puncta"], errors="coerce").fillna(0).to_numpy(float)
        if has_puncta else None
    )

    def per_frame(mask: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        s = pd.Series(weights[mask] if weights is not None else 1, index=f[mask])
        return s.groupby(level=0).sum().reindex(fr, fill_value=0).to_numpy()

    acquired = rec & _acquired_rows(cells, by_track)
    return {
        "n_cells": per_frame(np.ones(len(f), bool)).astype(np.int64),
        "n_donors": per_frame(pop == "donor").astype(np.int64),
        "n_rec": per_frame(rec).astype(np.int64),
        "n_pos": per_frame(acquired).astype(np.int64),
        "n_raw": per_frame(rec & pos).astype(np.int64),
        "puncta": per_frame(rec, puncta) if puncta is not None else None,
    }


def _tables(counts, events, tracks, fr, frame_interval_s):
    time_s = fr * float(frame_interval_s) if frame_interval_s else np.full(len(fr), np.nan)
    n_rec, n_pos, n_raw = counts["n_rec"], counts["n_pos"], counts["n_raw"]
    ev_frames = events["frame"].astype(np.int64).to_numpy() if len(events) else np.empty(0, int)
    new = pd.Series(1, index=ev_frames).groupby(level=0).sum().reindex(fr, fill_value=0)
    new = new.to_numpy().astype(np.int64)
    puncta = counts["puncta"]
    summary = pd.DataFrame(
        {
            "frame": fr,
            "time_s": time_s,
            "n_cells": counts["n_cells"],
            "n_donors": counts["n_donors"],
            "n_recipients": n_rec,
            "n_recipients_positive": n_pos,
            "fraction_recipients_positive": np.where(n_rec > 0, n_pos / np.maximum(n_rec, 1),
                                                     np.nan),
            "new_events": new,
            "cumulative_events": np.cumsum(new),
            "puncta_in_recipients": puncta if puncta is not None else np.full(len(fr), np.nan),
            "n_recipients_positive_raw": n_raw,
            "fraction_recipients_positive_raw": np.where(
                n_rec > 0, n_raw / np.maximum(n_rec, 1), np.nan
            ),
        }
    )

    entry, exit_, event = _km_subjects(tracks)
    curves = kaplan_meier(entry, exit_, event, fr)
    curves.insert(0, "time_s", time_s)
    return summary[SUMMARY_COLUMNS], curves[CURVE_COLUMNS]


def _acquired_rows(cells: pd.DataFrame, t: pd.DataFrame | None) -> np.ndarray:
    """Per cell row: its lineage has acquired P-gp at or before this frame (``t``: the tracks
    indexed by track id)."""
    if len(cells) == 0 or t is None or len(t) == 0:
        return np.zeros(len(cells), bool)
    tid = pd.to_numeric(cells["track_id"], errors="coerce")
    status = tid.map(t["status"]).fillna("").to_numpy()
    acq = tid.map(pd.to_numeric(t["acquired_frame"], errors="coerce")).to_numpy(float)
    f = cells["frame"].to_numpy(float)
    with np.errstate(invalid="ignore"):
        after = np.where(np.isfinite(acq), f >= acq, False)
    return (status == "positive_at_start") | ((status == "event") & after)


def _km_subjects(tracks: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if len(tracks) == 0:
        e = np.empty(0, np.int64)
        return e, e, np.empty(0, bool)
    t = tracks[tracks["population"] == "recipient"]
    acq = pd.to_numeric(t["acquired_frame"], errors="coerce")
    first = t["first_frame"].astype(np.int64)
    own_event = (t["status"] == "event") & acq.notna() & (acq >= first)
    subject = (t["status"] == "no_event") | own_event
    t, acq, first, own_event = t[subject], acq[subject], first[subject], own_event[subject]
    exit_ = np.where(own_event, acq.fillna(0).to_numpy(), t["last_frame"].to_numpy())
    return first.to_numpy(np.int64), exit_.astype(np.int64), own_event.to_numpy(bool)


def kaplan_meier(
    entry: np.ndarray, exit_: np.ndarray, event: np.ndarray, frames: np.ndarray
) -> pd.DataFrame:
    """Product-limit estimate with delayed entry, evaluated at every frame.

    Parameters
    ----------
    entry, exit_ : ndarray of int, shape (N,)
        First and last frame each subject is at risk (inclusive).
    event : ndarray of bool, shape (N,)
        True when the subject is acquired at ``exit_``; False when censored there.
    frames : ndarray of int, shape (F,)
        Frames at which to report.

    Returns
    -------
    DataFrame
        ``frame, at_risk, acquired, km_not_acquired, km_ci_low, km_ci_high`` (F rows);
        ``acquired`` counts acquisitions up to and including the frame.

    Examples
    --------
    >>> import numpy as np
    >>> km = kaplan_meier(np.array([0, 0, 0, 0]), np.array([1, 2, 3, 3]),
    ...                   np.array([True, False, True, False]), np.arange(4))
    >>> km[["frame", "at_risk", "acquired", "km_not_acquired"]]
       frame  at_risk  acquired  km_not_acquired
    0      0        4         0            1.000
    1      1        4         1            0.750
    2      2        3         1            0.750
    3      3        2         2            0.375
    """
    entry = np.asarray(entry, np.int64)
    exit_ = np.asarray(exit_, np.int64)
    event = np.asarray(event, bool)
    frames = np.asarray(frames, np.int64)
    se_, sx_ = np.sort(entry), np.sort(exit_)
    at_risk = (np.searchsorted(se_, frames, side="right")
               - np.searchsorted(sx_, frames, side="left")).astype(np.int64)
    ev_exit = np.sort(exit_[event])
    d = (np.searchsorted(ev_exit, frames, side="right")
         - np.searchsorted(ev_exit, frames, side="left")).astype(np.int64)
    surv = np.ones(len(frames))
    var = np.zeros(len(frames))
    s, v = 1.0, 0.0
    for k in range(len(frames)):
        n, dk = at_risk[k], d[k]
        if n > 0 and dk > 0:
            s *= 1.0 - dk / n
            v = v + dk / (n * (n - dk)) if n > dk else np.inf
        surv[k], var[k] = s, v
    with np.errstate(divide="ignore", invalid="ignore"):
        log_s = np.log(surv)
        se = np.sqrt(var) / np.abs(log_s)
        low = surv ** np.exp(_Z95 * se)
        high = surv ** np.exp(-_Z95 * se)
    one = surv >= 1.0
    low[one], high[one] = 1.0, 1.0
    zero = surv <= 0.0
    low[zero], high[zero] = np.nan, np.nan
    return pd.DataFrame(
        {
            "frame": frames,
            "at_risk": at_risk,
            "acquired": np.cumsum(d),
            "km_not_acquired": surv,
            "km_ci_low": np.clip(low, 0.0, 1.0),
            "km_ci_high": np.clip(high, 0.0, 1.0),
        }
    )
