"""Review state without Qt: label corrections, event decisions, population overrides, undo."""

from __future__ import annotations

import numpy as np
import pytest
from review_data import make_result

from pgpviewer.session.commands import CommandStack
from pgpviewer.session.corrections import (
    REJECTED,
    CorrectionError,
    LabelEditCommand,
    ReviewState,
    apply_review,
    decision_command,
    erase_command,
    merge_command,
    merge_labels,
    override_command,
    split_command,
    split_label,
)


@pytest.fixture
def state():
    s = ReviewState()
    s.reset(make_result())
    return s


def test_label_operations():
    a = np.zeros((10, 20), np.int32)
    a[2:8, 2:18] = 5
    out = split_label(a, 5, new_label=9)
    assert set(np.unique(out)) == {0, 5, 9}
    left, right = np.nonzero(out == 5)[1], np.nonzero(out == 9)[1]
    assert left.max() < right.min() or right.max() < left.min()  # split across the long axis
    assert abs(int((out == 5).sum()) - int((out == 9).sum())) <= 12
    seeded = split_label(a, 5, seeds=[(5, 3), (5, 6)], new_label=9)
    assert (seeded == 9).sum() > (seeded == 5).sum()  # the boundary lies between the seeds
    merged = merge_labels(out, [5, 9])
    assert np.array_equal(merged, a)
    with pytest.raises(CorrectionError, match="two different"):
        merge_labels(a, [5, 5])
    with pytest.raises(CorrectionError, match="not in this frame"):
        split_label(a, 3)


def test_label_commands_undo_redo(state):
    stack = CommandStack()
    edited = []
    state.labels_edited.connect(edited.append)
    original = state.labels.copy()
    stack.push(merge_command(state, 3, [1, 2]))
    assert not (state.labels[3] == 2).any() and (state.labels[3] == 1).sum() == 96
    assert state.needs_rerun and state.labels_corrected
    stack.push(split_command(state, 3, 1))
    assert len(np.unique(state.labels[3])) == 4
    stack.push(erase_command(state, 0, [3]))
    assert not (state.labels[0] == 3).any()
    assert edited == [3, 3, 0]
    for _ in range(3):
        stack.undo()
    assert np.array_equal(state.labels, original) and not state.labels_corrected
    stack.redo()
    assert (state.labels[3] == 1).sum() == 96
    # a brush stroke captured as before/after of a frame
    before = state.labels[1].copy()
    after = before.copy()
    after[10:12, 0:4] = 7
    cmd = LabelEditCommand.from_frames(state, 1, before, after, "paint")
    assert cmd.before.shape == (2, 4)
    stack.push(cmd)
    assert (state.labels[1] == 7).sum() == 8
    assert LabelEditCommand.from_frames(state, 1, after, after, "nothing") is None


def test_reject_event_changes_counts_and_undo(state):
    stack = CommandStack()
    base = state.base
    reviewed, cand = apply_review(base, state.decisions, state.overrides)
    assert reviewed is base and list(cand["review"]) == [""]
    event = base.events.iloc[0]
    stack.push(decision_command(state, event, REJECTED))
    reviewed, cand = apply_review(base, state.decisions, state.overrides)
    assert list(cand["review"]) == ["rejected"]
    assert len(reviewed.events) == 0
    assert reviewed.summary["cumulative_events"].max() == 0
    assert reviewed.summary["n_recipients_positive"].max() == 0
    t1 = reviewed.tracks.set_index("track_id").loc[1]
    assert t1["status"] == "no_event" and t1["acquired_frame"] is pd_na()
    assert reviewed.curves["acquired"].max() == 0
    assert any("rejected" in n for n in reviewed.notes)
    assert base.events is not reviewed.events and len(base.events) == 1  # base untouched
    stack.undo()
    assert state.decisions == {}
    stack.redo()
    # accept is recorded but changes nothing
    stack.push(decision_command(state, event, "accepted"))
    reviewed, cand = apply_review(base, state.decisions, state.overrides)
    assert reviewed is base and list(cand["review"]) == ["accepted"]


def test_population_override_reclassifies(state):
    stack = CommandStack()
    base = state.base
    stack.push(override_command(state, 2, "recipient"))  # the donor was a recipient after all
    reviewed, _ = apply_review(base, state.decisions, state.overrides)
    tr = reviewed.tracks.set_index("track_id")
    assert tr.loc[2, "population"] == "recipient"
    assert tr.loc[2, "status"] == "positive_at_start"
    assert (reviewed.cells.loc[reviewed.cells["track_id"] == 2, "population"] == "recipient").all()
    assert reviewed.summary["n_donors"].max() == 0
    # replacing the override keeps one entry per track
    stack.push(override_command(state, 2, "unknown"))
    assert list(state.overrides.values()) == ["unknown"]
    stack.undo()
    stack.undo()
    assert state.overrides == {}
    assert apply_review(base, state.decisions, state.overrides)[0] is base


def test_decisions_follow_cells_after_rerun(state):
    """Keys are (frame, label): they survive a renumbering of track ids."""
    stack = CommandStack()
    stack.push(decision_command(state, state.base.events.iloc[0], REJECTED))
    renumbered = make_result()
    renumbered.cells["track_id"] = renumbered.cells["track_id"] + 10
    from pgpviewer.core.events import detect_events

    renumbered.events, renumbered.tracks = detect_events(
        renumbered.cells, renumbered.contacts, renumbered.params.events
    )
    reviewed, cand = apply_review(renumbered, state.decisions, state.overrides)
    assert list(cand["review"]) == ["rejected"] and len(reviewed.events) == 0


def pd_na():
    import pandas as pd

    return pd.NA
