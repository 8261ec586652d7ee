"""Full-analysis speed, memory and accuracy beside a plain scikit-image reference pipeline.

Cases (each run in its own process so peak RSS belongs to that case):
- ``512``: 512² × 3 channels × 200 frames (simulated co-culture, uncompressed OME-TIFF on disk)
- ``2048``: 2048² × 4 channels × 100 frames (4 × 4 mosaic of simulated 512² fields)
- ``huge``: a 2048² × 4-channel stack larger than this machine's RAM, streamed from disk
  (opt-in: ``--cases huge``; writes ~1.1 × RAM to the temporary folder)

For each: pgpviewer's whole analysis (segmentation, populations, puncta, measurements,
tracking, events) in frames/s, and peak RSS of the analysis and of analysis + writing all
output files (``export_results``, as ``pgpviewer analyze`` does); the reference pipeline
(gaussian → Otsu → distance transform → peaks → watershed → regionprops) on the same frames in
the same process; and segmentation accuracy (F1 at IoU 0.5, mean IoU) of both against the
simulator's ground truth.

Usage: python benchmarks/bench_pipeline.py [--cases 512 2048] [--frames N] [--workers N]
Prints a table and writes benchmarks/results/bench_pipeline.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE))


def peak_rss_mb() -> float:
    """Peak resident memory of this process (VmHWM: unlike ru_maxrss, not inherited from
    the parent that started it)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_case(case: str, folder: Path, n_frames: int | None) -> tuple[Path, Path]:
    """Write the case's stack and its ground-truth labels; returns (image path, gt path)."""
    import tifffile

    from pgpviewer.core.synthetic import simulate_coculture

    image_path, gt_path = folder / f"{case}.ome.tif", folder / f"{case}_gt.npy"
    if case == "512":
        n = n_frames or 200
        sim = simulate_coculture(seed=11, n_frames=n, shape_yx=(512, 512), n_cells=136)
        tifffile.imwrite(image_path, sim.image, ome=True, metadata={
            "axes": "TCYX", "Channel": {"Name": list(sim.channel_names)},
            "PhysicalSizeX": sim.pixel_size_um, "PhysicalSizeY": sim.pixel_size_um,
            "TimeIncrement": sim.frame_interval_s})
        np.save(gt_path, sim.labels)
        return image_path, gt_path
    n = n_frames or 100
    tiles = [simulate_coculture(seed=20 + k, n_frames=n, shape_yx=(512, 512), n_cells=136,
                                include_efflux=True) for k in range(4)]
    names = list(tiles[0].channel_names)
    total = n if case == "2048" else _frames_beyond_ram(len(names))

    def mosaic_frames():
        for t in range(total):
            src = t % n
            yield np.block([[_tile(tiles, (i * 4 + j) % 4, src, i, j)[0] for j in range(4)]
                            for i in range(4)])

    def mosaic_labels():
        for t in range(total):
            src = t % n
            rows = []
            for i in range(4):
                row = []
                for j in range(4):
                    lab = _tile(tiles, (i * 4 + j) % 4, src, i, j)[1].astype(np.int32)
                    row.append(np.where(lab > 0, lab + (i * 4 + j) * 100000, 0))
                rows.append(np.concatenate(row, axis=1))
            yield np.concatenate(rows, axis=0)

    c = len(names)
    big = total * c * 2048 * 2048 * 2 > 2**32 - 2**26  # classic TIFF offsets stop at 4 GiB
    tifffile.imwrite(image_path, mosaic_frames(), shape=(total, c, 2048, 2048), dtype=np.uint16,
                     ome=True, bigtiff=big, metadata={"axes": "TCYX", "Channel": {"Name": names}})
    gt = np.lib.format.open_memmap(gt_path, mode="w+", dtype=np.int32,
                                   shape=(min(total, 20), 2048, 2048))
    for t, lab in enumerate(mosaic_labels()):
        if t >= gt.shape[0]:
            break
        gt[t] = lab
    gt.flush()
    return image_path, gt_path


def _tile(tiles, k, t, i, j):
    """Tile k at frame t, flipped by its grid position so the mosaic does not repeat."""
    img, lab = tiles[k].image[t], tiles[k].labels[t]
    if i % 2:
        img, lab = img[:, ::-1], lab[::-1]
    if j % 2:
        img, lab = img[:, :, ::-1], lab[:, ::-1]
    return img, lab


def _frames_beyond_ram(n_channels: int) -> int:
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return int(1.1 * ram // (n_channels * 2048 * 2048 * 2)) + 1


def run_child(case: str, image_path: Path, gt_path: Path, workers: int | None,
              reference: bool) -> dict:
    """Runs in the child process: pgpviewer, then the reference, then scores."""
    from reference_pipeline import reference_frame

    from pgpviewer.analyze import choose_roles
    from pgpviewer.core.export import export_results
    from pgpviewer.core.io import read_stack
    from pgpviewer.core.metrics import match_label_stacks
    from pgpviewer.core.pipeline import run_pipeline

    stack = read_stack(image_path)
    roles = choose_roles(stack).roles
    rss0 = peak_rss_mb()
    t0 = time.perf_counter()
    result = run_pipeline(stack, roles, workers=workers)
    elapsed = time.perf_counter() - t0
    analysis_rss = peak_rss_mb()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="pgpviewer-bench-out-", dir=image_path.parent) as out:
        export_results(result, Path(out) / "results")  # the whole output contract, as the CLI
    export_seconds = time.perf_counter() - t0
    ours_rss = peak_rss_mb()
    gt = np.load(gt_path, mmap_mode="r")
    n_score = min(gt.shape[0], 20)
    ours_acc, _ = match_label_stacks(gt[:n_score], np.asarray(result.labels[:n_score]))
    out = {
        "case": case, "shape": list(stack.shape), "frames": stack.n_frames,
        "frame_set_mb": stack.frame_nbytes / 2**20,
        "pgpviewer_frames_per_s": stack.n_frames / elapsed,
        "pgpviewer_seconds": elapsed,
        "peak_rss_mb_before": rss0, "peak_rss_mb": ours_rss,
        "peak_rss_mb_analysis": analysis_rss, "export_seconds": export_seconds,
        "cell_rows": result.n_rows("cells"),
        "pgpviewer_f1": ours_acc.f1, "pgpviewer_mean_iou": ours_acc.mean_iou,
        "events": len(result.events), "tracks": len(result.tracks),
    }
    if reference:
        n_ref = min(stack.n_frames, 50)
        t0 = time.perf_counter()
        ref_labels = [reference_frame(stack.projected_frame(t))[0] for t in range(n_ref)]
        ref_elapsed = time.perf_counter() - t0
        ref_acc, _ = match_label_stacks(gt[: min(n_ref, n_score)],
                                        np.stack(ref_labels[: min(n_ref, n_score)]))
        out.update(reference_frames_per_s=n_ref / ref_elapsed, reference_frames=n_ref,
                   reference_f1=ref_acc.f1, reference_mean_iou=ref_acc.mean_iou,
                   speedup=out["pgpviewer_frames_per_s"] / (n_ref / ref_elapsed))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="+", default=["512", "2048"],
                    choices=["512", "2048", "huge"])
    ap.add_argument("--frames", type=int, default=None, help="frames per case (default: spec)")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--child", nargs=3, metavar=("CASE", "IMAGE", "GT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        case, image, gt = args.child
        res = run_child(case, Path(image), Path(gt), args.workers, reference=case != "huge")
        print("RESULT " + json.dumps(res))
        return
    rows = []
    with tempfile.TemporaryDirectory(prefix="pgpviewer-bench-") as tmp:
        for case in args.cases:
            t0 = time.perf_counter()
            image, gt = make_case(case, Path(tmp), args.frames)
            print(f"[{case}] data written in {time.perf_counter() - t0:.0f} s "
                  f"({image.stat().st_size / 2**30:.2f} GB)", file=sys.stderr)
            cmd = [sys.executable, __file__, "--child", case, str(image), str(gt)]
            if args.workers:
                cmd += ["--workers", str(args.workers)]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
            if proc.returncode or not line:
                print(proc.stderr[-3000:], file=sys.stderr)
                raise SystemExit(f"case {case} failed")
            rows.append(json.loads(line[-1][7:]))
            image.unlink()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bench_pipeline.json").write_text(json.dumps(rows, indent=2))
    head = (f"{'case':<6}{'frames':>7}{'ours f/s':>10}{'ref f/s':>9}{'speedup':>9}"
            f"{'peak RSS MB':>13}{'frame MB':>10}{'F1 ours':>9}{'F1 ref':>8}{'IoU ours':>10}")
    print(head)
    for r in rows:
        print(f"{r['case']:<6}{r['frames']:>7}{r['pgpviewer_frames_per_s']:>10.2f}"
              f"{r.get('reference_frames_per_s', float('nan')):>9.2f}"
              f"{r.get('speedup', float('nan')):>9.2f}{r['peak_rss_mb']:>13.0f}"
              f"{r['frame_set_mb']:>10.1f}{r['pgpviewer_f1']:>9.3f}"
              f"{r.get('reference_f1', float('nan')):>8.3f}{r['pgpviewer_mean_iou']:>10.3f}")


if __name__ == "__main__":
    main()
