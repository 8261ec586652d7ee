"""Small, dependency-free SVG charts for the HTML reports (inline ``<svg>``, no scripts).

Only what the reports need: line/step charts with confidence bands and grouped bar charts, with
"nice" axis ticks and a legend. Colours are the Okabe–Ito palette (safe for colour blindness).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
MODE_COLORS = {"contact": "#D55E00", "remote": "#0072B2"}


@dataclass
class Series:
    """One line of a :func:`line_chart`; ``lo``/``hi`` draw a shaded band (e.g. a 95 % CI)."""

    x: Sequence[float]
    y: Sequence[float]
    label: str = ""
    color: str | None = None
    lo: Sequence[float] | None = None
    hi: Sequence[float] | None = None
    step: bool = False
    dashed: bool = False
    markers: bool = False


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values covering ``[lo, hi]``.

    Examples
    --------
    >>> nice_ticks(0, 1)
    [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    >>> nice_ticks(0, 37)
    [0.0, 10.0, 20.0, 30.0, 40.0]
    """
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0, 1.0]
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    raw = (hi - lo) / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step + 1e-9) * step
    ticks = []
    v = start
    while v < hi + step * 0.999:
        ticks.append(round(v, 12))
        v = start + len(ticks) * step
    return [float(t) for t in ticks]


def fmt_tick(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1e4 or abs(v) < 1e-3:
        return f"{v:.2g}"
    return f"{v:.6g}"


def _finite(v) -> bool:
    try:
        return v is not None and math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


class _Frame:
    """Plot area geometry and data → pixel mapping."""

    def __init__(self, width, height, xlim, ylim, left=64, right=16, top=34, bottom=46):
        self.w, self.h = width, height
        self.left, self.right, self.top, self.bottom = left, right, top, bottom
        self.x0, self.x1 = xlim
        self.y0, self.y1 = ylim
        if self.x1 <= self.x0:
            self.x1 = self.x0 + 1
        if self.y1 <= self.y0:
            self.y1 = self.y0 + 1

    def px(self, x: float) -> float:
        return self.left + (x - self.x0) / (self.x1 - self.x0) * (self.w - self.left - self.right)

    def py(self, y: float) -> float:
        y = min(max(y, self.y0), self.y1)
        return (
            self.h
            - self.bottom
            - (y - self.y0) / (self.y1 - self.y0) * (self.h - self.top - self.bottom)
        )


def _axes(f: _Frame, xticks, yticks, xlabel, ylabel, xcat=None) -> list[str]:
    out = [
        f'<rect x="{f.left}" y="{f.top}" width="{f.w - f.left - f.right}" '
        f'height="{f.h - f.top - f.bottom}" class="plotbg"/>'
    ]
    for t in yticks:
        y = f.py(t)
        out.append(
            f'<line x1="{f.left}" x2="{f.w - f.right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
        )
        out.append(
            f'<text x="{f.left - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">'
            f"{escape(fmt_tick(t))}</text>"
        )
    if xcat is None:
        for t in xticks:
            x = f.px(t)
            out.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{f.h - f.bottom}" '
                f'y2="{f.h - f.bottom + 4}" class="axis"/>'
            )
            out.append(
                f'<text x="{x:.1f}" y="{f.h - f.bottom + 16}" text-anchor="middle" '
                f'class="tick">{escape(fmt_tick(t))}</text>'
            )
    out.append(
        f'<line x1="{f.left}" x2="{f.w - f.right}" y1="{f.h - f.bottom}" '
        f'y2="{f.h - f.bottom}" class="axis"/>'
    )
    out.append(
        f'<line x1="{f.left}" x2="{f.left}" y1="{f.top}" y2="{f.h - f.bottom}" class="axis"/>'
    )
    out.append(
        f'<text x="{(f.left + f.w - f.right) / 2:.1f}" y="{f.h - 8}" '
        f'text-anchor="middle" class="label">{escape(xlabel)}</text>'
    )
    cy = (f.top + f.h - f.bottom) / 2
    out.append(
        f'<text transform="translate(14 {cy:.1f}) rotate(-90)" text-anchor="middle" '
        f'class="label">{escape(ylabel)}</text>'
    )
    return out


def _legend(items: Sequence[tuple[str, str, bool]], f: _Frame) -> list[str]:
    out, x = [], f.left
    for label, color, dashed in items:
        if not label:
            continue
        dash = ' stroke-dasharray="5 3"' if dashed else ""
        out.append(
            f'<line x1="{x}" x2="{x + 18}" y1="14" y2="14" stroke="{color}" '
            f'stroke-width="2.5"{dash}/>'
        )
        text = label if len(label) <= 32 else label[:31] + "…"
        out.append(f'<text x="{x + 23}" y="18" class="legend">{escape(text)}</text>')
        x += 36 + 6.5 * len(text)
    return out


def _segments(xs, ys) -> list[list[tuple[float, float]]]:
    segs, cur = [], []
    for x, y in zip(xs, ys, strict=False):
        if _finite(x) and _finite(y):
            cur.append((float(x), float(y)))
        elif cur:
            segs.append(cur)
            cur = []
    if cur:
        segs.append(cur)
    return segs


def _stepped(pts: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out = []
    for i, (x, y) in enumerate(pts):
        if i:
            out.append((x, pts[i - 1][1]))
        out.append((x, y))
    return out


def _path(f: _Frame, pts) -> str:
    return " ".join(
        f"{'M' if i == 0 else 'L'}{f.px(x):.1f},{f.py(y):.1f}" for i, (x, y) in enumerate(pts)
    )


def line_chart(
    series: Sequence[Series],
    *,
    xlabel: str,
    ylabel: str,
    title: str = "",
    width: int = 640,
    height: int = 320,
    ylim: tuple[float | None, float | None] = (None, None),
    bands_in_range: bool = True,
) -> str:
    """An inline SVG line (or step) chart; NaN values break lines. Empty data → a note.

    With ``bands_in_range=False`` the y range follows the lines only and wide bands are clipped
    at the plot edge (so a 2-replicate CI does not flatten every line).
    """
    xs_all = [float(v) for s in series for v in s.x if _finite(v)]
    arrays = [(s.y, s.lo or [], s.hi or []) if bands_in_range else (s.y,) for s in series]
    ys_all = [float(v) for arrs in arrays for arr in arrs for v in arr if _finite(v)]
    if not xs_all or not ys_all:
        return f'<p class="empty">No data to plot{": " + escape(title) if title else ""}.</p>'
    xticks = nice_ticks(min(xs_all), max(xs_all))
    y_lo = ylim[0] if ylim[0] is not None else min(ys_all)
    y_hi = ylim[1] if ylim[1] is not None else max(ys_all)
    yticks = nice_ticks(min(y_lo, 0.0) if ylim[0] is None and y_lo >= 0 else y_lo, y_hi)
    if ylim[0] is not None:
        yticks = [t for t in yticks if t >= ylim[0] - 1e-12]
    if ylim[1] is not None:
        yticks = [t for t in yticks if t <= ylim[1] + 1e-12]
    f = _Frame(
        width,
        height,
        (min(xs_all), max(xs_all)),
        (
            ylim[0] if ylim[0] is not None else yticks[0],
            ylim[1] if ylim[1] is not None else yticks[-1],
        ),
    )
    out = _axes(f, xticks, yticks, xlabel, ylabel)
    legend = []
    for k, s in enumerate(series):
        color = s.color or PALETTE[k % len(PALETTE)]
        if s.lo is not None and s.hi is not None:
            lo_segs = _segments(s.x, s.lo)
            hi_segs = _segments(s.x, s.hi)
            for lo_pts, hi_pts in zip(lo_segs, hi_segs, strict=False):
                if len(lo_pts) != len(hi_pts) or not lo_pts:
                    continue
                if s.step:
                    lo_pts, hi_pts = _stepped(lo_pts), _stepped(hi_pts)
                poly = hi_pts + lo_pts[::-1]
                pts = " ".join(f"{f.px(x):.1f},{f.py(y):.1f}" for x, y in poly)
                out.append(
                    f'<polygon points="{pts}" fill="{color}" fill-opacity="0.18" stroke="none"/>'
                )
        dash = ' stroke-dasharray="5 3"' if s.dashed else ""
        for seg in _segments(s.x, s.y):
            pts = _stepped(seg) if s.step else seg
            if len(pts) == 1:
                x, y = pts[0]
                out.append(f'<circle cx="{f.px(x):.1f}" cy="{f.py(y):.1f}" r="3" fill="{color}"/>')
                continue
            out.append(
                f'<path d="{_path(f, pts)}" fill="none" stroke="{color}" stroke-width="2"{dash}/>'
            )
            if s.markers:
                out += [
                    f'<circle cx="{f.px(x):.1f}" cy="{f.py(y):.1f}" r="2.5" fill="{color}"/>'
                    for x, y in seg
                ]
        legend.append((s.label, color, s.dashed))
    out += _legend(legend, f)
    return _svg(width, height, title, out)


def bar_chart(
    categories: Sequence[str],
    groups: dict[str, Sequence[float]],
    *,
    ylabel: str,
    title: str = "",
    colors: dict[str, str] | None = None,
    errors: dict[str, tuple[Sequence[float], Sequence[float]]] | None = None,
    width: int = 640,
    height: int = 300,
) -> str:
    """Grouped bars: one cluster per category, one bar per group; optional error bars."""
    values = [float(v) for vs in groups.values() for v in vs if _finite(v)]
    if errors:
        values += [
            float(v) for lo, hi in errors.values() for arr in (lo, hi) for v in arr if _finite(v)
        ]
    if not categories or not values:
        return f'<p class="empty">No data to plot{": " + escape(title) if title else ""}.</p>'
    yticks = nice_ticks(min(0.0, min(values)), max(max(values), 1e-9))
    f = _Frame(width, height, (0, len(categories)), (yticks[0], yticks[-1]))
    out = _axes(f, [], yticks, "", ylabel, xcat=categories)
    names = list(groups)
    slot = f.px(1) - f.px(0)
    bar_w = slot * 0.8 / max(len(names), 1)
    legend = []
    for g, name in enumerate(names):
        color = (colors or {}).get(name) or PALETTE[g % len(PALETTE)]
        legend.append((name, color, False))
        for c, v in enumerate(groups[name]):
            if not _finite(v):
                continue
            x = f.px(c) + slot * 0.1 + g * bar_w
            y0, y1 = f.py(0), f.py(float(v))
            out.append(
                f'<rect x="{x:.1f}" y="{min(y0, y1):.1f}" width="{bar_w * 0.92:.1f}" '
                f'height="{abs(y0 - y1):.1f}" fill="{color}">'
                f"<title>{escape(str(categories[c]))} · {escape(name)}: "
                f"{escape(fmt_tick(float(v)))}</title></rect>"
            )
            if errors and name in errors:
                lo, hi = errors[name][0][c], errors[name][1][c]
                if _finite(lo) and _finite(hi):
                    xm = x + bar_w * 0.46
                    out.append(
                        f'<path d="M{xm:.1f},{f.py(lo):.1f} L{xm:.1f},{f.py(hi):.1f} '
                        f"M{xm - 4:.1f},{f.py(lo):.1f} L{xm + 4:.1f},{f.py(lo):.1f} "
                        f'M{xm - 4:.1f},{f.py(hi):.1f} L{xm + 4:.1f},{f.py(hi):.1f}" '
                        'stroke="#333" stroke-width="1.2" fill="none"/>'
                    )
    for c, cat in enumerate(categories):
        x = f.px(c + 0.5)
        text = str(cat) if len(str(cat)) <= 20 else str(cat)[:19] + "…"
        out.append(
            f'<text x="{x:.1f}" y="{f.h - f.bottom + 16}" text-anchor="middle" '
            f'class="tick"><title>{escape(str(cat))}</title>{escape(text)}</text>'
        )
    out += _legend(legend, f)
    return _svg(width, height, title, out)


def _svg(width: int, height: int, title: str, body: list[str]) -> str:
    t = f"<title>{escape(title)}</title>" if title else ""
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{escape(title)}">{t}' + "".join(body) + "</svg>"
    )
