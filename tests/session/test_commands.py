"""CommandStack: undo/redo, merge, macros, limits, clean state; no Qt."""

from __future__ import annotations

import pytest

from pgpviewer.session.commands import CallbackCommand, Command, CommandStack


class Append(Command):
    def __init__(self, target: list, value):
        self.target, self.value = target, value
        self.text = f"add {value}"

    def do(self):
        self.target.append(self.value)

    def undo(self):
        self.target.pop()


class Paint(Command):
    """Merges with the next Paint on the same cell (like brush strokes)."""

    def __init__(self, cells: dict, cell: int, value: int):
        self.cells, self.cell, self.value = cells, cell, value
        self.before = cells.get(cell)
        self.text = f"paint cell {cell}"

    def do(self):
        self.cells[self.cell] = self.value

    def undo(self):
        self.cells[self.cell] = self.before

    def merge(self, other):
        if isinstance(other, Paint) and other.cell == self.cell:
            self.value = other.value
            return True
        return False


def test_push_undo_redo_and_texts():
    data, stack, seen = [], CommandStack(), []
    stack.changed.connect(lambda: seen.append(stack.index))
    assert not stack.can_undo and not stack.can_redo and stack.undo() is None
    stack.push(Append(data, 1))
    stack.push(Append(data, 2))
    assert data == [1, 2] and stack.undo_text == "add 2"
    assert stack.undo().text == "add 2" and data == [1]
    assert stack.can_redo and stack.redo_text == "add 2"
    stack.redo()
    assert data == [1, 2] and not stack.can_redo
    stack.undo()
    stack.push(Append(data, 3))  # a new command drops the redo history
    assert data == [1, 3] and not stack.can_redo and len(stack) == 2
    assert seen == [1, 2, 1, 2, 1, 2]


def test_failed_do_or_undo_leaves_history_unchanged():
    stack = CommandStack()

    def boom():
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        stack.push(CallbackCommand("bad", boom, lambda: None))
    assert len(stack) == 0
    stack.push(CallbackCommand("bad undo", lambda: None, boom))
    with pytest.raises(RuntimeError):
        stack.undo()
    assert stack.can_undo and stack.undo_text == "bad undo"


def test_merge_consecutive_commands_into_one_step():
    cells, stack = {}, CommandStack()
    stack.push(Paint(cells, 7, 1))
    stack.push(Paint(cells, 7, 2))
    stack.push(Paint(cells, 8, 5))
    assert len(stack) == 2 and cells == {7: 2, 8: 5}
    stack.undo()
    stack.undo()
    assert cells == {7: None, 8: None}


def test_macro_groups_and_rolls_back_on_error():
    data, stack = [], CommandStack()
    with stack.macro("add three"):
        for v in (1, 2, 3):
            stack.push(Append(data, v))
    assert len(stack) == 1 and stack.undo_text == "add three"
    stack.undo()
    assert data == []
    with pytest.raises(ValueError), stack.macro("half"):
        stack.push(Append(data, 9))
        raise ValueError("stop")
    assert data == [] and stack.index == 0 and stack.redo_text == "add three"
    with pytest.raises(RuntimeError), stack.macro("outer"), stack.macro("inner"):
        pass


def test_limit_and_clean_state():
    data, stack = [], CommandStack(limit=3)
    assert stack.is_clean
    stack.push(Append(data, 0))
    assert not stack.is_clean
    stack.set_clean()
    stack.push(Append(data, 1))
    stack.undo()
    assert stack.is_clean
    for v in range(2, 7):
        stack.push(Append(data, v))
    assert len(stack) == 3 and not stack.is_clean  # the clean state fell off the history
    while stack.can_undo:
        stack.undo()
    assert data == [0, 2, 3]  # the three oldest pushes can no longer be undone
    stack.clear()
    assert len(stack) == 0 and stack.is_clean
    with pytest.raises(ValueError):
        CommandStack(limit=0)
