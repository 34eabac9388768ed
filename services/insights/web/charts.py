"""Charts as server-side SVG: no script, no CDN, nothing to download, so the dashboard
works offline and a screenshot or a printout shows what the browser shows.

Pure functions from figures to markup. Colours and sizes are presentation attributes (not
``style=``), so the pages' Content-Security-Policy needs no ``unsafe-inline`` for them; the
SVG scales to its container (``viewBox``, ``width=100%``), so a phone gets the same chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH = 480  # a phone shows it at ~0.7 scale: 14 px labels stay ~10 px
BAR = 26  # height of one bar, px
GAP = 8
LABEL_W = 110  # room for the label left of the bars
VALUE_W = 80  # room for the value right of the bars
COLOURS = ("#2563eb", "#0891b2", "#7c3aed", "#16a34a", "#ea580c", "#db2777")


@dataclass(frozen=True)
class Bar:
    label: str
    value: float  # what the bar's length shows
    text: str  # what is written beside it (the figure, formatted)
    colour: str = COLOURS[0]


def _svg(height: int, title: str, body: str) -> Markup:
    return Markup(
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {height}" width="100%"'
        f' preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>{body}</svg>"
    )


def bars(title: str, rows: Sequence[Bar], scale: float | None = None) -> Markup:
    """Horizontal bars, longest = ``scale`` (the largest value when not given); a label on
    the left and the figure on the right of each, so the chart reads without a legend."""
    if not rows:
        return _svg(40, title, '<text x="0" y="24" fill="#6b7280">no leads</text>')
    top = scale if scale else max((r.value for r in rows), default=0) or 1
    room = WIDTH - LABEL_W - VALUE_W
    parts = []
    for i, row in enumerate(rows):
        y = i * (BAR + GAP)
        length = max(0.0, min(row.value / top, 1.0)) * room
        parts.append(
            f'<text x="{LABEL_W - 8}" y="{y + BAR * 0.68:.1f}" text-anchor="end"'
            f' font-size="14" fill="#111827">{escape(_clip(row.label, 14))}</text>'
            f'<rect x="{LABEL_W}" y="{y}" width="{max(length, 1):.1f}" height="{BAR}" rx="3"'
            f' fill="{row.colour}"/>'
            f'<text x="{LABEL_W + length + 6:.1f}" y="{y + BAR * 0.68:.1f}" font-size="14"'
            f' fill="#111827">{escape(row.text)}</text>'
        )
    return _svg(len(rows) * (BAR + GAP), title, "".join(parts))


def columns(title: str, rows: Sequence[Bar]) -> Markup:
    """Vertical columns (a distribution: bins left to right), count above each."""
    height, base, top_room = 220, 190, 22
    if not rows:
        return _svg(40, title, '<text x="0" y="24" fill="#6b7280">no leads</text>')
    top = max(r.value for r in rows) or 1
    slot = WIDTH / len(rows)
    width = slot * 0.7
    parts = [f'<line x1="0" y1="{base}" x2="{WIDTH}" y2="{base}" stroke="#9ca3af"/>']
    for i, row in enumerate(rows):
        x = i * slot + (slot - width) / 2
        h = row.value / top * (base - top_room)
        parts.append(
            f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{width:.1f}" height="{h:.1f}"'
            f' rx="3" fill="{row.colour}"/>'
            f'<text x="{x + width / 2:.1f}" y="{base - h - 6:.1f}" text-anchor="middle"'
            f' font-size="14" fill="#111827">{escape(row.text)}</text>'
            f'<text x="{x + width / 2:.1f}" y="{base + 20}" text-anchor="middle"'
            f' font-size="13" fill="#374151">{escape(_clip(row.label, 12))}</text>'
        )
    return _svg(height, title, "".join(parts))


def _clip(text: str, limit: int = 20) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
