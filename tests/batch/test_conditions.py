"""Sample sheets, conditions and replicates, and the statistics of conditions.csv."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tifffile

from pgpviewer.batch import plan_batch
from pgpviewer.batch_conditions import (
    apply_sample_sheet,
    number_replicates,
    read_sample_sheet,
)
from pgpviewer.batch_inputs import BatchInput
from pgpviewer.batch_tables import (
    CONDITIONS_COLUMNS,
    InputTables,
    batch_summary_table,
    conditions_table,
    format_csv,
    mean_ci,
)
from pgpviewer.core.errors import InputError
from pgpviewer.core.export import SUMMARY_COLUMNS


# -- sample sheets ----------------------------------------------------------------------------
def test_sheet_with_bom_semicolons_blank_lines_and_extra_columns(tmp_path):
    p = tmp_path / "sheet.csv"
    p.write_bytes(
        "\ufeffFile;Condition;Replicate;ratio;Drug\r\n"
        "a.tif;ctrl;1;1:1;none\r\n\r\n"
        "b.tif; vera ;;1:3;verapamil 10 µM\r\n".encode()
    )
    sheet = read_sample_sheet(p)
    assert sheet.extra_columns == ("ratio", "Drug")
    assert [(r.line, r.file, r.condition, r.replicate) for r in sheet.rows] == [
        (2, "a.tif", "ctrl", "1"),
        (4, "b.tif", "vera", ""),
    ]
    assert sheet.rows[1].extra == {"ratio": "1:3", "Drug": "verapamil 10 µM"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,condition\na.tif,x\n", "no 'file' column"),
        ("file,replicate\na.tif,1\n", "no 'condition' column"),
        ("file,condition\na.tif,\n", "line 2 (a.tif) has an empty 'condition'"),
        ("file,condition\n,x\n", "line 2 has an empty 'file' cell"),
        ("file,condition,position\na.tif,x,first\n", "position 'first' is not a whole number"),
        ("file,condition,status\na.tif,x,ok\n", "column 'status' is reserved"),
        ("file,condition\n", "no rows"),
        ("", "is empty"),
    ],
)
def test_sheet_errors_name_the_problem(tmp_path, text, message):
    p = tmp_path / "sheet.csv"
    p.write_text(text)
    with pytest.raises(InputError, match=re.escape(message)) as e:
        read_sample_sheet(p)
    assert str(p) in str(e.value)


def test_missing_sheet(tmp_path):
    with pytest.raises(InputError, match="sample sheet not found"):
        read_sample_sheet(tmp_path / "nope.csv")


def _item(name: str, root: Path, position=None) -> BatchInput:
    return BatchInput(root / name, position=position, name=name)


def test_rows_match_by_name_stem_path_folder_and_glob(tmp_path):
    root = tmp_path / "exp"
    for d in ("ctrl", "drug", "other"):
        (root / d).mkdir(parents=True)
    items = [
        _item(n, root)
        for n in (
            "ctrl/w1.ome.tif",
            "ctrl/w2.ome.tif",
            "drug/w1.ome.tif",
            "drug/x9.tif",
            "other/z.tif",
            "loose.tif",
        )
    ]
    sheet_path = root / "sheet.csv"
    sheet_path.write_text(
        "file,condition,replicate\n"
        "ctrl/w1.ome.tif,control,A\n"  # relative path (exact)
        "w2,control,B\n"  # stem of a file name (exact)
        "drug/*.tif,drug,\n"  # glob
        "drug/x9.tif,drug-special,1\n"  # exact beats the glob above
        "other,other,\n"  # a folder: every input in it
        "missing.tif,ghost,\n"  # matches nothing
    )
    sheet = read_sample_sheet(sheet_path)
    match = apply_sample_sheet(sheet, items)
    got = {i.name: (i.condition, i.replicate) for i in match.items}
    assert got == {
        "ctrl/w1.ome.tif": ("control", "A"),
        "ctrl/w2.ome.tif": ("control", "B"),
        "drug/w1.ome.tif": ("drug", ""),
        "drug/x9.tif": ("drug-special", "1"),
        "other/z.tif": ("other", ""),
    }
    assert [i.name for i in match.not_in_sheet] == ["loose.tif"]
    assert [r.file for r in match.unused_rows] == ["missing.tif"]


def test_ambiguous_rows_are_refused(tmp_path):
    p = tmp_path / "sheet.csv"
    p.write_text("file,condition\n*.tif,a\nw*.tif,b\n")
    with pytest.raises(InputError, match=r"w1\.tif is matched by lines 2, 3"):
        apply_sample_sheet(read_sample_sheet(p), [_item("w1.tif", tmp_path)])
    # rows that agree are fine
    p.write_text("file,condition\n*.tif,a\nw*.tif,a\n")
    match = apply_sample_sheet(read_sample_sheet(p), [_item("w1.tif", tmp_path)])
    assert match.items[0].condition == "a" and not match.unused_rows


def test_position_column_selects_one_position(tmp_path):
    p = tmp_path / "sheet.csv"
    p.write_text("file,condition,position\nplate.ome.tif,a,0\nplate.ome.tif,b,1\n")
    items = [_item("plate.ome.tif", tmp_path, 0), _item("plate.ome.tif", tmp_path, 1)]
    match = apply_sample_sheet(read_sample_sheet(p), items)
    assert [i.condition for i in match.items] == ["a", "b"]


def test_replicates_numbered_in_file_order_within_condition():
    items = [
        BatchInput(Path(f"/{i}"), condition=c, replicate=r)
        for i, (c, r) in enumerate([("a", ""), ("b", ""), ("a", "2"), ("a", ""), ("b", "")])
    ]
    assert [(i.condition, i.replicate) for i in number_replicates(items)] == [
        ("a", "1"),
        ("b", "1"),
        ("a", "2"),
        ("a", "3"),
        ("b", "2"),
    ]


def _tif(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, np.zeros((2, 8, 8), np.uint16))


def test_plan_without_sheet_uses_folder_names(tmp_path):
    root = tmp_path / "exp"
    for n in ("1 to 1/w1.tif", "1 to 1/w2.tif", "verapamil/w1.tif"):
        _tif(root / n)
    plan = plan_batch([root], tmp_path / "out")
    assert [(i.name, i.condition, i.replicate, i.output) for i in plan.items] == [
        ("1 to 1/w1.tif", "1 to 1", "1", "1 to 1_w1"),
        ("1 to 1/w2.tif", "1 to 1", "2", "w2"),
        ("verapamil/w1.tif", "verapamil", "1", "verapamil_w1"),
    ]


def test_plan_from_sheet_alone_resolves_rows_next_to_the_sheet(tmp_path):
    root = tmp_path / "exp"
    for n in ("raw/a.tif", "raw/b.tif", "raw/c.tif"):
        _tif(root / n)
    sheet = root / "samples.csv"
    sheet.write_text(
        "file,condition,replicate,donor_ratio\n"
        "raw/a.tif,ctrl,1,0\nb,ctrl,2,0\nraw/c*,treated,1,0.5\n"
    )
    plan = plan_batch([], tmp_path / "out", sample_sheet=sheet)
    # in the sheet's row order; "b" (a stem) is found below the sheet's folder
    assert [(i.name, i.condition, i.replicate, i.extra) for i in plan.items] == [
        ("a.tif", "ctrl", "1", {"donor_ratio": "0"}),
        ("b.tif", "ctrl", "2", {"donor_ratio": "0"}),
        ("c.tif", "treated", "1", {"donor_ratio": "0.5"}),
    ]
    assert plan.extra_columns == ("donor_ratio",)
    assert not plan.unused_rows


# -- statistics -------------------------------------------------------------------------------
def test_mean_ci_against_hand_computed_values():
    # t(0.975, 2) = 4.302652729911275; sd = 0.1; half width = 4.302653 * 0.1 / sqrt(3)
    n, m, sd, lo, hi = mean_ci([0.1, 0.2, 0.3])
    assert (n, m, sd) == (3, pytest.approx(0.2), pytest.approx(0.1))
    assert lo == pytest.approx(0.2 - 0.2484137, abs=1e-6)
    assert hi == pytest.approx(0.2 + 0.2484137, abs=1e-6)
    # t(0.975, 3) = 3.182446305284263; sd = sqrt(0.08 / 3) = 0.1632993; half = 0.2598461
    n, m, sd, lo, hi = mean_ci([0.2, 0.4, 0.4, 0.6, float("nan")])
    assert (n, round(m, 9), round(sd, 6)) == (4, 0.4, 0.163299)
    assert (round(lo, 6), round(hi, 6)) == (0.140154, 0.659846)
    n, m, sd, lo, hi = mean_ci([0.5])
    assert n == 1 and m == 0.5 and all(math.isnan(v) for v in (sd, lo, hi))
    assert mean_ci([])[0] == 0


def _tables(name, condition, replicate, fractions, *, events=(), dt=600.0, position=None):
    """InputTables as read back from disk (text cells), for frames 0..len(fractions)-1."""
    frames = range(len(fractions))
    ev = pd.DataFrame(
        [{"event_id": str(k + 1), "frame": str(f), "mode": m} for k, (f, m) in enumerate(events)],
        columns=["event_id", "frame", "mode"],
    )
    new = [sum(1 for f, _ in events if f == t) for t in frames]
    summary = pd.DataFrame(
        {
            "frame": [str(t) for t in frames],
            "time_s": [repr(t * dt) for t in frames],
            "n_recipients": ["10" if not math.isnan(v) else "0" for v in fractions],
            "fraction_recipients_positive": ["" if math.isnan(v) else repr(v) for v in fractions],
            "cumulative_events": [str(c) for c in np.cumsum(new)],
        }
    )
    item = BatchInput(
        Path(f"/data/{name}"),
        position=position,
        name=name,
        output=name,
        condition=condition,
        replicate=replicate,
        extra={"drug": condition},
    )
    return InputTables(item, summary, ev)


NAN = float("nan")


def test_conditions_table_against_hand_computed_numbers():
    tables = [
        # condition A, replicate 1: two positions of one well (averaged first)
        _tables("a1p0", "A", "1", [0.0, 0.1], events=[(0, "remote"), (1, "contact")], position=0),
        _tables("a1p1", "A", "1", [0.0, 0.3], position=1),
        _tables("a2", "A", "2", [0.0, 0.4], events=[(1, "contact")]),
        _tables("a3", "A", "3", [NAN, 0.6]),  # no recipients in frame 0
        # condition B: one replicate, another frame interval
        _tables("b1", "B", "1", [0.5, 0.5], events=[(1, "remote")], dt=300.0),
    ]
    cond = conditions_table(tables)
    assert list(cond.columns) == CONDITIONS_COLUMNS
    a0, a1, b0, b1 = (cond.iloc[i] for i in range(4))
    assert (a0["condition"], a0["frame"], a1["frame"], b0["condition"]) == ("A", 0, 1, "B")
    # A, frame 1: replicates 0.2 (mean of 0.1, 0.3), 0.4, 0.6 → mean 0.4, sd 0.2
    # half width = t(0.975, 2) · 0.2 / √3 = 4.302652729911275 · 0.1154700538 = 0.4968275
    assert a1["n_replicates"] == 3 and a1["n_inputs"] == 4
    assert a1["fraction_recipients_positive_mean"] == pytest.approx(0.4)
    assert a1["fraction_recipients_positive_sd"] == pytest.approx(0.2)
    assert a1["fraction_recipients_positive_ci_low"] == pytest.approx(0.4 - 0.4968275, abs=1e-6)
    assert a1["fraction_recipients_positive_ci_high"] == pytest.approx(0.4 + 0.4968275, abs=1e-6)
    # A, frame 0: replicate 3 has no defined fraction → n = 2, all zero
    assert a0["n_replicates"] == 2 and a0["n_inputs"] == 3
    assert (
        a0["fraction_recipients_positive_mean"],
        a0["fraction_recipients_positive_ci_low"],
        a0["fraction_recipients_positive_ci_high"],
    ) == (0.0, 0.0, 0.0)
    # cumulative events per replicate at frame 1: rep 1 = mean(2, 0) = 1, rep 2 = 1, rep 3 = 0
    assert a1["cumulative_events_mean"] == pytest.approx(2 / 3)
    assert a1["cumulative_contact_events_mean"] == pytest.approx(0.5)  # (0.5, 1, 0)
    assert a1["cumulative_remote_events_mean"] == pytest.approx(1 / 6)  # (0.5, 0, 0)
    assert a0["cumulative_remote_events_mean"] == pytest.approx(1 / 6)
    assert (a0["events_contact"], a0["events_remote"], a0["events_total"]) == (2, 1, 3)
    assert a1["time_s"] == 600.0
    # B: one replicate → no spread, no interval
    assert b1["n_replicates"] == 1 and b1["fraction_recipients_positive_mean"] == 0.5
    assert math.isnan(b1["fraction_recipients_positive_ci_low"])
    assert (b1["events_contact"], b1["events_remote"], b1["time_s"]) == (0, 1, 300.0)
    # written as CSV: empty cells for undefined values
    line = format_csv(cond).splitlines()[4]
    assert line.startswith("B,1,300.0,1,1,0.5,,,,1.0,,,0.0,1.0,10.0,0,1,1")


def test_time_is_left_empty_when_replicates_disagree():
    cond = conditions_table(
        [_tables("x", "A", "1", [0.1, 0.2], dt=600.0), _tables("y", "A", "2", [0.1, 0.2], dt=60.0)]
    )
    assert cond["time_s"].iloc[0] == 0.0 and math.isnan(cond["time_s"].iloc[1])


def test_batch_summary_keeps_each_summary_verbatim():
    t1 = _tables("a1", "A", "1", [0.0, 0.125])
    t2 = _tables("a2", "A", "2", [NAN, 0.5], position=3)
    table = batch_summary_table([t1, t2], extra_columns=("drug",))
    assert list(table.columns[:6]) == [
        "file",
        "condition",
        "replicate",
        "drug",
        "position",
        "output",
    ]
    assert list(table.columns[6 : 6 + len(SUMMARY_COLUMNS)]) == SUMMARY_COLUMNS
    text = format_csv(table).splitlines()
    assert text[1].startswith("a1,A,1,A,,a1,0,0.0,,,10,,0.0,,0,")
    assert text[3].startswith("a2,A,2,A,3,a2,0,0.0,,,0,,,,0,")
    assert text[4].startswith("a2,A,2,A,3,a2,1,600.0,,,10,,0.5,,0,")
