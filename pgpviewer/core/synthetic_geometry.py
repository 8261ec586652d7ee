"""Cell geometry for the synthetic co-culture: motion, divisions, entry/exit and label images.

Private helper of :mod:`pgpviewer.core.synthetic`. Cells are star-convex blobs around moving
centres; every pixel goes to the cell with the smallest *normalised* distance
``|p - c| / r(θ)`` among the cells whose outline contains it (a multiplicatively weighted
Voronoi partition clipped to each cell's own shape). Touching cells therefore share a border
instead of overlapping, and the label image is an exact partition by construction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from skimage.measure import label as _cc_label

#: Harmonics k = 2..5 of the radial shape function r(θ) = r (1 + Σ a_k cos(k θ − φ_k)).
HARMONICS = np.arange(2, 6)
#: Centres closer than this fraction of the sum of the radii are pushed apart.
MIN_SEPARATION = 0.72
_MITOTIC_FRAMES = 2  # frames of mitotic rounding before a division
_MIN_AGE_FOR_DIVISION = 5
_MAX_COVERAGE = 0.6  # no more divisions when cells (as disks) would cover this field fraction


@dataclass
class FrameGeometry:
    """Cells present in one frame (rows aligned)."""

    ids: np.ndarray  # int32 (n,)
    y: np.ndarray  # float64 (n,)
    x: np.ndarray
    r: np.ndarray  # current radius (px)
    phase: np.ndarray  # (n, len(HARMONICS)) absolute phases φ_k
    shape_scale: np.ndarray  # (n,) multiplies the harmonic amplitudes (rounding in mitosis)
    nuc_rot: np.ndarray  # (n,) nucleus orientation (rad)
    mitotic: np.ndarray  # (n,) bool


@dataclass
class Geometry:
    """All frames plus static per-cell attributes indexed by cell id (index 0 unused)."""

    frames: list[FrameGeometry]
    parent: np.ndarray  # int32 by id
    donor: np.ndarray  # bool by id
    amps: np.ndarray  # (n_ids, len(HARMONICS)) harmonic amplitudes
    nucleus: np.ndarray  # (n_ids, 4): semi-axis a / r, b / a, offset_y / r, offset_x / r
    dye_dilution: np.ndarray  # identity-dye content relative to a founder cell (halves on division)
    first: dict[int, int] = field(default_factory=dict)
    last: dict[int, int] = field(default_factory=dict)


class _Registry:
    """Static attributes of every cell ever created, appended in id order."""

    def __init__(self) -> None:
        self.parent: list[int] = [0]
        self.donor: list[bool] = [False]
        self.r_target: list[float] = [0.0]
        self.amps: list[np.ndarray] = [np.zeros(len(HARMONICS))]
        self.nucleus: list[np.ndarray] = [np.zeros(4)]
        self.dye: list[float] = [0.0]

    def new(self, rng, parent, donor, r_target, amps=None, dye=1.0, irregularity=1.0) -> int:
        if amps is None:
            # elongation (k=2) dominates; higher harmonics give lobes and flat sides
            amps = (
                np.array(
                    [
                        rng.uniform(0.0, 0.22),
                        rng.uniform(0.0, 0.08),
                        rng.uniform(0.0, 0.06),
                        rng.uniform(0.0, 0.04),
                    ]
                )
                * irregularity
            )
            amps *= min(1.0, 0.45 / max(amps.sum(), 1e-9))
        # nucleus semi-axis: 45-62 % of the radius, but inside the narrowest part of the outline
        a_frac = min(rng.uniform(0.45, 0.62), 0.95 * (1.0 - float(np.sum(amps))) - 0.1)
        nucleus = np.array(
            [a_frac, rng.uniform(0.7, 1.0), rng.uniform(-0.1, 0.1), rng.uniform(-0.1, 0.1)]
        )
        self.parent.append(int(parent))
        self.donor.append(bool(donor))
        self.r_target.append(float(r_target))
        self.amps.append(np.asarray(amps, dtype=float))
        self.nucleus.append(nucleus)
        self.dye.append(float(dye))
        return len(self.parent) - 1


_LIVE_FIELDS = ("ids", "y", "x", "vy", "vx", "r", "phase", "scale", "rot", "countdown", "age")


def _empty_live() -> dict[str, np.ndarray]:
    live = {k: np.zeros(0) for k in _LIVE_FIELDS}
    live["ids"] = np.zeros(0, dtype=np.int32)
    live["countdown"] = np.zeros(0, dtype=np.int64)
    live["age"] = np.zeros(0, dtype=np.int64)
    live["phase"] = np.zeros((0, len(HARMONICS)))
    return live


def _append(live: dict[str, np.ndarray], rows: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([live[k], np.asarray(rows[k], dtype=live[k].dtype)]) for k in live}


def _take(live: dict[str, np.ndarray], keep: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[keep] for k, v in live.items()}


def _new_rows(ids, y, x, r, rng, vy=None, vx=None) -> dict[str, np.ndarray]:
    n = len(ids)
    return {
        "ids": np.asarray(ids, dtype=np.int32),
        "y": np.asarray(y, dtype=float),
        "x": np.asarray(x, dtype=float),
        "vy": np.zeros(n) if vy is None else np.asarray(vy, dtype=float),
        "vx": np.zeros(n) if vx is None else np.asarray(vx, dtype=float),
        "r": np.asarray(r, dtype=float),
        "phase": rng.uniform(0, 2 * np.pi, (n, len(HARMONICS))),
        "scale": np.ones(n),
        "rot": rng.uniform(0, np.pi, n),
        "countdown": np.full(n, -1, dtype=np.int64),
        "age": np.zeros(n, dtype=np.int64),
    }


def _draw_radius(rng, p) -> float:
    lo, hi = p.radius_px
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _fits(y, x, r, ys, xs, rs) -> bool:
    if len(ys) == 0:
        return True
    d = np.hypot(ys - y, xs - x)
    return bool(np.all(d >= MIN_SEPARATION * (rs + r)))


def _initial_positions(rng, p, radii) -> tuple[np.ndarray, np.ndarray]:
    """Place cells one by one; a fraction next to an existing cell (colonies), others at random."""
    h, w = p.shape_yx
    ys: list[float] = []
    xs: list[float] = []
    rs: list[float] = []
    for r in radii:
        placed = False
        for attempt in range(60):
            if ys and rng.random() < p.clustering and attempt < 40:
                j = int(rng.integers(len(ys)))
                ang = rng.uniform(0, 2 * np.pi)
                dist = (rs[j] + r) * rng.uniform(0.75, 0.95)
                y, x = ys[j] + dist * np.sin(ang), xs[j] + dist * np.cos(ang)
                if not (0 <= y <= h - 1 and 0 <= x <= w - 1):
                    continue
            else:
                y, x = rng.uniform(0, h - 1), rng.uniform(0, w - 1)
            if _fits(y, x, r, np.array(ys), np.array(xs), np.array(rs)):
                placed = True
                break
        if not placed:  # crowded field: accept the last candidate, forces will sort it out
            y, x = rng.uniform(0, h - 1), rng.uniform(0, w - 1)
        ys.append(y)
        xs.append(x)
        rs.append(r)
    return np.array(ys), np.array(xs)


def _relax(live: dict[str, np.ndarray], adhesion: float, iterations: int = 4) -> None:
    """Mild adhesion to near neighbours, then position-based repulsion (in place)."""
    n = len(live["ids"])
    if n < 2:
        return
    pos = np.stack([live["y"], live["x"]], axis=1)
    r = live["r"]
    s = r[:, None] + r[None, :]
    for it in range(iterations):
        d = pos[:, None, :] - pos[None, :, :]
        dist = np.hypot(d[..., 0], d[..., 1])
        np.fill_diagonal(dist, np.inf)
        unit = d / np.maximum(dist, 1e-6)[..., None]
        target = MIN_SEPARATION * s
        if it == 0 and adhesion > 0:
            near = (dist > target) & (dist < 1.05 * s)
            pull = np.where(near, adhesion * (dist - target), 0.0)
            pos -= 0.5 * (pull[..., None] * unit).sum(axis=1)
            continue
        over = np.clip(target - dist, 0.0, None)
        pos += 0.5 * (over[..., None] * unit).sum(axis=1)
    live["y"], live["x"] = pos[:, 0].copy(), pos[:, 1].copy()


def simulate_geometry(p, rng: np.random.Generator) -> Geometry:
    """Simulate cell centres, sizes and shapes over ``p.n_frames`` frames."""
    reg = _Registry()
    live = _empty_live()
    frames: list[FrameGeometry] = []

    # --- frame 0 -----------------------------------------------------------------------------
    radii = np.array([_draw_radius(rng, p) for _ in range(p.n_cells)])
    ys, xs = _initial_positions(rng, p, radii)
    ids = [
        reg.new(rng, 0, rng.random() < p.donor_fraction, r, irregularity=p.shape_irregularity)
        for r in radii
    ]
    live = _append(live, _new_rows(ids, ys, xs, radii * rng.uniform(0.85, 1.0, len(ids)), rng))
    live["age"] = rng.integers(0, 20, len(ids))
    _relax(live, p.adhesion, iterations=8)
    live = _handle_borders(live, p)

    for f in range(p.n_frames):
        if f > 0:
            live = _step(live, reg, p, rng)
        frames.append(
            FrameGeometry(
                ids=live["ids"].copy(),
                y=live["y"].copy(),
                x=live["x"].copy(),
                r=live["r"].copy(),
                phase=live["phase"].copy(),
                shape_scale=live["scale"].copy(),
                nuc_rot=live["rot"].copy(),
                mitotic=live["countdown"] > 0,
            )
        )

    geom = Geometry(
        frames=frames,
        parent=np.asarray(reg.parent, dtype=np.int32),
        donor=np.asarray(reg.donor, dtype=bool),
        amps=np.asarray(reg.amps),
        nucleus=np.asarray(reg.nucleus),
        dye_dilution=np.asarray(reg.dye),
    )
    for f, fr in enumerate(frames):
        for cid in fr.ids.tolist():
            geom.first.setdefault(cid, f)
            geom.last[cid] = f
    return geom


def _handle_borders(live: dict[str, np.ndarray], p) -> dict[str, np.ndarray]:
    """Cells whose centre leaves the field are gone (or are kept inside for a closed field)."""
    h, w = p.shape_yx
    if p.border_flux:
        inside = (live["y"] >= 0) & (live["y"] <= h - 1) & (live["x"] >= 0) & (live["x"] <= w - 1)
        return _take(live, inside)
    live["y"] = np.clip(live["y"], 0, h - 1)
    live["x"] = np.clip(live["x"], 0, w - 1)
    return live


def _step(live, reg: _Registry, p, rng) -> dict[str, np.ndarray]:
    n = len(live["ids"])
    h, w = p.shape_yx
    # --- motion: persistent random walk (Ornstein-Uhlenbeck velocity) ---------------------------
    a = p.persistence
    noise = rng.normal(0.0, p.motility_px, (n, 2))
    moving = live["countdown"] <= 0  # mitotic cells round up and stop
    live["vy"] = np.where(moving, a * live["vy"] + np.sqrt(1 - a * a) * noise[:, 0], 0.0)
    live["vx"] = np.where(moving, a * live["vx"] + np.sqrt(1 - a * a) * noise[:, 1], 0.0)
    live["y"] = live["y"] + live["vy"]
    live["x"] = live["x"] + live["vx"]
    # --- shape: slow drift of the outline, growth towards the target size ------------------------
    live["phase"] = live["phase"] + rng.normal(0.0, 0.06, live["phase"].shape)
    live["rot"] = live["rot"] + rng.normal(0.0, 0.05, n)
    r_target = np.asarray(reg.r_target)[live["ids"]]
    live["r"] = live["r"] + 0.06 * (r_target - live["r"])
    live["age"] = live["age"] + 1

    # --- divisions -------------------------------------------------------------------------------
    if p.divisions and n:
        # contact inhibition: division slows down as the field fills up
        coverage = float(np.pi * np.sum(live["r"] ** 2)) / (h * w)
        rate = p.division_rate * max(0.0, 1.0 - coverage / _MAX_COVERAGE)
        start = (
            (live["countdown"] < 0)
            & (live["age"] >= _MIN_AGE_FOR_DIVISION)
            & (rng.random(n) < rate)
        )
        live["countdown"] = np.where(start, _MITOTIC_FRAMES + 1, live["countdown"])
        live["countdown"] = np.where(
            live["countdown"] > 0, live["countdown"] - 1, live["countdown"]
        )
        mitotic = live["countdown"] > 0
        live["scale"] = np.where(mitotic, 0.25, 1.0)
        live["r"] = np.where(start, live["r"] * 0.85, live["r"])
        dividing = live["countdown"] == 0
        if dividing.any():
            live = _divide(live, dividing, reg, p, rng)

    _relax(live, p.adhesion)
    live = _handle_borders(live, p)

    # --- entries at the borders keep the density near n_cells ------------------------------------
    if p.border_flux:
        deficit = max(0, p.n_cells - len(live["ids"]))
        for _ in range(int(rng.poisson(0.3 * deficit))):
            r = _draw_radius(rng, p)
            side = int(rng.integers(4))
            inset = rng.uniform(0.2, 0.5) * r
            along = rng.uniform(0, (w if side < 2 else h) - 1)
            y, x = {0: (inset, along), 1: (h - 1 - inset, along), 2: (along, inset)}.get(
                side, (along, w - 1 - inset)
            )
            if not _fits(y, x, r, live["y"], live["x"], live["r"]):
                continue
            speed = rng.uniform(0.5, 1.5) * p.motility_px
            vy, vx = {0: (speed, 0.0), 1: (-speed, 0.0), 2: (0.0, speed)}.get(side, (0.0, -speed))
            cid = reg.new(
                rng, 0, rng.random() < p.donor_fraction, r, irregularity=p.shape_irregularity
            )
            live = _append(live, _new_rows([cid], [y], [x], [r * 0.9], rng, [vy], [vx]))
            live["age"][-1] = int(rng.integers(0, 20))
    return live


def _divide(live, dividing: np.ndarray, reg: _Registry, p, rng) -> dict[str, np.ndarray]:
    rows = []
    for i in np.flatnonzero(dividing).tolist():
        pid = int(live["ids"][i])
        r = float(live["r"][i])
        ang = rng.uniform(0, np.pi)
        off = 0.45 * r
        kids = []
        for _ in range(2):
            dye = reg.dye[pid] * 0.5 * rng.uniform(0.85, 1.15)
            kid = reg.new(
                rng,
                pid,
                reg.donor[pid],
                reg.r_target[pid] * rng.uniform(0.9, 1.1),
                dye=dye,
                irregularity=p.shape_irregularity,
            )
            kids.append(kid)
        ys = live["y"][i] + off * np.array([np.sin(ang), -np.sin(ang)])
        xs = live["x"][i] + off * np.array([np.cos(ang), -np.cos(ang)])
        v = 0.5 * p.motility_px
        rows.append(
            _new_rows(
                kids,
                ys,
                xs,
                [r * 0.72, r * 0.72],
                rng,
                [v * np.sin(ang), -v * np.sin(ang)],
                [v * np.cos(ang), -v * np.cos(ang)],
            )
        )
    live = _take(live, ~dividing)
    for row in rows:
        live = _append(live, row)
    return live


# ------------------------------------------------------------------------------------------------
# Rasterisation
# ------------------------------------------------------------------------------------------------


def radius_at(geom: Geometry, fr: FrameGeometry, i: int, theta: np.ndarray) -> np.ndarray:
    """Outline radius of row ``i`` of frame ``fr`` in direction ``theta`` (rad, atan2(dy, dx))."""
    cid = int(fr.ids[i])
    a = geom.amps[cid] * fr.shape_scale[i]
    theta = np.asarray(theta)
    if theta.dtype != np.float32:
        theta = theta.astype(np.float64)
    dt = theta.dtype.type
    mod = np.ones_like(theta)
    for k, ak, ph in zip(HARMONICS, a, fr.phase[i], strict=True):
        mod += dt(ak) * np.cos(dt(k) * theta - dt(ph))
    return dt(fr.r[i]) * mod


def rasterize(
    geom: Geometry, fr: FrameGeometry, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Cell and nucleus label images (int32) of one frame; an exact partition of the field."""
    h, w = shape
    best = np.full(shape, np.inf, dtype=np.float32)
    lab = np.zeros(shape, dtype=np.int32)
    boxes = []
    for i, cid in enumerate(fr.ids.tolist()):
        cy, cx = fr.y[i], fr.x[i]
        a = geom.amps[cid] * fr.shape_scale[i]
        reach = fr.r[i] * (1.0 + a.sum()) + 1.5
        y0, y1 = max(int(np.floor(cy - reach)), 0), min(int(np.ceil(cy + reach)) + 1, h)
        x0, x1 = max(int(np.floor(cx - reach)), 0), min(int(np.ceil(cx + reach)) + 1, w)
        boxes.append((y0, y1, x0, x1))
        dy = (np.arange(y0, y1, dtype=np.float32) - np.float32(cy))[:, None]
        dx = (np.arange(x0, x1, dtype=np.float32) - np.float32(cx))[None, :]
        rho = np.hypot(dy, dx)
        theta = np.arctan2(dy, dx)
        d = rho / radius_at(geom, fr, i, theta)
        sb = best[y0:y1, x0:x1]
        sl = lab[y0:y1, x0:x1]
        m = (d <= 1.0) & (d < sb)
        sb[m] = d[m]
        sl[m] = cid
    # every cell owns the pixel under its centre (protects tiny squeezed cells)
    cyi = np.clip(np.floor(fr.y + 0.5).astype(int), 0, h - 1)
    cxi = np.clip(np.floor(fr.x + 0.5).astype(int), 0, w - 1)
    lab[cyi, cxi] = fr.ids
    lab = _one_component_per_label(lab, fr.ids, cyi, cxi)

    nuc = np.zeros(shape, dtype=np.int32)
    for i, cid in enumerate(fr.ids.tolist()):
        y0, y1, x0, x1 = boxes[i]
        a_frac, ba, oy, ox = geom.nucleus[cid]
        scale = 0.7 if fr.mitotic[i] else 1.0
        ra = a_frac * fr.r[i] * scale
        rb = ra * (ba if not fr.mitotic[i] else max(ba, 0.9))
        ncy = fr.y[i] + oy * fr.r[i]
        ncx = fr.x[i] + ox * fr.r[i]
        dy = np.arange(y0, y1)[:, None] - ncy
        dx = np.arange(x0, x1)[None, :] - ncx
        c, s = np.cos(fr.nuc_rot[i]), np.sin(fr.nuc_rot[i])
        u = dx * c + dy * s
        v = -dx * s + dy * c
        inside = ((u / ra) ** 2 + (v / rb) ** 2 <= 1.0) & (lab[y0:y1, x0:x1] == cid)
        nuc[y0:y1, x0:x1][inside] = cid
    nuc[cyi, cxi] = fr.ids  # the centre pixel is always nucleus (never an empty nucleus)
    nuc = _one_component_per_label(nuc, fr.ids, cyi, cxi)
    return lab, nuc


def _one_component_per_label(lab, ids, cyi, cxi) -> np.ndarray:
    """Keep, for each label, only the 4-connected piece containing its centre pixel."""
    comp = _cc_label(lab, background=0, connectivity=1)
    n = int(comp.max())
    if n == 0:
        return lab
    owner = np.zeros(n + 1, dtype=np.int64)
    owner[comp.ravel()] = lab.ravel()
    pieces = np.bincount(owner[1:], minlength=int(lab.max()) + 1)
    if pieces.max(initial=0) <= 1:
        return lab
    keep = np.zeros(n + 1, dtype=bool)
    keep[comp[cyi, cxi]] = True  # the centre pieces
    single = pieces[owner] == 1
    keep |= single
    keep[0] = True
    out = lab.copy()
    out[~keep[comp]] = 0
    return out


def adjacency(lab: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of labels sharing a border (4-neighbourhood) and the border length in pixel edges.

    Returns ``(a, b, n)`` with ``a < b``.
    """
    keys = []
    big = np.int64(int(lab.max()) + 1)
    for p, q in ((lab[:, :-1], lab[:, 1:]), (lab[:-1, :], lab[1:, :])):
        m = (p != q) & (p > 0) & (q > 0)
        pm, qm = p[m].astype(np.int64), q[m].astype(np.int64)
        keys.append(np.minimum(pm, qm) * big + np.maximum(pm, qm))
    allk = np.concatenate(keys)
    if allk.size == 0:
        z = np.zeros(0, dtype=np.int64)
        return z, z, z
    uk, counts = np.unique(allk, return_counts=True)
    return uk // big, uk % big, counts
