"""P-gp state of the synthetic co-culture: transfer events, blips, per-cell levels and puncta.

Private helper of :mod:`pgpviewer.core.synthetic`. Works on the geometry already simulated
(:mod:`pgpviewer.core.synthetic_geometry`) so that every decision can look at which cells touch
in which frame, and when each track starts and ends.

Where transferred P-gp appears (:func:`simulate_puncta`). A remote event's first punctum is the
vesicle that travelled from the releasing donor and arrives on the recipient's side facing it.
A contact event (membrane exchange, trogocytosis, short nanotubes across the contact; Noack
2016 saw P-gp-EGFP arrive at contact sites) deposits the recipient's first P-gp at its contact
with the source donor: the onset frame has one punctum more than the cell's usual onset
puncta (the patch handed over, as bright as the arriving vesicle of a remote event), and every
punctum that appears in the recipient in the onset frame and in the next ``_DEPOSIT_FRAMES -
1`` frame(s), while the source donor still touches it, is placed at a point of the shared
border (uniform along it) moved into the recipient by 3–7 px (so never on the 1–2 px rim next
to a donor that the analysis excludes, and not on the recipient's own outer pixel line), nearer
to the source than to any other donor, with ~2 px spread along the border. Later puncta, and
those of a recipient no longer touching its source, appear anywhere in the cell. The source
itself is still drawn among the touching donors with probability ∝ shared border length (more
contact, more transfer); the simulator's event, blip and positivity draws do not depend on
where puncta go.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from pgpviewer.core.synthetic_geometry import FrameGeometry, Geometry, radius_at

_RAMP_START = 0.55  # fraction of the final acquired level already present at the onset frame
_RAMP_TAU = 1.5  # frames
_PUNCTA_SURVIVAL = 0.85  # per frame
_DEPOSIT_FRAMES = 2  # contact events: new puncta of the onset frame and the next one at the contact
_DEPOSIT_DEPTH_PX = (3.0, 7.0)  # distance of a contact deposit from the source donor's mask
_DEPOSIT_SPREAD_PX = 2.0  # SD of a deposit's offset from its point on the shared border


@dataclass
class TransferState:
    """Who is P-gp positive from when, and why."""

    positive_from: dict[int, int] = field(default_factory=dict)  # id -> first positive frame
    kind: dict[int, str] = field(default_factory=dict)  # event|positive_at_start|inherited_*
    acquired_frame: dict[int, int] = field(default_factory=dict)  # own or ancestor's onset
    events: list[dict] = field(default_factory=list)
    transits: list[dict] = field(default_factory=list)  # vesicles of remote events
    blips: set[tuple[int, int]] = field(default_factory=set)  # (frame, id)

    def positive(self, cid: int, frame: int) -> bool:
        start = self.positive_from.get(cid)
        return start is not None and start <= frame


def donor_neighbours(geom: Geometry, adj) -> list[dict[int, list[tuple[int, int]]]]:
    """Per frame: cell id → [(touching donor id, shared border length), ...] (sorted)."""
    out = []
    for a, b, n in adj:
        d: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for x, y, c in zip(a.tolist(), b.tolist(), n.tolist(), strict=True):
            if geom.donor[y]:
                d[x].append((y, c))
            if geom.donor[x]:
                d[y].append((x, c))
        out.append(dict(d))
    return out


def simulate_transfer(geom: Geometry, nbrs, p, rng: np.random.Generator) -> TransferState:
    """Decide positivity at start, contact and remote transfer events, and blips."""
    st = TransferState()
    n_frames = len(geom.frames)
    for f in range(n_frames):
        fr = geom.frames[f]
        for cid in sorted(fr.ids.tolist()):
            if geom.donor[cid]:
                continue
            first = geom.first[cid]
            if first == f:
                parent = int(geom.parent[cid])
                if parent and parent in st.positive_from:
                    st.positive_from[cid] = f
                    st.kind[cid] = "inherited_" + st.kind[parent].removeprefix("inherited_")
                    if parent in st.acquired_frame:
                        st.acquired_frame[cid] = st.acquired_frame[parent]
                elif f == 0 and rng.random() < p.positive_at_start_fraction:
                    st.positive_from[cid] = 0
                    st.kind[cid] = "positive_at_start"
                continue  # never an event on a track's first frame
            if cid in st.positive_from or geom.last[cid] < f + p.min_event_frames - 1:
                continue
            touching = nbrs[f].get(cid, [])
            if touching:
                if rng.random() < p.contact_transfer_prob:
                    donors = np.array([d for d, _ in touching])
                    border = np.array([c for _, c in touching], dtype=float)
                    src = int(rng.choice(donors, p=border / border.sum()))
                    _record(st, cid, f, src, "contact", len(touching))
                continue
            recent = any(nbrs[g].get(cid) for g in (f - 1, f - 2) if g >= first)
            if recent or rng.random() >= p.remote_transfer_rate:
                continue
            src, k = _remote_source(geom, cid, f, p, rng)
            _record(st, cid, f, src, "remote", 0)
            st.transits.append({"recipient_id": cid, "frame": f, "donor_id": src, "k": k})

    for f in range(1, n_frames - 1):
        for cid in sorted(geom.frames[f].ids.tolist()):
            if geom.donor[cid] or st.positive(cid, f + 1) or (f - 1, cid) in st.blips:
                continue
            if geom.first[cid] > f - 1 or geom.last[cid] < f + 1:
                continue
            if rng.random() < p.blip_rate:
                st.blips.add((f, cid))
    return st


def _record(st: TransferState, cid: int, f: int, src: int, mode: str, n_touch: int) -> None:
    st.positive_from[cid] = f
    st.kind[cid] = "event"
    st.acquired_frame[cid] = f
    st.events.append(
        {
            "recipient_id": cid,
            "frame": f,
            "donor_id": src,
            "mode": mode,
            "n_touching_donors": n_touch,
        }
    )


def _remote_source(geom: Geometry, cid: int, f: int, p, rng) -> tuple[int, int]:
    """Releasing donor (0: background vesicle) and vesicle travel time in frames."""
    cur = geom.frames[f]
    i = int(np.flatnonzero(cur.ids == cid)[0])
    prev = geom.frames[f - 1]
    is_donor = geom.donor[prev.ids]
    if rng.random() >= p.background_vesicle_fraction and is_donor.any():
        dist = np.hypot(prev.y[is_donor] - cur.y[i], prev.x[is_donor] - cur.x[i])
        ok = dist <= p.vesicle_range_px
        if ok.any():
            cand = prev.ids[is_donor][ok]
            wts = 1.0 / np.maximum(dist[ok], 10.0)
            src = int(rng.choice(cand, p=wts / wts.sum()))
            k_max = min(3, f - geom.first[src])
            return src, int(rng.integers(1, k_max + 1))
    return 0, int(rng.integers(1, min(3, f) + 1))


# ------------------------------------------------------------------------------------------------
# Per-cell appearance and puncta
# ------------------------------------------------------------------------------------------------


@dataclass
class Appearance:
    """Per-cell (indexed by id) brightness attributes, relative units."""

    pgp_rim: np.ndarray
    pgp_cyto: np.ndarray
    rim_wide: np.ndarray  # bool: 2-px rim instead of 1-px
    puncta_mean: np.ndarray
    puncta_flux: np.ndarray
    rim_only: np.ndarray  # bool (donors whose cytoplasm is ≈ background)
    identity: np.ndarray  # identity dye content (includes dilution by division)
    hoechst: np.ndarray
    calcein: np.ndarray


def draw_appearance(geom: Geometry, st: TransferState, p, rng) -> Appearance:
    n = len(geom.parent)
    app = Appearance(
        pgp_rim=np.zeros(n),
        pgp_cyto=np.zeros(n),
        rim_wide=np.zeros(n, dtype=bool),
        puncta_mean=np.zeros(n),
        puncta_flux=np.zeros(n),
        rim_only=np.zeros(n, dtype=bool),
        identity=np.zeros(n),
        hoechst=np.zeros(n),
        calcein=np.zeros(n),
    )
    modes = {e["recipient_id"]: e["mode"] for e in st.events}
    for cid in range(1, n):
        parent = int(geom.parent[cid])
        if parent:
            jit = rng.uniform(0.85, 1.15, 5)
            app.pgp_rim[cid] = app.pgp_rim[parent] * jit[0]
            app.pgp_cyto[cid] = app.pgp_cyto[parent] * jit[1]
            app.rim_wide[cid] = app.rim_wide[parent]
            app.rim_only[cid] = app.rim_only[parent]
            app.puncta_mean[cid] = app.puncta_mean[parent]
            app.puncta_flux[cid] = app.puncta_flux[parent]
            ratio = geom.dye_dilution[cid] / max(geom.dye_dilution[parent], 1e-9)
            app.identity[cid] = app.identity[parent] * ratio
            app.hoechst[cid] = app.hoechst[parent] * jit[2]
            app.calcein[cid] = app.calcein[parent] * jit[3]
            continue
        app.identity[cid] = rng.lognormal(0.0, 0.3) * geom.dye_dilution[cid]
        app.hoechst[cid] = rng.lognormal(0.0, 0.25)
        app.calcein[cid] = rng.lognormal(0.0, 0.3)
        app.rim_wide[cid] = rng.random() < 0.5
        if geom.donor[cid]:
            app.pgp_rim[cid] = rng.lognormal(0.0, 0.35)
            app.rim_only[cid] = rng.random() < p.rim_only_donor_fraction
            app.pgp_cyto[cid] = app.pgp_rim[cid] * (
                rng.uniform(0.0, 0.03) if app.rim_only[cid] else rng.uniform(0.15, 0.45)
            )
            app.puncta_mean[cid] = p.donor_puncta_mean * rng.uniform(0.4, 1.6)
            if app.rim_only[cid]:
                app.puncta_mean[cid] *= 0.5
            app.puncta_flux[cid] = rng.lognormal(0.0, 0.3)
        else:
            remote = modes.get(cid) == "remote"
            level = p.acquired_level * rng.lognormal(0.0, 0.35)
            app.pgp_rim[cid] = level * (0.6 if remote else 1.0)
            app.pgp_cyto[cid] = level * rng.uniform(0.35, 0.8)
            app.puncta_mean[cid] = p.donor_puncta_mean * (0.8 if remote else 0.5)
            app.puncta_mean[cid] *= rng.uniform(0.6, 1.4)
            app.puncta_flux[cid] = 0.8 * rng.lognormal(0.0, 0.3)
    return app


def pgp_fraction(geom: Geometry, st: TransferState, cid: int, f: int) -> float:
    """Fraction of the cell's final P-gp level present at frame ``f`` (0 for negative cells)."""
    if geom.donor[cid]:
        return 1.0
    if not st.positive(cid, f):
        return 0.0
    kind = st.kind[cid]
    if kind.endswith("positive_at_start"):
        return 1.0
    onset = st.acquired_frame.get(cid, st.positive_from[cid])
    return 1.0 - (1.0 - _RAMP_START) * float(np.exp(-(f - onset) / _RAMP_TAU))


@dataclass
class Puncta:
    frame: list[int] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    x: list[float] = field(default_factory=list)
    z_um: list[float] = field(default_factory=list)
    cell_id: list[int] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)
    flux: list[float] = field(default_factory=list)
    sigma: list[float] = field(default_factory=list)

    def add(self, f, y, x, z, cid, kind, flux, sigma) -> None:
        self.frame.append(f)
        self.y.append(float(y))
        self.x.append(float(x))
        self.z_um.append(float(z))
        self.cell_id.append(int(cid))
        self.kind.append(kind)
        self.flux.append(float(flux))
        self.sigma.append(float(sigma))

    def extend(self, f, ys, xs, zs, cid, kind, fluxes, sigmas) -> None:
        n = len(ys)
        self.frame.extend([f] * n)
        self.y.extend(np.asarray(ys, dtype=float).tolist())
        self.x.extend(np.asarray(xs, dtype=float).tolist())
        self.z_um.extend(np.asarray(zs, dtype=float).tolist())
        self.cell_id.extend([int(cid)] * n)
        self.kind.extend([kind] * n)
        self.flux.extend(np.asarray(fluxes, dtype=float).tolist())
        self.sigma.extend(np.asarray(sigmas, dtype=float).tolist())


def _pixel(y: float, x: float) -> tuple[int, int]:
    """The pixel containing point (y, x) (pixel centres at integer coordinates)."""
    return int(np.floor(y + 0.5)), int(np.floor(x + 0.5))


def _inside_many(lab: np.ndarray, ys: np.ndarray, xs: np.ndarray, cid: int) -> np.ndarray:
    iy = np.floor(ys + 0.5).astype(np.int64)
    ix = np.floor(xs + 0.5).astype(np.int64)
    h, w = lab.shape
    ok = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)
    ok[ok] = lab[iy[ok], ix[ok]] == cid
    return ok


def _random_pixel_of(lab, fr: FrameGeometry, i: int, rng) -> tuple[float, float]:
    """A random interior point (sub-pixel) of cell row ``i``; away from the border if possible."""
    cid = int(fr.ids[i])
    h, w = lab.shape
    reach = int(np.ceil(fr.r[i] * 1.6)) + 2
    y0, x0 = max(int(fr.y[i]) - reach, 0), max(int(fr.x[i]) - reach, 0)
    sub = lab[y0 : min(int(fr.y[i]) + reach + 1, h), x0 : min(int(fr.x[i]) + reach + 1, w)]
    mine = sub == cid
    core = mine.copy()
    core[1:, :] &= mine[:-1, :]
    core[:-1, :] &= mine[1:, :]
    core[:, 1:] &= mine[:, :-1]
    core[:, :-1] &= mine[:, 1:]
    yy, xx = np.nonzero(core if core.any() else mine)
    j = int(rng.integers(len(yy)))
    off = rng.uniform(-0.45, 0.45, 2)
    return y0 + yy[j] + off[0], x0 + xx[j] + off[1]


def simulate_puncta(geom: Geometry, labels, st: TransferState, app: Appearance, p, rng) -> Puncta:
    """Resident puncta (move with their cell), vesicles in transit (remote events) and blips."""
    out = Puncta()
    # per cell: array rows [u, theta, flux, sigma, z]
    resident: dict[int, np.ndarray] = {}
    arrivals = {(t["recipient_id"], t["frame"]): t for t in st.transits}
    # contact events: recipient id -> (onset frame, source donor id)
    deposits = {e["recipient_id"]: (e["frame"], e["donor_id"]) for e in st.events
                if e["mode"] == "contact"}
    transit_by_frame: dict[int, list[tuple]] = defaultdict(list)
    for t in st.transits:
        _plan_transit(geom, t, rng, transit_by_frame, labels.shape[1:], p.puncta_flux)

    for f, fr in enumerate(geom.frames):
        lab = labels[f]
        for i, cid in enumerate(fr.ids.tolist()):
            frac = pgp_fraction(geom, st, cid, f)
            if frac <= 0.0:
                resident.pop(cid, None)
                if (f, cid) in st.blips:
                    y, x = _random_pixel_of(lab, fr, i, rng)
                    flux = p.puncta_flux * 0.8 * rng.lognormal(0.0, 0.3)
                    out.add(f, y, x, rng.uniform(-1.5, 1.5), cid, "blip", flux, 1.2)
                continue
            lam = app.puncta_mean[cid] * frac
            rows = resident.get(cid)
            if rows is None:  # first positive frame of this cell
                new_event = st.kind.get(cid) == "event" and st.positive_from[cid] == f
                n0 = int(rng.poisson(lam * (0.4 if new_event else 1.0)))
                rows = _new_puncta(n0, cid, app, p, rng)
                if new_event and cid in deposits:  # the P-gp patch handed over at the contact
                    patch = [0.5, 0.0, p.puncta_flux * rng.lognormal(0.0, 0.3), 1.2, 0.0]
                    rows = np.vstack([np.array([patch]), rows])
                rows = _deposit(deposits.get(cid), rows, lab, geom, fr, i, f, rng)
                arr = arrivals.get((cid, f))
                if arr is not None:  # the vesicle that made the remote event
                    rows = np.vstack([np.array([[0.5, arr["theta"], arr["flux"], 1.2, 0.0]]), rows])
            else:
                keep = rng.random(len(rows)) < _PUNCTA_SURVIVAL
                rows = rows[keep]
                new = _new_puncta(rng.poisson(lam * 0.15), cid, app, p, rng)
                rows = np.vstack([rows, new])
                rows[:, 0] = np.clip(rows[:, 0] + rng.normal(0, 0.03, len(rows)), 0.05, 0.8)
                rows[:, 1] = rows[:, 1] + rng.normal(0, 0.08, len(rows))
                if len(new):
                    rows[-len(new) :] = _deposit(deposits.get(cid), rows[-len(new) :], lab,
                                                 geom, fr, i, f, rng)
            if len(rows):
                rr = radius_at(geom, fr, i, rows[:, 1])
                ys = fr.y[i] + rows[:, 0] * rr * np.sin(rows[:, 1])
                xs = fr.x[i] + rows[:, 0] * rr * np.cos(rows[:, 1])
                ok = _inside_many(lab, ys, xs, cid)
                for j in np.flatnonzero(~ok).tolist():
                    ys[j], xs[j] = _random_pixel_of(lab, fr, i, rng)
                    dy, dx = ys[j] - fr.y[i], xs[j] - fr.x[i]
                    rows[j, 1] = np.arctan2(dy, dx)
                    r_j = float(radius_at(geom, fr, i, rows[j : j + 1, 1])[0])
                    rows[j, 0] = min(np.hypot(dy, dx) / max(r_j, 1e-6), 0.8)
                out.extend(f, ys, xs, rows[:, 4], cid, "resident", rows[:, 2], rows[:, 3])
            resident[cid] = rows
        for y, x, flux in transit_by_frame.get(f, []):
            iy, ix = _pixel(y, x)
            out.add(f, y, x, 0.0, int(lab[iy, ix]), "in_transit", flux, 1.2)
    return out


def _new_puncta(n: int, cid: int, app: Appearance, p, rng) -> np.ndarray:
    n = int(n)
    return np.column_stack(
        [
            np.sqrt(rng.uniform(0.02, 0.55, n)),
            rng.uniform(0, 2 * np.pi, n),
            p.puncta_flux * app.puncta_flux[cid] * rng.lognormal(0.0, 0.35, n),
            rng.uniform(1.0, 1.5, n),
            rng.uniform(-1.5, 1.5, n),
        ]
    ).reshape(n, 5)


def _deposit(event, rows: np.ndarray, lab, geom: Geometry, fr: FrameGeometry, i: int, f: int,
             rng) -> np.ndarray:
    """Place the new puncta ``rows`` of a contact event's recipient at the contact site.

    ``event`` is ``(onset frame, source donor id)`` or None (not a contact event). In the
    ``_DEPOSIT_FRAMES`` frames from the onset, while the source donor shares a border with the
    recipient (cell row ``i`` of frame ``f``, labels ``lab``), each punctum is moved to a point
    of the recipient's core (not on its outer pixel line) at ``_DEPOSIT_DEPTH_PX`` from the
    donor's mask and nearer to it than to any other donor, drawn with weight ``exp(-d² / 2s²)``
    around a point drawn uniformly on the shared border (``d`` its distance to that point, ``s =
    _DEPOSIT_SPREAD_PX``). Returns the rows with ``u`` and ``theta`` replaced (unchanged
    otherwise).
    """
    if event is None or not len(rows) or not 0 <= f - event[0] < _DEPOSIT_FRAMES:
        return rows
    src, cid = int(event[1]), int(fr.ids[i])
    h, w = lab.shape
    reach = int(np.ceil(fr.r[i] * 1.6)) + 8
    y0, x0 = max(int(fr.y[i]) - reach, 0), max(int(fr.x[i]) - reach, 0)
    sub = lab[y0 : min(int(fr.y[i]) + reach + 1, h), x0 : min(int(fr.x[i]) + reach + 1, w)]
    mine, don = sub == cid, sub == src
    border = mine & ndimage.binary_dilation(don)
    if not border.any():
        return rows  # the source no longer touches the recipient
    depth = ndimage.distance_transform_edt(~don)
    others = geom.donor[sub] & ~don  # other donors' pixels (geom.donor[0] is False)
    nearer = depth < (ndimage.distance_transform_edt(~others) if others.any() else np.inf)
    core = ndimage.binary_erosion(mine)
    lo, hi = _DEPOSIT_DEPTH_PX
    ok = core & nearer & (depth >= lo) & (depth <= hi)
    if not ok.any():
        ok = core & nearer & (depth >= lo)
        if not ok.any():
            return rows
    by, bx = np.nonzero(border)
    cy, cx = np.nonzero(ok)
    out = rows.copy()
    for j in range(len(out)):
        k = int(rng.integers(len(by)))
        wts = np.exp(-((cy - by[k]) ** 2 + (cx - bx[k]) ** 2) / (2 * _DEPOSIT_SPREAD_PX**2))
        m = int(rng.choice(len(cy), p=wts / wts.sum()))
        off = rng.uniform(-0.45, 0.45, 2)
        dy, dx = y0 + cy[m] + off[0] - fr.y[i], x0 + cx[m] + off[1] - fr.x[i]
        out[j, 1] = np.arctan2(dy, dx)
        r_j = float(radius_at(geom, fr, i, out[j : j + 1, 1])[0])
        out[j, 0] = np.hypot(dy, dx) / max(r_j, 1e-6)
    return out


def _row(fr: FrameGeometry, cid: int) -> int:
    return int(np.flatnonzero(fr.ids == cid)[0])


def _plan_transit(geom: Geometry, t: dict, rng, transit_by_frame, shape, flux_scale) -> None:
    """Straight path from the releasing donor's edge (or a random spot) to the recipient."""
    f, k, cid, src = t["frame"], t["k"], t["recipient_id"], t["donor_id"]
    end_fr = geom.frames[f]
    i = _row(end_fr, cid)
    ey, ex = end_fr.y[i], end_fr.x[i]
    start_fr = geom.frames[f - k]
    if src:
        j = _row(start_fr, src)
        ang = np.arctan2(ey - start_fr.y[j], ex - start_fr.x[j])
        rr = float(radius_at(geom, start_fr, j, np.array([ang]))[0])
        sy = start_fr.y[j] + 0.8 * rr * np.sin(ang)
        sx = start_fr.x[j] + 0.8 * rr * np.cos(ang)
    else:
        ang = rng.uniform(0, 2 * np.pi)
        dist = end_fr.r[i] + rng.uniform(15.0, 40.0)
        sy, sx = ey + dist * np.sin(ang), ex + dist * np.cos(ang)
    sy = float(np.clip(sy, 0, shape[0] - 1))
    sx = float(np.clip(sx, 0, shape[1] - 1))
    theta = float(np.arctan2(sy - ey, sx - ex))  # direction from the recipient to the source
    rr = float(radius_at(geom, end_fr, i, np.array([theta]))[0])
    ay, ax = ey + 0.5 * rr * np.sin(theta), ex + 0.5 * rr * np.cos(theta)
    flux = flux_scale * rng.lognormal(0.0, 0.3)
    t["theta"] = theta
    t["flux"] = flux
    for step in range(k):
        frac = step / k
        transit_by_frame[f - k + step].append((sy + frac * (ay - sy), sx + frac * (ax - sx), flux))
