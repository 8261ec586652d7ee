"""Populations: donor / recipient / unknown, decided per cell track.

Per frame, each cell gets a call from its background-corrected signals (from
:func:`~pgpviewer.core.measurements.frame_features`); per track, the calls are voted on.

**Per-frame split** of one signal (:func:`split_bright_dim`): the signal is floored at twice the
channel's background noise and log-transformed; Otsu's split of the log values gives two groups
and the threshold is placed in the widest gap between their medians (populations differ by a
gap in dye level; Otsu alone tends to cut a broad group in half). When the dim group carries no
dye (its median within 3 noise SDs of the background), the threshold is lowered to 8 of that
group's robust SDs above its median: cells whose dye was halved by one or more divisions are
still dye-bright although the widest gap may lie above them. Identity signals are the means of
each cell's core (:data:`~pgpviewer.core.measurements.CORE_SIGNAL_ROLES`), so light blurred in
from a bright neighbour does not make a dye-negative cell look positive. The split is accepted
when the bright group's median is at least ``min_fold_change`` times the dim group's. Otherwise the
frame is taken as one population and each cell is bright when its signal exceeds 3 × the
background noise. Because the threshold is found again in every frame, dye dilution by division
and bleaching (which dim all cells together) do not move cells from one class to the other.

**Identity dyes** (method ``identity``, or ``auto`` with a ``donor`` and/or ``recipient`` channel):
with a recipient dye, dye-bright cells are recipients and dye-dim cells donors; with a donor dye,
the reverse; with both, a cell bright in exactly one dye takes that population, bright in both the
one with the larger log-margin above its threshold, bright in neither is unknown.

**P-gp in the first frame** (method ``pgp_first_frame``, or ``auto`` without identity channels,
SCIENCE.md): a track is a donor when its cell is P-gp bright (same split on ``pgp_signal``) in the
track's first frame, else a recipient. Tracks that start later with a parent take the parent's
population (a recipient that acquired P-gp is not mistaken for a donor after dividing).

**Per track**: the population with the larger share of the track's decided frames wins when that
share is at least ``min_confidence``, else the track is unknown. A daughter track (with a
``parent_track_id``) whose own evidence is weak — unknown, or fewer than 3 decided frames that
do not all agree at least 1.5-fold away from the threshold — takes its parent's population.
With identity dyes a daughter also takes it when it carries at least a quarter of the dye that
made its parent what it is (each division halves the dye; a halved recipient dye in low light
can fall below a frame's split).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from pgpviewer.core.columns import numeric_column
from pgpviewer.core.dye_lineage import DyeEnds, DyeEndsStream, keep_diluted_daughters
from pgpviewer.core.errors import InputError
from pgpviewer.core.params import ClassificationParams

POPULATIONS = ("donor", "recipient", "unknown")
# A daughter with fewer decided frames than this takes its parent's population.
MIN_OWN_FRAMES = 3
# A short track keeps its own population (against its parent's) when every decided frame agrees
# and the median log-margin from the threshold is at least this (1.5-fold).
_CLEAR_MARGIN = float(np.log(1.5))
# In a frame with one population only, a cell is dye-bright above this many noise SDs.
_UNIMODAL_SNR = 3.0
# Signals are floored at this many noise SDs before the log transform.
_FLOOR_SNR = 2.0
# A dim group whose median is within this many background noise SDs carries no dye...
_NEGATIVE_SNR = 3.0
# ...and a cell more than this many of the group's robust SDs above its median does.
_NEGATIVE_SPREADS = 8.0
# The group's robust SD is taken as at least this fraction of the background noise SD (cell
# means average many pixels, so their spread is well below the pixel noise).
_MIN_SPREAD_SNR = 0.1
_MAD_TO_SD = 1.4826


def _otsu_1d(z: np.ndarray) -> float | None:
    """Exact Otsu threshold of 1-D values (midpoint of the best split), None if no split."""
    z = np.sort(z)
    n = z.size
    if n < 2 or z[0] == z[-1]:
        return None
    cs = np.cumsum(z)
    i = np.arange(1, n)
    w0 = i / n
    mu0 = cs[:-1] / i
    mu1 = (cs[-1] - cs[:-1]) / (n - i)
    between = w0 * (1 - w0) * (mu0 - mu1) ** 2
    between[z[1:] == z[:-1]] = -1.0  # only split between distinct values
    k = int(np.argmax(between))
    return float((z[k] + z[k + 1]) / 2)


def _gap_split(z: np.ndarray) -> float | None:
    """Two-group split: Otsu, then moved to the widest gap between the two groups' medians.

    Otsu's criterion favours balanced groups and can cut a broad group (e.g. recipients whose
    dye varies 4-fold) instead of separating it from a small or tight one (donors at the noise
    floor, with a tail of spill-over from neighbours). The populations are separated by a gap in
    the log signal, so the threshold is placed in the widest gap between the medians of
    Otsu's two groups.
    """
    t = _otsu_1d(z)
    if t is None:
        return None
    z = np.sort(np.asarray(z, dtype=np.float64))
    lo = np.median(z[z <= t])
    hi = np.median(z[z > t])
    sel = z[(z >= lo) & (z <= hi)]
    if sel.size < 2:
        return t
    gaps = np.diff(sel)
    k = int(np.argmax(gaps))
    return float((sel[k] + sel[k + 1]) / 2)


def _negative_ceiling(dim: np.ndarray, noise: float, t: float) -> float:
    """Log threshold just above a dye-negative dim group (``t`` when the group is not one).

    Cells without the dye sit at the background level, give or take spill-over from bright
    neighbours; dye-positive cells can be diluted towards them by divisions (each halves the
    dye), so their lowest members need not be separated from the rest of their population by
    the widest gap. When the dim group is consistent with no dye (median within
    ``_NEGATIVE_SNR`` noise SDs of the background), a cell is dye-bright once it is
    ``_NEGATIVE_SPREADS`` robust SDs of that group above the group's median (and more than
    3 noise SDs above the background).
    """
    if dim.size < 3:
        return t
    med = float(np.median(dim))
    if med > _NEGATIVE_SNR * noise:
        return t
    spread = max(_MAD_TO_SD * float(np.median(np.abs(dim - med))), _MIN_SPREAD_SNR * noise)
    # never below the one-population rule's level (3 noise SDs, above the log floor)
    ceiling = max(med + _NEGATIVE_SPREADS * spread, _UNIMODAL_SNR * noise)
    return float(np.log(ceiling))


def split_bright_dim(
    signal, noise: float = float("nan"), *, min_fold_change: float = 3.0
) -> tuple[np.ndarray, np.ndarray]:
    """Split the cells of one frame into signal-bright and signal-dim.

    Parameters
    ----------
    signal : array-like of float, shape (N,)
        Background-corrected mean signal per cell (NaN: no call).
    noise : float, optional
        Background noise SD of the channel in this frame (floors the signal; decides a frame with
        one population). NaN: the floor is 1 % of the 95th percentile signal.
    min_fold_change : float
        Minimum ratio of the bright to the dim group's median for a two-group split.

    Returns
    -------
    bright : ndarray of bool, shape (N,)
        True for bright cells (False where the signal is NaN).
    margin : ndarray of float, shape (N,)
        Natural-log distance above (positive) or below the threshold (NaN where the signal is).

    Examples
    --------
    >>> bright, margin = split_bright_dim([100, 120, 90, 2, 1, 3], noise=1.0)
    >>> bright.tolist()
    [True, True, True, False, False, False]
    >>> split_bright_dim([100, 120, 90, 80], noise=1.0)[0].tolist()  # one population
    [True, True, True, True]
    """
    s = np.asarray(signal, dtype=np.float64).ravel()
    ok = np.isfinite(s)
    bright = np.zeros(s.shape, bool)
    margin = np.full(s.shape, np.nan)
    if not ok.any():
        return bright, margin
    v = s[ok]
    has_noise = np.isfinite(noise) and noise > 0
    rel_floor = 0.01 * max(float(np.percentile(v, 95)), 0.0)
    floor = max(_FLOOR_SNR * noise if has_noise else rel_floor, rel_floor, 1e-12)
    z = np.log(np.maximum(v, floor))
    t = _gap_split(z)
    accepted = False
    if t is not None:
        hi = z > t
        fold = np.exp(np.median(z[hi]) - np.median(z[~hi]))
        accepted = bool(fold >= min_fold_change)
    if accepted and has_noise:
        t = min(t, _negative_ceiling(v[z <= t], noise, t))
    if not accepted:
        level = _UNIMODAL_SNR * noise if has_noise else floor
        t = float(np.log(max(level, 1e-12)))
    bright[ok] = z > t
    margin[ok] = z - t
    return bright, margin


def resolve_method(roles: Mapping[str, int], params: ClassificationParams) -> str:
    """The classification actually used: ``identity``, ``pgp_first_frame`` or ``none``.

    Raises
    ------
    InputError
        The method needs a channel role that is not mapped.

    Examples
    --------
    >>> resolve_method({"nuclei": 0, "pgp": 1}, ClassificationParams())
    'pgp_first_frame'
    """
    has_identity = "donor" in roles or "recipient" in roles
    if params.method == "identity":
        if not has_identity:
            raise InputError(
                None, "population method 'identity' needs a donor or recipient channel "
                "(map one, or use 'pgp_first_frame')",
            )
        return "identity"
    if params.method == "pgp_first_frame":
        if "pgp" not in roles:
            raise InputError(
                None, "population method 'pgp_first_frame' needs a P-gp channel (map one)"
            )
        return "pgp_first_frame"
    if has_identity:
        return "identity"
    if "pgp" in roles:
        return "pgp_first_frame"
    return "none"


def _noise(frame: pd.DataFrame, role: str) -> float:
    v = numeric_column(frame, f"{role}_noise")
    v = v[np.isfinite(v)]
    return float(v[0]) if v.size else float("nan")


def classify_frame(
    features: pd.DataFrame,
    roles: Mapping[str, int],
    params: ClassificationParams | None = None,
) -> pd.DataFrame:
    """Per-cell population call in one frame (no track vote).

    Parameters
    ----------
    features : DataFrame
        The cells of one frame with ``donor_signal``, ``recipient_signal``, ``pgp_signal`` and
        the matching ``*_noise`` columns (missing columns count as unmapped).
    roles : mapping of str to int
        Channel roles (decides which signals are used, see :func:`resolve_method`).
    params : ClassificationParams, optional

    Returns
    -------
    DataFrame
        Same index as ``features``: ``call`` (donor/recipient/unknown) and ``margin`` (log
        distance of the deciding signal from its threshold; larger is surer). In
        ``pgp_first_frame`` mode the call is "P-gp bright → donor" for every cell of the frame.

    Examples
    --------
    >>> f = pd.DataFrame({"recipient_signal": [50.0, 60.0, 1.0], "recipient_noise": 1.0})
    >>> classify_frame(f, {"recipient": 0})["call"].tolist()
    ['recipient', 'recipient', 'donor']
    """
    params = params or ClassificationParams()
    method = resolve_method(roles, params)
    n = len(features)
    call = np.full(n, "unknown", dtype=object)
    margin = np.full(n, np.nan)
    fold = params.min_fold_change

    def split(role):
        if role not in roles:
            return None
        s = numeric_column(features, f"{role}_signal")
        if not np.isfinite(s).any():
            return None
        return split_bright_dim(s, _noise(features, role), min_fold_change=fold)

    if method == "identity":
        d = split("donor")
        r = split("recipient")
        if d is not None and r is not None:
            d_b, d_m = d
            r_b, r_m = r
            call[d_b & ~r_b] = "donor"
            call[r_b & ~d_b] = "recipient"
            both = d_b & r_b
            call[both & (d_m >= r_m)] = "donor"
            call[both & (d_m < r_m)] = "recipient"
            margin = np.where(call == "donor", d_m, np.where(call == "recipient", r_m, np.nan))
            margin = np.where(both, np.abs(d_m - r_m), margin)
            neither = ~d_b & ~r_b & np.isfinite(d_m) & np.isfinite(r_m)
            margin[neither] = np.nan
        elif r is not None:
            r_b, r_m = r
            ok = np.isfinite(r_m)
            call[ok] = np.where(r_b[ok], "recipient", "donor")
            margin = np.abs(r_m)
        elif d is not None:
            d_b, d_m = d
            ok = np.isfinite(d_m)
            call[ok] = np.where(d_b[ok], "donor", "recipient")
            margin = np.abs(d_m)
    elif method == "pgp_first_frame":
        p = split("pgp")
        if p is not None:
            p_b, p_m = p
            ok = np.isfinite(p_m)
            call[ok] = np.where(p_b[ok], "donor", "recipient")
            margin = np.abs(p_m)
    return pd.DataFrame({"call": call, "margin": margin}, index=features.index)


def classify_cells(
    features: pd.DataFrame,
    roles: Mapping[str, int],
    params: ClassificationParams | None = None,
) -> pd.DataFrame:
    """Decide the population of every cell track.

    Parameters
    ----------
    features : DataFrame
        All frames: ``frame``, ``label``, ``track_id``, ``parent_track_id`` (NaN/NA when none)
        and the signal columns of :func:`~pgpviewer.core.measurements.frame_features`.
    roles : mapping of str to int
        Channel roles.
    params : ClassificationParams, optional
        ``method``, ``min_confidence``, ``min_fold_change``.

    Returns
    -------
    DataFrame
        One row per track, sorted by ``track_id``: ``track_id``, ``population``
        (donor/recipient/unknown), ``population_vote`` (share of the track's decided frames
        that agree with the population; NaN when inherited without own evidence),
        ``population_frames`` (decided frames of the track) and ``population_basis``
        (``identity``, ``pgp_first_frame``, ``inherited`` or ``none``).

    Examples
    --------
    >>> f = pd.DataFrame({
    ...     "frame": [0, 0, 0, 1, 1, 1], "label": [1, 2, 3, 1, 2, 3],
    ...     "track_id": [1, 2, 3, 1, 2, 3], "parent_track_id": [pd.NA] * 6,
    ...     "recipient_signal": [80.0, 2.0, 90.0, 40.0, 1.0, 45.0], "recipient_noise": 1.0})
    >>> classify_cells(f, {"recipient": 0})[["track_id", "population"]].values.tolist()
    [[1, 'recipient'], [2, 'donor'], [3, 'recipient']]
    """
    params = params or ClassificationParams()
    method = resolve_method(roles, params)
    cols = ["track_id", "population", "population_vote", "population_frames",
            "population_basis"]
    if len(features) == 0 or "track_id" not in features:
        return pd.DataFrame({c: [] for c in cols})
    feats = features[features["track_id"].notna()]
    track_ids = np.sort(pd.unique(feats["track_id"]))
    if method == "none":
        return pd.DataFrame({
            "track_id": track_ids, "population": "unknown", "population_vote": np.nan,
            "population_frames": 0, "population_basis": "none",
        })

    calls = pd.concat(
        [classify_frame(g, roles, params) for _, g in feats.groupby("frame", sort=True)]
    ).reindex(feats.index)
    table = pd.DataFrame({
        "track_id": feats["track_id"].to_numpy(),
        "frame": feats["frame"].to_numpy(),
        "call": calls["call"].to_numpy(),
        "margin": calls["margin"].to_numpy(),
    })
    if method == "pgp_first_frame":
        first = table.sort_values(["track_id", "frame"], kind="stable").groupby("track_id").head(1)
        table = first
    decided = table[table["call"] != "unknown"]
    n_donor = decided[decided["call"] == "donor"].groupby("track_id").size()
    n_rec = decided[decided["call"] == "recipient"].groupby("track_id").size()
    n_dec = n_donor.add(n_rec, fill_value=0).reindex(track_ids, fill_value=0).astype(int)
    n_donor = n_donor.reindex(track_ids, fill_value=0)
    margin = decided.groupby("track_id")["margin"].median().reindex(track_ids)
    n_rec = n_rec.reindex(track_ids, fill_value=0)

    parents: dict = {}
    if "parent_track_id" in feats:
        par = feats[["track_id", "parent_track_id"]].dropna().drop_duplicates("track_id")
        parents = dict(zip(par["track_id"], par["parent_track_id"], strict=True))

    starts_late: set = set()
    if method == "pgp_first_frame":
        t0 = feats["frame"].min()
        start = feats.groupby("track_id")["frame"].min()
        starts_late = set(start.index[start > t0])

    ends = DyeEnds.from_table(feats, roles) if method == "identity" and parents else None
    return _resolve_populations(
        track_ids, n_donor, n_rec, n_dec, margin, parents, starts_late, method, params, ends
    )


def _resolve_populations(
    track_ids, n_donor, n_rec, n_dec, margin, parents, starts_late, method, params, ends=None
) -> pd.DataFrame:
    """The per-track vote and inheritance (see :func:`classify_cells`), from per-track counts
    (``n_donor``, ``n_rec``, ``n_dec``: Series by track id; ``margin``: median margin of the
    decided frames, needed for tracks with fewer than ``MIN_OWN_FRAMES`` of them)."""
    own_pop: dict = {}
    own_vote: dict = {}
    for tid in track_ids:
        nd, nr, nt = int(n_donor[tid]), int(n_rec[tid]), int(n_dec[tid])
        if nt == 0:
            own_pop[tid], own_vote[tid] = "unknown", np.nan
            continue
        pop, share = ("donor", nd / nt) if nd >= nr else ("recipient", nr / nt)
        own_vote[tid] = share
        own_pop[tid] = pop if share >= params.min_confidence and nd != nr else "unknown"

    final: dict = {}
    basis: dict = {}

    visiting: set = set()

    def resolve(tid):
        if tid in final:
            return final[tid]
        visiting.add(tid)
        own = own_pop.get(tid, "unknown")
        parent = parents.get(tid)
        if method == "pgp_first_frame":
            weak = own == "unknown" or tid in starts_late
        else:
            few = n_dec.get(tid, 0) < MIN_OWN_FRAMES
            unsure = not (own_vote.get(tid, 0) == 1.0 and margin.get(tid, 0) >= _CLEAR_MARGIN)
            weak = own == "unknown" or (few and unsure)
        pop, why = own, method if own != "unknown" else "none"
        if weak and parent in own_pop and parent not in visiting:
            ppop = resolve(parent)
            if ppop != "unknown":
                pop, why = ppop, "inherited"
        visiting.discard(tid)
        final[tid], basis[tid] = pop, why
        return pop

    for tid in track_ids:
        resolve(tid)
    if ends is not None:
        keep_diluted_daughters(ends, parents, final, basis)
    pops = [final[t] for t in track_ids]
    votes = [
        own_vote[t] if basis[t] != "inherited" else np.nan for t in track_ids
    ]
    return pd.DataFrame({
        "track_id": track_ids,
        "population": pops,
        "population_vote": votes,
        "population_frames": [int(n_dec[t]) for t in track_ids],
        "population_basis": [basis[t] for t in track_ids],
    })


def call_codes(calls) -> np.ndarray:
    """``classify_frame`` calls as small integers.

    Parameters
    ----------
    calls : array-like of str
        ``donor``, ``recipient`` or ``unknown``.

    Returns
    -------
    ndarray of int8
        The index of each call in :data:`POPULATIONS` (0 donor, 1 recipient, 2 unknown).

    Examples
    --------
    >>> call_codes(["recipient", "unknown", "donor"]).tolist()
    [1, 2, 0]
    """
    c = np.asarray(calls, dtype=object)
    return np.where(c == "donor", 0, np.where(c == "recipient", 1, 2)).astype(np.int8)


class TrackVotes:
    """:func:`classify_cells` for a movie given a frame at a time, with tracks already known.

    Per-frame calls (:func:`classify_frame`, as :func:`call_codes`) are added in the order of
    the cells table; only per-track counts are kept (and, for the tracks with fewer than
    ``MIN_OWN_FRAMES`` decided frames, their margins), so memory does not grow with the number
    of frames. :meth:`result` equals ``classify_cells`` of the whole table.

    Parameters
    ----------
    n_tracks : int
        Track ids are ``1 … n_tracks``.
    method : str
        :func:`resolve_method` of the roles and parameters.
    roles : iterable of str
        Channel roles mapped (with ``identity``: the dyes whose signals :meth:`add` takes).
    """

    def __init__(self, n_tracks: int, method: str, roles):
        self.method = method
        self.dyes = DyeEndsStream(n_tracks, roles) if method == "identity" else None
        k = n_tracks + 1
        self.n_calls = np.zeros((k, 2), np.int64)  # decided donor / recipient frames
        self.first_frame = np.full(k, np.iinfo(np.int64).max, np.int64)
        self.margins: list[tuple[int, float]] = []  # first MIN_OWN_FRAMES - 1 per track
        self._n_margins = np.zeros(k, np.int64)
        self.t0: int | None = None

    def add(
        self, track: np.ndarray, frame: int, codes: np.ndarray, margin: np.ndarray,
        signals: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        """Add the cells of one frame, in the order of the cells table.

        Parameters
        ----------
        track : ndarray of int
            Track ids.
        frame : int
            The frame (frames are added in increasing order).
        codes : ndarray of int
            :func:`call_codes` of the cells' :func:`classify_frame` calls.
        margin : ndarray of float
            The calls' margins.
        signals : mapping of str to ndarray, optional
            ``<role>_signal`` of the cells per identity dye mapped (``roles`` of the
            constructor); required with the ``identity`` method and a dye mapped (the daughters'
            dye check, :mod:`~pgpviewer.core.dye_lineage`).

        Raises
        ------
        ValueError
            ``signals`` missing where they are required.
        """
        track = np.asarray(track, np.int64)
        if len(track) == 0:
            return
        if self.dyes is not None and self.dyes.roles:
            if signals is None:
                raise ValueError("identity-dye signals are needed for the daughters' dye check")
            self.dyes.add(track, frame, signals)
        self.t0 = frame if self.t0 is None else min(self.t0, frame)
        new = self.first_frame[track] > frame
        self.first_frame[track[new]] = frame
        if self.method == "pgp_first_frame":  # only each track's first row votes
            _, first = np.unique(track, return_index=True)
            keep = np.zeros(len(track), bool)
            keep[first] = True
            keep &= new
            track, codes, margin = track[keep], codes[keep], margin[keep]
        decided = codes != 2
        for c in (0, 1):
            np.add.at(self.n_calls[:, c], track[decided & (codes == c)], 1)
        want = np.flatnonzero(decided & (self._n_margins[track] < MIN_OWN_FRAMES - 1))
        for i in want.tolist():
            t = int(track[i])
            if self._n_margins[t] < MIN_OWN_FRAMES - 1:
                self._n_margins[t] += 1
                self.margins.append((t, float(margin[i])))

    def result(self, parents: dict, params: ClassificationParams) -> pd.DataFrame:
        """The :func:`classify_cells` table of the cells added.

        Parameters
        ----------
        parents : dict of int to int
            Track id → parent track id (tracks with a parent).
        params : ClassificationParams
            ``min_confidence``.

        Returns
        -------
        DataFrame
            As :func:`classify_cells` returns it.
        """
        track_ids = np.flatnonzero(self.first_frame < np.iinfo(np.int64).max).astype(np.int64)
        cols = ["track_id", "population", "population_vote", "population_frames",
                "population_basis"]
        if len(track_ids) == 0:
            return pd.DataFrame({c: [] for c in cols})
        if self.method == "none":
            return pd.DataFrame({
                "track_id": track_ids, "population": "unknown", "population_vote": np.nan,
                "population_frames": 0, "population_basis": "none",
            })
        n_donor = pd.Series(self.n_calls[track_ids, 0], index=track_ids)
        n_rec = pd.Series(self.n_calls[track_ids, 1], index=track_ids)
        n_dec = (n_donor + n_rec).astype(int)
        few = pd.DataFrame(self.margins, columns=["track_id", "margin"])
        few = few[few["track_id"].map(n_dec) < MIN_OWN_FRAMES]
        margin = few.groupby("track_id")["margin"].median().reindex(track_ids)
        starts_late: set = set()
        if self.method == "pgp_first_frame":
            start = self.first_frame[track_ids]
            starts_late = set(track_ids[start > self.t0].tolist())
        ends = self.dyes.result() if self.dyes is not None and self.dyes.roles else None
        return _resolve_populations(
            track_ids, n_donor, n_rec, n_dec, margin, parents, starts_late, self.method, params,
            ends,
        )
