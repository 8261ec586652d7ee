"""Transfer events: recipient lineages that switch from P-gp negative to persistently positive.

Definitions (SCIENCE.md item 6), made precise here:

**Observations.** A recipient's observations are its rows with a finite ``pgp_score`` (rows with
a missing score are skipped: they neither start nor break a positive run). When the table has no
``pgp_score`` column, every row is an observation.

**Positive state** (two-level rule, ``hysteresis_noise_sds`` = k > 0, the default). A cell whose
baseline sits at the gate crosses it back and forth with measurement noise, and a cell that
acquires little P-gp may rise to about the gate only; a single threshold then makes false runs
and late or early onsets. So the state of each observation is decided on ``pgp_score`` with
margins from the within-cell noise σ_w: the robust SD (1.4826 × MAD / √2) of the frame-to-frame
change of recipients' scores over consecutive observations both at or below the gate
(:func:`~pgpviewer.core.event_runs.within_cell_noise_sd`; much smaller than the cell-to-cell
spread the gate is calibrated on). The rule applies when the cells' own baselines spread more
than that noise, σ_b > σ_w with σ_b² = σ² − σ_w² and σ the robust SD of negative recipients'
scores (:func:`~pgpviewer.core.event_runs.baseline_fraction`): only then does a negative cell
sit near the gate for many frames; when the spread is mostly frame noise the gate is itself a
noise threshold and persistence removes its crossings. Margins Δ_gate = Δ_rise = k × σ_w
(around the gate, and above a cell's own baseline). A lineage path's
*baseline* b is the median of its last three negative observations. Along the path:

- a negative cell **enters** the positive state at an observation above
  ``max(gate + Δ_gate, b + Δ_rise)`` (clearly above the gate and clearly above its own
  baseline; at the first observation of the lineage, without a baseline, above
  ``gate + Δ_gate``);
- it **stays** positive while its score is above ``max(gate − Δ_gate, b + Δ_rise)`` (b taken
  before the rise; ``gate − Δ_gate`` for a run from the first observation): it does not drop
  out for dipping just under the gate, and a spike does not leave a cell that sits just under
  the gate positive;
- the run's **onset** is where the rise began: the earliest observation i in this track since
  its last positive observation with every score from i to the entry above (median of the
  three negative observations before i) + Δ_rise. So a cell that rose from a low baseline to
  about the gate is dated to its step, not to the frame its noise first took it over the
  gate, and a cell hovering at the gate is dated to its real rise, not to a noise crossing.

With k = 3 a negative cell sitting at the gate enters by noise in ~0.1 % of frames (normal
noise). The gate is the one ``pgp_positive`` was computed with (``gate`` argument), else the
largest score of a non-positive row. Without a gate (``pgp_positive`` is not
``pgp_score > gate``, or no score), with fewer than 30 noise pairs, with σ_b ≤ σ_w, or with
k = 0, positive means ``pgp_positive`` (the single-threshold rule of parameter files of
version 1).
``pgp_positive`` itself, the gate and the raw per-frame counts of :mod:`pgpviewer.core.uptake`
are unchanged.

**Lineage.** A daughter continues its mother's history: the observation sequence of a track is
its ancestors' observations followed by its own (only ancestors that are recipients count; a
recipient whose parent is not a recipient starts a new lineage). A lineage branches at every
division, so a positive run that starts in a mother continues in each daughter separately.

**Runs.** A positive run is a maximal sequence of consecutive positive observations along one
path of the lineage. Its length is counted in frames, from its first to its last positive
observation (a missed frame inside a run counts). A run is *confirmed* when it lasts at least
``min_persistence_frames`` on at least one path through the lineage; it is a *blip* when every
path returns to negative before that; otherwise (some path ends, by leaving the field or at the
end of the movie, while still positive and too short) it is *unconfirmed*. With the two-level
rule a run is counted from its entry (the cell must stay clearly positive that long); its first
frame, the event frame below, is its onset (the start of the rise).

**Status of a recipient track** (``tracks.status``):

- ``positive_at_start``: the first observation of the lineage is positive and that run is not a
  blip (confirmed or unconfirmed). Acquired before it was seen; never an event, not at risk.
- ``event``: the lineage's first confirmed run that starts after a negative observation starts
  in this track; its onset is the **event frame** (``acquired_frame``). One
  ``events`` row is written, for this track only.
- Daughters inherit: a track whose ancestor is ``event`` or ``positive_at_start`` gets the same
  status and ``acquired_frame`` (which then precedes its ``first_frame``) and no event of its
  own, whatever its later observations — acquisition is a property of the lineage.
- ``no_event``: none of the above; this includes a run cut short by the end of the track
  (unconfirmed runs are not events: an event must be seen to persist).
- Non-recipient tracks are ``not_recipient``.

**Source donor.** Contact events, with ``contact_source = "longest_border"`` (SCIENCE.md's
definition): the donor track touching the recipient at the event frame with the longest shared
border (``contacts``); if there is none, the donor with the longest border in the most recent
look-back frame with a donor contact (``contact_lookback_frames``). With ``contact_source =
"puncta"`` (the default) and P-gp puncta given (``spots``): among the donors touching the
recipient in that same frame, the one whose shared border lies nearest the recipient's new
puncta at the onset, weighed against border length (contact transfer deposits P-gp at the
contact site; :mod:`pgpviewer.core.contact_source`); without such puncta, the longest-border
donor as above.
Remote events, when P-gp puncta are given (``spots``) and ``trace_vesicles`` is on: the donor
that released the arriving vesicle, traced back from the recipient's new punctum along the
vesicle's path or direction (:mod:`pgpviewer.core.event_source`; none when the vesicle came
from no donor). Otherwise (no puncta, or no punctum in the recipient around the onset) the
nearest donor (``nearest_donor_track_id``) if ``nearest_donor_distance_px <=
donor_search_distance_px``; else none.

**Mode.** ``contact`` when the recipient lineage touches a donor (``touching_donor`` or a
contact with a donor) at the event frame or in the ``contact_lookback_frames`` frames before,
else ``remote``. Exception (``weak_contact_border_px`` = B > 0, puncta given): when the most
recent frame with a donor contact has every shared border at most B px long and every new punctum
of the recipient around the onset lies far from every touching donor
(:func:`~pgpviewer.core.contact_source.far_from_contact`), the masks touching is taken as an
artefact (true cells a few pixels apart segment as touching, most often along a short border),
and the event is ``remote``, with a remote event's source.

**Scores.** ``pgp_score_before`` = median of the last (up to) three observed scores of the
lineage before the event frame; ``pgp_score_after`` = median of the observed scores of the
recipient track in the persistence window ``[frame, frame + min_persistence_frames - 1]``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pgpviewer.core.contact_source import contact_source, far_from_contact
from pgpviewer.core.event_data import StoreEvents, TableEvents
from pgpviewer.core.event_runs import (
    Track,
    apply_hysteresis,
    baseline_fraction,
    classify_runs,
    within_cell_noise_sd,
)
from pgpviewer.core.event_source import remote_source
from pgpviewer.core.params import EventParams

__all__ = ["EVENT_COLUMNS", "TRACK_COLUMNS", "detect_events", "events_from"]

#: Columns of ``events.csv`` in contract order.
EVENT_COLUMNS = [
    "event_id", "recipient_track_id", "frame", "time_s", "centroid_y", "centroid_x",
    "donor_track_id", "mode", "pgp_score_before", "pgp_score_after",
]
#: Columns of ``tracks.csv`` in contract order.
TRACK_COLUMNS = [
    "track_id", "parent_track_id", "population", "first_frame", "last_frame", "n_frames",
    "status", "acquired_frame", "puncta_gained",
]

_BEFORE_OBS = 3  # observations before the onset for pgp_score_before


def detect_events(
    cells: pd.DataFrame,
    contacts: pd.DataFrame | None = None,
    params: EventParams | None = None,
    *,
    frame_interval_s: float | None = None,
    spots: pd.DataFrame | None = None,
    gate: float | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Find transfer events and classify every track.

    Parameters
    ----------
    cells : DataFrame
        One row per cell per frame with ``frame``, ``label``, ``track_id``, ``population``
        (``'donor'|'recipient'|'unknown'``), ``pgp_positive`` (bool), and optionally
        ``parent_track_id`` (nullable), ``pgp_score`` (float, NaN = not measured),
        ``pgp_puncta``, ``centroid_y``, ``centroid_x``, ``touching_donor`` (bool),
        ``nearest_donor_track_id`` (nullable) and ``nearest_donor_distance_px``.
    contacts : DataFrame, optional
        Pairs of cells sharing a border: ``frame``, ``label_a``, ``label_b``, ``border_px``
        (labels as in ``cells`` for that frame).
    params : EventParams, optional
        Persistence, contact look-back and donor search distance; defaults to ``EventParams()``.
    frame_interval_s : float, optional
        Seconds between frames; fills ``time_s = frame * frame_interval_s`` (NaN when None).
    spots : DataFrame, optional
        P-gp puncta (``frame``, ``y``, ``x``, ``label``), e.g. ``PipelineResult.puncta``. With
        them (and ``params.trace_vesicles``) the source of a remote event is traced from the
        vesicle's path (:func:`~pgpviewer.core.event_source.remote_source`), and (with
        ``params.contact_source = "puncta"``) the source of a contact event is the touching
        donor whose border lies nearest the recipient's new puncta
        (:func:`~pgpviewer.core.contact_source.contact_source`).
    gate : float, optional
        The positivity gate ``pgp_positive`` was computed with (``pgp_score > gate``), for the
        two-level rule (``params.hysteresis_noise_sds``). None: the largest score of a
        non-positive row (:func:`~pgpviewer.core.event_runs.infer_gate`); NaN (a gate that
        could not be calibrated): the single-threshold rule.

    Returns
    -------
    events : DataFrame
        One row per event, columns :data:`EVENT_COLUMNS` (``event_id`` from 1 in order of frame,
        then recipient track).
    tracks : DataFrame
        One row per track, columns :data:`TRACK_COLUMNS` (``acquired_frame`` and
        ``parent_track_id`` nullable Int64; ``puncta_gained`` = median puncta in the last three
        frames of the track minus the median in its first three, NaN without ``pgp_puncta``).

    Examples
    --------
    A recipient (track 1) turns positive at frame 2 while touching a donor (track 2):

    >>> import pandas as pd
    >>> cells = pd.DataFrame({
    ...     "frame": [0, 1, 2, 3, 4] * 2,
    ...     "label": [1] * 5 + [2] * 5,
    ...     "track_id": [1] * 5 + [2] * 5,
    ...     "population": ["recipient"] * 5 + ["donor"] * 5,
    ...     "centroid_y": [10.0] * 10, "centroid_x": [10.0] * 5 + [30.0] * 5,
    ...     "pgp_score": [0.1, 0.2, 2.0, 2.1, 2.2] + [5.0] * 5,
    ...     "pgp_positive": [False, False, True, True, True] + [True] * 5,
    ...     "touching_donor": [True] * 5 + [False] * 5,
    ... })
    >>> contacts = pd.DataFrame({"frame": range(5), "label_a": 1, "label_b": 2,
    ...                          "border_px": 12})
    >>> events, tracks = detect_events(cells, contacts)
    >>> events[["recipient_track_id", "frame", "donor_track_id", "mode"]]
       recipient_track_id  frame  donor_track_id     mode
    0                   1      2               2  contact
    >>> tracks[["track_id", "status", "acquired_frame"]]
       track_id         status  acquired_frame
    0         1          event               2
    1         2  not_recipient            <NA>
    """
    params = params or EventParams()
    need = {"frame", "label", "track_id", "population", "pgp_positive"}
    missing = need - set(cells.columns)
    if missing:
        raise ValueError(f"cells lack column(s) {sorted(missing)}")
    cells = cells[pd.to_numeric(cells["track_id"], errors="coerce").notna()].reset_index(
        drop=True
    )
    if len(cells) == 0:
        return _empty_events(), _empty_tracks()
    return events_from(TableEvents(cells, contacts, spots), params,
                       frame_interval_s=frame_interval_s, gate=gate)


def events_from(
    data: TableEvents | StoreEvents, params: EventParams, *, frame_interval_s: float | None,
    gate: float | None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`detect_events` on its input as a :class:`~pgpviewer.core.event_data.TableEvents`
    or, read a frame at a time, a :class:`~pgpviewer.core.event_data.StoreEvents` (which needs
    the ``gate``).

    Parameters
    ----------
    data : TableEvents or StoreEvents
        The cells (rows with a track id), contacts and puncta.
    params : EventParams
        As for :func:`detect_events`.
    frame_interval_s : float, optional
        As for :func:`detect_events`.
    gate : float, optional
        As for :func:`detect_events`.

    Returns
    -------
    events, tracks : DataFrame
        As :func:`detect_events` returns them.
    """
    tracks = data.tracks()
    if not tracks:
        return _empty_events(), _empty_tracks()
    if params.hysteresis_noise_sds > 0 and data.has_score:
        gate = data.infer_gate() if gate is None else float(gate)
        sd = within_cell_noise_sd(tracks, gate) if gate is not None and np.isfinite(gate) else None
        if sd is not None:
            # baselines spread wider than the frame noise (σ_b > σ_w, i.e. σ_b / σ > 1 / √2)
            if baseline_fraction(tracks, gate, sd) > np.sqrt(0.5):
                margin = params.hysteresis_noise_sds * sd
                apply_hysteresis(tracks, gate, margin, margin)
    classify_runs(tracks, params.min_persistence_frames)
    events = _event_rows(data, tracks, params, frame_interval_s)
    return events, _track_table(data, tracks)


# --------------------------------------------------------------------------------------------
# event rows


def _event_rows(data, tracks, params, frame_interval_s) -> pd.DataFrame:
    owners = sorted(
        (t for t in tracks.values() if t.onset_owner), key=lambda t: (t.acquired, t.tid)
    )
    if not owners:
        return _empty_events()
    population = data.population
    donor_tracks = set(population.index[population.to_numpy() == "donor"].tolist())
    donor_contacts = data.donor_contacts(donor_tracks)
    ctx = data.source_context(donor_tracks, params)
    trace = ctx if params.trace_vesicles else None
    by_puncta = ctx if params.contact_source == "puncta" else None
    label = data.labels

    rows = []
    lb = params.contact_lookback_frames
    for t in owners:
        f0 = int(t.acquired)
        lineage = _lineage_rows(tracks, t.tid)  # frame -> row, this track and its ancestors
        r0 = lineage[f0]
        row0 = data.row(r0)
        # contact in [f0 - lookback, f0], most recent first
        donor, mode = None, "remote"
        for f in range(f0, f0 - lb - 1, -1):
            r = lineage.get(f)
            if r is None:
                continue
            here = donor_contacts.get((f, int(label[r])))
            if here or data.row(r)["touching_donor"]:
                mode = "contact"
                if here and _weak_contact(ctx, lineage, label, f0, f, here, params):
                    mode = "remote"  # masks touching, P-gp arriving elsewhere
                    break
                if here:
                    donor = here[0][0]
                    if by_puncta is not None:  # the puncta may say which touching donor gave
                        found = contact_source(by_puncta, lineage, label, f0, dict(here), f,
                                               in_donor=params.contact_puncta_in_donor)
                        donor = donor if found is None else found
                    break
        traced = (
            remote_source(trace, lineage, label, f0, params)
            if mode == "remote" and trace is not None else None
        )
        if traced is not None:
            donor = traced or None  # 0: the vesicle came from no donor
        elif donor is None:
            donor = _nearest_donor(row0, data.frame_rows(int(row0["frame"])), donor_tracks,
                                   params.donor_search_distance_px)
        prev = []  # the last (up to) three observed scores before the onset
        for f in sorted((f for f in lineage if f < f0), reverse=True):
            s = data.row(lineage[f])["pgp_score"]
            if np.isfinite(s):
                prev.insert(0, s)
                if len(prev) == _BEFORE_OBS:
                    break
        win = [data.row(r)["pgp_score"] for r, f in zip(t.rows, t.frames, strict=True)
               if f0 <= f < f0 + params.min_persistence_frames]
        win = [s for s in win if np.isfinite(s)]
        rows.append(
            {
                "recipient_track_id": t.tid,
                "frame": f0,
                "time_s": f0 * frame_interval_s if frame_interval_s else np.nan,
                "centroid_y": row0["centroid_y"],
                "centroid_x": row0["centroid_x"],
                "donor_track_id": donor,
                "mode": mode,
                "pgp_score_before": float(np.median(prev)) if prev else np.nan,
                "pgp_score_after": float(np.median(win)) if win else np.nan,
            }
        )
    ev = pd.DataFrame(rows)
    ev.insert(0, "event_id", np.arange(1, len(ev) + 1, dtype=np.int64))
    ev["donor_track_id"] = pd.array(ev["donor_track_id"].tolist(), dtype="Int64")
    ev["recipient_track_id"] = ev["recipient_track_id"].astype(np.int64)
    ev["frame"] = ev["frame"].astype(np.int64)
    ev["time_s"] = ev["time_s"].astype(float)
    return ev[EVENT_COLUMNS]


def _weak_contact(ctx, lineage, label, f0: int, f: int, here: list, params) -> bool:
    """A short mask contact in frame ``f`` far from the recipient's new puncta (see Mode)."""
    limit = params.weak_contact_border_px
    if ctx is None or limit <= 0 or max(b for _, b in here) > limit:
        return False
    return far_from_contact(ctx, lineage, label, f0, [d for d, _ in here], f)


def _lineage_rows(tracks: dict[int, Track], tid: int) -> dict[int, int]:
    out: dict[int, int] = {}
    t: Track | None = tracks[tid]
    while t is not None:
        for r, f in zip(t.rows.tolist(), t.frames.tolist(), strict=True):
            out.setdefault(int(f), int(r))
        t = tracks[t.parent] if t.parent is not None else None
    return out


def _nearest_donor(row0, same_frame, donor_tracks, limit):
    near, d = row0["nearest_donor_track_id"], row0["nearest_donor_distance_px"]
    if np.isfinite(near):
        if np.isfinite(d) and d <= limit:
            return int(near)
        if np.isfinite(d):
            return None
    # fall back to centroid distance to donors in the same frame
    tid, cy, cx = same_frame["track_id"], same_frame["centroid_y"], same_frame["centroid_x"]
    sel = np.isin(tid, list(donor_tracks))
    if not sel.any() or not np.isfinite(row0["centroid_y"]):
        return None
    d = np.hypot(cy[sel] - row0["centroid_y"], cx[sel] - row0["centroid_x"])
    k = int(np.nanargmin(d)) if np.isfinite(d).any() else None
    if k is None or d[k] > limit:
        return None
    return int(tid[sel][k])


# --------------------------------------------------------------------------------------------
# track table


def _track_table(data, tracks: dict[int, Track]) -> pd.DataFrame:
    pop = data.population
    recs = []
    for t in sorted(tracks.values(), key=lambda t: t.tid):
        gained = np.nan
        ends = data.puncta_ends(t)
        if ends is not None:
            first, last = ends
            if np.isfinite(first).any() and np.isfinite(last).any():
                gained = float(np.nanmedian(last) - np.nanmedian(first))
        recs.append(
            {
                "track_id": t.tid,
                "parent_track_id": t.given_parent,
                "population": pop.get(t.tid, "unknown"),
                "first_frame": int(t.frames[0]),
                "last_frame": int(t.frames[-1]),
                "n_frames": len(t.rows),
                "status": t.status,
                "acquired_frame": t.acquired,
                "puncta_gained": gained,
            }
        )
    out = pd.DataFrame(recs)
    out["track_id"] = out["track_id"].astype(np.int64)
    out["parent_track_id"] = pd.array(out["parent_track_id"].tolist(), dtype="Int64")
    out["acquired_frame"] = pd.array(out["acquired_frame"].tolist(), dtype="Int64")
    out["puncta_gained"] = out["puncta_gained"].astype(float)
    for c in ("first_frame", "last_frame", "n_frames"):
        out[c] = out[c].astype(np.int64)
    return out[TRACK_COLUMNS]


def _empty_events() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "event_id": pd.Series([], dtype=np.int64),
            "recipient_track_id": pd.Series([], dtype=np.int64),
            "frame": pd.Series([], dtype=np.int64),
            "time_s": pd.Series([], dtype=float),
            "centroid_y": pd.Series([], dtype=float),
            "centroid_x": pd.Series([], dtype=float),
            "donor_track_id": pd.Series([], dtype="Int64"),
            "mode": pd.Series([], dtype=object),
            "pgp_score_before": pd.Series([], dtype=float),
            "pgp_score_after": pd.Series([], dtype=float),
        }
    )


def _empty_tracks() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "track_id": pd.Series([], dtype=np.int64),
            "parent_track_id": pd.Series([], dtype="Int64"),
            "population": pd.Series([], dtype=object),
            "first_frame": pd.Series([], dtype=np.int64),
            "last_frame": pd.Series([], dtype=np.int64),
            "n_frames": pd.Series([], dtype=np.int64),
            "status": pd.Series([], dtype=object),
            "acquired_frame": pd.Series([], dtype="Int64"),
            "puncta_gained": pd.Series([], dtype=float),
        }
    )
