"""Small inline SVG charts for the static reports: no JavaScript, no network, print-friendly."""

from __future__ import annotations

from html import escape

from sotelake.publish.formatting import number

PALETTE = ["#1f5f8b", "#c8553d", "#2a9d8f", "#8d6a9f", "#e9c46a", "#6c757d"]


MAX_LABEL = 42


def _label(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def line_chart(
    series: dict[str, list[tuple[str, float | None]]],
    *,
    title: str,
    decimals: int = 1,
    width: int = 640,
    height: int = 220,
) -> str:
    """Lines over shared x labels (periods); a None value leaves a gap (e.g. suppressed)."""
    labels = sorted({x for points in series.values() for x, _ in points})
    values = [v for points in series.values() for _, v in points if v is not None]
    if not labels or not values:
        return f'<p class="empty">{escape(title)}: –</p>'
    left, right, top, bottom = 56, 12, 14, 34
    top_value = max(values) * 1.1 or 1.0
    low_value = min(0.0, min(values))
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
    for k in range(5):
        v = low_value + span * k / 4
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
            f'class="grid"/><text x="{left - 6}" y="{y(v) + 4:.1f}" class="axis" '
            f'text-anchor="end">{number(v, decimals)}</text>'
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
    legend = "".join(
        f'<span class="key"><i style="background:{PALETTE[n % len(PALETTE)]}"></i>'
        f"{escape(name)}</span>"
        for n, name in enumerate(sorted(series))
    )
    return "".join(parts) + f'<div class="legend">{legend}</div>'


def bar_chart(
    bars: list[tuple[str, float | None]],
    *,
    title: str,
    decimals: int = 1,
    width: int = 640,
    suppressed_label: str = "×",
) -> str:
    """Horizontal bars, one per label; None is drawn as a withheld (suppressed) cell."""
    if not bars:
        return f'<p class="empty">{escape(title)}: –</p>'
    row, left, right = 20, 290, 70
    height = row * len(bars) + 8
    top_value = max((v for _, v in bars if v is not None), default=1.0) or 1.0
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for i, (label, v) in enumerate(bars):
        y = 4 + i * row
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
        w = max(1.0, (width - left - right) * v / top_value)
        parts.append(
            f'<rect x="{left}" y="{y + 2}" width="{w:.1f}" height="{row - 6}" '
            f'class="bar"><title>{escape(label)}: {number(v, decimals)}</title></rect>'
            f'<text x="{left + w + 4:.1f}" y="{y + 13}" class="axis">'
            f"{number(v, decimals)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
