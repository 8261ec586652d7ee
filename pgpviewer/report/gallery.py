"""Event crop gallery: the P-gp channel around each transfer event, before, at and after it.

Crops are read from the analysed input file and ``labels.tif``; the recipient's outline is drawn
in yellow and the source donor's in cyan. They are small PNGs (written with :mod:`zlib`, no
imaging library) inlined as base64 ``data:`` URIs, so the report stays one file.
"""

from __future__ import annotations

import base64
import struct
import zlib
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

MAX_EVENTS = 60
HALF = 24  # crop half-size (px): 48 × 48 crops
RECIPIENT_RGB = (255, 205, 0)
DONOR_RGB = (0, 220, 255)


def png_bytes(image: np.ndarray) -> bytes:
    """Encode a uint8 (H, W) grey or (H, W, 3) RGB array as PNG.

    Examples
    --------
    >>> png_bytes(np.zeros((2, 3), np.uint8))[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
    True
    """
    a = np.ascontiguousarray(image, dtype=np.uint8)
    if a.ndim == 2:
        color = 0
    elif a.ndim == 3 and a.shape[2] == 3:
        color = 2
    else:
        raise ValueError(f"expected (H, W) or (H, W, 3), got {a.shape}")
    h, w = a.shape[:2]
    raw = b"".join(b"\x00" + a[i].tobytes() for i in range(h))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + tag
            + data
            + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", w, h, 8, color, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def data_uri(image: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(image)).decode("ascii")


def _crop(a: np.ndarray, cy: int, cx: int, half: int = HALF) -> np.ndarray:
    """``a[cy-half:cy+half, cx-half:cx+half]``, zero-padded at the image border."""
    h, w = a.shape[:2]
    out = np.zeros((2 * half, 2 * half, *a.shape[2:]), a.dtype)
    y0, x0 = cy - half, cx - half
    ys, xs = max(y0, 0), max(x0, 0)
    ye, xe = min(y0 + 2 * half, h), min(x0 + 2 * half, w)
    if ye > ys and xe > xs:
        out[ys - y0 : ye - y0, xs - x0 : xe - x0] = a[ys:ye, xs:xe]
    return out


def _outline(mask: np.ndarray) -> np.ndarray:
    inner = mask.copy()
    inner[1:, :] &= mask[:-1, :]
    inner[:-1, :] &= mask[1:, :]
    inner[:, 1:] &= mask[:, :-1]
    inner[:, :-1] &= mask[:, 1:]
    return mask & ~inner


def render_crop(
    grey: np.ndarray,
    lo: float,
    hi: float,
    labels: np.ndarray | None,
    recipient: int | None,
    donor: int | None,
) -> np.ndarray:
    """Contrast-stretched grey crop as RGB with cell outlines."""
    scale = 255.0 / (hi - lo) if hi > lo else 0.0
    g = np.clip((grey.astype(np.float64) - lo) * scale, 0, 255).astype(np.uint8)
    rgb = np.repeat(g[..., None], 3, axis=2)
    if labels is not None:
        for lab, color in ((donor, DONOR_RGB), (recipient, RECIPIENT_RGB)):
            if lab:
                rgb[_outline(labels == lab)] = color
    return rgb


class _Source:
    """Reads P-gp frames and label frames of one analysed input."""

    def __init__(self, folder: Path, prov: dict[str, Any]):
        import tifffile

        from pgpviewer.core.io import read_stack

        inp = prov.get("input") or {}
        roles = prov.get("channel_roles") or {}
        if "pgp" not in roles:
            raise LookupError("no P-gp channel was mapped")
        self.channel = int(roles["pgp"]["index"])
        path = inp.get("path")
        if not path or not Path(path).exists():
            raise LookupError(f"the input {path} is not available")
        self.stack = read_stack(path, position=int(inp.get("position") or 0))
        self.first = int((inp.get("frames") or [0])[0])
        self.projection = (prov.get("params") or {}).get("z_projection", "max")
        self.labels = tifffile.TiffFile(folder / "labels.tif")
        self.n_labels = len(self.labels.pages)
        if self.labels.pages[0].shape[-2:] != self.stack.shape_yx:
            raise LookupError("labels.tif and the input differ in size (was --axes used?)")

    def frame(self, f: int) -> tuple[np.ndarray, np.ndarray] | None:
        i = f - self.first
        if not (0 <= i < self.n_labels and 0 <= f < self.stack.n_frames):
            return None
        img = np.asarray(self.stack.projected_frame(f, self.projection))[self.channel]
        return img, self.labels.pages[i].asarray()

    def close(self) -> None:
        self.labels.close()


def gallery_html(
    folder: Path, prov: dict[str, Any], events: pd.DataFrame, max_events: int = MAX_EVENTS
) -> str:
    """The gallery section body; a note instead when the input or labels are not available."""
    if events.empty:
        return '<p class="empty">No transfer events.</p>'
    try:
        src = _Source(folder, prov)
    except Exception as e:  # missing input, unreadable file, no P-gp role…
        return f'<p class="note">Gallery not drawn: {escape(str(e))}.</p>'
    try:
        lookup = _label_lookup(folder, events)
        items = []
        for _, ev in events.head(max_events).iterrows():
            html = _event_html(src, ev, lookup)
            if html:
                items.append(html)
    finally:
        src.close()
    more = ""
    if len(events) > max_events:
        more = f'<p class="note">First {max_events} of {len(events)} events shown.</p>'
    legend = (
        '<p class="note">P-gp channel, same contrast across the three frames of an event; '
        "recipient outlined in yellow, source donor in cyan.</p>"
    )
    return legend + more + f'<div class="gallery">{"".join(items)}</div>'


def _label_lookup(folder: Path, events: pd.DataFrame) -> dict[tuple[int, int], int]:
    """(frame, track_id) → label, for the tracks of the events only."""
    tracks: set[int] = set()
    for col in ("recipient_track_id", "donor_track_id"):
        if col in events.columns:
            tracks |= set(pd.to_numeric(events[col], errors="coerce").dropna().astype(int))
    out: dict[tuple[int, int], int] = {}
    try:
        for chunk in pd.read_csv(
            folder / "cells.csv", usecols=["frame", "label", "track_id"], chunksize=200_000
        ):
            chunk = chunk.dropna()
            chunk = chunk[chunk["track_id"].astype(int).isin(tracks)]
            for f, lab, t in zip(chunk["frame"], chunk["label"], chunk["track_id"], strict=True):
                out[(int(f), int(t))] = int(lab)
    except (OSError, ValueError):
        pass
    return out


def _int(v: Any) -> int | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return int(f) if np.isfinite(f) else None


def _event_html(src: _Source, ev: pd.Series, lookup: dict[tuple[int, int], int]) -> str:
    f = _int(ev.get("frame"))
    cy, cx = _int(ev.get("centroid_y")), _int(ev.get("centroid_x"))
    if f is None or cy is None or cx is None:
        return ""
    rec, don = _int(ev.get("recipient_track_id")), _int(ev.get("donor_track_id"))
    frames = [(f - 1, "before"), (f, "event"), (f + 1, "after")]
    crops = []
    for t, name in frames:
        got = src.frame(t)
        if got is None:
            continue
        img, lab = got
        crops.append((t, name, _crop(img, cy, cx), _crop(lab, cy, cx)))
    if not crops:
        return ""
    # contrast from the pixels outside the donor, so a bright donor rim does not hide uptake
    pooled = []
    for t, _, grey, lab in crops:
        dl = lookup.get((t, don)) if don is not None else None
        keep = lab != dl if dl else np.ones(lab.shape, bool)
        pooled.append(grey[keep].ravel())
    values = np.concatenate(pooled).astype(np.float64)
    if values.size == 0:
        values = np.concatenate([c[2].ravel() for c in crops]).astype(np.float64)
    lo, hi = np.percentile(values, [1.0, 99.5])
    figs = []
    for t, name, grey, lab in crops:
        rl = lookup.get((t, rec)) if rec is not None else None
        dl = lookup.get((t, don)) if don is not None else None
        rgb = render_crop(grey, float(lo), float(hi), lab, rl, dl)
        figs.append(
            f'<figure><img alt="event {escape(str(ev.get("event_id", "")))} {name}" '
            f'src="{data_uri(rgb)}"><div>{name} · frame {t}</div></figure>'
        )
    mode = escape(str(ev.get("mode", "")))
    eid = _int(ev.get("event_id"))
    head = (
        f"<div><b>event {'' if eid is None else eid}</b> · {mode} · "
        f"recipient track {rec if rec is not None else '—'}"
        f"{f' · donor track {don}' if don is not None else ''}</div>"
    )
    return f'<div class="ev">{head}<div class="crops">{"".join(figs)}</div></div>'
