"""Fuzzing ``read_stack``: damaged files raise InputError, never anything else, never hang.

Small valid TIFF, OME-TIFF and ImageJ files are mutated with seeded random byte flips,
truncations and corrupted IFD entries (tag counts and values). Each damaged file is opened and
its first and last frames are read. The cases run in one child process whose address space is
capped (``RLIMIT_AS``: a header claiming a huge image must be refused, not allocated), with a
per-case alarm against hangs. The child reports every case whose outcome is not "read" or
``InputError``; a crash of the child names the case it was working on.

Run ``python tests/robustness/test_fuzz_read.py FOLDER`` to fuzz by hand.
"""

from __future__ import annotations

import json
import os
import random
import resource
import signal
import struct
import subprocess
import sys
import time
import traceback
from pathlib import Path

import numpy as np
import tifffile

MUTANTS_PER_SEED = 60
CASE_TIMEOUT_S = 3
ADDRESS_SPACE_HEADROOM = 1536 * 2**20  # beyond what the child uses after its imports


# -- seeds ---------------------------------------------------------------------------------------
def _ramp(shape, dtype=np.uint16):
    return (np.arange(np.prod(shape)) % 251).astype(dtype).reshape(shape)


def write_seeds(folder: Path) -> list[Path]:
    """Small valid files of every layout read_stack supports."""
    folder.mkdir(parents=True, exist_ok=True)
    seeds = []

    def add(name, data, **kw):
        p = folder / name
        tifffile.imwrite(p, data, **kw)
        seeds.append(p)

    add("plain.tif", _ramp((3, 16, 16)))
    add("zlib.tif", _ramp((3, 16, 16)), compression="zlib")
    add("lzw_predictor.tif", _ramp((2, 16, 16)), compression="lzw", predictor=True)
    add("tiled.tif", _ramp((2, 32, 32)), tile=(16, 16), compression="zlib")
    add("rgb.tif", _ramp((16, 16, 3), np.uint8), photometric="rgb")
    add("float.tif", _ramp((2, 16, 16), np.float32))
    add(
        "movie.ome.tif",
        _ramp((2, 2, 16, 16)),
        ome=True,
        metadata={
            "axes": "TCYX",
            "Channel": {"Name": ["Hoechst", "P-gp-EGFP"]},
            "PhysicalSizeX": 0.5,
            "PhysicalSizeY": 0.5,
            "TimeIncrement": 60.0,
        },
    )
    add(
        "zlib.ome.tif",
        _ramp((2, 2, 16, 16)),
        ome=True,
        compression="zlib",
        metadata={"axes": "TCYX", "Channel": {"Name": ["DAPI", "GFP"]}},
    )
    add(
        "hyperstack_imagej.tif",
        _ramp((2, 2, 2, 16, 16)),
        imagej=True,
        resolution=(2.0, 2.0),
        metadata={"axes": "TZCYX", "unit": "um", "finterval": 30, "Labels": ["a"] * 8},
    )
    return seeds


# -- mutations -----------------------------------------------------------------------------------
_INTERESTING = (0, 1, 2, 7, 255, 256, 65535, 65536, 2**31 - 1, 2**31, 2**32 - 1)


def _ifd_entries(data: bytes) -> list[int]:
    """Byte offsets of the 12-byte entries of the first two IFDs (classic little-endian TIFF)."""
    if data[:4] != b"II*\x00":
        return []
    out = []
    (offset,) = struct.unpack_from("<I", data, 4)
    for _ in range(2):
        if not 8 <= offset < len(data) - 2:
            break
        (n,) = struct.unpack_from("<H", data, offset)
        start = offset + 2
        out += [start + 12 * i for i in range(n) if start + 12 * i + 12 <= len(data)]
        end = start + 12 * n
        if end + 4 > len(data):
            break
        (offset,) = struct.unpack_from("<I", data, end)
    return out


def mutate(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    """One random damage: (description, damaged bytes)."""
    buf = bytearray(data)
    kind = rng.choice(["flip_header", "flip_any", "truncate", "tag_count", "tag_value", "tag_type"])
    entries = _ifd_entries(data)
    if kind.startswith("tag") and not entries:
        kind = "flip_any"
    if kind == "flip_header":
        span = min(len(buf), 4096)
        spots = [rng.randrange(span) for _ in range(rng.randint(1, 8))]
        for i in spots:
            buf[i] = rng.randrange(256)
        return f"flip_header@{spots}", bytes(buf)
    if kind == "flip_any":
        spots = [rng.randrange(len(buf)) for _ in range(rng.randint(1, 16))]
        for i in spots:
            buf[i] ^= 1 << rng.randrange(8)
        return f"flip_any@{spots}", bytes(buf)
    if kind == "truncate":
        cut = rng.randrange(8, len(buf))
        return f"truncate@{cut}", bytes(buf[:cut])
    entry = rng.choice(entries)
    (tag,) = struct.unpack_from("<H", data, entry)
    value = rng.choice([*_INTERESTING, rng.randrange(2**32)])
    if kind == "tag_count":
        struct.pack_into("<I", buf, entry + 4, value)
    elif kind == "tag_value":
        struct.pack_into("<I", buf, entry + 8, value)
    else:
        value = rng.choice([0, 1, 2, 3, 4, 5, 11, 12, 16, 17, 99, 65535])
        struct.pack_into("<H", buf, entry + 2, value)
    return f"{kind}(tag {tag})={value}", bytes(buf)


# -- the child process ---------------------------------------------------------------------------
class CaseTimeout(BaseException):
    """Raised by the alarm; a BaseException so that no ``except Exception`` can swallow it."""


def _alarm(signum, frame):
    raise CaseTimeout


def _cap_address_space() -> None:
    with open("/proc/self/statm", encoding="ascii") as fh:
        used = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    limit = used + ADDRESS_SPACE_HEADROOM
    resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))


def run_cases(folder: Path, seed: int = 20240611) -> dict:
    """Mutate every seed file, read each mutant; returns counts and the unexpected outcomes."""
    import logging

    from pgpviewer.core.errors import InputError
    from pgpviewer.core.io import read_stack

    logging.getLogger("tifffile").addHandler(logging.NullHandler())
    rng = random.Random(seed)
    seeds = write_seeds(folder / "seeds")
    for s in seeds:  # the seeds themselves must read
        st = read_stack(s)
        st.frame(0)
        st.frame(st.n_frames - 1)
    _cap_address_space()
    signal.signal(signal.SIGALRM, _alarm)
    counts = {"read": 0, "input_error": 0}
    bad = []
    case_dir = folder / "cases"
    case_dir.mkdir()
    for s in seeds:
        original = s.read_bytes()
        for i in range(MUTANTS_PER_SEED):
            what, damaged = mutate(original, rng)
            path = case_dir / f"{s.stem}-{i}{''.join(s.suffixes)}"
            path.write_bytes(damaged)
            label = f"{path.name}: {what}"
            print(f"case {label}", file=sys.stderr, flush=True)
            t0 = time.perf_counter()
            signal.alarm(CASE_TIMEOUT_S)
            try:
                stack = read_stack(path)
                stack.frame(0)
                stack.frame(stack.n_frames - 1)
                counts["read"] += 1
            except InputError as e:
                counts["input_error"] += 1
                if "\n" in str(e):
                    bad.append({"case": label, "outcome": "multi-line message", "error": str(e)})
            except CaseTimeout:
                bad.append({"case": label, "outcome": f"no answer after {CASE_TIMEOUT_S} s"})
            except BaseException as e:  # the finding: anything but InputError
                bad.append(
                    {
                        "case": label,
                        "outcome": f"{e.__class__.__name__}: {str(e)[:300]}",
                        "where": traceback.format_exc(limit=-3)[-1500:],
                    }
                )
            finally:
                signal.alarm(0)
            counts.setdefault("slowest_s", 0.0)
            counts["slowest_s"] = max(counts["slowest_s"], round(time.perf_counter() - t0, 3))
            path.unlink()
    return {"counts": counts, "unexpected": bad, "cases": len(seeds) * MUTANTS_PER_SEED}


# -- the test ------------------------------------------------------------------------------------
def test_damaged_files_raise_only_input_error(tmp_path):
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, __file__, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    elapsed = time.perf_counter() - t0
    last_case = [line for line in proc.stderr.splitlines() if line.startswith("case ")][-1:]
    assert proc.returncode == 0, (
        f"fuzz child died (status {proc.returncode}) on {last_case}:\n{proc.stderr[-3000:]}"
    )
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["unexpected"] == [], json.dumps(report["unexpected"], indent=1)[:6000]
    assert report["counts"]["read"] + report["counts"]["input_error"] == report["cases"]
    assert report["cases"] >= 300
    print(f"{report['cases']} damaged files in {elapsed:.1f} s")


if __name__ == "__main__":
    result = run_cases(Path(sys.argv[1]))
    print(json.dumps(result))
