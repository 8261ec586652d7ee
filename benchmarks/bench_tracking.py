"""Speed and link accuracy of ``track_cells`` against laptrack (the reference LAP tracker).

Both trackers get the same synthetic cell centroids with ground truth: a dense 2D culture of
cells (radius ~ 8-14 px, crowded so neighbours are 15-25 px apart) doing persistent random walks
with soft repulsion, dividing (daughters appear ~ half a radius either side of the mother),
leaving and entering through the borders, and missed by the "segmentation" in 1 % of frames
(gaps of one or two frames). Centroids carry 0.5 px of localisation noise.

Both trackers use the same settings: squared-distance cost, 25 px linking and gap-closing
distance, gaps up to 2 missed frames, divisions on, merging off. Link accuracy is the fraction of
true links (same cell in successive observations, and mother → daughter) present in the output;
precision is the fraction of output links that are true.

The same comparison runs on the project's co-culture simulator (ground-truth masks → centroids)
and, when ``../shared/data`` is present, on real tracking ground truth: the manually annotated
Mitocheck HeLa crop (9 frames, 2 divisions) and the official CTC Fluo-N2DH-SIM+ 01 TRA masks and
lineage (65 frames, 31 mothers; nuclei ~50 px wide, so also run with a 40 px limit).

Run::

    .venv/bin/python benchmarks/bench_tracking.py             # laptrack skipped on 2000 × 100
    .venv/bin/python benchmarks/bench_tracking.py --quick     # small point sets only
    .venv/bin/python benchmarks/bench_tracking.py --laptrack-full  # laptrack on 2000 × 100 too

Prints a table and writes ``benchmarks/results/tracking.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pgpviewer.core.metrics_tracking import (  # noqa: E402
    division_scores,
    link_scores,
    track_divisions,
    track_links,
)
from pgpviewer.core.params import TrackingParams  # noqa: E402
from pgpviewer.core.tracking import track_cells  # noqa: E402

MAX_DISTANCE = 25.0
GAP = 2


def simulate_points(
    n_cells: int = 2000,
    n_frames: int = 100,
    *,
    seed: int = 0,
    speed: float = 3.0,
    division_rate: float = 0.004,
    miss_rate: float = 0.01,
    exit_entry: bool = True,
    noise: float = 0.5,
) -> pd.DataFrame:
    """Synthetic cell centroids with ground-truth ids and parents.

    Returns
    -------
    DataFrame
        ``frame, label, centroid_y, centroid_x, area_px, gt_id, gt_parent`` (label = row
        number within the frame + 1; ``gt_parent`` 0 for founders).
    """
    rng = np.random.default_rng(seed)
    r_mean = 11.0
    side = float(np.sqrt(n_cells * np.pi * r_mean**2 / 0.55))  # ~55 % confluent
    y = rng.uniform(0, side, n_cells)
    x = rng.uniform(0, side, n_cells)
    r = rng.uniform(8, 14, n_cells)
    ang = rng.uniform(0, 2 * np.pi, n_cells)
    ids = np.arange(1, n_cells + 1)
    parent = {int(i): 0 for i in ids}
    next_id = n_cells + 1
    rows = []
    from scipy.spatial import cKDTree

    for _ in range(20):  # relax initial overlaps
        y, x = _repel(y, x, r, cKDTree)
    for t in range(n_frames):
        if t > 0:
            ang = ang + rng.normal(0, 0.6, len(ids))
            step = rng.gamma(2.0, speed / 2.0, len(ids))
            y = y + step * np.sin(ang)
            x = x + step * np.cos(ang)
            for _ in range(3):
                y, x = _repel(y, x, r, cKDTree)
            # divisions
            div = rng.random(len(ids)) < division_rate
            if div.any():
                k = np.flatnonzero(div)
                th = rng.uniform(0, 2 * np.pi, len(k))
                off = 0.75 * r[k]  # daughters of radius r/√2 touching each other
                new_y = np.concatenate([y[k] + off * np.sin(th), y[k] - off * np.sin(th)])
                new_x = np.concatenate([x[k] + off * np.cos(th), x[k] - off * np.cos(th)])
                new_r = np.concatenate([r[k], r[k]]) / np.sqrt(2) * rng.uniform(0.95, 1.05,
                                                                                2 * len(k))
                new_ids = np.arange(next_id, next_id + 2 * len(k))
                next_id += 2 * len(k)
                for j, m in enumerate(np.concatenate([ids[k], ids[k]])):
                    parent[int(new_ids[j])] = int(m)
                keep = ~div
                y = np.concatenate([y[keep], new_y])
                x = np.concatenate([x[keep], new_x])
                r = np.concatenate([r[keep], new_r])
                ang = np.concatenate([ang[keep], rng.uniform(0, 2 * np.pi, 2 * len(k))])
                ids = np.concatenate([ids[keep], new_ids])
            r = np.minimum(r * 1.004, 14.0)  # growth
            if exit_entry:
                inside = (y > -5) & (y < side + 5) & (x > -5) & (x < side + 5)
                n_out = int((~inside).sum())
                y, x, r, ang, ids = y[inside], x[inside], r[inside], ang[inside], ids[inside]
                if n_out:  # as many enter at random border positions
                    e = rng.integers(0, 4, n_out)
                    u = rng.uniform(0, side, n_out)
                    ey = np.where(e == 0, 0.0, np.where(e == 1, side, u))
                    ex = np.where(e == 2, 0.0, np.where(e == 3, side, u))
                    new_ids = np.arange(next_id, next_id + n_out)
                    next_id += n_out
                    for i in new_ids:
                        parent[int(i)] = 0
                    y, x = np.concatenate([y, ey]), np.concatenate([x, ex])
                    r = np.concatenate([r, rng.uniform(8, 14, n_out)])
                    ang = np.concatenate([ang, rng.uniform(0, 2 * np.pi, n_out)])
                    ids = np.concatenate([ids, new_ids])
        seen = rng.random(len(ids)) >= miss_rate
        inside = (y >= 0) & (y < side) & (x >= 0) & (x < side)
        sel = seen & inside
        n = int(sel.sum())
        perm = rng.permutation(n)  # labels carry no identity
        rows.append(
            pd.DataFrame(
                {
                    "frame": t,
                    "label": perm + 1,
                    "centroid_y": y[sel] + rng.normal(0, noise, n),
                    "centroid_x": x[sel] + rng.normal(0, noise, n),
                    "area_px": np.pi * r[sel] ** 2 * rng.uniform(0.9, 1.1, n),
                    "gt_id": ids[sel],
                }
            )
        )
    df = pd.concat(rows, ignore_index=True)
    df["gt_parent"] = df["gt_id"].map(parent).astype(np.int64)
    return df.sort_values(["frame", "label"], ignore_index=True)


def _repel(y, x, r, cKDTree):
    pts = np.column_stack([y, x])
    pairs = cKDTree(pts).query_pairs(2 * 14.0 * 0.8, output_type="ndarray")
    if len(pairs) == 0:
        return y, x
    i, j = pairs[:, 0], pairs[:, 1]
    d = pts[j] - pts[i]
    dist = np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-6)
    want = 0.8 * (r[i] + r[j])
    push = np.clip(want - dist, 0, None) / 2
    u = d / dist[:, None] * push[:, None]
    dy = np.zeros(len(y))
    dx = np.zeros(len(x))
    np.add.at(dy, i, -u[:, 0])
    np.add.at(dx, i, -u[:, 1])
    np.add.at(dy, j, u[:, 0])
    np.add.at(dx, j, u[:, 1])
    return y + dy, x + dx


def truth_links(df: pd.DataFrame):
    gt = df.assign(track_id=df["gt_id"], parent_track_id=df["gt_parent"].where(df["gt_parent"] > 0))
    return track_links(gt), track_divisions(gt)


def run_ours(df: pd.DataFrame, max_distance: float | None = MAX_DISTANCE):
    params = TrackingParams(max_distance_px=max_distance, gap_closing_frames=GAP, divisions=True)
    feats = df[["frame", "label", "centroid_y", "centroid_x", "area_px"]]
    t0 = time.perf_counter()
    out = track_cells(feats, params)
    dt = time.perf_counter() - t0
    return dt, track_links(out), track_divisions(out)


def run_laptrack(df: pd.DataFrame, max_distance: float = MAX_DISTANCE):
    from laptrack import LapTrack

    lt = LapTrack(
        metric="sqeuclidean",
        cutoff=max_distance**2,
        gap_closing_metric="sqeuclidean",
        gap_closing_cutoff=max_distance**2,
        gap_closing_max_frame_count=GAP + 1,
        splitting_metric="sqeuclidean",
        splitting_cutoff=max_distance**2,
        merging_cutoff=False,
    )
    frames = list(range(int(df["frame"].min()), int(df["frame"].max()) + 1))
    groups = {f: g for f, g in df.groupby("frame")}
    empty = df.iloc[0:0]
    coords = [groups.get(f, empty)[["centroid_y", "centroid_x"]].to_numpy() for f in frames]
    labels = [groups.get(f, empty)["label"].to_numpy() for f in frames]
    t0 = time.perf_counter()
    graph = lt.predict(coords)
    dt = time.perf_counter() - t0
    # graph nodes are (frame index, row index in that frame); edges are links
    links = set()
    out_deg: dict = {}
    for a, b in graph.edges():
        a, b = (a, b) if a[0] < b[0] else (b, a)
        na = (int(frames[a[0]]), int(labels[a[0]][a[1]]))
        nb = (int(frames[b[0]]), int(labels[b[0]][b[1]]))
        links.add((na, nb))
        out_deg.setdefault(na, set()).add(nb)
    divisions = {k: frozenset(v) for k, v in out_deg.items() if len(v) == 2}
    return dt, links, divisions


# ---------------------------------------------------------------------------------------------
# cases: (name, features with gt_id / gt_parent, max distance)


def point_cases(quick: bool):
    sizes = [(200, 50), (500, 100)] if quick else [(200, 50), (500, 100), (2000, 100)]
    for n_cells, n_frames in sizes:
        yield f"points {n_cells}x{n_frames}", simulate_points(n_cells, n_frames, seed=1), \
            MAX_DISTANCE


def coculture_cases():
    from pgpviewer.core.metrics_tracking import label_table
    from pgpviewer.core.synthetic import simulate_coculture

    for seed in (1, 2):
        sim = simulate_coculture(seed=seed, n_frames=60, division_rate=0.02,
                                 include_nuclei=False, include_recipient_dye=False,
                                 add_noise=False)
        f = label_table(sim.labels)
        par = sim.tracks.set_index("cell_id")["parent_id"]
        yield (f"co-culture simulator seed {seed} (60 frames)",
               f.assign(gt_id=f["label"], gt_parent=f["label"].map(par).fillna(0).astype(int)),
               MAX_DISTANCE)


def real_cases():
    """Real tracking ground truth from ../shared/data (skipped when absent)."""
    import tifffile

    from pgpviewer.core.metrics_tracking import label_table

    data = ROOT.parent / "shared" / "data"
    d = data / "mitocheck_hela_9frames_ilastik_tracking_gt"
    if d.is_dir():
        f = label_table(tifffile.imread(d / "labels.tif"))
        ann = pd.read_csv(d / "annotations.csv").rename(columns={"object_label": "label"})
        div = pd.read_csv(d / "divisions.csv")
        par = {int(r.child_track_1): int(r.parent_track) for r in div.itertuples()}
        par |= {int(r.child_track_2): int(r.parent_track) for r in div.itertuples()}
        f = f.merge(ann, on=["frame", "label"], how="left")
        f["gt_id"] = f.pop("track_id")
        f["gt_parent"] = f["gt_id"].map(par).fillna(0).astype(int)
        yield "Mitocheck HeLa manual GT (9 frames)", f, MAX_DISTANCE
    d = data / "ctc_fluo-n2dh-sim+_01_TRA_gt_only" / "TRA"
    if d.is_dir():
        f = label_table(np.stack([tifffile.imread(p) for p in sorted(d.glob("man_track*.tif"))]))
        lin = pd.read_csv(d / "man_track.txt", sep=" ", header=None, names=["l", "b", "e", "p"])
        f["gt_id"] = f["label"]
        f["gt_parent"] = f["label"].map(dict(zip(lin["l"], lin["p"], strict=True)))
        for md in (MAX_DISTANCE, 40.0):
            yield f"CTC Fluo-N2DH-SIM+ 01 TRA GT (65 frames), {md:g} px", f, md


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes only")
    ap.add_argument("--laptrack-full", action="store_true",
                    help="also run laptrack on the 2000-cell case (slow)")
    ap.add_argument("--repeat", type=int, default=3, help="timing repeats for our tracker")
    args = ap.parse_args(argv)

    cases = [*point_cases(args.quick), *coculture_cases(), *real_cases()]
    rows = []
    for name, df, md in cases:
        gt = df[df["gt_id"] >= 0]  # -1: annotated false detection (kept as tracker input)
        gt_links, gt_div = truth_links(gt)
        times = []
        for _ in range(args.repeat):
            dt, links, divs = run_ours(df, md)
            times.append(dt)
        rows.append(_row(name, "pgpviewer", len(df), min(times), gt_links, links, gt_div, divs))
        if not name.startswith("points") and "40 px" not in name:
            dt, links, divs = run_ours(df, None)
            rows.append(_row(name, "pgpviewer (auto distance)", len(df), dt, gt_links, links,
                             gt_div, divs))
        if len(df) < 100_000 or args.laptrack_full:
            dt, links, divs = run_laptrack(df, md)
            rows.append(_row(name, "laptrack", len(df), dt, gt_links, links, gt_div, divs))
        else:
            rows.append({"case": name, "tracker": "laptrack", "n_detections": len(df),
                         "time_s": None, "note": "skipped (slow; run with --laptrack-full)"})
    table = pd.DataFrame(rows)
    cols = ["case", "tracker", "n_detections", "time_s", "link_accuracy", "link_precision",
            "division_recall", "division_precision", "n_true_divisions"]
    with pd.option_context("display.width", 250, "display.max_columns", 20,
                           "display.max_colwidth", 60):
        print(table[[c for c in cols if c in table.columns]].to_string(index=False,
                                                                      float_format="%.4f"))
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    meta = {"python": platform.python_version(), "machine": platform.machine(),
            "processor": platform.processor(), "cpus": os.cpu_count(),
            "max_distance_px": MAX_DISTANCE, "gap_closing_frames": GAP,
            "laptrack": _version("laptrack")}
    (out / "tracking.json").write_text(
        json.dumps({"meta": meta, "results": table.to_dict(orient="records")}, indent=2,
                   default=float)
    )
    print(f"wrote {out / 'tracking.json'}")
    return 0


def _version(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def _row(case, tracker, n_det, dt, gt_links, links, gt_div, divs):
    return {"case": case, "tracker": tracker, "n_detections": n_det, "time_s": round(dt, 3),
            **link_scores(gt_links, links), **division_scores(gt_div, divs)}


if __name__ == "__main__":
    raise SystemExit(main())
