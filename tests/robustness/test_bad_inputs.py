"""Bad inputs: exit 2, one line naming the file and the problem, nothing written, input untouched.

Every kind of :data:`corpus.BAD_INPUTS` goes through ``pgpviewer analyze`` (in this process, with
the real ``cli.main``; a few also in a subprocess). Then two that need a patched process: an
output folder that cannot be written to (tests run as root, where chmod blocks nothing) and a
disk that fills up while the tables are written.
"""

from __future__ import annotations

import errno
import hashlib
import os
import pathlib
import subprocess
import sys
from pathlib import Path

import pytest
from corpus import BAD_INPUTS, Case, write_movie

from pgpviewer.cli import main

ERROR_PREFIX = "pgpviewer: error: "


def snapshot(folder: Path) -> dict[str, tuple]:
    """Every entry below ``folder`` (hidden ones too): files by content hash, size and mtime."""
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if p.is_file():
            st = p.stat()
            out[rel] = (hashlib.sha256(p.read_bytes()).hexdigest(), st.st_size, st.st_mtime_ns)
        else:
            out[rel] = ("dir",)
    return out


def check_one_error_line(err: str, case: Case) -> str:
    """The error is one line naming the file and the problem; nothing else unless mid-run."""
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("pgpviewer:")]
    assert len(errors) == 1, err
    line = errors[0]
    if case.during_run:
        assert lines[-1] == line, err  # progress lines may precede it, nothing follows
    else:
        assert lines == [line], err  # refused before anything else was printed
    assert line.startswith(ERROR_PREFIX), line
    assert str(case.named()) in line, (case.named(), line)
    assert case.message in line, (case.message, line)
    return line


def analyze_args(case: Case, folder: Path) -> list[str]:
    out = case.output(folder)
    return ["analyze", str(case.image), "--out", str(out), "--workers", "1", *case.args]


@pytest.mark.parametrize("kind", sorted(BAD_INPUTS))
def test_bad_input_exit_2_one_line_nothing_written(kind, tmp_path, capfd):
    case = BAD_INPUTS[kind](tmp_path)
    before = snapshot(tmp_path)
    status = main(analyze_args(case, tmp_path))
    _, err = capfd.readouterr()
    line = check_one_error_line(err, case)
    assert status == 2, line
    # no output folder, no temporary folder, inputs (image, params, foreign folder) untouched
    assert snapshot(tmp_path) == before


def test_corpus_has_at_least_15_kinds():
    assert len(BAD_INPUTS) >= 15


@pytest.mark.parametrize(
    "kind", ["empty", "huge_dims", "unknown_compression", "params_invalid_json", "out_below_file"]
)
def test_bad_input_in_a_real_process(kind, tmp_path):
    """The same through the console entry point: the process's whole stderr is one line."""
    case = BAD_INPUTS[kind](tmp_path)
    before = snapshot(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "pgpviewer", *analyze_args(case, tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    check_one_error_line(proc.stderr, case)
    assert proc.returncode == 2
    assert snapshot(tmp_path) == before


def test_unwritable_output_folder_refused_before_the_analysis(tmp_path, capfd, monkeypatch):
    """A folder without write permission (simulated: chmod does not stop root)."""
    image = write_movie(tmp_path / "movie.ome.tif")
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access

    def access(path, mode, *args, **kwargs):
        if Path(path) == locked and mode & os.W_OK:
            return False
        return real_access(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)
    ran = []
    import pgpviewer.core.pipeline as pipeline

    monkeypatch.setattr(pipeline, "run_pipeline", lambda *a, **k: ran.append(1))
    before = snapshot(tmp_path)
    out = locked / "run1"
    status = main(["analyze", str(image), "--out", str(out)])
    _, err = capfd.readouterr()
    case = Case("unwritable", image, f"cannot write into {locked}", names=out)
    check_one_error_line(err, case)
    assert status == 2
    assert ran == []  # refused before any analysis
    assert snapshot(tmp_path) == before


def test_disk_full_while_writing_leaves_nothing(tmp_path, capfd, monkeypatch):
    """ENOSPC while a CSV is written: exit 2, no output folder, no temporary folder."""
    import pgpviewer.core.export as export

    image = write_movie(tmp_path / "movie.ome.tif")
    real_write_csv = export.write_csv

    def write_csv(table, handle, *args, **kwargs):
        if pathlib.Path(handle.name).name == "summary.csv":
            real_write_csv(table.iloc[: len(table) // 2], handle, *args, **kwargs)  # half written
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), handle.name)
        return real_write_csv(table, handle, *args, **kwargs)

    monkeypatch.setattr(export, "write_csv", write_csv)
    before = snapshot(tmp_path)
    out = tmp_path / "out"
    status = main(["analyze", str(image), "--out", str(out), "--workers", "1"])
    _, err = capfd.readouterr()
    case = Case("disk_full", image, "No space left on device", names=out, during_run=True)
    check_one_error_line(err, case)
    assert status == 2
    assert snapshot(tmp_path) == before


def test_disk_full_keeps_the_previous_result(tmp_path, capfd, monkeypatch):
    """A failed re-run never damages the complete output of an earlier run."""
    image = write_movie(tmp_path / "movie.ome.tif")
    out = tmp_path / "out"
    assert main(["analyze", str(image), "--out", str(out), "--workers", "1"]) == 0
    capfd.readouterr()
    before = snapshot(tmp_path)
    import pgpviewer.core.export as export

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(export, "write_labels", full)
    assert main(["analyze", str(image), "--out", str(out), "--workers", "1"]) == 2
    assert "No space left on device" in capfd.readouterr().err
    assert snapshot(tmp_path) == before



def test_input_error_crosses_process_boundaries():
    """Worker processes (frames.py, dask) send errors back pickled: it must stay an InputError."""
    import pickle

    from pgpviewer.core.errors import InputError

    e = pickle.loads(pickle.dumps(InputError("/data/movie.tif", "frame 3 has 1 NaN\nvalue")))
    assert isinstance(e, InputError)
    assert (e.path, e.problem) == (Path("/data/movie.tif"), "frame 3 has 1 NaN value")
    assert str(e) == "/data/movie.tif: frame 3 has 1 NaN value"


def test_absurd_header_is_refused_before_allocating(tmp_path):
    """10⁶ × 10⁶ pixels claimed by the header: refused from the header, nothing allocated."""
    import tracemalloc

    from corpus import make_huge_dims, make_huge_dims_compressed

    from pgpviewer.core.errors import InputError
    from pgpviewer.core.io import read_stack

    for make in (make_huge_dims, make_huge_dims_compressed):
        case = make(tmp_path)
        tracemalloc.start()
        try:
            with pytest.raises(InputError, match=r"needs 1\.8 TiB of memory"):
                read_stack(case.image)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 16 * 2**20, peak


def test_vendor_file_without_the_formats_extra(tmp_path, capfd, monkeypatch):
    """CZI/ND2/LIF need the optional ``formats`` extra: the line says how to install it."""
    import importlib
    import types

    import pgpviewer.core.vendor as vendor

    def import_module(name, *args, **kwargs):
        if name in {"nd2", "pylibCZIrw", "liffile"}:
            raise ImportError(f"No module named {name!r}")
        return importlib.import_module(name, *args, **kwargs)

    shim = types.SimpleNamespace(import_module=import_module, util=importlib.util)
    monkeypatch.setattr(vendor, "importlib", shim)
    image = tmp_path / "experiment.czi"
    image.write_bytes(b"ZISRAWFILE" + bytes(200))
    before = snapshot(tmp_path)
    status = main(["analyze", str(image), "--out", str(tmp_path / "out")])
    case = Case("czi_no_extra", image, "needs the formats extra: pip install 'pgpviewer[formats]'")
    check_one_error_line(capfd.readouterr().err, case)
    assert status == 2
    assert snapshot(tmp_path) == before
