"""The command line's progress bar: throughput of counted stages and ETA."""

from __future__ import annotations

import io

from pgpviewer import textprogress
from pgpviewer.textprogress import TextProgress


def test_counted_stages_show_frames_per_second_and_eta(monkeypatch):
    clock = iter([0.0, 0.0, 1.0, 2.0, 3.0, 3.5, 4.0])
    monkeypatch.setattr(textprogress.time, "perf_counter", lambda: next(clock))
    out = io.StringIO()
    bar = TextProgress(out)  # not a terminal: a line per 10 %
    bar(0.05, "segmenting frame 1/20")
    bar(0.25, "segmenting frame 5/20")  # 4 frames in 1 s
    bar(0.50, "segmenting frame 10/20")  # 9 frames in 2 s
    bar(0.60, "measuring frame 1/20")  # a new stage: no rate yet
    bar(0.70, "measuring frame 5/20")  # 4 frames in 0.5 s
    lines = out.getvalue().splitlines()
    assert "frames/s" not in lines[0]
    assert "4.0 frames/s" in lines[1] and "ETA 0:03" in lines[1]
    assert "4.5 frames/s" in lines[2] and "ETA 0:02" in lines[2]
    assert "frames/s" not in lines[3]
    assert "8.0 frames/s" in lines[4]


def test_uncounted_messages_fall_back_to_overall_units():
    out = io.StringIO()
    bar = TextProgress(out, units=10, unit_name="steps")
    bar(0.5, "calibrating the P-gp gate")
    assert "steps/s" in out.getvalue()
    bar.finish("done")
    assert out.getvalue().splitlines()[-1].startswith("done in ")
