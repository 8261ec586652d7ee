"""Image formation for the synthetic co-culture: dyes, P-gp rim/cytoplasm/puncta, optics, camera.

Private helper of :mod:`pgpviewer.core.synthetic`. Each channel is built as an object image in
relative units (per-cell look-up tables applied to the label image), blurred by a Gaussian PSF
(plus defocus for z-stacks), added to diffraction-limited puncta, multiplied by a smooth
illumination field, converted to photo-electrons and passed through a camera model
(Poisson shot noise, Gaussian read noise, gain, offset, uint16).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.special import erf

from pgpviewer.core.synthetic_geometry import FrameGeometry, Geometry
from pgpviewer.core.synthetic_transfer import Appearance, TransferState, pgp_fraction

#: Channel slots in their fixed order: role → (default name, brightness, PSF scale).
CHANNEL_SLOTS: dict[str, tuple[str, float, float]] = {
    "nuclei": ("Hoechst", 1.6, 0.9),
    "recipient": ("CellTracker Blue", 1.0, 0.9),
    "pgp": ("P-gp-EGFP", 1.0, 1.0),
    "donor": ("CellTracker Deep Red", 0.9, 1.25),
    "efflux": ("Calcein", 1.2, 1.0),
}
_PGP_AUTOFLUORESCENCE = 0.03  # cytoplasmic P-gp-channel signal of every cell (relative units)
_DEFOCUS_UM_PER_UM = 0.45  # extra blur sigma (µm) per µm of defocus
_CELL_HALF_HEIGHT_UM = 2.5


def illumination_fields(shape, roles, strength: float, rng) -> dict[str, np.ndarray]:
    """Smooth vignetting (1 at the optical centre, ~1 - strength in the corners) per channel."""
    h, w = shape
    yy = (np.arange(h, dtype=np.float32) - (h - 1) / 2) / (h / 2)
    xx = (np.arange(w, dtype=np.float32) - (w - 1) / 2) / (w / 2)
    out = {}
    for role in roles:
        cy, cx = rng.uniform(-0.15, 0.15, 2)
        ty, tx = rng.uniform(-0.04, 0.04, 2)
        rho2 = ((yy[:, None] - cy) ** 2 + (xx[None, :] - cx) ** 2) / 2.0
        field = 1.0 - strength * rho2 + ty * yy[:, None] + tx * xx[None, :]
        out[role] = np.clip(field, 0.15, None).astype(np.float32)
    return out


def _smooth_noise(rng, shape, sigma: float, amplitude: float) -> np.ndarray:
    """1 + amplitude × unit-variance Gaussian-filtered white noise."""
    white = rng.standard_normal(shape, dtype=np.float32)
    smooth = ndimage.gaussian_filter(white, sigma, mode="reflect")
    smooth *= np.float32(2.0 * np.sqrt(np.pi) * sigma)  # unit variance for 2-D white noise
    return 1.0 + np.float32(amplitude) * smooth


def add_spots(img: np.ndarray, ys, xs, flux, sigma) -> None:
    """Add pixel-integrated Gaussian spots (total ``flux``) at sub-pixel positions, in place."""
    ys = np.asarray(ys, dtype=float)
    if ys.size == 0:
        return
    xs = np.asarray(xs, dtype=float)
    flux = np.asarray(flux, dtype=float)
    sigma = np.asarray(sigma, dtype=float)
    h, w = img.shape
    half = int(np.ceil(3.5 * sigma.max()))
    off = np.arange(-half, half + 1)
    py = np.floor(ys + 0.5).astype(np.int64)[:, None] + off
    px = np.floor(xs + 0.5).astype(np.int64)[:, None] + off
    s2 = (np.sqrt(2.0) * sigma)[:, None]
    gy = 0.5 * (erf((py + 0.5 - ys[:, None]) / s2) - erf((py - 0.5 - ys[:, None]) / s2))
    gx = 0.5 * (erf((px + 0.5 - xs[:, None]) / s2) - erf((px - 0.5 - xs[:, None]) / s2))
    patch = flux[:, None, None] * gy[:, :, None] * gx[:, None, :]
    yy = np.broadcast_to(py[:, :, None], patch.shape)
    xx = np.broadcast_to(px[:, None, :], patch.shape)
    ok = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
    flat = np.bincount(yy[ok] * w + xx[ok], weights=patch[ok], minlength=h * w)
    img += flat.reshape(h, w).astype(img.dtype)


class FrameRenderer:
    """Renders frames one at a time (keeps the per-movie fields and per-channel generators)."""

    def __init__(self, geom: Geometry, st: TransferState, app: Appearance, p, roles, rng):
        self.geom, self.st, self.app, self.p = geom, st, app, p
        self.roles = list(roles)
        slot_rngs = dict(zip(CHANNEL_SLOTS, rng.spawn(len(CHANNEL_SLOTS)), strict=True))
        self.rngs = {role: slot_rngs[role] for role in self.roles}
        field_rng, self.texture_rng = rng.spawn(2)
        self.illum = illumination_fields(
            p.shape_yx, CHANNEL_SLOTS, p.illumination_strength, field_rng
        )
        self.background = {
            role: self.p.background_e
            * self.illum[role]
            * _smooth_noise(field_rng, p.shape_yx, 30.0, 0.08)
            for role in CHANNEL_SLOTS
        }
        self.n_ids = len(geom.parent)

    # -- per-frame look-up tables ------------------------------------------------------------------
    def _luts(self, f: int, fr: FrameGeometry) -> dict[str, np.ndarray]:
        g, st, app, p = self.geom, self.st, self.app, self.p
        n = self.n_ids
        ids = fr.ids
        frac = np.zeros(n)
        for cid in ids.tolist():
            frac[cid] = pgp_fraction(g, st, cid, f)
        blip = np.zeros(n)
        for cid in ids.tolist():
            if (f, cid) in st.blips:
                blip[cid] = p.acquired_level * 0.6
        pgp_bleach = np.exp(-p.pgp_bleach_per_frame * f)
        dye_bleach = np.exp(-p.bleach_per_frame * f)
        donor = g.donor
        activity = np.where(donor, 1.0, 0.75 * frac)
        mitotic = np.zeros(n, dtype=bool)
        mitotic[ids] = fr.mitotic
        return {
            "rim": app.pgp_rim * frac * pgp_bleach,
            "cyto": (app.pgp_cyto * frac + _PGP_AUTOFLUORESCENCE + blip) * pgp_bleach,
            "recipient": np.where(donor, 0.0, app.identity) * dye_bleach,
            "donor": np.where(donor, app.identity, 0.0) * dye_bleach,
            "nuclei": app.hoechst * np.where(mitotic, 1.8, 1.0),
            "efflux": app.calcein * (1.0 - 0.85 * activity),
            "rim_wide": app.rim_wide,
        }

    def render(self, f: int, lab: np.ndarray, nuc: np.ndarray, puncta) -> dict[str, np.ndarray]:
        """Camera images (uint16; (Y, X) or (Z, Y, X)) of frame ``f`` for every included role."""
        p = self.p
        fr = self.geom.frames[f]
        lut = self._luts(f, fr)
        cell = lab > 0
        mx3 = ndimage.maximum_filter(lab, size=3, mode="nearest")
        mn3 = ndimage.minimum_filter(lab, size=3, mode="nearest")
        edge1 = cell & (mx3 != mn3)
        mx5 = ndimage.maximum_filter(lab, size=5, mode="nearest")
        mn5 = ndimage.minimum_filter(lab, size=5, mode="nearest")
        edge2 = cell & (mx5 != mn5) & lut["rim_wide"][lab]
        rim = (edge1 | edge2).astype(np.float32)
        interior = cell & ~edge1
        dist = ndimage.distance_transform_edt(interior).astype(np.float32)
        thick = np.where(cell, 1.0 - 0.75 * np.exp(-dist / 3.0), 0.0).astype(np.float32)
        is_nuc = nuc > 0

        # cytoplasm texture (thickness, organelles) is shared by every cytoplasmic signal
        cyto_tex = _smooth_noise(self.texture_rng, lab.shape, 2.0, 0.22)
        out = {}
        hoechst_obj = None
        if "nuclei" in self.roles:
            chrom = _smooth_noise(self.rngs["nuclei"], lab.shape, 1.2, 0.25)
            hoechst_obj = lut["nuclei"][nuc].astype(np.float32) * chrom
        for role in self.roles:
            rng = self.rngs[role]
            spots = None
            if role == "nuclei":
                obj = hoechst_obj
            elif role in ("recipient", "donor", "efflux"):
                tex = cyto_tex
                level = lut[role][lab].astype(np.float32)
                nuc_factor = np.where(is_nuc, 0.85 if role != "efflux" else 1.1, 1.0)
                obj = level * thick * tex * nuc_factor.astype(np.float32)
                if role == "recipient" and hoechst_obj is not None and p.bleedthrough > 0:
                    obj = obj + np.float32(p.bleedthrough) * hoechst_obj
            else:  # pgp
                tex_m = _smooth_noise(rng, lab.shape, 1.5, 0.3)
                tex_c = cyto_tex
                rim_level = lut["rim"][lab].astype(np.float32)
                cyto_level = lut["cyto"][lab].astype(np.float32)
                cyto = cyto_level * thick * tex_c * np.where(is_nuc, 0.45, 1.0).astype(np.float32)
                obj = rim_level * rim * np.clip(tex_m, 0.2, None) + cyto
                spots = puncta
            out[role] = self._camera(role, obj, spots, rng)
        return out

    def _camera(self, role: str, obj: np.ndarray, spots, rng) -> np.ndarray:
        p = self.p
        _, gain_c, psf_scale = CHANNEL_SLOTS[role]
        psf = p.psf_sigma_px * psf_scale
        scale = np.float32(p.photons_per_unit * gain_c)
        # defocus of each plane (µm) relative to the focal plane of the monolayer (the middle)
        defocus = (np.arange(p.n_z) - (p.n_z - 1) / 2.0) * p.z_step_um
        images = []
        for dz in defocus.tolist():
            extra = _DEFOCUS_UM_PER_UM * abs(dz) / p.pixel_size_um
            sig = float(np.hypot(psf, extra))
            weight = 0.35 + 0.65 * np.exp(-(dz**2) / (2 * _CELL_HALF_HEIGHT_UM**2))
            img = ndimage.gaussian_filter(obj, sig, mode="nearest") * np.float32(weight)
            if spots is not None and len(spots["y"]):
                zoff = dz - spots["z_um"] if p.n_z > 1 else np.zeros(len(spots["y"]))
                s_sig = np.hypot(
                    spots["sigma"], _DEFOCUS_UM_PER_UM * np.abs(zoff) / p.pixel_size_um
                )
                s_flux = spots["flux"] * (0.4 + 0.6 * np.exp(-(zoff**2) / (2 * 0.8**2)))
                add_spots(img, spots["y"], spots["x"], s_flux, s_sig)
            lam = img * scale * self.illum[role] + self.background[role]
            images.append(self._expose(lam, rng))
        return images[0] if p.n_z == 1 else np.stack(images)

    def _expose(self, lam: np.ndarray, rng) -> np.ndarray:
        p = self.p
        lam = np.clip(lam, 0.0, None)
        if p.add_noise:
            electrons = rng.poisson(lam).astype(np.float32)
            read = rng.standard_normal(lam.shape, dtype=np.float32) * np.float32(p.read_noise_e)
            adu = (electrons + read) * np.float32(p.gain_adu_per_e) + np.float32(p.offset_adu)
        else:
            adu = lam.astype(np.float32) * np.float32(p.gain_adu_per_e) + np.float32(p.offset_adu)
        return np.clip(np.rint(adu), 0, 65535).astype(np.uint16)
