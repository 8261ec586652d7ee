"""The command line: version, info, usage errors, exit codes and one-line messages."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import tifffile

import pgpviewer


def run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pgpviewer", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def test_version():
    out = run("--version")
    assert out.returncode == 0
    assert out.stdout.strip() == f"pgpviewer {pgpviewer.__version__}"


def test_info_text_and_json(tmp_path):
    path = tmp_path / "two channels.ome.tif"
    tifffile.imwrite(
        path,
        np.zeros((3, 2, 16, 16), np.uint16),
        ome=True,
        metadata={
            "axes": "TCYX",
            "Channel": {"Name": ["DAPI", "P-gp-EGFP"]},
            "PhysicalSizeX": 0.5,
            "PhysicalSizeY": 0.5,
            "TimeIncrement": 60,
        },
    )
    out = run("info", str(path))
    assert out.returncode == 0, out.stderr
    assert "T=3 C=2 Z=1 Y=16 X=16" in out.stdout
    assert "0: DAPI  (guessed role: nuclei)" in out.stdout
    assert "1: P-gp-EGFP  (guessed role: pgp)" in out.stdout
    assert "0.5 × 0.5 µm" in out.stdout
    assert "60 s" in out.stdout
    j = run("info", str(path), "--json")
    assert '"guessed_roles"' in j.stdout


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, "file not found"),
        (lambda p: p.write_bytes(b""), "file is empty"),
        (lambda p: p.write_text("hello"), "not a readable TIFF"),
    ],
    ids=["missing", "empty", "not-an-image"],
)
def test_bad_input_is_one_line_exit_2(tmp_path, make, message):
    path = tmp_path / "bad.tif"
    make(path)
    out = run("info", str(path))
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert str(path) in lines[0] and message in lines[0]
    assert "Traceback" not in out.stderr


def test_truncated_file(tmp_path):
    full = tmp_path / "full.tif"
    tifffile.imwrite(full, np.ones((8, 64, 64), np.uint16))
    cut = tmp_path / "cut.tif"
    cut.write_bytes(full.read_bytes()[:20000])
    out = run("info", str(cut))
    assert out.returncode == 2 and "truncated" in out.stderr


def test_usage_error_exit_2():
    out = run("analyze")
    assert out.returncode == 2
    assert "usage" in out.stderr


def test_frames_parsing():
    from pgpviewer.analyze import parse_frames
    from pgpviewer.core.errors import InputError

    assert parse_frames("2:5", 10, None) == (2, 5)
    assert parse_frames(":3", 10, None) == (0, 3)
    assert parse_frames("4:", 10, None) == (4, 10)
    with pytest.raises(InputError):
        parse_frames("5:2", 10, None)
    with pytest.raises(InputError):
        parse_frames("abc", 10, None)


def test_sample_writes_the_bundled_stack(tmp_path):
    from pgpviewer.resources import sample_path

    out = tmp_path / "new folder" / "sample.ome.tif"
    res = run("sample", "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert out.read_bytes() == sample_path().read_bytes()
    assert not list(out.parent.glob(".*part"))
    res = run("sample", "--out", str(tmp_path))
    assert res.returncode == 2 and "is a folder" in res.stderr
