"""Server-side SVG charts for the dashboard: no JavaScript charting library and no CDN.

Written here rather than taken from a library: the few plotting packages on PyPI that emit SVG
(matplotlib, pygal) are heavy or unmaintained for a dozen bars; these charts are plain
rectangles and text, escaped with ``format_html``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


def _num(value: float) -> str:
    """A chart label in the active locale, like the tables beside it (« 19,9 », « 1 234 »)."""
    if value >= 100:
        return number_format(round(value), 0, use_l10n=True, force_grouping=True)
    rounded = round(value, 1)
    return number_format(rounded, 1 if rounded % 1 else 0, use_l10n=True)


def _svg(width: int, height: int, title: StrOrPromise, body: SafeString) -> SafeString:
    """The chart's SVG element around its (already escaped) shapes."""
    return format_html(
        '<svg class="chart" role="img" viewBox="0 0 {} {}" width="100%" '
        'xmlns="http://www.w3.org/2000/svg"><title>{}</title>{}</svg>',
        width,
        height,
        title,
        body or mark_safe(""),
    )


def bar_chart(
    rows: Sequence[tuple[StrOrPromise, float]],
    colour: str = "#0b6e4f",
    title: StrOrPromise = "",
) -> SafeString:
    """Horizontal bars, one per (label, value); a role="img" SVG with a French title."""
    width, label_w, bar_h, gap = 560, 190, 18, 6
    height = max(1, len(rows)) * (bar_h + gap) + gap
    top = max((v for _l, v in rows), default=0) or 1
    bars = format_html_join(
        "",
        '<g><text x="{}" y="{}" text-anchor="end" font-size="12">{}</text>'
        '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{} : {}</title></rect>'
        '<text x="{}" y="{}" font-size="12">{}</text></g>',
        (
            (
                label_w - 6,
                gap + i * (bar_h + gap) + 13,
                label,
                label_w,
                gap + i * (bar_h + gap),
                round((width - label_w - 70) * (value / top), 1),
                bar_h,
                colour,
                label,
                _num(value),
                label_w + round((width - label_w - 70) * (value / top), 1) + 4,
                gap + i * (bar_h + gap) + 13,
                _num(value),
            )
            for i, (label, value) in enumerate(rows)
        ),
    )
    return _svg(width, height, title, bars)


def column_chart(
    rows: list[tuple[str, float]], colour: str = "#0b6e4f", title: str = ""
) -> SafeString:
    """Vertical columns over time (one per month)."""
    width, height, bottom, left = 560, 200, 30, 10
    n = max(1, len(rows))
    step = (width - left) / n
    top = max((v for _l, v in rows), default=0) or 1
    every = max(1, -(-n // 8))  # at most about eight labels under the axis
    columns = format_html_join(
        "",
        '<g><rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{} : {}</title></rect>'
        '<text x="{}" y="{}" font-size="10" text-anchor="middle">{}</text></g>',
        (
            (
                round(left + i * step + 2, 1),
                round(height - bottom - (height - bottom - 10) * value / top, 1),
                round(step - 4, 1),
                round((height - bottom - 10) * value / top, 1),
                colour,
                label,
                _num(value),
                round(left + i * step + step / 2, 1),
                height - bottom + 14,
                label if i % every == 0 else "",
            )
            for i, (label, value) in enumerate(rows)
        ),
    )
    return _svg(width, height, title, columns)
