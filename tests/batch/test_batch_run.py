"""Batches on real dask clusters: local vs remote outputs, failures, worker loss and resume."""

from __future__ import annotations

import io
import os
import shutil
import signal
import threading
import time
from functools import partial

import pandas as pd
import pytest
from batch_helpers import failing_analyze, slow_analyze
from batch_testdata import tree_bytes, without_ome_uuid, write_movie

from pgpviewer.batch import run_batch
from pgpviewer.core.export import OUTPUT_FILES, is_complete_output
from pgpviewer.core.params import AnalysisParams


def _cli(*args: str) -> int:
    """Run ``pgpviewer ARGS`` in this process (through cli.main once batch is wired there)."""
    from cli_runner import run_cli

    return run_cli(list(args))


def test_local_and_remote_clusters_give_identical_outputs(
    experiment, tmp_path, remote_scheduler, capsys
):
    local = tmp_path / "local" / "batch"
    remote = tmp_path / "remote" / "batch"
    # the default: a LocalCluster of 2 worker processes started by the command
    assert _cli("batch", str(experiment), "--out", str(local), "--workers", "2") == 0
    # an existing cluster: a separate scheduler process and worker processes
    assert (
        _cli("batch", str(experiment), "--out", str(remote), "--scheduler", remote_scheduler) == 0
    )
    err = capsys.readouterr().err
    assert "local cluster of 2 worker processes" in err
    assert f"the dask cluster at {remote_scheduler}" in err

    a, b = tree_bytes(local), tree_bytes(remote)
    assert sorted(a) == sorted(b)
    different = [k for k in a if a[k] != b[k]]
    # labels.tif may differ only in the random OME UUID that tifffile writes by default
    assert [k for k in different if not k.endswith("/labels.tif")] == []
    assert [k for k in different if without_ome_uuid(a[k]) != without_ome_uuid(b[k])] == []
    for out in ("control_well1", "well2", "drug_well1"):
        assert set(OUTPUT_FILES) | {"report.html"} <= {p.name for p in (local / out).iterdir()}
    # control/well1 and drug/well1 share a stem: the clash is resolved with the folder name
    assert sorted(p.name for p in local.iterdir() if p.is_dir()) == [
        "control_well1",
        "drug_well1",
        "well2",
    ]

    summary = pd.read_csv(local / "batch_summary.csv", keep_default_na=False, dtype=str)
    assert list(summary.columns[:5]) == ["file", "condition", "replicate", "position", "output"]
    assert list(summary.columns[5:8]) == ["frame", "time_s", "n_cells"]
    assert len(summary) == 3 * 6
    files = dict(zip(summary["file"], summary["condition"], strict=False))
    assert files == {
        "control/well1.ome.tif": "control",
        "control/well2.ome.tif": "control",
        "drug/well1.ome.tif": "drug",
    }
    reps = summary.drop_duplicates("file").set_index("file")["replicate"].to_dict()
    assert reps == {
        "control/well1.ome.tif": "1",
        "control/well2.ome.tif": "2",
        "drug/well1.ome.tif": "1",
    }
    # one input's rows are its summary.csv verbatim
    own = (local / "well2" / "summary.csv").read_text().splitlines()
    rows = [
        line
        for line in (local / "batch_summary.csv").read_text().splitlines()
        if line.startswith("control/well2.ome.tif,")
    ]
    assert [r.split(",", 5)[5] for r in rows] == own[1:]

    cond = pd.read_csv(local / "conditions.csv")
    assert list(cond["condition"].unique()) == ["control", "drug"]
    assert (cond.loc[cond["condition"] == "control", "n_replicates"] <= 2).all()
    assert len(cond) == 2 * 6


def test_bad_inputs_are_reported_and_the_rest_goes_on(experiment, tmp_path, local_client):
    data = tmp_path / "data"
    shutil.copytree(experiment / "control", data / "control")
    (data / "control" / "broken.tif").write_text("not an image")
    (data / "control" / "empty.ome.tif").write_bytes(b"")
    stream = io.StringIO()
    result = run_batch([data], tmp_path / "out", client=local_client, stream=stream)
    assert result.exit_status == 2
    status = {i.name: result.outcomes[i.output].status for i in result.plan.items}
    # names are relative to the folder holding every input
    assert status == {
        "broken.tif": "bad_input",
        "empty.ome.tif": "bad_input",
        "well1.ome.tif": "done",
        "well2.ome.tif": "done",
    }
    text = stream.getvalue()
    assert "bad      broken.tif: not a readable TIFF file" in text
    assert "empty.ome.tif: file is empty" in text.split("problems:")[1]
    files = pd.read_csv(tmp_path / "out" / "batch_files.csv", keep_default_na=False)
    assert files.set_index("output")["status"].to_dict() == {
        "broken": "bad_input",
        "empty": "bad_input",
        "well1": "done",
        "well2": "done",
    }
    assert not (tmp_path / "out" / "broken").exists()


def test_unexpected_failure_gives_exit_1(experiment, tmp_path, local_client):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(experiment / "drug" / "well1.ome.tif", data / "boom.ome.tif")
    shutil.copy(experiment / "drug" / "well1.ome.tif", data / "fine.ome.tif")
    stream = io.StringIO()
    result = run_batch(
        [data], tmp_path / "out", client=local_client, stream=stream, analyze=failing_analyze
    )
    assert result.exit_status == 1
    assert [o.status for o in result.outcomes.values()] == ["failed", "done"]
    assert "FAILED   boom.ome.tif: RuntimeError: simulated bug" in stream.getvalue()
    assert is_complete_output(tmp_path / "out" / "fine")


def test_killed_worker_task_is_rerun_and_batch_completes(experiment, tmp_path, local_client):
    markers = tmp_path / "markers"
    markers.mkdir()
    analyze = partial(
        slow_analyze, marker_dir=str(markers), delay_s=2.0, slow_names=("well2.ome.tif",)
    )
    box: dict = {}

    def run():
        try:
            box["result"] = run_batch(
                [experiment],
                tmp_path / "out",
                client=local_client,
                analyze=analyze,
                stream=io.StringIO(),
            )
        except BaseException as e:  # pragma: no cover - reported below
            box["error"] = e

    thread = threading.Thread(target=run)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not list(markers.iterdir()):
            assert time.monotonic() < deadline, "the slow task never started"
            time.sleep(0.05)
        first = next(markers.iterdir())
        pid = int(first.name.rsplit(".", 1)[1])
        assert pid != os.getpid()
        assert pid in local_client.run(os.getpid).values()
        os.kill(pid, signal.SIGKILL)  # the worker process running the slow task
    finally:
        thread.join(timeout=120)
    assert not thread.is_alive()
    assert "error" not in box, box.get("error")
    result = box["result"]
    assert result.exit_status == 0
    assert {o.status for o in result.outcomes.values()} == {"done"}
    starts = sorted(p.name for p in markers.iterdir())
    assert len(starts) == 2 and len({s.rsplit(".", 1)[1] for s in starts}) == 2, starts
    assert is_complete_output(tmp_path / "out" / "well2")
    local_client.wait_for_workers(2, timeout=60)  # the nanny restarted the killed worker


def test_resume_skips_complete_outputs(experiment, tmp_path, local_client):
    out = tmp_path / "out"
    first = run_batch([experiment], out, client=local_client, stream=io.StringIO())
    assert first.exit_status == 0
    summary_before = (out / "batch_summary.csv").read_bytes()
    kept = {p: p.stat().st_mtime_ns for p in (out / "well2").iterdir()}

    # an interrupted run: one output never finished, a temporary folder left half-written
    shutil.rmtree(out / "drug_well1")
    stale = out / ".drug_well1.tmp-abc123"
    stale.mkdir()
    (stale / "cells.csv").write_text("frame,label\n0,")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))  # left by an earlier process
    (out / "batch_summary.csv").unlink()

    stream = io.StringIO()
    again = run_batch([experiment], out, client=local_client, stream=stream)
    assert again.exit_status == 0
    assert {k: o.status for k, o in again.outcomes.items()} == {
        "control_well1": "skipped",
        "well2": "skipped",
        "drug_well1": "done",
    }
    assert "1 input to analyse, 2 already complete (skipped)" in stream.getvalue()
    assert not stale.exists()
    assert {p: p.stat().st_mtime_ns for p in (out / "well2").iterdir()} == kept
    assert (out / "batch_summary.csv").read_bytes() == summary_before
    files = pd.read_csv(out / "batch_files.csv", keep_default_na=False)
    assert files["status"].tolist() == ["skipped", "skipped", "done"]

    # nothing left to do: no cluster is needed
    third = run_batch([experiment], out, stream=io.StringIO())
    assert {o.status for o in third.outcomes.values()} == {"skipped"}

    # other parameters: earlier outputs are not reused
    params = AnalysisParams().replace(z_projection="mean")
    stream = io.StringIO()
    fourth = run_batch([experiment], out, client=local_client, params=params, stream=stream)
    assert {o.status for o in fourth.outcomes.values()} == {"done"}
    assert "made with other parameters" in stream.getvalue()


def test_multi_position_file_gives_one_output_per_position(tmp_path, local_client):
    import tifffile

    from pgpviewer.core.synthetic import simulate_coculture

    data = tmp_path / "data"
    data.mkdir()
    path = data / "plate.ome.tif"
    with tifffile.TiffWriter(path, ome=True) as tif:
        for seed in (4, 5):
            sim = simulate_coculture(seed=seed, n_frames=4, shape_yx=(64, 64), n_cells=5)
            tif.write(
                sim.image,
                photometric="minisblack",
                metadata={"axes": "TCYX", "Channel": {"Name": list(sim.channel_names)}},
            )
    write_movie(data / "single.ome.tif", seed=6, n_frames=4, shape_yx=(64, 64), n_cells=5)
    result = run_batch([data], tmp_path / "out", client=local_client, stream=io.StringIO())
    assert result.exit_status == 0
    assert [(i.output, i.position) for i in result.plan.items] == [
        ("plate_pos0", 0),
        ("plate_pos1", 1),
        ("single", None),
    ]
    for name, pos in (("plate_pos0", 0), ("plate_pos1", 1)):
        prov = (tmp_path / "out" / name / "params.json").read_text()
        assert f'"position": {pos}' in prov
    summary = pd.read_csv(tmp_path / "out" / "batch_summary.csv", keep_default_na=False, dtype=str)
    assert summary.drop_duplicates("output")["position"].tolist() == ["0", "1", ""]


@pytest.mark.parametrize("bad", ["nothing", "missing", "analyze-output"])
def test_batch_usage_errors_exit_2(tmp_path, bad, capsys):
    out = tmp_path / "out"
    if bad == "nothing":
        (tmp_path / "empty").mkdir()
        args = [str(tmp_path / "empty")]
        message = "no image files or frame folders found"
    elif bad == "missing":
        args = [str(tmp_path / "nope")]
        message = "file or folder not found"
    else:
        out.mkdir()
        for name in OUTPUT_FILES:
            (out / name).write_text('{"software": "pgpviewer"}')
        write_movie(tmp_path / "in" / "a.ome.tif", seed=1, n_frames=2)
        args = [str(tmp_path / "in")]
        message = "is the output of 'pgpviewer analyze'"
    assert _cli("batch", *args, "--out", str(out)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


def test_sample_sheet_conditions_and_extra_columns(experiment, tmp_path, local_client):
    sheet = tmp_path / "sheet.csv"
    sheet.write_text(
        "file,condition,replicate,drug\n"
        "control/well1.ome.tif,ctrl,A,none\n"
        "control/well2.ome.tif,ctrl,A,none\n"  # same well: averaged with the row above
        "drug/*.tif,vera,1,verapamil\n"
        "ghost.tif,ctrl,B,none\n"  # names no file
    )
    stream = io.StringIO()
    result = run_batch(
        [experiment], tmp_path / "out", sample_sheet=sheet, client=local_client, stream=stream
    )
    assert result.exit_status == 2  # all inputs analysed, but a sheet row matched nothing
    assert {o.status for o in result.outcomes.values()} == {"done"}
    assert "sample sheet line 5 (ghost.tif): matches no input" in stream.getvalue()
    summary = pd.read_csv(tmp_path / "out" / "batch_summary.csv", dtype=str, keep_default_na=False)
    assert list(summary.columns[:6]) == [
        "file",
        "condition",
        "replicate",
        "drug",
        "position",
        "output",
    ]
    assert summary.drop_duplicates("file")[["condition", "replicate", "drug"]].values.tolist() == [
        ["ctrl", "A", "none"],
        ["ctrl", "A", "none"],
        ["vera", "1", "verapamil"],
    ]
    cond = pd.read_csv(tmp_path / "out" / "conditions.csv")
    ctrl = cond[cond["condition"] == "ctrl"]
    assert (ctrl["n_replicates"] == 1).all() and (ctrl["n_inputs"] == 2).all()


def test_scheduler_address_is_checked_before_connecting():
    from pgpviewer.batch import check_scheduler_address
    from pgpviewer.core.errors import InputError

    assert check_scheduler_address("10.0.0.5:8786") == "tcp://10.0.0.5:8786"
    assert check_scheduler_address("tcp://h:1") == "tcp://h:1"
    with pytest.raises(InputError, match="is not a dask scheduler address"):
        check_scheduler_address("localhost")
