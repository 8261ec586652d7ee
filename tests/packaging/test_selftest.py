"""The pieces of ``pgpviewer --self-test`` (pgpviewer/selftest.py), without building anything."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tifffile
from PIL import Image

import pgpviewer
from pgpviewer import selftest
from pgpviewer.core import export

T, Y, X = 3, 32, 40
CHANNELS = ("Hoechst", "P-gp-EGFP")


def _row(columns: list[str], **values) -> dict:
    return {c: values.get(c, "") for c in columns}


def write_output(folder: Path) -> Path:
    """A small output folder that honours the contract: 2 cells in each of 3 frames."""
    folder.mkdir(parents=True)
    stems = export.channel_columns(CHANNELS)
    cells_cols = (
        export.CELLS_COLUMNS
        + [f"{k}_{s}" for s in stems for k in ("mean", "total")]
        + export.CELLS_TAIL_COLUMNS
    )
    labels = np.zeros((T, Y, X), np.uint16)
    cells = []
    for t in range(T):
        for label, (population, track) in enumerate((("donor", 1), ("recipient", 2)), start=1):
            labels[t, 4 + 10 * label : 10 + 10 * label, 5:15] = label
            cells.append(
                _row(
                    cells_cols,
                    frame=t,
                    label=label,
                    track_id=track,
                    population=population,
                    pgp_positive="false",
                    touching_donor="true",
                )
            )
    pd.DataFrame(cells, columns=cells_cols).to_csv(folder / "cells.csv", index=False)
    tracks = [
        _row(export.TRACKS_COLUMNS, track_id=1, population="donor", status="not_recipient"),
        _row(export.TRACKS_COLUMNS, track_id=2, population="recipient", status="event"),
    ]
    pd.DataFrame(tracks).to_csv(folder / "tracks.csv", index=False)
    events = [_row(export.EVENTS_COLUMNS, event_id=1, recipient_track_id=2, mode="contact")]
    pd.DataFrame(events).to_csv(folder / "events.csv", index=False)
    summary = [_row(export.SUMMARY_COLUMNS, frame=t, n_cells=2) for t in range(T)]
    pd.DataFrame(summary).to_csv(folder / "summary.csv", index=False)
    pd.DataFrame(columns=export.CURVES_COLUMNS).to_csv(folder / "curves.csv", index=False)
    tifffile.imwrite(folder / "labels.tif", labels)
    params = {
        "software": "pgpviewer",
        "version": pgpviewer.__version__,
        "input": {"sha256": "0" * 64},
        "params": {"any": 1},
    }
    (folder / "params.json").write_text(json.dumps(params), encoding="utf-8")
    return folder


def check(folder: Path) -> dict[str, selftest.Check]:
    checks = selftest.check_outputs(folder, n_frames=T, shape_yx=(Y, X), channel_names=CHANNELS)
    return {c.name: c for c in checks}


def failed(checks: dict[str, selftest.Check]) -> dict[str, str]:
    return {name: c.detail for name, c in checks.items() if not c.ok}


def test_a_contract_folder_passes(tmp_path):
    checks = check(write_output(tmp_path / "out"))
    assert failed(checks) == {}
    assert {"cells.csv", "tracks.csv", "events.csv", "summary.csv", "curves.csv"} <= set(checks)
    assert {"labels.tif", "params.json", "output folder", "tracks vs cells"} <= set(checks)


def test_a_missing_file_is_named(tmp_path):
    out = write_output(tmp_path / "out")
    (out / "events.csv").unlink()
    bad = failed(check(out))
    assert bad["events.csv"] == "missing"
    assert "output folder" in bad  # is_complete_output agrees


def test_a_missing_column_is_named(tmp_path):
    out = write_output(tmp_path / "out")
    cells = pd.read_csv(out / "cells.csv", dtype=str, keep_default_na=False)
    cells.drop(columns=["pgp_score", "mean_p_gp_egfp"]).to_csv(out / "cells.csv", index=False)
    detail = failed(check(out))["cells.csv"]
    assert "missing required columns" in detail
    assert "pgp_score" in detail and "mean_p_gp_egfp" in detail


def test_columns_out_of_contract_order_fail(tmp_path):
    out = write_output(tmp_path / "out")
    tracks = pd.read_csv(out / "tracks.csv", dtype=str, keep_default_na=False)
    tracks[list(reversed(tracks.columns))].to_csv(out / "tracks.csv", index=False)
    assert "contract order" in failed(check(out))["tracks.csv"]


def test_values_outside_the_vocabulary_fail(tmp_path):
    out = write_output(tmp_path / "out")
    cells = pd.read_csv(out / "cells.csv", dtype=str, keep_default_na=False)
    cells.loc[0, "population"] = "Donor"
    cells.to_csv(out / "cells.csv", index=False)
    assert "population" in failed(check(out))["cells.csv"]


def test_no_cells_fails(tmp_path):
    out = write_output(tmp_path / "out")
    cells = pd.read_csv(out / "cells.csv", dtype=str, keep_default_na=False)
    cells.iloc[:0].to_csv(out / "cells.csv", index=False)
    assert "no cell rows" in failed(check(out))["cells.csv"]


def test_summary_needs_one_row_per_frame(tmp_path):
    out = write_output(tmp_path / "out")
    summary = pd.read_csv(out / "summary.csv", dtype=str, keep_default_na=False)
    summary.iloc[:-1].to_csv(out / "summary.csv", index=False)
    assert "2 rows for 3 analysed frames" in failed(check(out))["summary.csv"]


def test_labels_of_the_wrong_shape_fail(tmp_path):
    out = write_output(tmp_path / "out")
    tifffile.imwrite(out / "labels.tif", np.ones((T, X, Y), np.uint16))
    assert "expected (T, Y, X)" in failed(check(out))["labels.tif"]


def test_labels_must_agree_with_cells(tmp_path):
    out = write_output(tmp_path / "out")
    labels = tifffile.imread(out / "labels.tif")
    labels[1][labels[1] == 2] = 0  # frame 1 loses cell 2, which cells.csv still lists
    tifffile.imwrite(out / "labels.tif", labels)
    assert "frame 1, label 2" in failed(check(out))["labels.tif"]


def test_params_from_another_program_fail(tmp_path):
    out = write_output(tmp_path / "out")
    (out / "params.json").write_text(json.dumps({"software": "other"}), encoding="utf-8")
    detail = failed(check(out))["params.json"]
    assert "software is 'other'" in detail and "no input SHA-256" in detail


# -- screenshot -------------------------------------------------------------------------------
def test_a_blank_screenshot_fails(tmp_path):
    png = tmp_path / "blank.png"
    Image.new("RGB", (800, 600), (40, 40, 48)).save(png)
    result = selftest.check_screenshot(png)
    assert not result.ok and "looks blank" in result.detail


def test_a_drawn_screenshot_passes(tmp_path):
    png = tmp_path / "drawn.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (600, 800, 3), dtype=np.uint8)).save(png)
    assert selftest.check_screenshot(png).ok


def test_a_missing_screenshot_fails(tmp_path):
    result = selftest.check_screenshot(tmp_path / "none.png")
    assert not result.ok and "not written" in result.detail


# -- environment ------------------------------------------------------------------------------
def test_offscreen_qt_is_refused_with_the_fix(monkeypatch):
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert "xvfb-run -a pgpviewer --self-test" in selftest.display_problem()


def test_no_display_on_linux_is_explained(monkeypatch):
    monkeypatch.setattr(selftest.sys, "platform", "linux")
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    assert "no display" in selftest.display_problem()
    monkeypatch.setenv("DISPLAY", ":99")
    assert selftest.display_problem() is None


def test_app_command_from_source_runs_the_module(monkeypatch):
    monkeypatch.delattr(selftest.sys, "frozen", raising=False)
    assert selftest.app_command()[-2:] == ["-m", "pgpviewer"]


def test_versions_from_a_source_install():
    info = selftest.installed_versions()
    assert info["pgpviewer"] == pgpviewer.__version__
    line = selftest.versions_line(info)
    assert line.startswith("napari ") and "numpy " in line and "Python " in line


def test_versions_from_a_bundle_record(tmp_path, monkeypatch):
    record = tmp_path / "versions.json"
    record.write_text(
        json.dumps(
            {
                "pgpviewer": "9.9",
                "built": "2030-01-01",
                "python": "3.11.9",
                "packages": {"napari": "1.2.3", "PySide6_Essentials": "6.99"},
            }
        ),
        encoding="utf-8",
    )
    import pgpviewer.resources

    monkeypatch.setattr(pgpviewer.resources, "resource_path", lambda *parts: tmp_path / parts[-1])
    info = selftest.installed_versions()
    assert info["source"] == "bundle, built 2030-01-01"
    line = selftest.versions_line(info)
    assert "napari 1.2.3" in line and "PySide6-Essentials 6.99" in line and "numpy ?" in line


def test_time_window_stamps_the_gui_log_lines(tmp_path):
    import sys

    script = (
        "import time, sys; print('INFO pgpviewer.gui: window shown 0.1 s after main()', "
        "flush=True); time.sleep(0.2); "
        "print('INFO pgpviewer.gui: first file shown 0.3 s after main()', flush=True)"
    )
    run = selftest.time_window([sys.executable, "-c", script], timeout_s=30)
    assert run.returncode == 0 and not run.timed_out
    assert set(run.marks) == {"window shown", "image drawn"}
    assert run.marks["image drawn"] - run.marks["window shown"] >= 0.15
    assert run.total_s >= run.marks["image drawn"]


def test_time_window_kills_a_hung_process():
    import sys

    run = selftest.time_window([sys.executable, "-c", "import time; time.sleep(30)"], timeout_s=1)
    assert run.timed_out and run.returncode is None and run.total_s < 20


# -- the whole self-test, with the analysis failing -------------------------------------------
def test_a_failing_analysis_gives_a_clear_nonzero_exit(monkeypatch, capsys):
    import pgpviewer.analyze

    def broken(*_args, **_kwargs):
        raise RuntimeError("segmentation exploded")

    monkeypatch.setattr(pgpviewer.analyze, "analyze_file", broken)
    status = selftest.run_self_test(window=False)
    out = capsys.readouterr().out
    assert status == 1
    assert "FAIL  analyse: RuntimeError: segmentation exploded" in out
    assert "self-test FAILED" in out and "files kept in" in out
    kept = Path(out.rsplit("files kept in ", 1)[1].strip())
    assert kept.is_dir()
    import shutil

    shutil.rmtree(kept)


@pytest.mark.slow
def test_the_self_test_passes_without_a_window(capsys):
    assert selftest.run_self_test(window=False) == 0
    out = capsys.readouterr().out
    assert "ok    analyse:" in out and "ok    cells.csv:" in out
    assert "skip  window" in out and out.rstrip().splitlines()[-1].startswith("self-test passed")
