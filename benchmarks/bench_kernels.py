"""Per-function CPU time of the per-frame analysis, and of each fast kernel beside the
formulation it replaced.

Frames: a simulated 512² × 3-channel co-culture (136 cells) and a 2048² × 4-channel mosaic of
four simulated fields. Times are CPU seconds of this process (``time.process_time``, so other
work on the machine does not count) per call, the median of ``--repeat`` runs; wall time is
reported beside it.

Usage: python benchmarks/bench_kernels.py [--repeat N] [--cases 512 2048]
Prints a table and writes benchmarks/results/kernels.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def _time(fn, repeat: int) -> tuple[float, float]:
    cpu, wall = [], []
    for _ in range(repeat):
        c0, w0 = time.process_time(), time.perf_counter()
        fn()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return float(np.median(cpu)) * 1e3, float(np.median(wall)) * 1e3


def _frames(case: str):
    from pgpviewer.core.synthetic import simulate_coculture

    if case == "512":
        sim = simulate_coculture(seed=11, n_frames=1, shape_yx=(512, 512), n_cells=136)
        return sim.image[0], dict(sim.channel_roles), list(sim.channel_names)
    tiles = [simulate_coculture(seed=20 + k, n_frames=1, shape_yx=(512, 512), n_cells=136,
                                include_efflux=True) for k in range(4)]

    def tile(k, i, j):
        img = tiles[k].image[0]
        return img[:, ::-1 if i % 2 else 1, ::-1 if j % 2 else 1]

    img = np.block([[tile((i * 4 + j) % 4, i, j) for j in range(4)] for i in range(4)])
    return img, dict(tiles[0].channel_roles), list(tiles[0].channel_names)


# --- the formulations the kernels replaced (for the before/after rows) -----------------------
def _old_fill_small_holes(mask, max_area):
    filled = ndi.binary_fill_holes(mask)
    holes = filled & ~mask
    lab, n = ndi.label(holes)
    sizes = np.bincount(lab.ravel(), minlength=n + 1)
    small = sizes <= max_area
    small[0] = False
    return mask | small[lab]


def _old_label_percentile(values, labels, q):
    flat = labels.ravel()
    n = int(flat.max())
    idx = np.flatnonzero(flat)
    lab = flat[idx]
    val = values.astype(np.float64).ravel()[idx]
    lo, hi = val.min(), val.max()
    key = lab + 0.5 * (val - lo) / (hi - lo)
    order = np.argsort(key)
    counts = np.bincount(lab, minlength=n + 1)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    have = counts > 0
    have[0] = False
    k = starts[have] + np.floor(q / 100.0 * (counts[have] - 1)).astype(np.int64)
    out = np.full(n + 1, np.nan)
    out[have] = val[order[k]]
    return out


def _old_seeds(mask, diameter):
    from skimage import morphology, segmentation

    dist = ndi.distance_transform_edt(mask).astype(np.float32)
    smooth = ndi.gaussian_filter(dist, max(1.0, diameter / 15.0))
    smooth[~mask] = 0
    peaks = morphology.h_maxima(smooth, max(1.0, 0.15 * diameter)) > 0
    markers, _ = ndi.label(peaks & mask)
    return segmentation.watershed(-dist, markers, mask=mask)


def _shrunk(labels):
    """Seeds for the watershed row: each cell eroded by 3 px."""
    from pgpviewer.core.neighbours import shift_max, shift_min

    return np.where((shift_min(labels, 3) == labels) & (shift_max(labels, 3) == labels),
                    labels, 0)


def _sobel(sig):
    from pgpviewer.core._cfilters import sobel_magnitude

    return sobel_magnitude(np.ascontiguousarray(sig, np.float32))


def _old_contacts(labels):
    codes = []
    n = int(labels.max()) + 1
    for a, b in ((labels[:, :-1], labels[:, 1:]), (labels[:-1], labels[1:])):
        sel = (a != b) & (a > 0) & (b > 0)
        lo, hi = np.minimum(a[sel], b[sel]), np.maximum(a[sel], b[sel])
        codes.append(lo.astype(np.int64) * n + hi)
    return np.unique(np.concatenate(codes), return_counts=True)


def _old_spot_response(image, sigma=1.2):
    g = ndi.gaussian_filter(np.asarray(image, np.float32), sigma, mode="nearest")
    hyy = np.zeros_like(g)
    hxx = np.zeros_like(g)
    hxy = np.zeros_like(g)
    hyy[1:-1] = g[2:] - 2 * g[1:-1] + g[:-2]
    hxx[:, 1:-1] = g[:, 2:] - 2 * g[:, 1:-1] + g[:, :-2]
    hxy[1:-1, 1:-1] = 0.25 * (g[2:, 2:] - g[2:, :-2] - g[:-2, 2:] + g[:-2, :-2])
    return -(0.5 * (hyy + hxx) + np.sqrt((0.5 * (hyy - hxx)) ** 2 + hxy**2))


def kernel_rows(img, roles, repeat):
    from skimage.feature import peak_local_max

    from pgpviewer.core import kernels
    from pgpviewer.core.params import SegmentationParams
    from pgpviewer.core.puncta import spot_response
    from pgpviewer.core.segmentation import (
        _seeds_and_split,
        prepare_channel,
        segment_cells,
    )

    p = SegmentationParams()
    sig, thr = prepare_channel(img[roles["nuclei"]], p)
    mask = sig > thr
    labels = segment_cells({r: img[i] for r, i in roles.items()}, p)
    resp = spot_response(img[roles["pgp"]], 1.2)
    blocks = kernels.block_view(resp, 32)
    thr_r = 5.0 * 1.4826 * float(np.median(np.abs(resp - np.median(resp))))
    from skimage import filters, segmentation

    from pgpviewer.core.neighbours import label_contacts, shift_max

    lab_mask = labels > 0
    edges = filters.sobel(sig / np.float32(max(float(sig.max()), 1e-6)))
    markers = np.where(lab_mask, _shrunk(labels), 0).astype(np.int32)
    rows = [
        ("grey dilation r=2 (labels)", lambda: ndi.maximum_filter(labels, 5, mode="nearest"),
         lambda: shift_max(labels, 2)),
        ("per-label sums (3 ch)", lambda: [np.bincount(labels.ravel(), weights=c.ravel())
                                           for c in img],
         lambda: [kernels.label_sums(labels, c, int(labels.max())) for c in img]),
        ("cell contacts", lambda: _old_contacts(labels), lambda: label_contacts(labels)),
        ("Sobel magnitude", lambda: filters.sobel(sig), lambda: _sobel(sig)),
        ("compact watershed", lambda: segmentation.watershed(
            edges, markers, mask=lab_mask, compactness=0.01),
         lambda: kernels.seeded_watershed(edges, markers, lab_mask, 0.01)),
        ("spot response (Hessian)", lambda: _old_spot_response(img[roles["pgp"]]),
         lambda: spot_response(img[roles["pgp"]], 1.2)),
        ("fill_small_holes", lambda: _old_fill_small_holes(mask, 700),
         lambda: kernels.fill_small_holes(mask, 700)),
        ("label_percentile (90th)", lambda: _old_label_percentile(sig, labels, 90),
         lambda: kernels.label_percentiles(sig, labels, [90])),
        ("distance transform", lambda: ndi.distance_transform_edt(mask),
         lambda: kernels.edt(mask)),
        ("nucleus seeds + split", lambda: _old_seeds(mask, 15.0),
         lambda: _seeds_and_split(mask, 15.0)),
        ("block medians (32²)", lambda: np.median(blocks, axis=2),
         lambda: kernels.block_median(blocks)),
        ("peak_local_max (spots)",
         lambda: peak_local_max(resp, min_distance=2, threshold_abs=thr_r, exclude_border=False),
         lambda: kernels.peak_local_max_fast(resp, 2, thr_r)),
    ]
    out = []
    for name, old, new in rows:
        before = _time(old, repeat)[0]
        after = _time(new, repeat)[0]
        out.append({"kernel": name, "before_cpu_ms": before, "after_cpu_ms": after})
    return out


def frame_rows(img, roles, names, repeat):
    from pgpviewer.core.measurements import frame_features, measure_cells
    from pgpviewer.core.params import MeasurementParams, PunctaParams, SegmentationParams
    from pgpviewer.core.puncta import detect_puncta
    from pgpviewer.core.segmentation import segment_cells

    sp, mp, pp = SegmentationParams(), MeasurementParams(), PunctaParams()
    labels = segment_cells({r: img[i] for r, i in roles.items()}, sp)
    feats, _ = frame_features(img, labels, roles, mp)
    pops = {int(k): ("donor" if k % 3 == 0 else "recipient") for k in feats["label"]}
    spots = detect_puncta(img[roles["pgp"]], labels, pp)
    steps = [
        ("segment_cells", lambda: segment_cells({r: img[i] for r, i in roles.items()}, sp)),
        ("frame_features", lambda: frame_features(img, labels, roles, mp)),
        ("detect_puncta", lambda: detect_puncta(img[roles["pgp"]], labels, pp)),
        ("measure_cells", lambda: measure_cells(img, labels, names, roles, pops, spots, mp)),
    ]
    out = []
    for name, fn in steps:
        cpu, wall = _time(fn, repeat)
        out.append({"function": name, "cpu_ms": cpu, "wall_ms": wall})
    out.append({"function": "TOTAL", "cpu_ms": sum(r["cpu_ms"] for r in out),
                "wall_ms": sum(r["wall_ms"] for r in out)})
    return out, int(labels.max()), len(spots)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--cases", nargs="+", default=["512", "2048"], choices=["512", "2048"])
    args = ap.parse_args()
    result = {}
    for case in args.cases:
        img, roles, names = _frames(case)
        frames, n_cells, n_spots = frame_rows(img, roles, names, args.repeat)
        kern = kernel_rows(img, roles, args.repeat) if case == "512" else []
        result[case] = {"shape": list(img.shape), "cells": n_cells, "puncta": n_spots,
                        "functions": frames, "kernels": kern}
        print(f"\n{case}: {img.shape} frame, {n_cells} cells, {n_spots} puncta "
              f"(median of {args.repeat}, ms per call)")
        print(f"  {'function':<26}{'CPU ms':>10}{'wall ms':>10}")
        for r in frames:
            print(f"  {r['function']:<26}{r['cpu_ms']:>10.1f}{r['wall_ms']:>10.1f}")
        if kern:
            print(f"  {'kernel':<26}{'before':>10}{'after':>10}{'speed-up':>10}")
            for r in kern:
                print(f"  {r['kernel']:<26}{r['before_cpu_ms']:>10.2f}{r['after_cpu_ms']:>10.2f}"
                      f"{r['before_cpu_ms'] / max(r['after_cpu_ms'], 1e-6):>10.1f}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "kernels.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
