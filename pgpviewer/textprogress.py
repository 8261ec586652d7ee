"""A text progress bar on stderr with throughput and ETA (for the command line)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _fmt_seconds(s: float) -> str:
    s = round(s)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


class TextProgress:
    """Draws ``[####    ] 45%  message  12.3 frames/s  ETA 0:05`` on a stream.

    On a terminal the bar redraws in place; otherwise a line is printed every 10 %.

    Parameters
    ----------
    stream : file, optional
        Defaults to ``sys.stderr``.
    units : int, optional
        Total work units (e.g. frames × passes) for the throughput figure.
    unit_name : str
        Name of a unit in the throughput figure.
    """

    def __init__(self, stream: TextIO | None = None, units: int = 0, unit_name: str = "frames"):
        self.stream = stream or sys.stderr
        self.units = units
        self.unit_name = unit_name
        self.t0 = time.perf_counter()
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last_decile = -1
        self._last_draw = 0.0

    def __call__(self, fraction: float, message: str = "") -> None:
        now = time.perf_counter()
        elapsed = now - self.t0
        if self.tty:
            if fraction < 1.0 and now - self._last_draw < 0.1:
                return
            self._last_draw = now
        else:
            decile = int(fraction * 10)
            if decile == self._last_decile:
                return
            self._last_decile = decile
        rate = ""
        if self.units and elapsed > 0 and fraction > 0:
            rate = f"  {self.units * fraction / elapsed:.1f} {self.unit_name}/s"
        eta = ""
        if 0.02 < fraction < 1.0:
            eta = f"  ETA {_fmt_seconds(elapsed * (1 - fraction) / fraction)}"
        bar = "#" * int(fraction * 24)
        line = f"[{bar:<24}] {fraction * 100:3.0f}%  {message[:40]:<40}{rate}{eta}"
        if self.tty:
            self.stream.write("\r" + line)
            if fraction >= 1.0:
                self.stream.write("\n")
        else:
            self.stream.write(line.rstrip() + "\n")
        self.stream.flush()

    def finish(self, message: str = "done") -> None:
        elapsed = time.perf_counter() - self.t0
        if self.tty and self._last_draw:
            self.stream.write("\n")
        self.stream.write(f"{message} in {_fmt_seconds(elapsed)}\n")
        self.stream.flush()
