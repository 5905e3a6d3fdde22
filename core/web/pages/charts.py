"""The operations page's charts, rendered on the server as SVG with pygal.

Each chart is its own small SVG document, shown with ``<img>`` beside a table holding the
same numbers (screen readers read the table; the image has a text alternative). pygal
writes its styles inline, which the pages' strict Content-Security-Policy forbids, so the
SVG responses carry their own policy: inline styles allowed, no script at all. pygal's
tooltip script (and the config script it inlines) is not wanted: it is never referenced
(``js=[]``) and the inline config is stripped, so no script, ours or anyone's, is in a chart.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pygal
from pygal.style import Style

#: CSP for a chart document: an image with inline styles, nothing else
CHART_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

_FONT = "'WenQuanYi Zen Hei', 'Noto Sans CJK SC', 'PingFang SC', 'Microsoft YaHei', sans-serif"
_STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1f2933",
    foreground_strong="#1f2933",
    foreground_subtle="#6b7280",
    colors=("#1d4ed8", "#16a34a", "#dc2626", "#d97706", "#7c3aed", "#0891b2"),
    font_family=_FONT,
    label_font_family=_FONT,
    major_label_font_family=_FONT,
    value_font_family=_FONT,
    value_label_font_family=_FONT,
    title_font_family=_FONT,
    legend_font_family=_FONT,
    label_font_size=13,
    major_label_font_size=13,
    legend_font_size=13,
    title_font_size=16,
    value_font_size=13,
)
_SCRIPT = re.compile(rb"<script\b.*?</script>", re.S)


def _common(title: str, **extra) -> dict:
    options = {
        "title": title,
        "style": _STYLE,
        "js": [],
        "width": 720,
        "height": 360,
        "print_values": True,
        "print_zeroes": False,
        "show_y_guides": True,
        "truncate_label": -1,
        "truncate_legend": -1,
        "no_data_text": "暂无数据",
    }
    return {**options, **extra}


def _render(chart) -> bytes:
    return _SCRIPT.sub(b"", chart.render())


def reasons_bar(reasons: Sequence[tuple[str, int]]) -> bytes:
    """Rejections by reason, the most frequent on top."""
    # pygal sizes the label column by character count; a CJK character is about twice as
    # wide as it reckons, so the longest label gets the room it really needs
    longest = max((len(label) for label, _n in reasons), default=0)
    chart = pygal.HorizontalBar(
        **_common(
            "不予办理原因（件）", show_legend=False, height=max(240, 48 * len(reasons) + 100), margin_left=7 * longest
        )
    )
    chart.x_labels = [label for label, _n in reversed(reasons)]
    chart.add("件数", [n for _label, n in reversed(reasons)])
    return _render(chart)


def volume_line(title: str, days: Sequence[str], submitted: Sequence[int], decided: Sequence[int]) -> bytes:
    """Submissions and decisions per day (or per week, for a long period)."""
    chart = pygal.Line(
        **_common(title, x_label_rotation=30, show_minor_x_labels=False, dots_size=3, print_values=False)
    )
    chart.x_labels = list(days)
    step = max(1, len(days) // 10)
    chart.x_labels_major = list(days)[::step]
    chart.add("提交", list(submitted))
    chart.add("办结", list(decided))
    return _render(chart)


def on_time_gauge(on_time: int, late: int) -> bytes:
    """The share of decisions within their working-day deadline."""
    total = on_time + late
    chart = pygal.SolidGauge(
        **_common("按期办结率", inner_radius=0.7, half_pie=True, show_legend=False, height=300, print_values=True)
    )
    chart.value_formatter = lambda share: f"{share:.0f}%"
    chart.add("按期办结", [{"value": round(100 * on_time / total, 1) if total else 0, "max_value": 100}])
    return _render(chart)


def reviewers_bar(names: Sequence[str], on_time: Sequence[int], late: Sequence[int]) -> bytes:
    """Decisions per reviewer, on time and late stacked."""
    chart = pygal.StackedBar(**_common("各审核人员办结情况（件）"))
    chart.x_labels = list(names)
    chart.add("按期", list(on_time))
    chart.add("超期", list(late))
    return _render(chart)
