"""The dashboard's charts: SVG drawn on the server by pygal, inline in the page (no chart
script in the browser). Each chart has a title and a table of the same numbers beside it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pygal
from pygal.style import Style

# Colours with at least 3:1 contrast on white, told apart by more than hue alone (the tables
# carry the same numbers).
STYLE = Style(
    background="white",
    plot_background="white",
    foreground="#1f2933",
    foreground_strong="#1f2933",
    foreground_subtle="#52606d",
    font_family="system-ui, sans-serif",
    colors=("#1d4ed8", "#b45309", "#047857", "#b91c1c", "#6d28d9", "#0e7490", "#a21caf"),
    title_font_size=15,
    label_font_size=11,
    major_label_font_size=11,
    legend_font_size=11,
    value_font_size=10,
)

_COMMON = {
    "style": STYLE,
    "disable_xml_declaration": True,
    "js": [],  # no tooltip script fetched from elsewhere: the page works offline
    "width": 640,
    "height": 300,
    "explicit_size": False,
    "legend_at_bottom": True,
    "print_values": False,
    "truncate_legend": 40,
}


def _formatter(percent: bool) -> Callable[[float], str]:
    if percent:
        return lambda v: f"{v:.0%}"
    return lambda v: f"{v:,.2f}".rstrip("0").rstrip(".")


def _svg(chart: Any) -> str:
    svg: str = chart.render(is_unicode=True)
    return svg


def bars(
    title: str,
    labels: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    *,
    horizontal: bool = False,
    percent: bool = False,
) -> str:
    cls = pygal.HorizontalBar if horizontal else pygal.Bar
    chart = cls(
        title=title,
        **_COMMON,
        value_formatter=(lambda v: f"{v:.0%}")
        if percent
        else (lambda v: f"{v:,.2f}".rstrip("0").rstrip(".")),
        range=(0, 1) if percent else None,
        show_legend=len(series) > 1,
    )
    chart.x_labels = list(labels)
    for name, values in series.items():
        chart.add(name, list(values))
    return _svg(chart)


def lines(
    title: str,
    labels: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    *,
    percent: bool = False,
) -> str:
    chart = pygal.Line(
        title=title,
        **_COMMON,
        value_formatter=(lambda v: f"{v:.0%}")
        if percent
        else (lambda v: f"{v:,.2f}".rstrip("0").rstrip(".")),
        range=(0, 1) if percent else None,
        x_label_rotation=30,
        allow_interruptions=True,
        dots_size=3,
    )
    chart.x_labels = list(labels)
    for name, values in series.items():
        chart.add(name, list(values))
    return _svg(chart)
