"""Undo/redo without Qt: commands with ``do``/``undo`` and a bounded command stack.

Review and correction (merging or splitting cells, fixing a population, deleting an event) are
expressed as :class:`Command` objects pushed onto the session's :class:`CommandStack`; the GUI
binds its Undo/Redo actions to the stack's state and ``changed`` signal.

Examples
--------
>>> values = []
>>> stack = CommandStack()
>>> stack.push(CallbackCommand("add 1", lambda: values.append(1), values.pop))
>>> values, stack.undo_text
([1], 'add 1')
>>> _ = stack.undo(); values
[]
>>> _ = stack.redo(); values
[1]
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from psygnal import Signal


class Command:
    """One undoable change. Subclasses implement :meth:`do` and :meth:`undo`.

    ``do`` is called when the command is pushed and again on redo; it must be repeatable
    after ``undo``. A command may absorb a following one (e.g. consecutive brush strokes on
    the same cell) by returning True from :meth:`merge`.
    """

    text: str = ""

    def do(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def undo(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def merge(self, other: Command) -> bool:
        """Absorb ``other`` (already done) into this command; return True if merged."""
        return False


class CallbackCommand(Command):
    """A command made of two callables.

    Parameters
    ----------
    text : str
        Shown in the Edit menu ("Undo <text>").
    do, undo : callable
        Apply and revert the change.
    """

    def __init__(self, text: str, do: Callable[[], object], undo: Callable[[], object]):
        self.text = text
        self._do = do
        self._undo = undo

    def do(self) -> None:
        self._do()

    def undo(self) -> None:
        self._undo()


class MacroCommand(Command):
    """Several commands done in order and undone in reverse order, as one step."""

    def __init__(self, text: str, commands: list[Command] | None = None):
        self.text = text
        self.commands: list[Command] = list(commands or [])

    def do(self) -> None:
        for c in self.commands:
            c.do()

    def undo(self) -> None:
        for c in reversed(self.commands):
            c.undo()


class CommandStack:
    """Linear undo history.

    Parameters
    ----------
    limit : int
        Oldest commands beyond this many are forgotten (they can no longer be undone).

    Notes
    -----
    If a command's ``do`` or ``undo`` raises, the stack is left unchanged and the exception
    propagates, so a failed correction never leaves the history out of step with the data.
    """

    changed = Signal()
    """Emitted after push, undo, redo, clear and clean-state changes."""

    def __init__(self, limit: int = 200):
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self._done: list[Command] = []
        self._undone: list[Command] = []
        self._clean_index: int | None = 0
        self._macro: MacroCommand | None = None

    # -- state ---------------------------------------------------------------------------
    @property
    def can_undo(self) -> bool:
        return bool(self._done)

    @property
    def can_redo(self) -> bool:
        return bool(self._undone)

    @property
    def undo_text(self) -> str:
        return self._done[-1].text if self._done else ""

    @property
    def redo_text(self) -> str:
        return self._undone[-1].text if self._undone else ""

    @property
    def index(self) -> int:
        """Number of commands currently applied."""
        return len(self._done)

    def __len__(self) -> int:
        return len(self._done) + len(self._undone)

    @property
    def is_clean(self) -> bool:
        """True when the data is as it was at the last :meth:`set_clean` (e.g. a save)."""
        return self._clean_index == len(self._done)

    def set_clean(self) -> None:
        self._clean_index = len(self._done)
        self.changed.emit()

    # -- operations ----------------------------------------------------------------------
    def push(self, command: Command) -> None:
        """Do ``command`` and record it (inside :meth:`macro`, add it to the macro)."""
        command.do()
        if self._macro is not None:
            self._macro.commands.append(command)
            return
        self._record(command)

    def _record(self, command: Command) -> None:
        if self._undone:
            self._undone.clear()
            if self._clean_index is not None and self._clean_index > len(self._done):
                self._clean_index = None  # the clean state can no longer be reached
        if self._done and self._clean_index != len(self._done) and self._done[-1].merge(command):
            self.changed.emit()
            return
        self._done.append(command)
        overflow = len(self._done) - self.limit
        if overflow > 0:
            del self._done[:overflow]
            if self._clean_index is not None:
                self._clean_index -= overflow
                if self._clean_index < 0:
                    self._clean_index = None
        self.changed.emit()

    def undo(self) -> Command | None:
        """Undo the last command; returns it (None when there is nothing to undo)."""
        if not self._done:
            return None
        command = self._done[-1]
        command.undo()
        self._done.pop()
        self._undone.append(command)
        self.changed.emit()
        return command

    def redo(self) -> Command | None:
        """Redo the last undone command; returns it (None when there is nothing to redo)."""
        if not self._undone:
            return None
        command = self._undone[-1]
        command.do()
        self._undone.pop()
        self._done.append(command)
        self.changed.emit()
        return command

    def clear(self) -> None:
        """Forget the whole history (e.g. when another file is opened)."""
        self._done.clear()
        self._undone.clear()
        self._clean_index = 0
        self.changed.emit()

    @contextmanager
    def macro(self, text: str) -> Iterator[MacroCommand]:
        """Group the commands pushed inside the ``with`` block into one undo step.

        If the block raises, the commands already done inside it are undone and nothing is
        recorded.
        """
        if self._macro is not None:
            raise RuntimeError("macros cannot be nested")
        macro = MacroCommand(text)
        self._macro = macro
        try:
            yield macro
        except BaseException:
            self._macro = None
            macro.undo()
            raise
        self._macro = None
        if macro.commands:
            self._record(macro)
