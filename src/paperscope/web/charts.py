"""Charts drawn on the server as SVG (no script, no CDN): citations per year as bars."""

from __future__ import annotations

from markupsafe import Markup, escape

WIDTH, HEIGHT, PAD_BOTTOM, PAD_TOP = 560, 180, 22, 16


def bar_chart(series: dict[int, int], label: str) -> Markup:
    """Bars per year, every year between the first and last present (missing years are 0)."""
    if not series:
        return Markup('<p class="muted">No citations per year known.</p>')
    first, last = min(series), max(series)
    years = list(range(first, last + 1))
    top = max(max(series.values()), 1)
    slot = WIDTH / len(years)
    bar = max(2.0, slot * 0.7)
    plot = HEIGHT - PAD_BOTTOM - PAD_TOP
    label_every = max(1, len(years) // 12)
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">',
             f"<title>{escape(label)}</title>"]
    for i, year in enumerate(years):
        n = int(series.get(year, 0))
        h = plot * n / top
        x = i * slot + (slot - bar) / 2
        y = PAD_TOP + plot - h
        parts.append(f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}">'
                     f"<title>{year}: {n:,}</title></rect>")
        if n and len(years) <= 24:
            parts.append(f'<text class="value" x="{x + bar / 2:.1f}" y="{y - 3:.1f}" '
                         f'text-anchor="middle">{n:,}</text>')
        if i % label_every == 0 or year == last:
            parts.append(f'<text class="year" x="{x + bar / 2:.1f}" y="{HEIGHT - 6}" '
                         f'text-anchor="middle">{year}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
