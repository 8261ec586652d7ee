"""Stopping a run: Ctrl-C, SIGTERM and SIGKILL leave no output folder and no debris that matters.

``pgpviewer analyze`` runs in a subprocess on a movie that takes a few seconds; the signal is
sent once it reports progress. Ctrl-C and SIGTERM: exit 130 and one line; SIGKILL: no output
folder, and any temporary folder it leaves is removed by the next run, which completes.
``pgpviewer batch`` is interrupted after its first input and resumed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from contract import check_contract
from corpus import write_movie

from pgpviewer.cli import main

INTERRUPTED = "pgpviewer: interrupted; no partial output was left"


@pytest.fixture(scope="module")
def movie(tmp_path_factory) -> Path:
    """20 frames of 256×256: about 4 s of analysis on one core."""
    folder = tmp_path_factory.mktemp("movie")
    return write_movie(
        folder / "long movie.ome.tif", seed=9, n_frames=20, shape_yx=(256, 256), n_cells=30
    )


def start(args: list[str]) -> tuple[subprocess.Popen, list[str]]:
    """Start ``pgpviewer ARGS`` in its own process group; return once it reports progress."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "pgpviewer", *args],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    seen = []
    while True:
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line)
        if "segmenting frame" in line or "] done " in line:
            break
    return proc, seen


def stop(proc: subprocess.Popen, sig: int, *, group: bool = False) -> str:
    """Send ``sig`` (to the whole process group: like Ctrl-C in a terminal) and wait."""
    time.sleep(0.5)  # well inside the analysis
    if group:
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    rest = proc.stderr.read()
    proc.wait(timeout=60)
    return rest


def children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (Linux /proc)."""
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


def leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


def check_clean_stop(proc: subprocess.Popen, err: str, out: Path) -> None:
    assert proc.returncode == 130, err
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines[-1] == INTERRUPTED, err
    assert sum("interrupted" in line for line in lines) == 1, err
    assert not out.exists()
    assert leftovers(out) == []


@pytest.mark.parametrize(
    ("sig", "group"),
    [(signal.SIGINT, False), (signal.SIGINT, True), (signal.SIGTERM, False)],
    ids=["ctrl-c", "ctrl-c-in-terminal", "sigterm"],
)
def test_interrupted_analysis_exits_130_and_leaves_nothing(movie, tmp_path, sig, group):
    out = tmp_path / "out"
    proc, seen = start(["analyze", str(movie), "--out", str(out), "--workers", "1"])
    assert proc.poll() is None, "".join(seen)
    err = stop(proc, sig, group=group)
    check_clean_stop(proc, err, out)


def test_killed_analysis_is_cleaned_up_by_the_next_run(movie, tmp_path):
    out = tmp_path / "out"
    proc, seen = start(["analyze", str(movie), "--out", str(out), "--workers", "1"])
    assert proc.poll() is None, "".join(seen)
    stop(proc, signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists()
    # what a kill during the final write leaves: a half-written temporary folder (and, during
    # the swap with an earlier result, the earlier result under an .old- name)
    for kind in ("tmp", "old"):
        debris = tmp_path / f".out.{kind}-{proc.pid}-x1y2z3"
        debris.mkdir()
        (debris / "cells.csv").write_text("frame,label\n0,", encoding="utf-8")
        os.utime(debris, (time.time() - 60, time.time() - 60))
    # a temporary folder of a run that is still going (this process) is left alone
    alive = tmp_path / f".out.tmp-{os.getpid()}-a1b2c3"
    alive.mkdir()

    done = subprocess.run(
        [sys.executable, "-m", "pgpviewer", "analyze", str(movie), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert leftovers(out) == [alive.name]  # the debris of the killed run is gone
    alive.rmdir()
    check_contract(out, n_frames=20, shape_yx=(256, 256))


def test_ctrl_c_with_worker_processes(tmp_path):
    """A movie big enough for worker processes; Ctrl-C reaches them all (the process group)."""
    movie = write_movie(
        tmp_path / "big.ome.tif", seed=11, n_frames=12, shape_yx=(512, 512), n_cells=60
    )
    out = tmp_path / "out"
    proc, seen = start(["analyze", str(movie), "--out", str(out), "--workers", "2"])
    assert proc.poll() is None, "".join(seen)
    assert children(proc.pid), "the analysis runs in one process: enlarge the movie"
    err = stop(proc, signal.SIGINT, group=True)
    check_clean_stop(proc, err, out)


def test_interrupt_while_writing_removes_the_temporary_folder(tmp_path, capfd, monkeypatch):
    import pgpviewer.core.export as export

    image = write_movie(tmp_path / "movie.ome.tif")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(export, "write_labels", interrupted)
    out = tmp_path / "out"
    assert main(["analyze", str(image), "--out", str(out), "--workers", "1"]) == 130
    err = capfd.readouterr().err
    assert err.splitlines()[-1] == INTERRUPTED
    assert not out.exists()
    assert leftovers(out) == []


def test_interrupted_batch_resumes(tmp_path):
    data = tmp_path / "data"
    for i in range(4):
        write_movie(data / f"well{i}.ome.tif", seed=20 + i, n_frames=8, shape_yx=(128, 128))
    out = tmp_path / "batch"
    args = ["batch", str(data), "--out", str(out), "--workers", "1"]
    proc, seen = start(args)
    assert proc.poll() is None, "".join(seen)
    assert "] done " in seen[-1], "".join(seen)
    err = stop(proc, signal.SIGINT, group=True)
    assert proc.returncode == 130, err
    assert "Traceback" not in err, err
    assert err.strip().splitlines()[-1] == INTERRUPTED
    kept = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert 1 <= len(kept) < 4, kept
    assert not [p for p in out.iterdir() if ".tmp-" in p.name or ".old-" in p.name]

    again = subprocess.run(
        [sys.executable, "-m", "pgpviewer", *args], capture_output=True, text=True, timeout=300
    )
    assert again.returncode == 0, again.stderr
    assert f"{len(kept)} already complete (skipped)" in again.stderr
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == [f"well{i}" for i in range(4)]
    for i in range(4):
        check_contract(out / f"well{i}", n_frames=8, shape_yx=(128, 128))
    assert (out / "batch_summary.csv").is_file() and (out / "conditions.csv").is_file()
