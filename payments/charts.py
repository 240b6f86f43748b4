"""Inline SVG charts drawn on the server: no JavaScript library, no CDN, printable.

Geometry uses Decimal like everything else; labels are escaped. Each chart has a <title> and a
text table next to it on the page, so the numbers stay readable without the picture.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import mark_safe

W, H, PAD_L, PAD_B, PAD_T = Decimal(720), Decimal(220), Decimal(56), Decimal(28), Decimal(12)


def _fmt(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.1'))}"


def _scale(values) -> Decimal:
    top = max([Decimal(v) for v in values if v is not None] + [Decimal(1)])
    return top * Decimal("1.1")


def bar_chart(*, title: str, labels: list[str], series: list[tuple[str, list, str]], value_format=str) -> str:
    """Grouped bars: series = [(name, values, css class)]."""
    values = [v for _n, vals, _c in series for v in vals]
    top = _scale(values)
    plot_w, plot_h = W - PAD_L - 8, H - PAD_B - PAD_T
    group = plot_w / max(len(labels), 1)
    bar = group * Decimal("0.8") / max(len(series), 1)
    parts = [f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for i in range(5):
        y = PAD_T + plot_h * i / 4
        parts.append(f'<line class="gridline" x1="{PAD_L}" x2="{W - 8}" y1="{_fmt(y)}" y2="{_fmt(y)}"/>')
        parts.append(f'<text class="axis" x="{PAD_L - 6}" y="{_fmt(y + 4)}" text-anchor="end">{escape(value_format(top * (4 - i) / 4))}</text>')
    for g, label in enumerate(labels):
        x0 = PAD_L + group * g + group * Decimal("0.1")
        for s, (name, vals, css) in enumerate(series):
            v = Decimal(vals[g] or 0)
            h = plot_h * max(v, Decimal(0)) / top
            x = x0 + bar * s
            parts.append(f'<rect class="{css}" x="{_fmt(x)}" y="{_fmt(PAD_T + plot_h - h)}" width="{_fmt(bar - 1)}" height="{_fmt(h)}">'
                         f'<title>{escape(name)} · {escape(label)}: {escape(value_format(v))}</title></rect>')
        parts.append(f'<text class="axis" x="{_fmt(PAD_L + group * g + group / 2)}" y="{H - 8}" text-anchor="middle">{escape(label)}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))


def line_chart(*, title: str, labels: list[str], values: list, css: str = "line-a", value_format=str) -> str:
    """One line with dots; missing values (None) break the line."""
    top = _scale(values)
    plot_w, plot_h = W - PAD_L - 8, H - PAD_B - PAD_T
    step = plot_w / max(len(labels) - 1, 1)
    parts = [f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for i in range(5):
        y = PAD_T + plot_h * i / 4
        parts.append(f'<line class="gridline" x1="{PAD_L}" x2="{W - 8}" y1="{_fmt(y)}" y2="{_fmt(y)}"/>')
        parts.append(f'<text class="axis" x="{PAD_L - 6}" y="{_fmt(y + 4)}" text-anchor="end">{escape(value_format(top * (4 - i) / 4))}</text>')
    points, path = [], []
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        x = PAD_L + step * i
        parts.append(f'<text class="axis" x="{_fmt(x)}" y="{H - 8}" text-anchor="middle">{escape(label)}</text>')
        if v is None:
            if path:
                points.append(path)
            path = []
            continue
        y = PAD_T + plot_h - plot_h * Decimal(v) / top
        path.append((x, y, label, v))
    if path:
        points.append(path)
    for segment in points:
        d = " ".join(f"{'M' if j == 0 else 'L'}{_fmt(x)},{_fmt(y)}" for j, (x, y, _l, _v) in enumerate(segment))
        parts.append(f'<path class="{css}" d="{d}" fill="none"/>')
        for x, y, label, v in segment:
            parts.append(f'<circle class="{css}" cx="{_fmt(x)}" cy="{_fmt(y)}" r="3"><title>{escape(label)}: {escape(value_format(v))}</title></circle>')
    parts.append("</svg>")
    return mark_safe("".join(parts))


def stacked_bar(*, title: str, parts_: list[tuple[str, Decimal, str]], value_format=str) -> str:
    """One horizontal bar split into parts (the aging buckets)."""
    total = sum((Decimal(v) for _n, v, _c in parts_), Decimal(0))
    out = [f'<svg class="chart chart-stacked" viewBox="0 0 {W} 40" role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>']
    x = Decimal(0)
    for name, v, css in parts_:
        if total <= 0 or v <= 0:
            continue
        w = W * Decimal(v) / total
        out.append(f'<rect class="{css}" x="{_fmt(x)}" y="4" width="{_fmt(w)}" height="32"><title>{escape(name)}: {escape(value_format(v))}</title></rect>')
        x += w
    out.append("</svg>")
    return mark_safe("".join(out))
