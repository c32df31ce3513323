"""Small inline SVG charts for the static reports: no JavaScript, no network, print-friendly."""

from __future__ import annotations

import math
from html import escape

from sotelake.publish.formatting import number

PALETTE = ["#1f5f8b", "#c8553d", "#2a9d8f", "#8d6a9f", "#e9c46a", "#6c757d"]


MAX_LABEL = 42


def _label(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def nice_ticks(low: float, high: float, count: int = 5) -> tuple[list[float], int]:
    """Axis ticks on round numbers (1, 2, 2.5 or 5 times a power of ten) covering low..high,
    about ``count`` of them, and the decimals their labels need."""
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / max(1, count - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    ticks = [round(k * step, 10) for k in range(first, last + 1)]
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) if step < 1 else 0
    if step != round(step, decimals):  # 0.25: two places
        decimals += 1
    return ticks, decimals


def single_value(label: str, value: float | None, *, title: str, decimals: int = 1) -> str:
    """One value as a number (a chart of one point says nothing more)."""
    shown = number(value, decimals) if value is not None else "×"
    return (
        f'<p class="single-value" aria-label="{escape(title)}"><strong>{shown}</strong> '
        f"<span>{escape(label)}</span></p>"
    )


def line_chart(
    series: dict[str, list[tuple[str, float | None]]],
    *,
    title: str,
    decimals: int = 1,
    width: int = 640,
    height: int = 220,
    legend: bool = True,
) -> str:
    """Lines over shared x labels (periods); a None value leaves a gap (e.g. suppressed). The
    y axis starts at zero and ends on a round number; one period is shown as its number."""
    labels = sorted({x for points in series.values() for x, _ in points})
    values = [v for points in series.values() for _, v in points if v is not None]
    if not labels or not values:
        return f'<p class="empty">{escape(title)}: –</p>'
    if len(labels) == 1:
        return "".join(
            single_value(
                f"{name} {points[0][0]}" if len(series) > 1 else points[0][0],
                points[0][1],
                title=title,
                decimals=decimals,
            )
            for name, points in sorted(series.items())
        )
    left, right, top, bottom = 56, 28, 14, 34
    ticks, tick_decimals = nice_ticks(min(0.0, min(values)), max(values))
    low_value, top_value = ticks[0], ticks[-1]
    span = top_value - low_value
    step = (width - left - right) / max(1, len(labels) - 1)

    def x(i: int) -> float:
        return left + i * step

    def y(v: float) -> float:
        return top + (height - top - bottom) * (1 - (v - low_value) / span)

    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for v in ticks:
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
            f'class="grid"/><text x="{left - 6}" y="{y(v) + 4:.1f}" class="axis" '
            f'text-anchor="end">{number(v, tick_decimals)}</text>'
        )
    every = max(1, len(labels) // 12)
    for i, label in enumerate(labels):
        if i % every == 0:
            parts.append(
                f'<text x="{x(i):.1f}" y="{height - 12}" class="axis" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    index = {label: i for i, label in enumerate(labels)}
    for n, (name, points) in enumerate(sorted(series.items())):
        color = PALETTE[n % len(PALETTE)]
        path, pen_down = [], False
        for label, v in sorted(points):
            if v is None:
                pen_down = False
                continue
            path.append(f"{'L' if pen_down else 'M'}{x(index[label]):.1f},{y(v):.1f}")
            pen_down = True
        parts.append(
            f'<path d="{" ".join(path)}" stroke="{color}" class="series">'
            f"<title>{escape(name)}</title></path>"
        )
        for label, v in points:
            if v is not None:
                parts.append(
                    f'<circle cx="{x(index[label]):.1f}" cy="{y(v):.1f}" r="2.5" '
                    f'fill="{color}"><title>{escape(name)} {escape(label)}: '
                    f"{number(v, decimals)}</title></circle>"
                )
    parts.append("</svg>")
    if not legend:
        return "".join(parts)
    keys = "".join(
        f'<span class="key"><i style="background:{PALETTE[n % len(PALETTE)]}"></i>'
        f"{escape(name)}</span>"
        for n, name in enumerate(sorted(series))
    )
    return "".join(parts) + f'<div class="legend">{keys}</div>'


def bar_chart(
    bars: list[tuple[str, float | None]],
    *,
    title: str,
    decimals: int = 1,
    width: int = 640,
    suppressed_label: str = "×",
    reference: float | None = None,
    reference_label: str = "",
) -> str:
    """Horizontal bars in the given order, one per label; None is drawn as a withheld
    (suppressed) cell. ``reference`` (e.g. the county's value) is a dashed line across them."""
    if not bars:
        return f'<p class="empty">{escape(title)}: –</p>'
    row, right = 20, 70
    left = min(290, 16 + 6 * max(len(_label(label)) for label, _ in bars))  # the longest name
    top = 18 if reference is not None else 4
    height = top + row * len(bars) + 8
    known = [v for _, v in bars if v is not None]
    if reference is not None:
        known.append(reference)
    top_value = max([*known, 0.0]) or 1.0
    scale = (width - left - right) / top_value
    parts = [
        f'<svg class="chart bars" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for i, (label, v) in enumerate(bars):
        y = top + i * row
        parts.append(
            f'<text x="{left - 6}" y="{y + 13}" class="axis" text-anchor="end">'
            f"{escape(_label(label))}</text>"
        )
        if v is None:
            parts.append(
                f'<text x="{left + 4}" y="{y + 13}" class="suppressed">'
                f"{escape(suppressed_label)}</text>"
            )
            continue
        w = max(1.0, scale * v)
        parts.append(
            f'<rect x="{left}" y="{y + 2}" width="{w:.1f}" height="{row - 6}" '
            f'class="bar"><title>{escape(label)}: {number(v, decimals)}</title></rect>'
            f'<text x="{left + w + 4:.1f}" y="{y + 13}" class="axis">'
            f"{number(v, decimals)}</text>"
        )
    if reference is not None:
        x = left + scale * reference
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top - 4}" y2="{height - 4}" '
            f'class="reference"/><text x="{x:.1f}" y="11" class="axis reference-label" '
            f'text-anchor="{"start" if x < width / 2 else "end"}">'
            f"{escape(reference_label)} {number(reference, decimals)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
