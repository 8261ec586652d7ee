"""Progress reporting and cancellation without Qt.

Core functions take ``progress`` (a callable ``(fraction, message)``) and ``cancel`` (a callable
returning True when the user asked to stop). :class:`Progress` bundles both, maps sub-steps onto
a sub-range of the overall bar, and raises :class:`~pgpviewer.core.errors.Cancelled` at check
points. The GUI turns the callback into a queued Qt signal; the CLI draws a text bar.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pgpviewer.core.errors import Cancelled

ProgressCallback = Callable[[float, str], None]
CancelCheck = Callable[[], bool]


@dataclass
class Progress:
    """A progress sink that can be split into weighted sub-ranges.

    Parameters
    ----------
    callback : callable or None
        Receives ``(fraction, message)`` with fraction in [0, 1] of the whole job.
    cancel : callable or None
        Returns True when the job should stop; checked by :meth:`check` and on every update.
    start, stop : float
        The part of the overall bar this object reports into.

    Examples
    --------
    >>> seen = []
    >>> p = Progress(lambda f, m: seen.append(round(f, 2)))
    >>> p.sub(0.5, 1.0)(0.5, "half of the second half")
    >>> seen
    [0.75]
    """

    callback: ProgressCallback | None = None
    cancel: CancelCheck | None = None
    start: float = 0.0
    stop: float = 1.0
    _t0: float = field(default_factory=time.perf_counter, repr=False)

    def __call__(self, fraction: float, message: str = "") -> None:
        self.check()
        if self.callback is not None:
            f = min(max(fraction, 0.0), 1.0)
            self.callback(self.start + f * (self.stop - self.start), message)

    def sub(self, start: float, stop: float) -> Progress:
        """Return a Progress reporting into ``[start, stop]`` of this one's range."""
        span = self.stop - self.start
        return Progress(
            self.callback, self.cancel, self.start + start * span, self.start + stop * span
        )

    def check(self) -> None:
        """Raise :class:`Cancelled` if cancellation was requested."""
        if self.cancel is not None and self.cancel():
            raise Cancelled("cancelled by the user")


def as_progress(
    progress: ProgressCallback | Progress | None, cancel: CancelCheck | None = None
) -> Progress:
    """Wrap a plain callback (or None) into a :class:`Progress`."""
    if isinstance(progress, Progress):
        if cancel is not None and progress.cancel is None:
            progress.cancel = cancel
        return progress
    return Progress(progress, cancel)
