"""Exceptions that carry a message meant for the user.

``InputError`` is raised for anything the user can fix (a missing, broken or unsupported file, a
bad channel mapping, invalid parameters). Front ends show ``str(error)`` as one line (CLI: exit
code 2, GUI: a dialog) and never a traceback.
"""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """A problem with the user's input, reported as one line naming the file and the problem.

    Parameters
    ----------
    path : str or Path or None
        The file (or folder) the problem is about.
    problem : str
        What is wrong, in words a scientist understands.
    """

    def __init__(self, path: str | Path | None, problem: str):
        self.path = None if path is None else Path(path)
        self.problem = one_line(problem)
        super().__init__(
            f"{self.path}: {self.problem}" if self.path is not None else self.problem
        )

    def __reduce__(self):
        # picklable with its fields, so that it crosses process boundaries (worker processes,
        # dask workers) as an InputError and not as a TypeError from __init__
        return (type(self), (self.path, self.problem))


def one_line(text: object, limit: int = 600) -> str:
    """``text`` on one line (line breaks and runs of spaces become one space), cut at ``limit``.

    Messages embed exception texts from libraries, which may span lines; front ends promise
    exactly one line.
    """
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class Cancelled(Exception):
    """Raised inside long computations when the user asked to stop."""
