"""Seeded, deterministic simulator of donor/recipient co-culture time-lapses with ground truth.

The simulator exists to *measure* the analysis: every number in its ground truth (cell masks,
tracks, populations, P-gp positivity, transfer events and their mode, puncta positions) is
exactly consistent with the pixels it renders.

Model in brief
--------------
* **Cells** are star-convex blobs (radius drawn log-uniformly in ``radius_px``, elongation and
  lobes from 4 harmonics) around centres doing a persistent random walk with mild adhesion and
  repulsion. Pixels go to the cell with the smallest normalised distance ``|p - c| / r(θ)``, so
  touching cells share a border and the label image is an exact partition (one 4-connected
  piece per cell). A cell exists while its centre is inside the field (``border_flux``: cells
  leave and new ones enter at the borders). Divisions: 2 frames of mitotic rounding, then two
  daughters with new ids and ``parent_id`` = the parent's id, inheriting population, P-gp state
  and half of the identity dye each.
* **P-gp** (channel ``P-gp-EGFP``): donors have a 1–2 px membrane rim, dimmer cytoplasm
  (≈ background for the ``rim_only_donor_fraction``) and puncta. Recipients are negative, except
  ``positive_at_start_fraction`` of those present in frame 0. **Contact** event: in a frame where
  a negative recipient touches ≥ 1 donor it becomes positive with probability
  ``contact_transfer_prob``; the source donor is drawn among the touching donors with
  probability ∝ shared border length (column ``n_touching_donors`` flags ambiguous cases); its
  first puncta appear just inside the shared border with the source (one more punctum at the
  onset: the patch handed over; see :mod:`pgpviewer.core.synthetic_transfer`).
  **Remote** event: a negative recipient with no donor contact in this and the 2 previous frames
  becomes positive with probability ``remote_transfer_rate`` per frame; a vesicle (punctum)
  travels 1–3 frames from the releasing donor's edge (or, for ``background_vesicle_fraction``
  of events, from a random spot: ``donor_id`` 0) and arrives at the event frame. Events never
  happen on a track's first frame and only when the recipient track lasts at least
  ``min_event_frames`` frames from the onset. After the onset the recipient's rim, cytoplasm and
  puncta rise (55 % of the final level at onset) and stay (persistent).
* **Blips**: a negative recipient whose P-gp cytoplasm brightens (and gets one punctum, ``kind``
  ``'blip'``) for a single frame. They are not events and GT ``pgp_positive`` is ``False`` on
  the blip frame (positivity means a persistent acquisition); ``cells.blip`` marks them.
* **Imaging**: identity dyes (recipient ``CellTracker Blue``, optional donor
  ``CellTracker Deep Red``) halve on division and bleach by ``exp(-bleach_per_frame × t)``;
  Hoechst nuclei (brighter in mitosis, slight bleed-through into the recipient channel);
  optional efflux dye ``Calcein`` low in P-gp-active cells; Gaussian PSF (defocus blur per plane
  for z-stacks), smooth vignetting, background, Poisson shot noise, Gaussian read noise, gain,
  offset, ``uint16``.

Conventions: pixel ``(i, j)`` has its centre at coordinates ``y = i``, ``x = j``; a punctum at
``(y, x)`` lies in pixel ``(floor(y + 0.5), floor(x + 0.5))``. Ground-truth masks are 2-D even
for z-stacks (cells are a monolayer). All randomness comes from
``numpy.random.default_rng(seed)`` and generators spawned from it, so the same parameters give
byte-identical output (and :func:`write_simulation` byte-identical files: the OME UUID is
derived from the parameters); geometry, events and puncta do not depend on the imaging options
(adding a channel or z-planes does not move a cell nor change the other channels).

Speed (one core): the default 20 × 3 × 256² movie takes ~0.7 s; 200 frames × 3 channels ×
512² with 120 cells ~35 s (Poisson noise, Gaussian filters and rasterisation dominate).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pgpviewer.core.synthetic_geometry import adjacency, rasterize, simulate_geometry
from pgpviewer.core.synthetic_io import gt_paths, write_simulation
from pgpviewer.core.synthetic_render import CHANNEL_SLOTS, FrameRenderer
from pgpviewer.core.synthetic_transfer import (
    donor_neighbours,
    draw_appearance,
    simulate_puncta,
    simulate_transfer,
)

__all__ = [
    "SAMPLE_PARAMS",
    "Simulation",
    "SimulationParams",
    "gt_paths",
    "make_sample",
    "simulate_coculture",
    "write_simulation",
]


@dataclass(frozen=True)
class SimulationParams:
    """Every knob of :func:`simulate_coculture` (immutable; change with ``dataclasses.replace``).

    Attributes
    ----------
    seed : int
        Seed of ``numpy.random.default_rng``; same parameters → byte-identical output.
    n_frames : int
        Number of time points.
    shape_yx : tuple of int
        Field size (Y, X) in pixels.
    n_z : int
        Number of z-planes; > 1 gives a (T, C, Z, Y, X) stack (masks stay 2-D).
    z_step_um : float
        Distance between z-planes (µm).
    pixel_size_um : float
        Pixel size (µm), written to the OME metadata.
    frame_interval_s : float
        Time between frames (s), written to the OME metadata.
    n_cells : int
        Cells in the first frame; entries at the borders keep the count near this value.
    donor_fraction : float
        Probability that a new (founder) cell is a donor.
    radius_px : tuple of float
        Range of cell radii (px), drawn log-uniformly.
    shape_irregularity : float
        Scales the harmonic shape amplitudes (0 gives circles).
    clustering : float
        Probability that an initial cell is placed against an existing one (colonies).
    motility_px : float
        Random-walk step standard deviation (px per frame).
    persistence : float
        Velocity autocorrelation per frame (0: pure diffusion).
    adhesion : float
        Pull towards near neighbours (0..1).
    border_flux : bool
        Cells leave and enter at the borders; ``False`` keeps them inside the field.
    divisions : bool
        Allow cell divisions.
    division_rate : float
        Probability per cell and frame to start mitosis (divides 2 frames later).
    contact_transfer_prob : float
        Per frame probability that a negative recipient touching a donor becomes positive.
    remote_transfer_rate : float
        Per frame probability that a negative recipient without donor contact (this and the 2
        previous frames) receives a vesicle and becomes positive.
    background_vesicle_fraction : float
        Fraction of remote events whose vesicle comes from no donor (``donor_id`` 0).
    vesicle_range_px : float
        Maximal distance between a releasing donor and its recipient.
    positive_at_start_fraction : float
        Fraction of frame-0 recipients that are already P-gp positive.
    min_event_frames : int
        An event needs the recipient track to last this many frames from the onset.
    blip_rate : float
        Per frame probability of a single-frame P-gp blip in a negative recipient.
    rim_only_donor_fraction : float
        Fraction of donors whose cytoplasm is at background (P-gp only on the rim).
    donor_puncta_mean : float
        Mean number of puncta in a donor.
    acquired_level : float
        P-gp level reached by recipients relative to a typical donor rim.
    puncta_flux : float
        Integrated brightness of a punctum (relative units × px²).
    bleach_per_frame : float
        Identity-dye bleaching rate (per frame).
    pgp_bleach_per_frame : float
        P-gp-EGFP bleaching rate (per frame).
    photons_per_unit : float
        Photo-electrons per relative intensity unit (lower = noisier).
    background_e : float
        Background photo-electrons per pixel.
    read_noise_e : float
        Camera read noise (electrons, standard deviation).
    gain_adu_per_e : float
        Camera gain (ADU per electron).
    offset_adu : float
        Camera offset (ADU).
    add_noise : bool
        Shot and read noise; ``False`` gives the noise-free expected image (still uint16).
    illumination_strength : float
        Vignetting depth (0: flat field; 0.3: corners at ~70 %).
    psf_sigma_px : float
        Gaussian PSF sigma (px) of the green channel (blue 0.9×, far red 1.25×).
    bleedthrough : float
        Fraction of the Hoechst signal seen in the recipient (blue) dye channel.
    include_nuclei, include_recipient_dye, include_donor_dye, include_efflux : bool
        Which channels to render (order: Hoechst, CellTracker Blue, P-gp-EGFP,
        CellTracker Deep Red, Calcein; the P-gp channel is always present).
    """

    seed: int = 0
    n_frames: int = 20
    shape_yx: tuple[int, int] = (256, 256)
    n_z: int = 1
    z_step_um: float = 1.5
    pixel_size_um: float = 0.65
    frame_interval_s: float = 600.0
    # cells
    n_cells: int = 34
    donor_fraction: float = 0.4
    radius_px: tuple[float, float] = (8.0, 20.0)
    shape_irregularity: float = 1.0
    clustering: float = 0.7
    motility_px: float = 1.2
    persistence: float = 0.6
    adhesion: float = 0.15
    border_flux: bool = True
    divisions: bool = True
    division_rate: float = 0.006
    # P-gp transfer
    contact_transfer_prob: float = 0.04
    remote_transfer_rate: float = 0.015
    background_vesicle_fraction: float = 0.2
    vesicle_range_px: float = 150.0
    positive_at_start_fraction: float = 0.05
    min_event_frames: int = 3
    blip_rate: float = 0.01
    rim_only_donor_fraction: float = 0.25
    donor_puncta_mean: float = 3.0
    acquired_level: float = 0.35
    puncta_flux: float = 10.0
    # imaging
    bleach_per_frame: float = 0.01
    pgp_bleach_per_frame: float = 0.002
    photons_per_unit: float = 400.0
    background_e: float = 40.0
    read_noise_e: float = 2.0
    gain_adu_per_e: float = 1.0
    offset_adu: float = 100.0
    add_noise: bool = True
    illumination_strength: float = 0.3
    psf_sigma_px: float = 1.1
    bleedthrough: float = 0.03
    include_nuclei: bool = True
    include_recipient_dye: bool = True
    include_donor_dye: bool = False
    include_efflux: bool = False

    def __post_init__(self) -> None:
        casts = {"int": int, "float": float, "bool": bool}
        for f in dataclasses.fields(self):
            cast = casts.get(str(f.type))
            if cast is not None:  # plain Python types (numpy scalars would not go to JSON)
                object.__setattr__(self, f.name, cast(getattr(self, f.name)))
        shape = tuple(int(v) for v in self.shape_yx)
        object.__setattr__(self, "shape_yx", shape)
        object.__setattr__(self, "radius_px", tuple(float(v) for v in self.radius_px))
        problems = []
        if len(shape) != 2 or min(shape) < 32:
            problems.append(f"shape_yx must be two sizes >= 32, got {self.shape_yx}")
        if self.n_frames < 1 or self.n_z < 1 or self.n_cells < 1:
            problems.append("n_frames, n_z and n_cells must be >= 1")
        lo, hi = self.radius_px
        if not 2.0 <= lo <= hi:
            problems.append(f"radius_px must satisfy 2 <= low <= high, got {self.radius_px}")
        for name in (
            "donor_fraction",
            "clustering",
            "adhesion",
            "contact_transfer_prob",
            "remote_transfer_rate",
            "background_vesicle_fraction",
            "positive_at_start_fraction",
            "blip_rate",
            "rim_only_donor_fraction",
            "division_rate",
            "bleedthrough",
        ):
            if not 0.0 <= getattr(self, name) <= 1.0:
                problems.append(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if not 0.0 <= self.persistence < 1.0:
            problems.append(f"persistence must be in [0, 1), got {self.persistence}")
        if self.pixel_size_um <= 0 or self.frame_interval_s <= 0 or self.z_step_um <= 0:
            problems.append("pixel_size_um, frame_interval_s and z_step_um must be > 0")
        if self.min_event_frames < 1:
            problems.append("min_event_frames must be >= 1")
        if problems:
            raise ValueError("invalid SimulationParams: " + "; ".join(problems))

    @property
    def roles(self) -> tuple[str, ...]:
        """Rendered channel roles, in channel order."""
        wanted = {
            "nuclei": self.include_nuclei,
            "recipient": self.include_recipient_dye,
            "pgp": True,
            "donor": self.include_donor_dye,
            "efflux": self.include_efflux,
        }
        return tuple(role for role in CHANNEL_SLOTS if wanted[role])

    def to_dict(self) -> dict[str, Any]:
        """Parameters as JSON-ready plain types (inverse of :meth:`from_dict`)."""
        d = dataclasses.asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SimulationParams:
        """Parameters from :meth:`to_dict` output (e.g. the ``params`` of ``<stem>_gt.json``).

        Examples
        --------
        >>> p = SimulationParams(seed=4, shape_yx=(128, 96))
        >>> SimulationParams.from_dict(p.to_dict()) == p
        True
        """
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


@dataclass(repr=False)
class Simulation:
    """A simulated movie and its ground truth (see the module docstring for the model).

    Attributes
    ----------
    image : numpy.ndarray
        uint16, (T, C, Y, X), or (T, C, Z, Y, X) when ``params.n_z > 1``.
    channel_names : tuple of str
    channel_roles : dict of str to int
        Role (``nuclei``, ``recipient``, ``pgp``, ``donor``, ``efflux``) → channel index.
    pixel_size_um, frame_interval_s : float
    labels : numpy.ndarray
        int32 (T, Y, X) cell masks; value = ``cell_id`` (= GT track id), 0 = background.
    nuclei_labels : numpy.ndarray
        int32 (T, Y, X) nucleus masks labelled with their cell's id.
    cells : pandas.DataFrame
        One row per cell per frame: ``frame, cell_id, parent_id (0: none), population
        ('donor'|'recipient'), centroid_y, centroid_x, area_px, pgp_positive, touching_donor,
        n_puncta, blip``. ``pgp_positive``: donors always; recipients from their acquisition
        onwards (persistent), from frame 0 if positive at start, and daughters of positive
        recipients from birth; never on a blip frame alone. ``touching_donor``: shares a
        4-neighbour border with another cell that is a donor. ``n_puncta``: rows of
        ``puncta`` in this cell (vesicles in transit included).
    events : pandas.DataFrame
        One row per transfer event: ``recipient_id, frame`` (onset = first positive frame),
        ``donor_id`` (0: none), ``mode`` ('contact'|'remote'), ``n_touching_donors`` (> 1:
        the source was drawn among several touching donors, ∝ shared border),
        ``centroid_y, centroid_x`` (recipient at onset).
    puncta : pandas.DataFrame
        One row per rendered spot: ``frame, y, x`` (sub-pixel), ``z_um`` (offset from the
        focal plane; used for z-stacks), ``cell_id`` (label under the spot, 0: outside),
        ``kind`` ('resident': inside a donor or positive recipient; 'in_transit': vesicle of
        a remote event before it arrives; 'blip'), ``flux`` (relative units × px²),
        ``sigma_px``.
    tracks : pandas.DataFrame
        One row per cell id: ``cell_id, parent_id, population, first_frame, last_frame,
        n_frames, status, acquired_frame, inherited``. ``status`` is 'not_recipient'
        (donors), 'positive_at_start', 'event' or 'no_event'. Daughters of a positive
        recipient have ``inherited`` True and the parent's status and ``acquired_frame``
        (which is then before their ``first_frame``); they have no row in ``events``.
    params : SimulationParams
    elapsed_s : float
        Wall time of the simulation.
    """

    image: np.ndarray
    channel_names: tuple[str, ...]
    channel_roles: dict[str, int]
    pixel_size_um: float
    frame_interval_s: float
    labels: np.ndarray
    nuclei_labels: np.ndarray
    cells: pd.DataFrame
    events: pd.DataFrame
    puncta: pd.DataFrame
    tracks: pd.DataFrame
    params: SimulationParams
    elapsed_s: float = field(default=0.0, compare=False)

    def __repr__(self) -> str:
        modes = self.events["mode"].value_counts().to_dict() if len(self.events) else {}
        return (
            f"Simulation({self.axes} {tuple(self.image.shape)}, channels={self.channel_names}, "
            f"tracks={len(self.tracks)}, events={modes}, seed={self.params.seed})"
        )

    @property
    def axes(self) -> str:
        """``'TCYX'`` or ``'TCZYX'``."""
        return "TCZYX" if self.image.ndim == 5 else "TCYX"

    def channel(self, role: str) -> np.ndarray:
        """The image data of one channel role, (T, Y, X) or (T, Z, Y, X)."""
        return self.image[:, self.channel_roles[role]]


def simulate_coculture(params: SimulationParams | None = None, **overrides: Any) -> Simulation:
    """Simulate a donor/recipient co-culture time-lapse with exact ground truth.

    Parameters
    ----------
    params : SimulationParams, optional
        All settings; defaults give a 20-frame 256×256 3-channel movie in well under 2 s.
    **overrides
        Fields of :class:`SimulationParams` to change, e.g. ``seed=3, n_frames=50``.

    Returns
    -------
    Simulation
        Image, channel names/roles, physical sizes and ground-truth tables.

    Raises
    ------
    ValueError
        Invalid parameter values.
    TypeError
        Unknown parameter names in ``overrides``.

    Examples
    --------
    >>> sim = simulate_coculture(seed=1, n_frames=3, shape_yx=(96, 96), n_cells=8)
    >>> sim.image.shape, sim.image.dtype.name, sim.channel_names
    ((3, 3, 96, 96), 'uint16', ('Hoechst', 'CellTracker Blue', 'P-gp-EGFP'))
    >>> sim.channel_roles
    {'nuclei': 0, 'recipient': 1, 'pgp': 2}
    >>> int(sim.labels.max()) == int(sim.cells.cell_id.max())
    True
    """
    t0 = time.perf_counter()
    p = dataclasses.replace(params or SimulationParams(), **overrides)
    root = np.random.default_rng(p.seed)
    geom_rng, state_rng, look_rng, puncta_rng, render_rng = root.spawn(5)

    geom = simulate_geometry(p, geom_rng)
    n_frames = p.n_frames
    h, w = p.shape_yx
    labels = np.zeros((n_frames, h, w), dtype=np.int32)
    nuclei = np.zeros((n_frames, h, w), dtype=np.int32)
    adj = []
    for f, fr in enumerate(geom.frames):
        labels[f], nuclei[f] = rasterize(geom, fr, p.shape_yx)
        adj.append(adjacency(labels[f]))
    nbrs = donor_neighbours(geom, adj)
    st = simulate_transfer(geom, nbrs, p, state_rng)
    app = draw_appearance(geom, st, p, look_rng)
    puncta = simulate_puncta(geom, labels, st, app, p, puncta_rng)

    roles = p.roles
    renderer = FrameRenderer(geom, st, app, p, roles, render_rng)
    shape = (n_frames, len(roles), *((p.n_z,) if p.n_z > 1 else ()), h, w)
    image = np.empty(shape, dtype=np.uint16)
    pf = np.asarray(puncta.frame, dtype=np.int64)
    order = np.argsort(pf, kind="stable")
    bounds = np.searchsorted(pf[order], np.arange(n_frames + 1))
    spot_cols = {k: np.asarray(getattr(puncta, k), dtype=float) for k in ("y", "x", "z_um")}
    spot_cols["flux"] = np.asarray(puncta.flux, dtype=float)
    spot_cols["sigma"] = np.asarray(puncta.sigma, dtype=float)
    for f in range(n_frames):
        sel = order[bounds[f] : bounds[f + 1]]
        spots = {k: v[sel] for k, v in spot_cols.items()}
        channels = renderer.render(f, labels[f], nuclei[f], spots)
        for c, role in enumerate(roles):
            image[f, c] = channels[role]

    cells_df, events_df, puncta_df, tracks_df = _tables(geom, labels, nbrs, st, puncta)
    return Simulation(
        image=image,
        channel_names=tuple(CHANNEL_SLOTS[r][0] for r in roles),
        channel_roles={r: i for i, r in enumerate(roles)},
        pixel_size_um=p.pixel_size_um,
        frame_interval_s=p.frame_interval_s,
        labels=labels,
        nuclei_labels=nuclei,
        cells=cells_df,
        events=events_df,
        puncta=puncta_df,
        tracks=tracks_df,
        params=p,
        elapsed_s=time.perf_counter() - t0,
    )


def _tables(geom, labels, nbrs, st, puncta):
    n_frames, h, w = labels.shape
    n_ids = len(geom.parent)
    yy = np.repeat(np.arange(h, dtype=np.float64), w)
    xx = np.tile(np.arange(w, dtype=np.float64), h)
    pf = np.asarray(puncta.frame, dtype=np.int64)
    pc = np.asarray(puncta.cell_id, dtype=np.int64)
    rows = []
    for f in range(n_frames):
        flat = labels[f].ravel()
        area = np.bincount(flat, minlength=n_ids)
        sy = np.bincount(flat, weights=yy, minlength=n_ids)
        sx = np.bincount(flat, weights=xx, minlength=n_ids)
        npun = np.bincount(pc[pf == f], minlength=n_ids)
        ids = np.sort(geom.frames[f].ids)
        ids = ids[area[ids] > 0]
        rows.append(
            pd.DataFrame(
                {
                    "frame": f,
                    "cell_id": ids,
                    "parent_id": geom.parent[ids],
                    "population": np.where(geom.donor[ids], "donor", "recipient"),
                    "centroid_y": sy[ids] / area[ids],
                    "centroid_x": sx[ids] / area[ids],
                    "area_px": area[ids],
                    "pgp_positive": [
                        bool(geom.donor[c]) or st.positive(int(c), f) for c in ids.tolist()
                    ],
                    "touching_donor": [int(c) in nbrs[f] for c in ids.tolist()],
                    "n_puncta": npun[ids],
                    "blip": [(f, int(c)) in st.blips for c in ids.tolist()],
                }
            )
        )
    cells = pd.concat(rows, ignore_index=True).astype(
        {"frame": "int64", "cell_id": "int64", "parent_id": "int64", "area_px": "int64"}
    )
    cells["n_puncta"] = cells["n_puncta"].astype("int64")

    ev = pd.DataFrame(
        st.events,
        columns=["recipient_id", "frame", "donor_id", "mode", "n_touching_donors"],
    )
    ev = ev.sort_values(["frame", "recipient_id"], kind="stable").reset_index(drop=True)
    where = cells.set_index(["frame", "cell_id"])
    keys = list(zip(ev["frame"], ev["recipient_id"], strict=True))
    ev["centroid_y"] = [float(where.at[k, "centroid_y"]) for k in keys]
    ev["centroid_x"] = [float(where.at[k, "centroid_x"]) for k in keys]
    ev = ev.astype({"recipient_id": "int64", "frame": "int64", "donor_id": "int64"})
    ev["n_touching_donors"] = ev["n_touching_donors"].astype("int64")

    pun = pd.DataFrame(
        {
            "frame": pf,
            "y": np.asarray(puncta.y, dtype=float),
            "x": np.asarray(puncta.x, dtype=float),
            "z_um": np.asarray(puncta.z_um, dtype=float),
            "cell_id": pc,
            "kind": list(puncta.kind),
            "flux": np.asarray(puncta.flux, dtype=float),
            "sigma_px": np.asarray(puncta.sigma, dtype=float),
        }
    )

    g = cells.groupby("cell_id", sort=True)
    tr = pd.DataFrame(
        {
            "cell_id": g.size().index.astype("int64"),
            "first_frame": g["frame"].min().to_numpy(),
            "last_frame": g["frame"].max().to_numpy(),
            "n_frames": g.size().to_numpy(),
        }
    )
    cid = tr["cell_id"].to_numpy()
    tr.insert(1, "parent_id", geom.parent[cid].astype("int64"))
    tr.insert(2, "population", np.where(geom.donor[cid], "donor", "recipient"))
    status, acquired, inherited = [], [], []
    for c in cid.tolist():
        kind = st.kind.get(c)
        if geom.donor[c]:
            status.append("not_recipient")
        elif kind is None:
            status.append("no_event")
        elif kind.endswith("positive_at_start"):
            status.append("positive_at_start")
        else:
            status.append("event")
        acq = st.acquired_frame.get(c) if not geom.donor[c] else None
        acquired.append(np.nan if acq is None else float(acq))
        inherited.append(bool(kind and kind.startswith("inherited_")))
    tr["status"] = status
    tr["acquired_frame"] = np.asarray(acquired, dtype=float)
    tr["inherited"] = inherited
    return cells, ev, pun, tr


#: Parameters of the bundled sample (:func:`make_sample`).
SAMPLE_PARAMS = SimulationParams(seed=78, n_frames=24, shape_yx=(256, 256))


def make_sample() -> Simulation:
    """The small bundled sample: 24 frames × 3 channels × 256×256 with contact and remote events.

    Returns
    -------
    Simulation
        ``simulate_coculture(SAMPLE_PARAMS)``: Hoechst, CellTracker Blue and P-gp-EGFP;
        ~34 cells per frame, 46 tracks, 5 divisions, 5 contact and 4 remote events (one
        without a source donor), 2 recipients positive at start, 3 blips; about 4.3 MB as
        zlib OME-TIFF. Takes about 1 s.

    Examples
    --------
    >>> sim = make_sample()
    >>> sim.image.shape
    (24, 3, 256, 256)
    >>> sorted(set(sim.events["mode"]))
    ['contact', 'remote']
    """
    return simulate_coculture(SAMPLE_PARAMS)
