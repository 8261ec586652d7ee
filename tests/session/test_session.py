"""Session: signals, roles validation, run bookkeeping and file status; no Qt."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from pgpviewer.core.errors import InputError
from pgpviewer.core.params import AnalysisParams
from pgpviewer.core.stack import Stack
from pgpviewer.session import FileStatus, Session
from pgpviewer.session.experiment import SavedRun


def make_stack(path="/data/a.tif", names=("Hoechst", "CellTracker Blue", "P-gp-EGFP")):
    return Stack.from_array(
        np.zeros((2, len(names), 8, 8), np.uint16), "TCYX", channel_names=names, path=Path(path)
    )


def fake_result(stack, roles, params):
    return SimpleNamespace(stack=stack, roles=dict(roles), params=params)


def record(session):
    seen = []
    for name in (
        "stack_changed",
        "roles_changed",
        "params_changed",
        "result_changed",
        "status_changed",
        "folder_changed",
    ):
        getattr(session, name).connect(lambda *a, n=name: seen.append(n))
    return seen


def test_open_guesses_roles_and_emits_past_tense_signals():
    s = Session()
    seen = record(s)
    s.set_folder("/data")
    s.set_stack(make_stack())
    assert s.roles == {"nuclei": 0, "recipient": 1, "pgp": 2}
    assert seen == ["folder_changed", "stack_changed", "roles_changed", "result_changed"]
    assert s.path == Path("/data/a.tif") and s.result is None


def test_roles_are_validated():
    s = Session()
    with pytest.raises(InputError):
        s.set_roles({"pgp": 0})  # nothing open
    s.set_stack(make_stack(), roles={"pgp": 2})
    for bad in ({"pgp": 5}, {"golgi": 0}, {"pgp": 1, "nuclei": 1}):
        with pytest.raises(InputError):
            s.set_roles(bad)
    seen = record(s)
    s.set_roles({"nuclei": 0, "pgp": 2})
    s.set_roles({"pgp": 2, "nuclei": 0})  # same mapping: no signal
    assert s.roles == {"nuclei": 0, "pgp": 2} and seen.count("roles_changed") == 1


def test_run_lifecycle_and_status():
    s = Session()
    stack = make_stack()
    s.set_stack(stack)
    p = stack.path
    assert s.status(p) is FileStatus.NOT_ANALYSED
    ticket = s.begin_run()
    assert s.status(p) is FileStatus.RUNNING
    s.finish_run(ticket, fake_result(stack, ticket.roles, ticket.params))
    assert s.status(p) is FileStatus.ANALYSED and s.result_is_current
    s.set_params(AnalysisParams().replace(z_projection="mean"))
    assert s.status(p) is FileStatus.OUT_OF_DATE and not s.result_is_current
    s.set_params(AnalysisParams())
    assert s.status(p) is FileStatus.ANALYSED
    s.set_roles({"pgp": 2})
    assert s.status(p) is FileStatus.OUT_OF_DATE

    ticket = s.begin_run()
    s.cancel_run(ticket)
    assert s.status(p) is FileStatus.OUT_OF_DATE  # back to what it was
    ticket = s.begin_run()
    s.fail_run(ticket, "boom")
    assert s.status(p) is FileStatus.FAILED and s.status_message(p) == "boom"


def test_result_of_a_file_closed_meanwhile_is_kept_for_it():
    s = Session(max_results=1)
    a, b = make_stack("/d/a.tif"), make_stack("/d/b.tif")
    s.set_stack(a)
    ticket = s.begin_run()
    s.set_stack(b)  # the user moved on while a ran
    s.finish_run(ticket, fake_result(a, ticket.roles, ticket.params))
    assert s.result is None and s.status(a.path) is FileStatus.ANALYSED
    s.set_stack(a)
    assert s.result is not None and s.result.stack is a
    ticket = s.begin_run()
    s.finish_run(ticket, fake_result(a, ticket.roles, ticket.params))
    s.set_stack(b)
    tb = s.begin_run()
    s.finish_run(tb, fake_result(b, tb.roles, tb.params))
    assert s.result_for(a.path) is None  # only one result kept in memory


def test_status_from_exported_results():
    s = Session()
    stack = make_stack()
    s.set_stack(stack)
    saved = SavedRun(
        Path("/r"),
        AnalysisParams(),
        {
            "nuclei": {"index": 0, "name": "Hoechst"},
            "recipient": {"index": 1, "name": "CellTracker Blue"},
            "pgp": {"index": 2, "name": "P-gp-EGFP"},
        },
        newer_input=False,
    )
    s.set_saved_run(stack.path, saved)
    assert s.status(stack.path) is FileStatus.ANALYSED
    s.set_roles({"pgp": 2})
    assert s.status(stack.path) is FileStatus.OUT_OF_DATE
    s.set_saved_run("/d/other.tif", SavedRun(Path("/r"), AnalysisParams(), None, True))
    assert s.status("/d/other.tif") is FileStatus.OUT_OF_DATE  # input newer than results
    s.set_saved_run("/d/x.tif", SavedRun(Path("/r"), None, None, False))
    assert s.status("/d/x.tif") is FileStatus.OUT_OF_DATE


def test_params_type_checked():
    with pytest.raises(TypeError):
        Session().set_params({"z_projection": "max"})


def test_session_imports_no_qt_or_napari():
    code = (
        "import sys, pgpviewer.session, pgpviewer.session.experiment; "
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('PySide6', 'PyQt5', 'PyQt6', 'qtpy', 'napari', 'vispy', 'superqt')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
