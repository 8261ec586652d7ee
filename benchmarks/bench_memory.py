"""Memory of the whole analysis against the number of frames (issue #5: it must not grow).

Runs :func:`run_pipeline` and :func:`export_results` on simulated 512² × 4-channel movies of
several lengths, written to disk, with the label stack and the per-frame tables forced onto disk
(the path a movie larger than memory takes). A monitor process samples the resident memory
(VmRSS) of the analysing process and of its worker processes every 50 ms; the analysing process
marks the start of each pipeline stage. For every length it reports the peak RSS (VmHWM) of the
parent, the largest worker, and the peak per stage; the per-row slope between lengths shows
what still grows with the movie.

Usage::

    python benchmarks/bench_memory.py [--frames 100 200 400] [--workers 2] [--size 512|2048]
        [--data DIR] [--keep-outputs DIR]

Prints a table and writes ``benchmarks/results/bench_memory.json``. ``--keep-outputs`` keeps each
run's output folder (``DIR/<frames>/``), e.g. to compare the files of two versions.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def _status(pid: int, key: str) -> int:
    """A ``/proc/PID/status`` field in kB (0 when the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _children(pid: int) -> list[int]:
    out = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text().split()
            out += [int(x) for x in text]
    except OSError:
        pass
    return out


def monitor(pid: int, out: Path) -> None:
    """Sample VmRSS of ``pid`` and its descendants until it exits (runs in its own process)."""
    with open(out, "w") as fh:
        while Path(f"/proc/{pid}").exists():
            kids, todo = [], _children(pid)
            while todo:
                k = todo.pop()
                kids.append(k)
                todo += _children(k)
            rss = [_status(k, "VmRSS") for k in kids]
            fh.write(f"{time.monotonic():.3f} {_status(pid, 'VmRSS')} "
                     f"{max(rss, default=0)} {sum(rss)}\n")
            fh.flush()
            time.sleep(0.05)


def make_movie(folder: Path, n: int, size: int = 512) -> Path:
    """A simulated 512² × 4-channel co-culture of ``n`` frames as OME-TIFF (cached); 2048²: the
    4 × 4 mosaic of ``bench_pipeline``'s ``2048`` case."""
    path = folder / f"movie_{n}.ome.tif" if size == 512 else folder / f"movie{size}_{n}.ome.tif"
    if path.exists():
        return path
    if size == 2048:
        sys.path.insert(0, str(HERE))
        from bench_pipeline import make_case

        image, gt = make_case("2048", folder, n)
        gt.unlink()
        os.replace(image, path)
        return path
    import tifffile

    from pgpviewer.core.synthetic import simulate_coculture

    sim = simulate_coculture(seed=11, n_frames=n, shape_yx=(512, 512), n_cells=136,
                             include_efflux=True)
    tmp = path.with_suffix(".part")
    tifffile.imwrite(tmp, sim.image, ome=True, metadata={
        "axes": "TCYX", "Channel": {"Name": list(sim.channel_names)},
        "PhysicalSizeX": sim.pixel_size_um, "PhysicalSizeY": sim.pixel_size_um,
        "TimeIncrement": sim.frame_interval_s})
    os.replace(tmp, path)
    return path


def run_child(image: Path, out_dir: Path, workers: int | None, marks: Path) -> dict:
    """The analysis, with stage marks (runs in its own process, single-threaded)."""
    import pgpviewer.core.labelstore as labelstore
    import pgpviewer.core.pipeline as pipeline
    from pgpviewer.analyze import choose_roles
    from pgpviewer.core.export import export_results
    from pgpviewer.core.io import read_stack

    labelstore.IN_MEMORY_MAX_BYTES = 0  # the disk path of a movie larger than memory
    fh = open(marks, "w")

    def mark(name: str) -> None:
        fh.write(f"{time.monotonic():.3f} {name} {_status(os.getpid(), 'VmRSS')}\n")
        fh.flush()

    def staged(name, fn):
        def wrapper(*a, **k):
            mark(name)
            return fn(*a, **k)
        return wrapper

    stages = {"_segment_pass": "segment", "_track_and_classify": "track", "_measure_pass":
              "measure", "_gate": "gate", "detect_events": "events", "events_from": "events",
              "uptake_summary": "uptake", "uptake_summary_frames": "uptake"}
    for name, stage in stages.items():  # (whichever the pipeline of this version calls)
        if hasattr(pipeline, name):
            setattr(pipeline, name, staged(stage, getattr(pipeline, name)))
    stack = read_stack(image)
    roles = choose_roles(stack).roles
    mark("start")
    t0 = time.perf_counter()
    result = pipeline.run_pipeline(stack, roles, workers=workers, workdir=out_dir.parent)
    seconds = time.perf_counter() - t0
    mark("export")
    analysis_hwm = _status(os.getpid(), "VmHWM")
    export_results(result, out_dir)
    mark("end")
    return {"frames": stack.n_frames, "cell_rows": result.n_rows("cells"),
            "puncta_rows": result.n_rows("puncta"), "contact_rows": result.n_rows("contacts"),
            "tracks": len(result.tracks), "events": len(result.events), "seconds": seconds,
            "frame_set_mb": stack.frame_nbytes / 2**20,
            "parent_hwm_mb_analysis": analysis_hwm / 1024,
            "parent_hwm_mb": _status(os.getpid(), "VmHWM") / 1024}


def _stage_peaks(marks: Path, samples: Path) -> dict:
    """Peak parent RSS and peak worker RSS per stage (MB), from the marks and the samples."""
    m = [line.split() for line in marks.read_text().splitlines()]
    s = [tuple(map(float, line.split())) for line in samples.read_text().splitlines()]
    out = {}
    for i, (t, name, rss0) in enumerate(m[:-1]):
        t1 = float(m[i + 1][0])
        sel = [x for x in s if float(t) <= x[0] < t1]
        parent = max([x[1] for x in sel] + [float(rss0), float(m[i + 1][2])])
        out[name] = {"parent_mb": parent / 1024,
                     "worker_max_mb": max([x[2] for x in sel], default=0) / 1024,
                     "workers_sum_mb": max([x[3] for x in sel], default=0) / 1024,
                     "start_mb": float(rss0) / 1024}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, nargs="+", default=[100, 200, 400])
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--size", type=int, default=512, choices=[512, 2048], help="frame size")
    ap.add_argument("--data", type=Path, default=None, help="movie cache folder")
    ap.add_argument("--keep-outputs", type=Path, default=None)
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--monitor", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.monitor:
        monitor(int(args.monitor[0]), Path(args.monitor[1]))
        return
    if args.child:
        image, out, marks = map(Path, args.child)
        res = run_child(image, out, args.workers, marks)
        print("RESULT " + json.dumps(res))
        return
    import tempfile

    data = args.data or Path(tempfile.mkdtemp(prefix="pgpviewer-benchmem-"))
    data.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in args.frames:
        image = make_movie(data, n, args.size)
        work = Path(tempfile.mkdtemp(prefix="run-", dir=data))
        out = (args.keep_outputs / str(n)) if args.keep_outputs else work / "out"
        if out.exists():
            import shutil
            shutil.rmtree(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        marks, samples = work / "marks.txt", work / "samples.txt"
        cmd = [sys.executable, __file__, "--child", str(image), str(out), str(marks)]
        if args.workers:
            cmd += ["--workers", str(args.workers)]
        child = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        mon = subprocess.Popen([sys.executable, __file__, "--monitor", str(child.pid),
                                str(samples)])
        stdout, _ = child.communicate()
        mon.wait()
        line = [x for x in stdout.splitlines() if x.startswith("RESULT ")]
        if child.returncode or not line:
            raise SystemExit(f"{n} frames: the analysis failed")
        res = json.loads(line[-1][7:])
        res["stages"] = _stage_peaks(marks, samples)
        res["worker_peak_mb"] = max(v["worker_max_mb"] for v in res["stages"].values())
        rows.append(res)
        print(json.dumps(res), file=sys.stderr)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bench_memory.json").write_text(json.dumps(rows, indent=2))
    stages = list(rows[0]["stages"])
    print(f"{'frames':>7}{'rows':>9}{'peak MB':>9}{'worker MB':>10}{'s':>6}  "
          + " ".join(f"{s[:10]:>10}" for s in stages))
    for r in rows:
        print(f"{r['frames']:>7}{r['cell_rows']:>9}{r['parent_hwm_mb']:>9.0f}"
              f"{r['worker_peak_mb']:>10.0f}{r['seconds']:>6.0f}  "
              + " ".join(f"{r['stages'][s]['parent_mb']:>10.0f}" for s in stages))
    for a, b in itertools.pairwise(rows):
        dr = b["cell_rows"] - a["cell_rows"]
        if dr > 0:
            slope = (b["parent_hwm_mb"] - a["parent_hwm_mb"]) * 2**20 / dr
            print(f"{a['frames']}->{b['frames']} frames: peak grows {slope:.0f} bytes per cell row")


if __name__ == "__main__":
    main()
