"""Session folders: round trip, validation with clear errors, atomic replace, autosave paths."""

from __future__ import annotations

import json

import numpy as np
import pytest
from review_data import make_result

from pgpviewer.core.errors import InputError
from pgpviewer.session.commands import CommandStack
from pgpviewer.session.corrections import ReviewState, decision_command, merge_command
from pgpviewer.session.persist import (
    SESSION_FILE,
    autosave_dir,
    capture,
    check_input,
    has_autosave,
    read_session,
    write_session,
)


@pytest.fixture
def reviewed():
    result = make_result()
    state = ReviewState()
    state.reset(result)
    stack = CommandStack()
    stack.push(merge_command(state, 1, [1, 2]))
    stack.push(decision_command(state, result.events.iloc[0], "rejected"))
    return result, state


def test_round_trip(tmp_path, reviewed):
    result, state = reviewed
    view = {"frame": 3, "camera_center": [0.0, 10.0, 20.0], "camera_zoom": 2.5}
    data = capture(result, state, sha256="ab" * 32, view=view)
    out = write_session(data, tmp_path / "s")
    assert sorted(p.name for p in out.iterdir()) == ["labels.tif", "session.json"]
    back = read_session(out)
    assert np.array_equal(back.labels, state.labels) and back.labels_corrected
    assert back.decisions == state.decisions and back.overrides == state.overrides
    assert back.params == result.params and back.roles == result.roles
    assert back.view == view and back.input_sha256 == "ab" * 32 and back.frames == (0, 5)
    # saving again replaces the folder atomically; no temporary siblings stay behind
    state.decisions.clear()
    write_session(capture(result, state), out)
    assert read_session(out).decisions == {}
    assert [p.name for p in tmp_path.iterdir()] == ["s"]
    check_input(back, result.stack, None)
    with pytest.raises(InputError, match="changed since the session was saved"):
        check_input(back, result.stack, "cd" * 32)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: "{not json", "not valid JSON"),
        (lambda d: {**d, "format": "other"}, "'format' must be"),
        (lambda d: {**d, "version": 99}, "newer pgpviewer"),
        (lambda d: {**d, "roles": {"pgp": "two"}}, "'roles' must map"),
        (lambda d: {**d, "params": {"segmentation": {"cell_diameter_px": -5}}}, "invalid param"),
        (
            lambda d: {**d, "event_decisions": [{"frame": 1, "label": 2, "decision": "maybe"}]},
            "event_decisions\\[0\\]",
        ),
        (lambda d: {**d, "labels": {"shape": [9, 20, 40]}}, "label image has shape"),
        (lambda d: {**d, "input": {**d["input"], "frames": [3, 1]}}, "'input.frames'"),
    ],
)
def test_bad_session_files_give_clear_errors(tmp_path, reviewed, edit, message):
    result, state = reviewed
    out = write_session(capture(result, state), tmp_path / "s")
    pj = out / SESSION_FILE
    content = edit(json.loads(pj.read_text()))
    pj.write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(InputError, match=message) as info:
        read_session(out)
    assert "\n" not in str(info.value)


def test_missing_labels_and_foreign_folder(tmp_path, reviewed):
    result, state = reviewed
    out = write_session(capture(result, state), tmp_path / "s")
    (out / "labels.tif").unlink()
    with pytest.raises(InputError, match="label image is missing"):
        read_session(out)
    with pytest.raises(InputError, match="not a pgpviewer session"):
        read_session(tmp_path)
    foreign = tmp_path / "thesis"
    foreign.mkdir()
    (foreign / "chapter.txt").write_text("precious")
    with pytest.raises(InputError, match="not a pgpviewer session"):
        write_session(capture(result, state), foreign)
    assert (foreign / "chapter.txt").read_text() == "precious"


def test_autosave_dir_is_keyed_by_path(tmp_path, monkeypatch):
    monkeypatch.setenv("PGPVIEWER_DATA_DIR", str(tmp_path / "data"))
    a, b = autosave_dir(tmp_path / "a.tif"), autosave_dir(tmp_path / "b.tif")
    assert a != b and a.parent == tmp_path / "data" / "sessions"
    assert autosave_dir(tmp_path / "x" / ".." / "a.tif") == a
    assert not has_autosave(tmp_path / "a.tif")
