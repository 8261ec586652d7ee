"""The app state without Qt: current folder, file, stack, channel roles, parameters, results.

Views listen to the past-tense psygnal signals; nothing here draws or computes. Results are
kept per file for the session (a few, oldest forgotten first) so that going back to a file
shows its analysis again; each file has a status for the file list.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from psygnal import Signal

from pgpviewer.core.errors import InputError
from pgpviewer.core.params import AnalysisParams
from pgpviewer.core.roles import ROLES, guess_roles
from pgpviewer.core.stack import Stack
from pgpviewer.session.commands import CommandStack
from pgpviewer.session.experiment import SavedRun


class FileStatus(StrEnum):
    """Analysis status of one file, as shown in the file list."""

    NOT_ANALYSED = "not analysed"
    RUNNING = "running"
    ANALYSED = "analysed"
    FAILED = "failed"
    OUT_OF_DATE = "out of date"


@dataclass
class RunTicket:
    """Identifies one analysis run: which file, and with which roles and parameters."""

    path: Path | None
    stack: Stack
    roles: dict[str, int]
    params: AnalysisParams
    previous: _Record | None = None


@dataclass
class _Record:
    status: FileStatus
    params: AnalysisParams | None = None
    roles: dict[str, int] | None = None
    message: str = ""


def validate_roles(roles: Mapping[str, int], n_channels: int, path: Any = None) -> dict[str, int]:
    """Check a role → channel index mapping; returns it in canonical role order.

    Raises
    ------
    InputError
        Unknown role, channel out of range, or one channel given two roles.
    """
    out: dict[str, int] = {}
    for role, idx in roles.items():
        if role not in ROLES:
            raise InputError(path, f"unknown channel role {role!r} (roles: {', '.join(ROLES)})")
        if not isinstance(idx, int) or not 0 <= idx < n_channels:
            raise InputError(path, f"role {role!r} names channel {idx!r}, which does not exist")
        out[role] = idx
    if len(set(out.values())) != len(out):
        raise InputError(path, "two roles are mapped to the same channel")
    return dict(sorted(out.items(), key=lambda kv: ROLES.index(kv[0])))


def _same_roles(saved: Mapping[str, Any] | None, roles: Mapping[str, int], names) -> bool:
    """Compare roles saved in a params.json (indices, names or {index, name}) to ``roles``."""
    if saved is None:
        return True  # nothing recorded: do not claim a difference
    norm: dict[str, int] = {}
    for role, value in saved.items():
        if isinstance(value, dict):
            value = value.get("index", value.get("channel", value.get("name")))
        if isinstance(value, int):
            norm[role] = value
        elif isinstance(value, str):
            if value.isdigit():
                norm[role] = int(value)
            elif value in names:
                norm[role] = list(names).index(value)
            else:
                return False
    return norm == dict(roles)


class Session:
    """Everything the user has open, with signals for the views.

    Parameters
    ----------
    params : AnalysisParams, optional
        Starting parameters (defaults).
    max_results : int
        Results of this many files are kept in memory; older ones are forgotten (their status
        stays "analysed").
    """

    folder_changed = Signal(object)
    """The experiment folder (Path or None) changed."""
    stack_changed = Signal(object)
    """Another stack (or None) is open."""
    roles_changed = Signal(dict)
    """The channel roles of the open stack changed."""
    params_changed = Signal(object)
    """The analysis parameters changed."""
    result_changed = Signal(object)
    """The result shown for the open stack changed (PipelineResult or None)."""
    status_changed = Signal(object)
    """The status of a file (Path) changed; None means: of possibly every file."""

    def __init__(self, params: AnalysisParams | None = None, *, max_results: int = 3):
        self.folder: Path | None = None
        self.stack: Stack | None = None
        self.roles: dict[str, int] = {}
        self.params: AnalysisParams = params or AnalysisParams()
        self.result: Any = None
        self.commands = CommandStack()
        self.max_results = max_results
        self._results: OrderedDict[Path | None, Any] = OrderedDict()
        self._records: dict[Path, _Record] = {}
        self._saved: dict[Path, SavedRun | None] = {}

    # -- current objects -----------------------------------------------------------------
    @property
    def path(self) -> Path | None:
        return self.stack.path if self.stack is not None else None

    def set_folder(self, folder: str | Path | None) -> None:
        folder = Path(folder) if folder is not None else None
        if folder == self.folder:
            return
        self.folder = folder
        self.folder_changed.emit(folder)

    def set_stack(self, stack: Stack | None, roles: Mapping[str, int] | None = None) -> None:
        """Open ``stack`` with ``roles`` (guessed from channel names when not given)."""
        if stack is not None:
            roles = (
                validate_roles(roles, stack.n_channels, stack.path)
                if roles is not None
                else guess_roles(stack.channel_names)
            )
        self.stack = stack
        self.roles = dict(roles or {})
        self.commands.clear()
        self.result = self._results.get(self.path) if stack is not None else None
        if self.result is not None and self.result.stack.shape != stack.shape:
            self.result = None  # the file changed on disk since
        self.stack_changed.emit(stack)
        self.roles_changed.emit(dict(self.roles))
        self.result_changed.emit(self.result)

    def set_roles(self, roles: Mapping[str, int]) -> None:
        if self.stack is None:
            raise InputError(None, "open a file before mapping channel roles")
        roles = validate_roles(roles, self.stack.n_channels, self.stack.path)
        if roles == self.roles:
            return
        self.roles = roles
        self.roles_changed.emit(dict(roles))
        if self.path is not None:
            self.status_changed.emit(self.path)

    def set_params(self, params: AnalysisParams) -> None:
        if not isinstance(params, AnalysisParams):
            raise TypeError("params must be AnalysisParams")
        if params == self.params:
            return
        self.params = params
        self.params_changed.emit(params)
        self.status_changed.emit(None)

    # -- results -------------------------------------------------------------------------
    @property
    def result_is_current(self) -> bool:
        """True when the shown result was computed with the current roles and parameters."""
        r = self.result
        return r is not None and self.params.produced(r.params) and dict(r.roles) == self.roles

    def begin_run(self) -> RunTicket:
        """Snapshot the inputs of an analysis and mark the file as running."""
        if self.stack is None:
            raise InputError(None, "open a file first")
        ticket = RunTicket(self.path, self.stack, dict(self.roles), self.params)
        if ticket.path is not None:
            ticket.previous = self._records.get(ticket.path)
            self._records[ticket.path] = _Record(FileStatus.RUNNING)
            self.status_changed.emit(ticket.path)
        return ticket

    def finish_run(self, ticket: RunTicket, result: Any) -> None:
        """Store the result of ``ticket``; it becomes the shown result if its file is open."""
        self._results[ticket.path] = result
        self._results.move_to_end(ticket.path)
        while len(self._results) > self.max_results:
            self._results.popitem(last=False)
        if ticket.path is not None:
            self._records[ticket.path] = _Record(
                FileStatus.ANALYSED, ticket.params, dict(ticket.roles)
            )
            self.status_changed.emit(ticket.path)
        if ticket.stack is self.stack:
            self.set_result(result)

    def fail_run(self, ticket: RunTicket, message: str) -> None:
        if ticket.path is not None:
            self._records[ticket.path] = _Record(FileStatus.FAILED, message=message)
            self.status_changed.emit(ticket.path)

    def cancel_run(self, ticket: RunTicket) -> None:
        if ticket.path is not None:
            if ticket.previous is None:
                self._records.pop(ticket.path, None)
            else:
                self._records[ticket.path] = ticket.previous
            self.status_changed.emit(ticket.path)

    def set_result(self, result: Any) -> None:
        """Show ``result`` for the open stack (also used by corrections that re-run steps)."""
        self.result = result
        if result is not None:
            self._results[self.path] = result
        self.result_changed.emit(result)

    def result_for(self, path: str | Path | None) -> Any:
        return self._results.get(Path(path) if path is not None else None)

    # -- status --------------------------------------------------------------------------
    def set_saved_run(self, path: str | Path, saved: SavedRun | None) -> None:
        """Record what the results folder of ``path`` holds (read in a worker)."""
        self._saved[Path(path)] = saved
        self.status_changed.emit(Path(path))

    def status(self, path: str | Path) -> FileStatus:
        """Status of ``path`` considering this session's runs and exported results."""
        p = Path(path)
        rec = self._records.get(p)
        if rec is not None and rec.status is not FileStatus.ANALYSED:
            return rec.status
        if rec is not None:
            roles_now = self.roles if p == self.path else rec.roles
            same = rec.params == self.params and rec.roles == roles_now
            return FileStatus.ANALYSED if same else FileStatus.OUT_OF_DATE
        saved = self._saved.get(p)
        if saved is None:
            return FileStatus.NOT_ANALYSED
        if saved.params is None or saved.newer_input or not self.params.produced(saved.params):
            return FileStatus.OUT_OF_DATE
        if (
            p == self.path
            and self.stack is not None
            and not _same_roles(saved.roles, self.roles, self.stack.channel_names)
        ):
            return FileStatus.OUT_OF_DATE
        return FileStatus.ANALYSED

    def status_message(self, path: str | Path) -> str:
        rec = self._records.get(Path(path))
        return rec.message if rec is not None else ""
