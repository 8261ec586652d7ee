"""Reading speed: read_stack frame by frame vs the raw disk speed (dd) in the same run.

Writes an uncompressed OME-TIFF of about 1.5 GB (default), then measures:
- raw: ``dd`` reading the file into /dev/null;
- open + first frame: ``read_stack`` plus ``stack.frame(0)``;
- throughput: every frame read through ``Stack.frame``.
Page caches are dropped before each measurement when permitted (root on Linux), so the numbers
are disk numbers; otherwise both read from the same cache state and the table says so.

Usage: python benchmarks/bench_read.py [--gb 1.5] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import tifffile

from pgpviewer.core.io import read_stack

RESULTS = Path(__file__).parent / "results"


def drop_caches() -> bool:
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as fh:
            fh.write("3\n")
        return True
    except OSError:
        return False


def write_stack(path: Path, gb: float, yx: int = 2048) -> tuple[int, int]:
    frame_bytes = 2 * yx * yx * 2  # 2 channels, uint16
    n = max(2, int(gb * 2**30 // frame_bytes))
    rng = np.random.default_rng(0)
    block = rng.integers(0, 4000, size=(2, yx, yx), dtype=np.uint16)

    def frames():
        for t in range(n):
            yield block + np.uint16(t % 7)

    tifffile.imwrite(path, frames(), shape=(n, 2, yx, yx), dtype=np.uint16, ome=True,
                     metadata={"axes": "TCYX"})
    return n, frame_bytes


def raw_speed(path: Path) -> float:
    t0 = time.perf_counter()
    out = subprocess.run(["dd", f"if={path}", "of=/dev/null", "bs=16M"], capture_output=True,
                         text=True, check=True)
    elapsed = time.perf_counter() - t0
    m = re.search(r"^(\d+) bytes", out.stderr, re.M)
    nbytes = int(m.group(1)) if m else path.stat().st_size
    return nbytes / elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gb", type=float, default=1.5)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="pgpviewer-bench-read-"))
    path = folder / "big.ome.tif"
    n, frame_bytes = write_stack(path, args.gb)
    size = path.stat().st_size
    cold = drop_caches()
    raw = raw_speed(path)
    warm = folder / "warm.tif"  # imports and first-call costs are paid once per app, not per file
    tifffile.imwrite(warm, np.zeros((2, 8, 8), np.uint16), ome=True, metadata={"axes": "TYX"})
    read_stack(warm).frame(0)
    drop_caches()
    t0 = time.perf_counter()
    stack = read_stack(path)
    first = stack.frame(0)
    t_first = time.perf_counter() - t0
    drop_caches()
    t0 = time.perf_counter()
    total = 0
    for t in range(stack.n_frames):
        total += int(stack.frame(t)[0, 0, 0, -1])
    ours = n * frame_bytes / (time.perf_counter() - t0)
    result = {
        "file_gb": size / 2**30, "frames": n, "frame_mb": frame_bytes / 2**20,
        "caches_dropped": cold, "raw_dd_mb_s": raw / 2**20, "read_stack_mb_s": ours / 2**20,
        "ratio": ours / raw, "open_plus_first_frame_ms": t_first * 1000,
        "first_frame_shape": list(first.shape),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bench_read.json").write_text(json.dumps(result, indent=2))
    print(f"{'measure':<28}{'value':>14}")
    print(f"{'file size':<28}{result['file_gb']:>11.2f} GB")
    print(f"{'caches dropped':<28}{cold!s:>14}")
    print(f"{'raw disk (dd)':<28}{result['raw_dd_mb_s']:>9.0f} MB/s")
    print(f"{'read_stack frame by frame':<28}{result['read_stack_mb_s']:>9.0f} MB/s")
    print(f"{'ratio':<28}{result['ratio']:>13.0%}")
    print(f"{'open + first frame':<28}{result['open_plus_first_frame_ms']:>11.1f} ms")
    if not args.keep:
        path.unlink()
        warm.unlink()
        folder.rmdir()


if __name__ == "__main__":
    main()
