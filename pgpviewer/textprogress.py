"""A text progress bar on stderr with throughput and ETA (for the command line)."""

from __future__ import annotations

import re
import sys
import time
from typing import TextIO

# "segmenting frame 12/200": a stage name and its count
_COUNT = re.compile(r"^(?P<stage>.*?)\s*(?P<done>\d+)/(?P<total>\d+)\s*$")


def _fmt_seconds(s: float) -> str:
    s = round(s)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


class TextProgress:
    """Draws ``[####    ] 45%  message  12.3 frames/s  ETA 0:05`` on a stream.

    On a terminal the bar redraws in place; otherwise a line is printed every 10 %.
    Throughput: when a message ends in a count (``"segmenting frame 12/200"``), the rate of
    that stage since its first message, in ``count_unit`` per second; otherwise, with ``units``
    given, the overall rate.

    Parameters
    ----------
    stream : file, optional
        Defaults to ``sys.stderr``.
    units : int, optional
        Total work units (e.g. frames × passes) for the overall throughput figure.
    unit_name : str
        Name of a unit in the overall throughput figure.
    count_unit : str
        Name of the counted items in messages (``"frames"``).
    """

    def __init__(self, stream: TextIO | None = None, units: int = 0, unit_name: str = "frames",
                 count_unit: str = "frames"):
        self.stream = stream or sys.stderr
        self.units = units
        self.unit_name = unit_name
        self.count_unit = count_unit
        self._stage: tuple[str, float, int] | None = None  # (name, start time, count at start)
        self.t0 = time.perf_counter()
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last_decile = -1
        self._last_draw = 0.0

    def __call__(self, fraction: float, message: str = "") -> None:
        now = time.perf_counter()
        elapsed = now - self.t0
        stage_rate = self._stage_rate(message, now)
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
        if stage_rate is not None:
            rate = f"  {stage_rate:.1f} {self.count_unit}/s"
        elif self.units and elapsed > 0 and fraction > 0:
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

    def _stage_rate(self, message: str, now: float) -> float | None:
        """Items per second of the current counted stage (None before two counts of it)."""
        m = _COUNT.match(message or "")
        if m is None:
            return None
        stage, done = m["stage"], int(m["done"])
        if self._stage is None or self._stage[0] != stage or done < self._stage[2]:
            self._stage = (stage, now, done)
            return None
        _, start, first = self._stage
        return (done - first) / (now - start) if now > start and done > first else None

    def finish(self, message: str = "done") -> None:
        elapsed = time.perf_counter() - self.t0
        if self.tty and self._last_draw:
            self.stream.write("\n")
        self.stream.write(f"{message} in {_fmt_seconds(elapsed)}\n")
        self.stream.flush()
